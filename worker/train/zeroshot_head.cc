#include "worker/train/zeroshot_head.h"

#include "worker/text/templates.h"

namespace flyp::train {

torch::Tensor TokenizeToTensor(const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                               int64_t context_length, torch::Device device) {
  std::vector<int32_t> ids = tokenizer.TokenizeBatch(texts, static_cast<int>(context_length));
  auto t = torch::from_blob(ids.data(), {static_cast<int64_t>(texts.size()), context_length}, torch::kInt32)
               .to(torch::kInt64);
  return t.to(device);
}

torch::Tensor HeadFromTemplateEmbeddings(const torch::Tensor& embeddings) {
  auto e =
      torch::nn::functional::normalize(embeddings, torch::nn::functional::NormalizeFuncOptions().dim(-1));
  auto mean = e.mean(1);
  return torch::nn::functional::normalize(mean, torch::nn::functional::NormalizeFuncOptions().dim(-1))
      .t()
      .contiguous();
}

torch::Tensor ZeroShotHead(model::ClipModel& model, const text::Tokenizer& tokenizer,
                           const std::vector<std::string>& class_names,
                           const std::vector<std::string>& templates, int64_t batch) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  std::vector<std::string> texts;
  texts.reserve(class_names.size() * templates.size());
  for (const auto& c : class_names) {
    for (const auto& t : templates) texts.push_back(text::FillTemplate(t, c));
  }
  auto device = model.logit_scale().device();
  std::vector<torch::Tensor> chunks;
  for (size_t i = 0; i < texts.size(); i += static_cast<size_t>(batch)) {
    std::vector<std::string> part(texts.begin() + static_cast<long>(i),
                                  texts.begin() + static_cast<long>(std::min(texts.size(), i + batch)));
    chunks.push_back(model.encode_text(TokenizeToTensor(tokenizer, part, model.context_length(), device)));
  }
  auto emb = torch::cat(chunks).view(
      {static_cast<int64_t>(class_names.size()), static_cast<int64_t>(templates.size()), -1});
  if (was_training) model.train();
  return HeadFromTemplateEmbeddings(emb.to(torch::kFloat32));
}

}  // namespace flyp::train
