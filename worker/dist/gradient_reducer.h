// Data-parallel gradient averaging and parameter broadcast.
//
// GradientReducer groups the parameters (those with requires_grad) into
// buckets of at most `bucket_mib` MiB of one dtype, in REVERSE parameter
// order (backward produces the last layers' gradients first). Each bucket is
// one flat buffer and one all-reduce (AVG) per step; results are copied back
// into the parameters' .grad.
//
// Overlap (overlap_with_backward = true, the default): a hook on every
// parameter (Tensor::register_hook, which on LibTorch 1.13 fires once per
// backward with the parameter's full gradient, before it is accumulated into
// .grad) copies the gradient into its bucket; the bucket's all-reduce starts
// (AllReduceAsync) as soon as its last gradient arrived, while backward goes
// on. With NCCL this overlaps communication with the remaining backward
// kernels; with OpenMPI (no asynchronous progress thread) the started
// reduction advances inside later MPI calls (the gathers' backward) and in
// Finish(). Contract of this mode: exactly ONE backward pass between Finish()
// calls (no gradient accumulation over micro-batches; a second gradient for a
// parameter before Finish() throws); .grad is overwritten, so zero_grad is not
// needed. With overlap off, Finish() reduces whatever .grad holds (so
// accumulation over several backward passes works).
//
// Every rank must produce gradients for the same parameters (a parameter
// without a gradient contributes zeros and ends with a zero .grad), and hooks
// fire in the same order on every rank (true for identical graphs).
//
// Thread safety: not thread-safe; use from the training thread (hooks run on
// the autograd thread during backward, which for CPU is the caller).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "worker/dist/communicator.h"

namespace flyp::dist {

struct GradientReducerOptions {
  // Bucket size cap (a larger single parameter gets a bucket of its own).
  // Bigger buckets: fewer collectives, less overlap. Default 25 MiB (as DDP).
  double bucket_mib = 25.0;
  // Start bucket reductions from gradient hooks during backward.
  bool overlap_with_backward = true;
};

class GradientReducer {
 public:
  // `comm` must outlive the reducer. Registers hooks when overlapping.
  GradientReducer(std::vector<torch::Tensor> params, Communicator& comm, GradientReducerOptions options = {});
  ~GradientReducer();  // removes the hooks
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Call after backward: finishes every bucket's all-reduce and writes the
  // rank-averaged gradients into each parameter's .grad. Collective.
  void Finish();

  int num_buckets() const { return static_cast<int>(buckets_.size()); }

 private:
  struct Slot {
    torch::Tensor param;
    int64_t offset = 0;  // in elements, inside the bucket's buffer
    bool ready = false;
  };
  struct Bucket {
    std::vector<Slot> slots;
    torch::Tensor buffer;
    int ready = 0;
    std::unique_ptr<Work> work;
  };
  void OnGradient(size_t bucket, size_t slot, const torch::Tensor& grad);
  void Launch(Bucket& bucket);

  Communicator& comm_;
  const GradientReducerOptions options_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<torch::Tensor, unsigned>> hooks_;
};

// Copies root's values of every parameter to all ranks (in place, without
// recording autograd history). Call once after building the model so replicas
// start identical. Collective.
void BroadcastParameters(const std::vector<torch::Tensor>& params, Communicator& comm, int root = 0);

}  // namespace flyp::dist
