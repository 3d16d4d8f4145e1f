// The zero-shot classification head of CLIP (ARCHITECTURE §4): for each class,
// encode every prompt template filled with the class name, L2-normalise each
// embedding, average, and re-normalise. Image features · head = class scores.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "worker/model/clip.h"
#include "worker/text/tokenizer.h"

namespace flyp::train {

// [embed_dim, num_classes], unit columns, on the model's device, no grad.
// Encodes in chunks of `batch` texts.
torch::Tensor ZeroShotHead(model::ClipModel& model, const text::Tokenizer& tokenizer,
                           const std::vector<std::string>& class_names,
                           const std::vector<std::string>& templates, int64_t batch = 256);

// The head from already computed text embeddings [num_classes, num_templates,
// embed_dim]: normalise, mean over templates, normalise. (The arithmetic of
// ZeroShotHead, separately testable.)
torch::Tensor HeadFromTemplateEmbeddings(const torch::Tensor& embeddings);

// Token ids [n, context] int64 for texts, on `device`.
torch::Tensor TokenizeToTensor(const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                               int64_t context_length, torch::Device device);

}  // namespace flyp::train
