#include "worker/dist/gradient_reducer.h"

#include <algorithm>

namespace flyp::dist {

GradientReducer::GradientReducer(std::vector<torch::Tensor> params, Communicator& comm,
                                 GradientReducerOptions options)
    : comm_(comm), options_(options) {
  TORCH_CHECK(options_.bucket_mib > 0, "GradientReducer: bucket_mib must be > 0");
  const int64_t cap = static_cast<int64_t>(options_.bucket_mib * 1024 * 1024);
  std::reverse(params.begin(), params.end());
  // One open bucket per dtype, so a bucket's buffer has one dtype.
  std::vector<std::pair<torch::ScalarType, size_t>> open;
  std::vector<int64_t> bytes;
  for (auto& p : params) {
    if (!p.defined() || !p.requires_grad()) continue;
    TORCH_CHECK(p.device() == comm_.device(), "GradientReducer: parameter on ", p.device(),
                " but communicator on ", comm_.device());
    const int64_t nbytes = p.numel() * p.element_size();
    auto it =
        std::find_if(open.begin(), open.end(), [&](const auto& o) { return o.first == p.scalar_type(); });
    if (it == open.end() || (bytes[it->second] > 0 && bytes[it->second] + nbytes > cap)) {
      buckets_.emplace_back();
      bytes.push_back(0);
      if (it == open.end()) {
        open.emplace_back(p.scalar_type(), buckets_.size() - 1);
      } else {
        it->second = buckets_.size() - 1;
      }
      it = std::find_if(open.begin(), open.end(), [&](const auto& o) { return o.first == p.scalar_type(); });
    }
    Bucket& bucket = buckets_[it->second];
    bucket.slots.push_back(Slot{p, bytes[it->second] / p.element_size(), false});
    bytes[it->second] += nbytes;
  }
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const Slot& last = buckets_[i].slots.back();
    buckets_[i].buffer =
        torch::zeros({last.offset + last.param.numel()}, last.param.options().requires_grad(false));
  }
  if (!options_.overlap_with_backward) return;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    for (size_t s = 0; s < buckets_[b].slots.size(); ++s) {
      torch::Tensor p = buckets_[b].slots[s].param;
      const unsigned id = p.register_hook([this, b, s](torch::Tensor grad) { OnGradient(b, s, grad); });
      hooks_.emplace_back(p, id);
    }
  }
}

GradientReducer::~GradientReducer() {
  for (auto& [p, id] : hooks_) p.remove_hook(id);
  for (auto& bucket : buckets_) {
    if (bucket.work) {
      try {
        bucket.work->Wait();
      } catch (...) {
      }
    }
  }
}

void GradientReducer::OnGradient(size_t b, size_t s, const torch::Tensor& grad) {
  Bucket& bucket = buckets_[b];
  Slot& slot = bucket.slots[s];
  TORCH_CHECK(!slot.ready,
              "GradientReducer: a parameter received a second gradient before Finish(); with "
              "overlap_with_backward=true run exactly one backward per Finish() (turn overlap off to "
              "accumulate gradients)");
  torch::NoGradGuard no_grad;
  bucket.buffer.narrow(0, slot.offset, slot.param.numel()).copy_(grad.reshape(-1));
  slot.ready = true;
  if (++bucket.ready == static_cast<int>(bucket.slots.size())) Launch(bucket);
}

void GradientReducer::Launch(Bucket& bucket) {
  bucket.work = comm_.AllReduceAsync(bucket.buffer, ReduceOp::kAvg);
}

void GradientReducer::Finish() {
  torch::NoGradGuard no_grad;
  // Buckets not completed by hooks (all of them without overlap) start now,
  // in index order, which is the same on every rank.
  for (auto& bucket : buckets_) {
    if (bucket.work) continue;
    for (Slot& slot : bucket.slots) {
      torch::Tensor view = bucket.buffer.narrow(0, slot.offset, slot.param.numel());
      if (slot.ready) continue;  // already copied by its hook
      // With hooks, a slot without one got no gradient in this backward
      // (.grad may still hold the previous step's): it contributes zeros.
      const torch::Tensor& g = slot.param.grad();
      if (!options_.overlap_with_backward && g.defined()) {
        view.copy_(g.reshape(-1));
      } else {
        view.zero_();
      }
    }
    Launch(bucket);
  }
  for (auto& bucket : buckets_) {
    bucket.work->Wait();
    bucket.work.reset();
    for (Slot& slot : bucket.slots) {
      torch::Tensor reduced =
          bucket.buffer.narrow(0, slot.offset, slot.param.numel()).view(slot.param.sizes());
      torch::Tensor& g = slot.param.mutable_grad();
      if (g.defined()) {
        g.copy_(reduced);
      } else {
        g = reduced.clone();
      }
      slot.ready = false;
    }
    bucket.ready = 0;
  }
}

void BroadcastParameters(const std::vector<torch::Tensor>& params, Communicator& comm, int root) {
  torch::NoGradGuard no_grad;
  for (const auto& p : params) {
    if (!p.defined()) continue;
    torch::Tensor data = p.detach();
    if (data.is_contiguous()) {
      comm.Broadcast(data, root);
    } else {
      torch::Tensor tmp = data.contiguous();
      comm.Broadcast(tmp, root);
      data.copy_(tmp);
    }
  }
}

}  // namespace flyp::dist
