#include "worker/train/grad_cache.h"

#include "worker/train/device_util.h"

namespace flyp::train {
namespace {

// Same as ContrastiveStep's normalisation (classifier.h NormalizeRows), in
// float32 whatever precision the encoder ran in.
torch::Tensor Normalize(const torch::Tensor& x) {
  return torch::nn::functional::normalize(Float32IfReduced(x),
                                          torch::nn::functional::NormalizeFuncOptions().dim(-1));
}

}  // namespace

torch::Tensor EncodeDistinctCaptions(model::ClipModel& model, const torch::Tensor& ids, TextWork* work) {
  auto encode = [&](const torch::Tensor& rows) {
    int64_t positions = 0;
    torch::Tensor out = model.encode_text(rows, &positions);
    if (work != nullptr) {
      work->captions += rows.size(0);
      work->tokens += rows.size(0) * positions;
    }
    return out;
  };
  // Nothing to share (and an empty micro-batch of a short last batch).
  if (ids.size(0) <= 1) return encode(ids);
  const auto [distinct, inverse, counts] =
      torch::unique_dim(ids, /*dim=*/0, /*sorted=*/false, /*return_inverse=*/true, /*return_counts=*/false);
  if (distinct.size(0) == ids.size(0)) return encode(ids);  // no repeats: keep the batch's order
  return encode(distinct).index_select(0, inverse);
}

GradCacheResult GradCacheStep(model::ClipModel& model, const std::vector<MicroBatch>& micro_batches,
                              dist::Communicator& comm, const dist::ContrastiveLossOptions& options,
                              bool bf16_autocast) {
  TORCH_CHECK(!micro_batches.empty(), "GradCacheStep: no micro-batches");
  const torch::Device device = micro_batches.front().images.device();
  std::vector<int64_t> offsets{0};
  for (const auto& mb : micro_batches) {
    TORCH_CHECK(mb.images.defined() && mb.ids.defined() && mb.images.size(0) == mb.ids.size(0),
                "GradCacheStep: each micro-batch needs as many images as token rows");
    offsets.push_back(offsets.back() + mb.images.size(0));
  }

  // 1. Features of every micro-batch, without a graph.
  std::vector<torch::Tensor> img_parts, txt_parts, label_parts;
  TextWork text;
  {
    torch::NoGradGuard no_grad;
    AutocastScope autocast(device, bf16_autocast);
    for (const auto& mb : micro_batches) {
      img_parts.push_back(Normalize(model.encode_image(mb.images)));
      txt_parts.push_back(Normalize(EncodeDistinctCaptions(model, mb.ids, &text)));
      if (options.mask_same_class) {
        TORCH_CHECK(mb.labels.defined(), "GradCacheStep: mask_same_class needs labels in every micro-batch");
        label_parts.push_back(mb.labels);
      }
    }
  }
  torch::Tensor img = torch::cat(img_parts).requires_grad_(true);
  torch::Tensor txt = torch::cat(txt_parts).requires_grad_(true);
  img_parts.clear();
  txt_parts.clear();

  // 2. The global loss over the cached features: feature gradients, and
  // logit_scale's gradient accumulated into its .grad.
  const torch::Tensor labels = options.mask_same_class ? torch::cat(label_parts) : torch::Tensor();
  auto res = dist::GlobalContrastiveLoss(img, txt, model.logit_scale().exp(), comm, options, labels);
  res.loss.backward();
  const torch::Tensor img_grad = img.grad();
  const torch::Tensor txt_grad = txt.grad();

  // 3. Re-encode each micro-batch with a graph and push its feature gradients
  // through it.
  for (size_t i = 0; i < micro_batches.size(); ++i) {
    const auto& mb = micro_batches[i];
    if (mb.images.size(0) == 0) continue;
    torch::Tensor fi, ft;
    {
      AutocastScope autocast(device, bf16_autocast);
      fi = model.encode_image(mb.images);
      ft = EncodeDistinctCaptions(model, mb.ids, /*work=*/nullptr);  // counted in pass 1
    }
    fi = Normalize(fi);
    ft = Normalize(ft);
    torch::autograd::backward({fi, ft}, {img_grad.slice(0, offsets[i], offsets[i + 1]),
                                         txt_grad.slice(0, offsets[i], offsets[i + 1])});
  }

  GradCacheResult out;
  out.loss = res.global_loss.item<double>();
  out.global_batch = res.global_batch;
  out.text = text;
  return out;
}

std::vector<MicroBatch> SplitIntoMicroBatches(const torch::Tensor& images, const torch::Tensor& ids,
                                              const torch::Tensor& labels, int64_t micro_batch_size) {
  TORCH_CHECK(micro_batch_size > 0, "SplitIntoMicroBatches: micro_batch_size must be > 0, got ",
              micro_batch_size);
  TORCH_CHECK(images.size(0) == ids.size(0), "SplitIntoMicroBatches: ", images.size(0), " images but ",
              ids.size(0), " token rows");
  std::vector<MicroBatch> out;
  const int64_t n = images.size(0);
  for (int64_t start = 0; start < n || (n == 0 && out.empty()); start += micro_batch_size) {
    const int64_t end = std::min(n, start + micro_batch_size);
    MicroBatch mb;
    mb.images = images.slice(0, start, end);
    mb.ids = ids.slice(0, start, end);
    if (labels.defined()) mb.labels = labels.slice(0, start, end);
    out.push_back(std::move(mb));
    if (n == 0) break;
  }
  return out;
}

}  // namespace flyp::train
