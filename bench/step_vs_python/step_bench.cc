// One FLYP training step, timed (prints numbers; no pass/fail):
// random images and token ids -> encode both towers -> L2-normalise ->
// GlobalContrastiveLoss (single process) -> backward -> AdamW step ->
// clamp logit_scale. reference.py does the same in plain PyTorch.
//
//   flyp_bench_step [--preset tiny] [--batch 64] [--steps 10] [--warmup 3]
//                   [--threads 2] [--checkpointing] [--accum K] [--fused-adamw] [--seed 0]
//                   [--vision-layers N] [--text-layers N] [--profile FILE]
//
// --checkpointing: activation checkpointing per block; --accum K: the batch
// as K micro-batches through GradCacheStep (embedding caching);
// --fused-adamw: FusedAdamW instead of torch::optim::AdamW; --profile: write
// a Chrome trace of the timed steps (LibTorch's operator profiler) to FILE
// (aggregate it per operator with bench/step_vs_python/trace_ops.sh).
// Prints one line per step and a final
//   RESULT impl=flyp|flyp_torch_adamw preset=... batch=... median_ms=... mean_ms=... min_ms=...
//   peak_rss_mib=...
#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench/random_tokens.h"
#include "common/model_presets.h"
#include "worker/dist/contrastive_loss.h"
#include "worker/dist/single_communicator.h"
#include "worker/model/clip.h"
#include "worker/model/clip_architecture.h"
#include "worker/openblas.h"
#include "worker/optim/fused_adamw.h"
#include "worker/train/grad_cache.h"

namespace {

struct Args {
  std::string preset = "tiny";
  int64_t batch = 64;
  int steps = 10;
  int warmup = 3;
  int threads = 2;
  bool checkpointing = false;
  bool fused_adamw = false;
  int64_t accum = 1;
  uint64_t seed = 0;
  int64_t vision_layers = 0;  // 0: the preset's
  int64_t text_layers = 0;
  std::string profile;  // Chrome trace of the timed steps; empty: none
};

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(stderr, "flyp_bench_step: %s\n", msg);
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage((k + " needs a value").c_str());
      return argv[++i];
    };
    if (k == "--preset")
      a.preset = value();
    else if (k == "--batch")
      a.batch = std::stoll(value());
    else if (k == "--steps")
      a.steps = std::stoi(value());
    else if (k == "--warmup")
      a.warmup = std::stoi(value());
    else if (k == "--threads")
      a.threads = std::stoi(value());
    else if (k == "--checkpointing")
      a.checkpointing = true;
    else if (k == "--fused-adamw")
      a.fused_adamw = true;
    else if (k == "--accum")
      a.accum = std::stoll(value());
    else if (k == "--seed")
      a.seed = std::stoull(value());
    else if (k == "--vision-layers")
      a.vision_layers = std::stoll(value());
    else if (k == "--text-layers")
      a.text_layers = std::stoll(value());
    else if (k == "--profile")
      a.profile = value();
    else
      Usage(("unknown flag " + k).c_str());
  }
  if (a.batch <= 0 || a.steps <= 0 || a.warmup < 0 || a.threads <= 0 || a.accum <= 0)
    Usage("bad numeric flag");
  return a;
}

// Peak resident memory of this process so far, MiB (VmHWM).
double PeakRssMib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  at::set_num_threads(args.threads);
  at::set_num_interop_threads(1);
  auto arch = flyp::PresetArchitecture(args.preset);
  if (!arch.ok()) Usage(arch.status().ToString().c_str());
  if (args.vision_layers > 0) arch->mutable_vision()->set_layers(args.vision_layers);
  if (args.text_layers > 0) arch->mutable_text()->set_layers(args.text_layers);
  auto config = flyp::model::ClipConfigFromArchitecture(*arch);
  if (!config.ok()) Usage(config.status().ToString().c_str());

  torch::manual_seed(args.seed);
  flyp::model::ClipModel model(*config);
  model.set_activation_checkpointing(args.checkpointing);
  const auto images = torch::randn({args.batch, 3, config->image_size, config->image_size});
  const auto ids = flyp::bench::RandomTokenIds(args.batch, config->context_length, config->vocab_size, 4, 20);
  auto comm = flyp::dist::CreateSingleProcessCommunicator();
  const auto adamw = torch::optim::AdamWOptions(1e-5).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.1);
  const auto params = model.parameters();
  std::unique_ptr<torch::optim::AdamW> opt_ptr =
      args.fused_adamw ? std::make_unique<flyp::optim::FusedAdamW>(model.parameters(), adamw)
                       : std::make_unique<torch::optim::AdamW>(model.parameters(), adamw);
  torch::optim::AdamW& opt = *opt_ptr;
  const auto micro = flyp::train::SplitIntoMicroBatches(images, ids, torch::Tensor(),
                                                        (args.batch + args.accum - 1) / args.accum);
  namespace F = torch::nn::functional;

  const std::string blas = flyp::worker::OpenBlasCoreName();
  std::printf(
      "flyp_bench_step preset=%s batch=%lld threads=%d openblas_core=%s params=%lld checkpointing=%d "
      "accum=%lld "
      "fused_adamw=%d\n",
      args.preset.c_str(), static_cast<long long>(args.batch), args.threads,
      blas.empty() ? "none" : blas.c_str(), static_cast<long long>(flyp::model::ClipParameterCount(*config)),
      args.checkpointing ? 1 : 0, static_cast<long long>(args.accum), args.fused_adamw ? 1 : 0);
  std::vector<double> times;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profiler;
  for (int step = 0; step < args.warmup + args.steps; ++step) {
    if (step == args.warmup && !args.profile.empty()) {
      profiler = std::make_unique<torch::autograd::profiler::RecordProfile>(args.profile);
    }
    const auto t0 = std::chrono::steady_clock::now();
    flyp::optim::ClearGradients(params);  // as the training loop does
    double loss = 0;
    if (args.accum > 1) {
      loss = flyp::train::GradCacheStep(model, micro, *comm).loss;
    } else {
      auto img = F::normalize(model.encode_image(images), F::NormalizeFuncOptions().dim(-1));
      auto txt = F::normalize(model.encode_text(ids), F::NormalizeFuncOptions().dim(-1));
      auto res = flyp::dist::GlobalContrastiveLoss(img, txt, model.logit_scale().exp(), *comm);
      res.loss.backward();
      loss = res.global_loss.item<double>();
    }
    opt.step();
    {
      torch::NoGradGuard no_grad;
      model.logit_scale().clamp_(0.0, std::log(100.0));
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const bool warm = step >= args.warmup;
    if (warm) times.push_back(ms);
    std::printf("step %d %s %.1f ms loss %.4f\n", step, warm ? "timed " : "warmup", ms, loss);
    std::fflush(stdout);
  }
  profiler.reset();  // writes the trace
  double sum = 0;
  for (double t : times) sum += t;
  std::printf(
      "RESULT impl=%s preset=%s batch=%lld threads=%d median_ms=%.1f mean_ms=%.1f min_ms=%.1f steps=%zu "
      "peak_rss_mib=%.0f\n",
      args.fused_adamw ? "flyp" : "flyp_torch_adamw", args.preset.c_str(), static_cast<long long>(args.batch),
      args.threads, Median(times), sum / times.size(), *std::min_element(times.begin(), times.end()),
      times.size(), PeakRssMib());
  return 0;
}
