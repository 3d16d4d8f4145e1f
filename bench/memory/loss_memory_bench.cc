// Peak memory of GlobalContrastiveLoss forward + backward on one rank.
//
//   flyp_bench_loss_memory --global B --world N --mode full|local [--dim 512]
//
// Emulates rank 0 of an N-rank world with b = B/N local samples: a fake
// Communicator answers the gathers with this rank's rows followed by
// (N-1)·b rows of other (random, normalised) features and treats reductions
// as identities, so the loss allocates exactly what rank 0 allocates in a
// real job (the gathered features, its logits, softmax buffers and their
// gradients). Peak = VmHWM after the backward minus VmRSS before the loss,
// with the kernel's peak counter reset just before (/proc/self/clear_refs).
// Prints
//   RESULT mode=... global=... world=... local=... dim=... peak_mib=... logits_matrix_mib=... seconds=...
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "worker/dist/communicator.h"
#include "worker/dist/contrastive_loss.h"

namespace {

using flyp::dist::Communicator;
using flyp::dist::ReduceOp;

// Rank 0 of `world` ranks that all hold `local` rows.
class EmulatedRankZero : public Communicator {
 public:
  explicit EmulatedRankZero(int world) : world_(world) {}
  int rank() const override { return 0; }
  int world_size() const override { return world_; }
  int local_rank() const override { return 0; }
  std::string backend() const override { return "emulated"; }
  torch::Device device() const override { return torch::kCPU; }
  void SetStep(int64_t) override {}
  std::vector<int64_t> AllGatherSizes(int64_t n) override { return std::vector<int64_t>(world_, n); }
  torch::Tensor AllGather(const torch::Tensor& local, const std::vector<int64_t>& sizes) override {
    int64_t rest = 0;
    for (size_t r = 1; r < sizes.size(); ++r) rest += sizes[r];
    std::vector<int64_t> shape = local.sizes().vec();
    shape[0] = rest;
    torch::Tensor others = torch::randn(shape, local.options());
    if (local.dim() == 2) others = others / others.norm(2, -1, true);
    return torch::cat({local.detach(), others});
  }
  void AllReduce(torch::Tensor&, ReduceOp) override {}
  std::unique_ptr<flyp::dist::Work> AllReduceAsync(torch::Tensor&, ReduceOp) override {
    struct Done : flyp::dist::Work {
      void Wait() override {}
    };
    return std::make_unique<Done>();
  }
  void Broadcast(torch::Tensor&, int) override {}
  void Barrier() override {}

 private:
  int world_;
};

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(
      stderr, "flyp_bench_loss_memory: %s\nusage: --global B --world N --mode full|local [--dim 512]\n", msg);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t global = 0, dim = 512;
  int world = 0;
  std::string mode;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--global")
      global = std::stoll(v);
    else if (k == "--world")
      world = std::stoi(v);
    else if (k == "--mode")
      mode = v;
    else if (k == "--dim")
      dim = std::stoll(v);
    else
      Usage(("unknown flag " + k).c_str());
  }
  if (global <= 0 || world <= 0 || global % world != 0 || dim <= 0)
    Usage("need --global divisible by --world > 0");
  if (mode != "full" && mode != "local") Usage("--mode must be full or local");
  at::set_num_threads(2);
  const int64_t b = global / world;

  EmulatedRankZero comm(world);
  torch::manual_seed(0);
  // The towers' outputs: leaves standing in for the encoders' features.
  auto img = torch::randn({b, dim}).requires_grad_(true);
  auto txt = torch::randn({b, dim}).requires_grad_(true);
  auto logit_scale = torch::full({}, 2.659).requires_grad_(true);
  flyp::dist::ContrastiveLossOptions opts;
  opts.local_loss = mode == "local";

  const long rss_before = flyp::SelfStatusKb("VmRSS");
  { std::ofstream("/proc/self/clear_refs") << "5"; }  // reset VmHWM to the current RSS
  const auto t0 = std::chrono::steady_clock::now();
  {
    auto fi = torch::nn::functional::normalize(img, torch::nn::functional::NormalizeFuncOptions().dim(-1));
    auto ft = torch::nn::functional::normalize(txt, torch::nn::functional::NormalizeFuncOptions().dim(-1));
    auto res = flyp::dist::GlobalContrastiveLoss(fi, ft, logit_scale.exp(), comm, opts);
    res.loss.backward();
    if (!std::isfinite(res.global_loss.item<double>())) Usage("non-finite loss");
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long hwm = flyp::SelfStatusKb("VmHWM");
  // Logit matrices of R rows x B columns, float32: the image and text logits
  // (full: one B×B matrix and its transpose view), each log_softmax output
  // and each logits gradient.
  const double rows = opts.local_loss ? static_cast<double>(b) : static_cast<double>(global);
  const double matrix_mib = rows * static_cast<double>(global) * 4.0 / (1024.0 * 1024.0);
  std::printf(
      "RESULT mode=%s global=%lld world=%d local=%lld dim=%lld peak_mib=%.1f logits_matrix_mib=%.1f "
      "seconds=%.2f\n",
      mode.c_str(), static_cast<long long>(global), world, static_cast<long long>(b),
      static_cast<long long>(dim), (hwm - rss_before) / 1024.0, matrix_mib, seconds);
  return 0;
}
