#include "worker/dist/single_communicator.h"

namespace flyp::dist {
namespace {

class DoneWork : public Work {
 public:
  void Wait() override {}
};

class SingleProcessCommunicator : public Communicator {
 public:
  explicit SingleProcessCommunicator(torch::Device device) : device_(device) {}

  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string backend() const override { return "single"; }
  torch::Device device() const override { return device_; }
  void SetStep(int64_t) override {}

  std::vector<int64_t> AllGatherSizes(int64_t n) override { return {n}; }
  torch::Tensor AllGather(const torch::Tensor& local, const std::vector<int64_t>& sizes) override {
    if (sizes.size() != 1 || (local.dim() > 0 && sizes[0] != local.size(0))) {
      throw CommunicatorError("AllGather: sizes do not match the local tensor (single-process world)");
    }
    return local.clone();
  }
  void AllReduce(torch::Tensor& tensor, ReduceOp op) override { CheckReduce(tensor, op); }
  std::unique_ptr<Work> AllReduceAsync(torch::Tensor& tensor, ReduceOp op) override {
    CheckReduce(tensor, op);
    return std::make_unique<DoneWork>();
  }
  void Broadcast(torch::Tensor&, int root) override {
    if (root != 0)
      throw CommunicatorError("Broadcast: root " + std::to_string(root) + " outside world of size 1");
  }
  void Barrier() override {}

 private:
  // The same argument checks as the other backends, so code tested against
  // this fake does not fail only when distributed.
  static void CheckReduce(const torch::Tensor& t, ReduceOp op) {
    if (!t.defined()) throw CommunicatorError("AllReduce: undefined tensor");
    if (op == ReduceOp::kAvg && !t.is_floating_point())
      throw CommunicatorError("AllReduce AVG needs a floating dtype");
  }
  torch::Device device_;
};

}  // namespace

std::unique_ptr<Communicator> CreateSingleProcessCommunicator(torch::Device device) {
  return std::make_unique<SingleProcessCommunicator>(device);
}

}  // namespace flyp::dist
