#include "worker/train/evaluate.h"

#include "worker/train/eval_metrics.h"

namespace flyp::train {

StatusOr<EvalResult> EvaluateSplit(EvalSplit& split, const Scorer& scorer, dist::Communicator& comm,
                                   torch::Device device, int64_t num_classes) {
  torch::NoGradGuard no_grad;
  auto confusion = torch::zeros({num_classes, num_classes}, torch::kInt64);
  FLYP_RETURN_IF_ERROR(split.loader->StartEpoch(0));
  while (true) {
    FLYP_ASSIGN_OR_RETURN(auto next, split.loader->Next());
    if (!next) break;
    const data::Batch& b = *next;
    auto keep = b.padding.logical_not();
    auto scores = scorer(b.images.to(device)).to(torch::kCPU);
    if (scores.size(1) != num_classes) {
      return InternalError("split '" + split.name + "': scorer returned " + std::to_string(scores.size(1)) +
                           " classes, expected " + std::to_string(num_classes));
    }
    auto pred = scores.argmax(1).index({keep});
    auto labels = b.labels.index({keep});
    if (labels.numel() > 0 &&
        (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= num_classes)) {
      return InvalidArgumentError("split '" + split.name + "': labels outside [0, " +
                                  std::to_string(num_classes) + ")");
    }
    confusion += ConfusionMatrix(labels, pred, num_classes);
  }
  auto global = confusion.to(comm.device());
  comm.AllReduce(global, dist::ReduceOp::kSum);
  global = global.to(torch::kCPU);
  EvalResult r;
  r.split = split.name;
  r.ood = split.ood;
  r.accuracy = Accuracy(global);
  r.macro_f1 = MacroF1(global);
  r.examples = global.sum().item<int64_t>();
  return r;
}

StatusOr<std::pair<torch::Tensor, torch::Tensor>> ExtractFeatures(
    data::Loader& loader, const std::function<torch::Tensor(const torch::Tensor&)>& encoder,
    dist::Communicator& comm, torch::Device device, int64_t feature_dim) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> feats, labels;
  FLYP_RETURN_IF_ERROR(loader.StartEpoch(0));
  while (true) {
    FLYP_ASSIGN_OR_RETURN(auto next, loader.Next());
    if (!next) break;
    auto keep = next->padding.logical_not();
    feats.push_back(encoder(next->images.to(device)).to(torch::kCPU, torch::kFloat32).index({keep}));
    labels.push_back(next->labels.index({keep}));
  }
  // A rank whose shard was all padding still contributes a [0, D] block.
  auto f = feats.empty() ? torch::zeros({0, feature_dim}) : torch::cat(feats);
  auto l = labels.empty() ? torch::zeros({0}, torch::kInt64) : torch::cat(labels);
  if (comm.world_size() == 1) return std::make_pair(f, l);
  auto gf = comm.AllGather(f.contiguous().to(comm.device())).to(torch::kCPU);
  auto gl = comm.AllGather(l.contiguous().to(comm.device())).to(torch::kCPU);
  return std::make_pair(gf, gl);
}

}  // namespace flyp::train
