// FLYP training throughput on one CUDA GPU, checked against a target.
//
//   flyp_gpu_bench [--batch 512,384,256,128] [--steps 20] [--warmup 5]
//                  [--no-autocast] [--checkpointing] [--accum K] [--peak-tflops 790]
//                  [--layers N] [--min-mfu X]
//
// ViT-B-16 (open_clip dims, GELU), random images and token ids already on the
// GPU, parameters float32, forward + loss under bf16 autocast, backward,
// AdamW, logit_scale clamp: the product's step minus data loading. The first
// batch size in --batch that does not run out of memory is measured.
// Reports images/s (= pairs/s) and MFU = pairs/s · FLOPs per pair / peak,
// FLOPs per pair counted from the config (worker/model/clip_flops.h: 3 ·
// (35.13 + 5.96) GFLOPs at 12 layers, forward image + text, ×3 for
// forward + backward), peak = H200 bf16 dense 790 TFLOP/s unless given.
// The text tower runs only the positions up to a batch's last EOT
// (ClipModel::encode_text; the random captions are 5-29 tokens), so two
// figures: `mfu` counts all 77 positions (the model's FLOPs, as quoted
// since issue 9) and `executed_mfu` the positions run, the work the GPU
// did; --min-mfu checks executed_mfu.
// Writes gpu_bench.txt to $OUT when set (the RESULT line, then the CHECK line
// when there is one). Checks: the last loss is finite (the speed of a step
// that produces NaN means nothing), and with --min-mfu X (a fraction, e.g.
// 0.45) the MFU is at least X.
// Exit codes: 0 ok, 2 bad flags, 3 no CUDA device, 4 every batch size ran out
// of memory, 5 other errors, 6 MFU below --min-mfu, 7 loss not finite.
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/random_tokens.h"
#include "worker/dist/contrastive_loss.h"
#include "worker/dist/single_communicator.h"
#include "worker/model/clip.h"
#include "worker/model/clip_flops.h"
#include "worker/optim/fused_adamw.h"
#include "worker/train/device_util.h"
#include "worker/train/grad_cache.h"

namespace {

struct Args {
  std::vector<int64_t> batches{512, 384, 256, 128};
  int steps = 20;
  int warmup = 5;
  bool autocast = true;
  bool checkpointing = false;
  int64_t accum = 1;
  double peak_tflops = 790.0;
  int64_t layers = 12;
  double min_mfu = 0;  // 0: no MFU check
};

[[noreturn]] void Die(int code, const std::string& msg) {
  std::fprintf(stderr, "flyp_gpu_bench: %s\n", msg.c_str());
  std::exit(code);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(2, k + " needs a value");
      return argv[++i];
    };
    if (k == "--batch") {
      a.batches.clear();
      std::stringstream ss(value());
      std::string item;
      while (std::getline(ss, item, ',')) a.batches.push_back(std::stoll(item));
    } else if (k == "--steps")
      a.steps = std::stoi(value());
    else if (k == "--warmup")
      a.warmup = std::stoi(value());
    else if (k == "--no-autocast")
      a.autocast = false;
    else if (k == "--checkpointing")
      a.checkpointing = true;
    else if (k == "--accum")
      a.accum = std::stoll(value());
    else if (k == "--peak-tflops")
      a.peak_tflops = std::stod(value());
    else if (k == "--layers")
      a.layers = std::stoll(value());
    else if (k == "--min-mfu")
      a.min_mfu = std::stod(value());
    else
      Die(2, "unknown flag " + k);
  }
  if (a.batches.empty() || a.steps <= 0 || a.warmup < 0 || a.accum <= 0 || a.layers <= 0 ||
      !(a.min_mfu >= 0 && a.min_mfu < 1))
    Die(2, "bad numeric flag");
  return a;
}

// ViT-B-16 as common/model_presets.cc (kept here so this binary needs no spec).
flyp::model::ClipConfig VitB16(int64_t layers) {
  flyp::model::ClipConfig c;
  c.embed_dim = 512;
  c.vision = {768, layers, 12, 3072};
  c.patch_size = 16;
  c.image_size = 224;
  c.text = {512, layers, 8, 2048};
  c.context_length = 77;
  c.vocab_size = 49408;
  c.quick_gelu = false;
  return c;
}

bool IsOom(const c10::Error& e) { return std::string(e.what()).find("out of memory") != std::string::npos; }

struct Measured {
  int64_t batch = 0;
  double median_s = 0;
  double last_loss = 0;
  double executed_flop = 0;  // per step: the text tower at the positions each (micro-)batch runs
};

// Training FLOPs of one step as run: every image, and every caption at the
// positions its (micro-)batch's text tower runs (the last EOT + 1).
double ExecutedStepFlop(const flyp::model::ClipConfig& cfg, const std::vector<torch::Tensor>& id_parts) {
  const flyp::model::ClipFlops f = flyp::model::CountClipFlops(cfg);
  double flop = 0;
  for (const auto& ids : id_parts) {
    if (ids.size(0) == 0) continue;
    const double positions = static_cast<double>(ids.argmax(-1).max().item<int64_t>() + 1);
    flop += 3 * static_cast<double>(ids.size(0)) *
            (f.image_forward + flyp::model::TextForwardFlops(cfg, positions));
  }
  return flop;
}

// Runs warmup + steps at one batch size; throws c10::Error on OOM.
Measured Run(const Args& args, int64_t batch, torch::Device dev) {
  torch::manual_seed(0);
  flyp::model::ClipModel model(VitB16(args.layers));
  model.to(dev);
  model.set_activation_checkpointing(args.checkpointing);
  const auto cfg = model.config();
  auto images = torch::randn({batch, 3, cfg.image_size, cfg.image_size}, torch::TensorOptions().device(dev));
  const auto host_ids = flyp::bench::RandomTokenIds(batch, cfg.context_length, cfg.vocab_size, 5, 30);
  auto ids = flyp::train::ToDevice(flyp::train::PinnedIfCuda(host_ids), dev);
  auto comm = flyp::dist::CreateSingleProcessCommunicator(dev);
  // The product's optimiser (on CUDA tensors FusedAdamW runs AdamW's own
  // tensor operations) and its gradient handling (dropped, not zeroed).
  const auto params = model.parameters();
  flyp::optim::FusedAdamW opt(params, torch::optim::AdamWOptions(1e-5).weight_decay(0.1));
  const auto micro =
      flyp::train::SplitIntoMicroBatches(images, ids, torch::Tensor(), (batch + args.accum - 1) / args.accum);
  namespace F = torch::nn::functional;

  std::vector<double> times;
  Measured m;
  m.batch = batch;
  std::vector<torch::Tensor> id_parts;
  if (args.accum > 1) {
    for (const auto& mb : micro) id_parts.push_back(mb.ids.cpu());
  } else {
    id_parts.push_back(host_ids);
  }
  m.executed_flop = ExecutedStepFlop(cfg, id_parts);
  for (int step = 0; step < args.warmup + args.steps; ++step) {
    torch::cuda::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    flyp::optim::ClearGradients(params);
    torch::Tensor loss;
    if (args.accum > 1) {
      // Encoders under bf16 autocast, the loss over cached features in float32.
      m.last_loss = flyp::train::GradCacheStep(model, micro, *comm, {}, args.autocast).loss;
    } else {
      torch::Tensor img, txt;
      {
        // The towers in bf16; the loss (B×B logits, softmax) in float32.
        flyp::train::AutocastScope amp(dev, args.autocast);
        img = model.encode_image(images);
        txt = model.encode_text(ids);
      }
      img = F::normalize(flyp::train::Float32IfReduced(img), F::NormalizeFuncOptions().dim(-1));
      txt = F::normalize(flyp::train::Float32IfReduced(txt), F::NormalizeFuncOptions().dim(-1));
      auto res = flyp::dist::GlobalContrastiveLoss(img, txt, model.logit_scale().exp(), *comm);
      res.loss.backward();
      loss = res.global_loss;
    }
    opt.step();
    {
      torch::NoGradGuard no_grad;
      model.logit_scale().clamp_(0.0, std::log(100.0));
    }
    torch::cuda::synchronize();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (loss.defined()) m.last_loss = loss.item<double>();
    const bool timed = step >= args.warmup;
    if (timed) times.push_back(s);
    std::printf("  step %3d %s %8.1f ms  %8.1f images/s  loss %.4f\n", step, timed ? "timed " : "warmup",
                s * 1e3, batch / s, m.last_loss);
    std::fflush(stdout);
  }
  std::sort(times.begin(), times.end());
  m.median_s = times[times.size() / 2];
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  std::printf("== flyp_gpu_bench: LibTorch %d.%d, SDPA %s\n", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR,
              TORCH_VERSION_MAJOR >= 2 ? "at::scaled_dot_product_attention" : "explicit (LibTorch < 2)");
  if (!flyp::train::CudaAvailable()) Die(3, "no CUDA device visible to LibTorch (CPU-only build or no GPU)");
  const torch::Device dev(torch::kCUDA, 0);
  // TF32 for what stays float32 (the loss's logits matmul).
  at::globalContext().setAllowTF32CuBLAS(true);
  at::globalContext().setAllowTF32CuDNN(true);
  std::printf("== config: ViT-B-16 layers=%lld autocast=%s checkpointing=%d accum=%lld steps=%d warmup=%d\n",
              static_cast<long long>(args.layers), args.autocast ? "bf16" : "off", args.checkpointing ? 1 : 0,
              static_cast<long long>(args.accum), args.steps, args.warmup);

  Measured m;
  bool ok = false;
  for (int64_t batch : args.batches) {
    std::printf("== batch %lld\n", static_cast<long long>(batch));
    std::fflush(stdout);
    try {
      m = Run(args, batch, dev);
      ok = true;
      break;
    } catch (const c10::Error& e) {
      if (!IsOom(e))
        Die(5, std::string("error at batch ") + std::to_string(batch) + ": " + e.what_without_backtrace());
      std::printf("   out of memory at batch %lld; trying the next size\n", static_cast<long long>(batch));
    }
  }
  if (!ok) Die(4, "every batch size ran out of memory");

  const double ips = m.batch / m.median_s;
  const double flops_pair = flyp::model::CountClipFlops(VitB16(args.layers)).train_per_pair();
  const double mfu = ips * flops_pair / (args.peak_tflops * 1e12);
  const double executed_tflops = m.executed_flop / m.median_s / 1e12;
  const double executed_mfu = executed_tflops / args.peak_tflops;
  std::ostringstream out;
  out << "RESULT model=ViT-B-16 batch=" << m.batch << " autocast=" << (args.autocast ? "bf16" : "off")
      << " checkpointing=" << args.checkpointing << " accum=" << args.accum
      << " median_step_ms=" << m.median_s * 1e3 << " images_per_s=" << ips
      << " tflops=" << ips * flops_pair / 1e12 << " mfu=" << mfu << " executed_tflops=" << executed_tflops
      << " executed_mfu=" << executed_mfu << " peak_tflops=" << args.peak_tflops << " loss=" << m.last_loss
      << "\n";
  std::printf("%s", out.str().c_str());
  // Checks: printed, and appended to gpu_bench.txt after the RESULT line.
  int rc = 0;
  char check[200] = "";
  if (!std::isfinite(m.last_loss)) {
    std::snprintf(check, sizeof check, "CHECK FAILED: loss %g after %d steps is not finite\n", m.last_loss,
                  args.warmup + args.steps);
    rc = 7;
  } else if (executed_mfu < args.min_mfu) {
    std::snprintf(check, sizeof check, "CHECK FAILED: executed MFU %.4f below the target %.4f (--min-mfu)\n",
                  executed_mfu, args.min_mfu);
    rc = 6;
  } else if (args.min_mfu > 0) {
    std::snprintf(check, sizeof check, "CHECK ok: executed MFU %.4f >= target %.4f, loss finite\n",
                  executed_mfu, args.min_mfu);
  }
  std::printf("%s", check);
  if (const char* dir = std::getenv("OUT"); dir != nullptr && *dir) {
    std::ofstream(std::string(dir) + "/gpu_bench.txt", std::ios::app) << out.str() << check;
  }
  return rc;
}
