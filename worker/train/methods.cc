#include "worker/train/methods.h"

#include <cmath>

#include "worker/dist/contrastive_loss.h"
#include "worker/text/templates.h"
#include "worker/train/device_util.h"
#include "worker/train/grad_cache.h"
#include "worker/train/zeroshot_head.h"

namespace flyp::train {

size_t DrawTemplate(uint64_t seed, int64_t step, int64_t index, size_t num_templates) {
  // splitmix64 over the three inputs: cheap, well mixed, stateless.
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL ^
               (static_cast<uint64_t>(step) + 0x632BE59BD9B4E019ULL) * 0xBF58476D1CE4E5B9ULL ^
               static_cast<uint64_t>(index) * 0x94D049BB133111EBULL;
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return static_cast<size_t>(x % num_templates);
}

std::vector<std::string> BatchCaptions(const data::Batch& batch, const std::vector<std::string>& class_names,
                                       const std::vector<std::string>& templates, uint64_t seed,
                                       int64_t step) {
  const int64_t n = batch.labels.size(0);
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(n));
  auto labels = batch.labels.accessor<int64_t, 1>();
  auto indices = batch.indices.accessor<int64_t, 1>();
  for (int64_t i = 0; i < n; ++i) {
    if (static_cast<size_t>(i) < batch.captions.size() && !batch.captions[static_cast<size_t>(i)].empty()) {
      out.push_back(batch.captions[static_cast<size_t>(i)]);
      continue;
    }
    const auto& t = templates[DrawTemplate(seed, step, indices[i], templates.size())];
    out.push_back(text::FillTemplate(t, class_names.at(static_cast<size_t>(labels[i]))));
  }
  return out;
}

optim::NamedTensors SetTrainable(model::ClipModel& model, const v1::MethodSpec& method) {
  optim::NamedTensors out;
  for (auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    bool train;
    if (name == "logit_scale")
      train = method.train_logit_scale();
    else if (name.rfind("visual.", 0) == 0)
      train = method.train_image_tower();
    else
      train = method.train_text_tower();
    item.value().set_requires_grad(train);
    if (train) out.emplace_back(name, item.value());
  }
  return out;
}

void ClampLogitScale(model::ClipModel& model) {
  torch::NoGradGuard no_grad;
  model.logit_scale().clamp_(0.0, std::log(100.0));
}

namespace {

bool Bf16Autocast(const v1::JobSpec& spec) { return spec.resources().precision() == v1::PRECISION_BFLOAT16; }

// Micro-batches per step: optim.accum_steps, but never more than the rank's
// batch has samples (a short last batch). Every rank has the same batch
// size in a step (the distributed sampler), so every rank gets the same
// count, as the collective GradCacheStep requires.
int64_t MicroBatchSize(const v1::JobSpec& spec, int64_t batch) {
  const int64_t k = std::max<int64_t>(1, spec.optim().accum_steps());
  return std::max<int64_t>(1, (batch + k - 1) / k);
}

}  // namespace

StepLoss ContrastiveStep(const StepContext& ctx, const data::Batch& batch, int64_t step) {
  model::ClipModel& model = ctx.model;
  dist::Communicator& comm = ctx.comm;
  const v1::JobSpec& spec = ctx.spec;
  const torch::Device device = ctx.device;
  auto captions = BatchCaptions(batch, ctx.class_names, ctx.templates,
                                static_cast<uint64_t>(spec.schedule().seed()), step);
  auto ids = TokenizeToTensor(ctx.tokenizer, captions, model.context_length(), device);
  auto images = ToDevice(batch.images, device);
  dist::ContrastiveLossOptions opts;
  opts.local_loss = spec.method().local_loss();
  opts.mask_same_class = spec.method().mask_same_class();
  const torch::Tensor labels = opts.mask_same_class ? ToDevice(batch.labels, device) : torch::Tensor();
  const bool bf16 = Bf16Autocast(spec);
  // Bytes the gathers moved: image and text features of the global batch,
  // in the parameters' dtype (features leave autocast as float32).
  auto gathered_bytes = [&](int64_t global_batch) -> int64_t {
    if (comm.world_size() == 1) return 0;
    return 2 * global_batch * model.embed_dim() * static_cast<int64_t>(model.logit_scale().element_size());
  };

  if (spec.optim().accum_steps() > 1) {
    // Gradient accumulation with embedding caching: backpropagates itself.
    const auto micro = SplitIntoMicroBatches(images, ids, labels, MicroBatchSize(spec, images.size(0)));
    const GradCacheResult r = GradCacheStep(model, micro, comm, opts, bf16);
    return StepLoss{torch::Tensor(), r.loss, gathered_bytes(r.global_batch), r.text.captions, r.text.tokens};
  }
  torch::Tensor img, txt;
  TextWork text;
  {
    AutocastScope autocast(device, bf16);
    img = model.encode_image(images);
    txt = EncodeDistinctCaptions(model, ids, &text);
  }
  img = NormalizeRows(Float32IfReduced(img));
  txt = NormalizeRows(Float32IfReduced(txt));
  auto res = dist::GlobalContrastiveLoss(img, txt, model.logit_scale().exp(), comm, opts, labels);
  return StepLoss{res.loss, res.global_loss.item<double>(), gathered_bytes(res.global_batch), text.captions,
                  text.tokens};
}

StepLoss ClassifierStep(const StepContext& ctx, LinearHead& head, const L2spAnchor& anchor,
                        const data::Batch& batch) {
  model::ClipModel& model = ctx.model;
  const v1::JobSpec& spec = ctx.spec;
  const torch::Device device = ctx.device;
  const auto images = ToDevice(batch.images, device);
  const auto labels = ToDevice(batch.labels, device);
  const bool bf16 = Bf16Autocast(spec);
  const auto ce =
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(spec.method().label_smoothing());
  auto penalty = [&]() -> torch::Tensor {
    const double w = spec.method().l2sp_weight();
    if (w <= 0) return {};
    auto sum = torch::zeros({}, images.options().dtype(torch::kFloat32));
    for (const auto& [live, start] : anchor) sum = sum + (live - start).pow(2).sum();
    return w * sum;
  };
  auto logits_of = [&](const torch::Tensor& x) {
    torch::Tensor features;
    {
      AutocastScope autocast(device, bf16);
      features = model.encode_image(x);
    }
    return head->forward(Float32IfReduced(features));
  };
  const int64_t b = images.size(0);
  if (spec.optim().accum_steps() <= 1 || b <= 1) {
    auto loss = torch::nn::functional::cross_entropy(logits_of(images), labels, ce);
    if (auto p = penalty(); p.defined()) loss = loss + p;
    return StepLoss{loss, loss.item<double>()};
  }
  // Plain gradient accumulation (the loss is a mean over samples, so the
  // micro-batch means weighted by their share of the batch sum to it): one
  // backward per micro-batch, the L2-SP penalty once.
  const int64_t m = MicroBatchSize(spec, b);
  double total = 0;
  for (int64_t start = 0; start < b; start += m) {
    const int64_t end = std::min(b, start + m);
    auto part = torch::nn::functional::cross_entropy(logits_of(images.slice(0, start, end)),
                                                     labels.slice(0, start, end), ce) *
                (static_cast<double>(end - start) / static_cast<double>(b));
    part.backward();
    total += part.item<double>();
  }
  if (auto p = penalty(); p.defined()) {
    p.backward();
    total += p.item<double>();
  }
  return StepLoss{torch::Tensor(), total};
}

LinearProbeResult LinearProbe(const torch::Tensor& train_x, const torch::Tensor& train_y,
                              const torch::Tensor& val_x, const torch::Tensor& val_y,
                              const torch::Tensor& zeroshot_head, double scale,
                              const v1::MethodSpec& method) {
  LinearProbeResult best;
  best.val_accuracy = -1;
  auto x = NormalizeRows(train_x);
  auto vx = NormalizeRows(val_x);
  for (float l2 : method.lp_l2_grid()) {
    LinearHead head(zeroshot_head.to(torch::kFloat32).cpu(), scale);
    torch::optim::Adam opt(head->parameters(), torch::optim::AdamOptions(method.lp_learning_rate()));
    for (int i = 0; i < method.lp_steps(); ++i) {
      opt.zero_grad();
      auto loss =
          torch::nn::functional::cross_entropy(head->forward(x), train_y) + l2 * head->weight.pow(2).sum();
      loss.backward();
      opt.step();
    }
    torch::NoGradGuard no_grad;
    double acc = head->forward(vx).argmax(1).eq(val_y).to(torch::kFloat64).mean().item<double>();
    // Strictly better only: ties keep the earlier (by grid order) strength.
    if (acc > best.val_accuracy) {
      best.head = head;
      best.l2 = l2;
      best.val_accuracy = acc;
    }
  }
  return best;
}

}  // namespace flyp::train
