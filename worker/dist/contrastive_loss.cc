#include "worker/dist/contrastive_loss.h"

#include <limits>

#include "worker/dist/all_gather.h"

namespace flyp::dist {
namespace {

namespace F = torch::nn::functional;

torch::Tensor CrossEntropySum(const torch::Tensor& logits, const torch::Tensor& targets) {
  return F::cross_entropy(logits, targets, F::CrossEntropyFuncOptions().reduction(torch::kSum));
}

// True where (row i, column j) is a same-class pair other than the positive.
torch::Tensor SameClassMask(const torch::Tensor& row_labels, const torch::Tensor& col_labels,
                            int64_t row_offset) {
  torch::Tensor same = row_labels.unsqueeze(1) == col_labels.unsqueeze(0);
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(row_labels.device());
  torch::Tensor rows = torch::arange(row_labels.size(0), opts).unsqueeze(1) + row_offset;
  torch::Tensor cols = torch::arange(col_labels.size(0), opts).unsqueeze(0);
  return same & (rows != cols);
}

}  // namespace

ContrastiveLossResult GlobalContrastiveLoss(const torch::Tensor& image_features,
                                            const torch::Tensor& text_features, const torch::Tensor& scale,
                                            Communicator& comm, const ContrastiveLossOptions& options,
                                            const torch::Tensor& labels) {
  TORCH_CHECK(image_features.dim() == 2 && text_features.dim() == 2,
              "GlobalContrastiveLoss: features must be [b, d], got image ", image_features.sizes(), " text ",
              text_features.sizes());
  TORCH_CHECK(image_features.sizes() == text_features.sizes(), "GlobalContrastiveLoss: image features ",
              image_features.sizes(), " and text features ", text_features.sizes(), " differ");
  TORCH_CHECK(scale.numel() == 1, "GlobalContrastiveLoss: scale must be a scalar (exp(logit_scale))");
  const int64_t b = image_features.size(0);
  if (options.mask_same_class) {
    TORCH_CHECK(
        labels.defined() && labels.dim() == 1 && labels.size(0) == b && labels.scalar_type() == torch::kLong,
        "GlobalContrastiveLoss: mask_same_class needs int64 labels [", b, "]");
  }

  const std::vector<int64_t> sizes = comm.AllGatherSizes(b);
  int64_t global = 0, offset = 0;
  for (int r = 0; r < static_cast<int>(sizes.size()); ++r) {
    if (r == comm.rank()) offset = global;
    global += sizes[r];
  }
  TORCH_CHECK(global > 0, "GlobalContrastiveLoss: the global batch is empty on every rank");
  const torch::Tensor img_all = AllGatherWithGrad(image_features, sizes, comm);
  const torch::Tensor txt_all = AllGatherWithGrad(text_features, sizes, comm);
  torch::Tensor labels_all;
  if (options.mask_same_class) labels_all = comm.AllGather(labels.contiguous(), sizes);
  const double n_ranks = comm.world_size();
  const auto s = scale.reshape({});
  const double neg_inf = -std::numeric_limits<double>::infinity();

  ContrastiveLossResult out;
  out.global_batch = global;
  if (!options.local_loss) {
    torch::Tensor logits = s * torch::matmul(img_all, txt_all.t());
    if (options.mask_same_class)
      logits = logits.masked_fill(SameClassMask(labels_all, labels_all, 0), neg_inf);
    const torch::Tensor targets =
        torch::arange(global, torch::TensorOptions().dtype(torch::kLong).device(logits.device()));
    out.loss = (CrossEntropySum(logits, targets) + CrossEntropySum(logits.t(), targets)) / (2.0 * global);
    out.global_loss = out.loss.detach().clone();
    return out;
  }

  torch::Tensor logits_img = s * torch::matmul(image_features, txt_all.t());  // [b, B]
  torch::Tensor logits_txt = s * torch::matmul(text_features, img_all.t());   // [b, B]
  if (options.mask_same_class) {
    const torch::Tensor mask = SameClassMask(labels, labels_all, offset);
    logits_img = logits_img.masked_fill(mask, neg_inf);
    logits_txt = logits_txt.masked_fill(mask, neg_inf);
  }
  const torch::Tensor targets =
      torch::arange(b, torch::TensorOptions().dtype(torch::kLong).device(logits_img.device())) + offset;
  // Sum over local rows: (sum_img + sum_txt) / 2 = b_r · L_r, so this is
  // b_r·L_r / B = the rank's share of L, and the backward loss is N times it.
  const torch::Tensor share =
      (CrossEntropySum(logits_img, targets) + CrossEntropySum(logits_txt, targets)) / (2.0 * global);
  out.loss = share * n_ranks;
  torch::Tensor total = share.detach().clone().contiguous();
  comm.AllReduce(total, ReduceOp::kSum);
  out.global_loss = total;
  return out;
}

}  // namespace flyp::dist
