// flyp_bench_step: the product's FLYP training step, timed where it runs.
//
// Runs flyp-worker train's own code on a contrastive job (FLYP's step;
// method pretrain, see JobYaml) — train::RunJob: the data
// loader (Fashion-MNIST through the training transform, resized to the
// preset's image size), ContrastiveStep, the gradient reducer at world size
// > 1, the optimiser the spec builds (FusedAdamW) and the loop's hooks — and
// times every optimiser step with the loop's own clock
// (report::StepProgress::seconds: the step from its batch in hand to the
// hooks after the optimiser; waiting for the batch is reported apart as
// `data`). Nothing of the step is re-implemented here, so what it measures
// is what a job runs (bench_same_step_test checks that the losses equal
// flyp-worker's on the spec it writes). reference.py is the same step in
// plain PyTorch.
//
//   flyp_bench_step [--preset tiny] [--batch 64] [--steps 10] [--warmup 3]
//                   [--threads 2] [--vocab byte|FILE] [--checkpointing] [--accum K]
//                   [--precision float32|bfloat16] [--templates simple|openai_imagenet]
//                   [--spec FILE] [--write-spec FILE]
//                   [--gemm-seconds 3] [--seed 0] [--profile FILE]
//
// --spec FILE times that job's step instead of the one the flags build (its
// schedule.max_steps becomes warmup + steps); --write-spec FILE writes the
// job it ran, which flyp-worker train --spec FILE or the coordinator runs
// unchanged. The threads are the worker's (train::RankThreads: --threads
// sets resources.threads_per_rank), and OpenBLAS's kernels are chosen the
// way flyp-worker chooses them (ReexecWithTunedOpenBlas). Under mpirun -np N
// it runs as an N-rank world (rank 0 prints).
//
// The roofline: before training, --gemm-seconds of 4096x4096 matmuls on the
// same threads measure the machine's large-GEMM rate in float32 (and in
// bfloat16 where the CPU has native bf16: AVX-512-BF16 or AMX); the step's
// FLOPs are counted from the model config (worker/model/clip_flops.h) and
// the achieved rate printed as a fraction of the GEMM rate. The step encodes
// each distinct caption of a batch once (ContrastiveStep), and the text tower
// runs the positions up to the batch's last EOT only (ClipModel::encode_text),
// so two counts: gflop_per_step (every caption at every context position,
// the work reference.py does) and executed_gflop_per_step (the captions and
// positions the text tower ran on; their means over the timed steps in
// `captions` and `text_positions`); the roofline fraction is of the executed
// rate, the work the machine did. Prints one line per step,
//   step N timed|warmup X ms loss L (data ... optimizer ...) text C/T
// (C distinct captions encoded, T their positions summed: what a job's
// events.jsonl has as captions_encoded / caption_tokens), and then
//   RESULT impl=flyp preset=... batch=... threads=... median_ms=... mean_ms=... min_ms=... steps=...
//          peak_rss_mib=... data_ms=... gflop_per_step=... achieved_gflops=... captions=...
//          text_positions=... executed_gflop_per_step=... executed_gflops=...
//   ROOFLINE isa=... gemm_fp32_gflops=... gemm_bf16_gflops=... step_gflops=... fraction_of_fp32=...
// (step_gflops: executed).
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/model_presets.h"
#include "common/numbers.h"
#include "common/spec/job_spec.h"
#include "common/stats.h"
#include "worker/dist/create_communicator.h"
#include "worker/model/clip_architecture.h"
#include "worker/model/clip_flops.h"
#include "worker/openblas.h"
#include "worker/report/observer.h"
#include "worker/train/job_runner.h"
#include "worker/train/job_setup.h"

namespace {

struct Args {
  std::string preset = "tiny";
  int64_t batch = 64;
  int steps = 10;
  int warmup = 3;
  int threads = 2;
  std::string vocab = "byte";
  bool checkpointing = false;
  int64_t accum = 1;
  std::string precision = "float32";
  std::string templates = "simple";  // data.templates.builtin
  std::string spec;                  // a job spec to time instead of the flags' job
  std::string write_spec;            // where to write the job that ran
  double gemm_seconds = 3;
  uint64_t seed = 0;
  std::string profile;  // Chrome trace of the timed steps; empty: none
};

[[noreturn]] void Usage(const std::string& msg) {
  std::fprintf(stderr, "flyp_bench_step: %s\n", msg.c_str());
  std::exit(2);
}

template <typename T>
T OrUsage(flyp::StatusOr<T> v) {
  if (!v.ok()) Usage(v.status().message());
  return *v;
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(k + " needs a value");
      return argv[++i];
    };
    if (k == "--preset")
      a.preset = value();
    else if (k == "--batch")
      a.batch = OrUsage(flyp::ParseInt64(value(), k, 1));
    else if (k == "--steps")
      a.steps = OrUsage(flyp::ParseInt32(value(), k, 1, 1 << 20));
    else if (k == "--warmup")
      a.warmup = OrUsage(flyp::ParseInt32(value(), k, 0, 1 << 20));
    else if (k == "--threads")
      a.threads = OrUsage(flyp::ParseInt32(value(), k, 1, 4096));
    else if (k == "--vocab")
      a.vocab = value();
    else if (k == "--checkpointing")
      a.checkpointing = true;
    else if (k == "--accum")
      a.accum = OrUsage(flyp::ParseInt64(value(), k, 1, 1 << 20));
    else if (k == "--precision")
      a.precision = value();
    else if (k == "--templates")
      a.templates = value();
    else if (k == "--spec")
      a.spec = value();
    else if (k == "--write-spec")
      a.write_spec = value();
    else if (k == "--gemm-seconds")
      a.gemm_seconds = OrUsage(flyp::ParseDouble(value(), k, 0, 3600));
    else if (k == "--seed")
      a.seed = OrUsage(flyp::ParseUint64(value(), k));
    else if (k == "--profile")
      a.profile = value();
    else
      Usage("unknown flag " + k);
  }
  if (a.templates != "simple" && a.templates != "openai_imagenet")
    Usage("--templates must be simple or openai_imagenet (got '" + a.templates + "')");
  if (a.precision != "float32" && a.precision != "bfloat16")
    Usage("--precision must be float32 or bfloat16 (got '" + a.precision + "')");
  return a;
}

// The job the flags describe: the contrastive step on Fashion-MNIST's
// training split (captions "a photo of a {class}."; --templates
// openai_imagenet: one of 80 templates drawn per image, so a batch's
// captions hardly repeat), just enough images for
// warmup + steps batches, nothing evaluated or saved. Its method is
// pretrain: the same ContrastiveStep, loop and optimiser as flyp, from
// random weights — flyp itself needs a pretrained checkpoint and an
// evaluation split, which would time loading and zero-shot evaluation too
// (--spec runs any flyp job as it is).
std::string JobYaml(const Args& a, int world) {
  const int64_t total = a.warmup + a.steps;
  std::string y = "name: bench-step\n";
  y += "model: {preset: " + a.preset + ", vocab: " + a.vocab + "}\n";
  y += "method: {name: pretrain}\n";
  y += "data:\n  train: {format: fashion_mnist, split: train, limit: " + std::to_string(total * a.batch) +
       "}\n  templates: {builtin: " + a.templates + "}\n";
  y += "optim: {learning_rate: 1e-5, weight_decay: 0.1, accum_steps: " + std::to_string(a.accum) + "}\n";
  y += "schedule: {epochs: 1, max_steps: " + std::to_string(total) +
       ", batch_size: " + std::to_string(a.batch * world) +
       ", warmup_steps: 0, log_every_steps: 1, eval_every_epochs: 0, seed: " + std::to_string(a.seed) + "}\n";
  // slots_per_rank = threads: through the coordinator the rank is pinned to
  // that many cores of its own, as the benchmark's threads expect.
  y += "resources: {world_size: " + std::to_string(world) + ", slots_per_rank: " + std::to_string(a.threads) +
       ", threads_per_rank: " + std::to_string(a.threads) + ", precision: " + a.precision +
       ", activation_checkpointing: " + (a.checkpointing ? "true" : "false") + "}\n";
  y += "wise_ft: {enabled: false}\nrun_policy: {checkpoint_every: 0}\noutput: {save_final: false}\n";
  return y;
}

flyp::v1::JobSpec LoadSpec(const Args& a, int world) {
  flyp::SpecLoad load;
  if (a.spec.empty()) {
    load = flyp::LoadJobSpecYaml(JobYaml(a, world));
  } else {
    load = flyp::LoadJobSpecFile(a.spec);
    if (load.ok()) {
      flyp::v1::JobSpec raw = load.spec;
      raw.mutable_schedule()->set_max_steps(a.warmup + a.steps);
      raw.mutable_schedule()->set_log_every_steps(1);
      raw.mutable_resources()->set_world_size(world);
      raw.mutable_run_policy()->set_checkpoint_every(0);
      load = flyp::NormalizeJobSpec(raw);
    }
  }
  if (!load.ok()) Usage(load.ErrorText() + "invalid job spec");
  return load.spec;
}

// Mean float32 / bfloat16 rate of n x n matmuls over about `seconds`, in
// GFLOP/s (2·n³ per product), on LibTorch's current threads.
double GemmGflops(torch::ScalarType dtype, int64_t n, double seconds) {
  torch::NoGradGuard no_grad;
  const auto a = torch::randn({n, n}).to(dtype), b = torch::randn({n, n}).to(dtype);
  auto c = torch::matmul(a, b);  // warm-up: packing buffers, thread pool
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  int64_t products = 0;
  double elapsed = 0;
  do {
    c = torch::matmul(a, b);
    ++products;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (elapsed < seconds);
  return 2.0 * static_cast<double>(n * n * n) * static_cast<double>(products) / elapsed / 1e9;
}

double PeakRssMib() {
  const int64_t kb = flyp::SelfStatusKb("VmHWM");
  return kb < 0 ? -1 : static_cast<double>(kb) / 1024.0;
}

// Every step's time and loss as the training loop reports them; starts the
// profiler when warmup ends.
class StepRecorder : public flyp::report::TrainObserver {
 public:
  // `config`: the model's, to count the text tower's FLOPs at the positions it ran.
  StepRecorder(int warmup, std::string profile, bool print, const flyp::model::ClipConfig& config)
      : warmup_(warmup), profile_(std::move(profile)), print_(print), config_(config) {}

  void OnStep(const flyp::report::StepProgress& p) override {
    const bool timed = p.step > warmup_;
    if (timed) {
      seconds_.push_back(p.seconds);
      data_.push_back(p.times.data);
      const double captions = static_cast<double>(p.captions_encoded);
      captions_.push_back(captions);
      // One encode per step (no accumulation): every caption ran the same
      // positions. With accumulation this is the micro-batches' mean.
      const double positions = captions > 0 ? static_cast<double>(p.caption_tokens) / captions : 0;
      positions_.push_back(positions);
      text_flop_.push_back(captions > 0 ? captions * flyp::model::TextForwardFlops(config_, positions) : 0);
    }
    if (print_) {
      std::printf(
          "step %lld %s %.1f ms loss %.6f (data %.1f forward %.1f backward %.1f allreduce %.1f optimizer "
          "%.1f) text %lld/%lld\n",
          static_cast<long long>(p.step - 1), timed ? "timed " : "warmup", 1e3 * p.seconds, p.loss,
          1e3 * p.times.data, 1e3 * p.times.forward, 1e3 * p.times.backward, 1e3 * p.times.allreduce,
          1e3 * p.times.optimizer, static_cast<long long>(p.captions_encoded),
          static_cast<long long>(p.caption_tokens));
      std::fflush(stdout);
    }
    // The next step is the first timed one.
    if (p.step == warmup_ && !profile_.empty()) {
      profiler_ = std::make_unique<torch::autograd::profiler::RecordProfile>(profile_);
    }
  }
  void OnEval(const flyp::report::EvalEvent&) override {}
  void OnPhase(const flyp::report::PhaseEvent&) override {}

  void StopProfiler() { profiler_.reset(); }  // writes the trace
  const std::vector<double>& seconds() const { return seconds_; }
  const std::vector<double>& data() const { return data_; }
  const std::vector<double>& captions() const { return captions_; }    // encoded per timed step
  const std::vector<double>& positions() const { return positions_; }  // per caption, per timed step
  const std::vector<double>& text_flop() const { return text_flop_; }  // text forward, per timed step

 private:
  int warmup_;
  std::string profile_;
  bool print_;
  flyp::model::ClipConfig config_;
  std::vector<double> seconds_, data_, captions_, positions_, text_flop_;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profiler_;
};

}  // namespace

int main(int argc, char** argv) {
  // As flyp-worker's main(): OpenBLAS's kernels for this CPU.
  flyp::worker::ReexecWithTunedOpenBlas(argv);
  const Args args = Parse(argc, argv);
  auto comm_or = flyp::dist::CreateCommunicator(torch::kCPU);
  if (!comm_or.ok()) Usage(comm_or.status().ToString());
  auto& comm = **comm_or;
  const bool print = comm.rank() == 0;
  const flyp::v1::JobSpec spec = LoadSpec(args, comm.world_size());
  if (spec.method().name() != flyp::v1::METHOD_FLYP && spec.method().name() != flyp::v1::METHOD_PRETRAIN)
    Usage("--spec: method.name must be flyp or pretrain (the contrastive step is what this times)");
  if (!args.write_spec.empty() && print) {
    flyp::Status wrote = flyp::WriteFileAtomic(args.write_spec, flyp::JobSpecToYaml(spec));
    if (!wrote.ok()) Usage(wrote.ToString());
  }
  torch::set_num_threads(flyp::train::RankThreads(spec));
  at::set_num_interop_threads(1);

  auto arch = flyp::ResolveArchitecture(spec.model().preset(), spec.model().architecture());
  if (!arch.ok()) Usage(arch.status().ToString());
  auto config = flyp::model::ClipConfigFromArchitecture(*arch);
  if (!config.ok()) Usage(config.status().ToString());
  const flyp::model::ClipFlops flops = flyp::model::CountClipFlops(*config);
  const int64_t rank_batch = spec.schedule().batch_size() / comm.world_size();
  const double step_flop = flops.train_per_pair() * static_cast<double>(rank_batch);

  const std::string isa = flyp::worker::CpuIsaName();
  double gemm_fp32 = 0, gemm_bf16 = 0;
  if (args.gemm_seconds > 0) {
    gemm_fp32 = GemmGflops(torch::kFloat32, 4096, args.gemm_seconds);
    if (flyp::worker::CpuHasNativeBf16(isa))
      gemm_bf16 = GemmGflops(torch::kBFloat16, 4096, args.gemm_seconds);
  }
  const std::string blas = flyp::worker::OpenBlasCoreName();
  if (print) {
    std::printf(
        "flyp_bench_step preset=%s batch=%lld world=%d threads=%d openblas_core=%s isa=%s params=%lld "
        "precision=%s checkpointing=%d accum=%lld\n",
        spec.model().preset().empty() ? "custom" : spec.model().preset().c_str(),
        static_cast<long long>(rank_batch), comm.world_size(), torch::get_num_threads(),
        blas.empty() ? "none" : blas.c_str(), isa.c_str(),
        static_cast<long long>(flyp::model::ClipParameterCount(*config)),
        spec.resources().precision() == flyp::v1::PRECISION_BFLOAT16 ? "bfloat16" : "float32",
        spec.resources().activation_checkpointing() ? 1 : 0,
        static_cast<long long>(spec.optim().accum_steps()));
    std::fflush(stdout);
  }

  StepRecorder recorder(args.warmup, args.profile, print, *config);
  const std::string out_dir =
      (std::filesystem::temp_directory_path() / ("flyp_bench_step." + std::to_string(getpid()))).string();
  flyp::train::RunOptions options;
  options.out_dir = out_dir;
  options.resume = false;
  options.observer = &recorder;
  const flyp::train::JobOutcome outcome = flyp::train::RunJob(spec, comm, options);
  recorder.StopProfiler();
  std::error_code ec;
  std::filesystem::remove_all(out_dir, ec);
  if (!outcome.status.ok()) {
    std::fprintf(stderr, "flyp_bench_step: the job failed: %s\n", outcome.status.ToString().c_str());
    return 1;
  }
  const std::vector<double>& t = recorder.seconds();
  if (t.empty()) {
    std::fprintf(stderr, "flyp_bench_step: no timed step ran (the data ended early?)\n");
    return 1;
  }
  if (!print) return 0;
  const double median = flyp::stats::Median(t);
  const double achieved = step_flop / median / 1e9;
  // Every caption at every position (reference.py's work) vs the distinct
  // captions and the positions the tower ran on.
  const double captions = flyp::stats::Mean(recorder.captions());
  const double positions = flyp::stats::Mean(recorder.positions());
  const double executed_flop = captions < 0 ? step_flop
                                            : 3 * (flops.image_forward * static_cast<double>(rank_batch) +
                                                   flyp::stats::Mean(recorder.text_flop()));
  const double executed = executed_flop / median / 1e9;
  std::printf(
      "RESULT impl=flyp preset=%s batch=%lld threads=%d median_ms=%.1f mean_ms=%.1f min_ms=%.1f steps=%zu "
      "peak_rss_mib=%.0f data_ms=%.1f gflop_per_step=%.1f achieved_gflops=%.1f captions=%.1f "
      "text_positions=%.1f executed_gflop_per_step=%.1f executed_gflops=%.1f\n",
      spec.model().preset().empty() ? "custom" : spec.model().preset().c_str(),
      static_cast<long long>(rank_batch), torch::get_num_threads(), 1e3 * median, 1e3 * flyp::stats::Mean(t),
      1e3 * *std::min_element(t.begin(), t.end()), t.size(), PeakRssMib(),
      1e3 * flyp::stats::Median(recorder.data()), step_flop / 1e9, achieved, captions, positions,
      executed_flop / 1e9, executed);
  if (args.gemm_seconds > 0) {
    std::printf(
        "ROOFLINE isa=%s gemm_n=4096 gemm_fp32_gflops=%.1f gemm_bf16_gflops=%.1f step_gflops=%.1f "
        "fraction_of_fp32=%.3f\n",
        isa.c_str(), gemm_fp32, gemm_bf16, executed, gemm_fp32 > 0 ? executed / gemm_fp32 : 0.0);
  }
  return 0;
}
