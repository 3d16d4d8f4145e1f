// Benchmark input: token rows shaped as the tokenizer makes them — SOT,
// random ids, EOT (the largest id, where encode_text pools), zero padding —
// with caption lengths drawn from [min_len, max_len).
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>

namespace flyp::bench {

inline torch::Tensor RandomTokenIds(int64_t n, int64_t context, int64_t vocab, int64_t min_len,
                                    int64_t max_len) {
  auto ids = torch::zeros({n, context}, torch::kLong);
  auto lengths = torch::randint(min_len, std::min(context, max_len), {n}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = lengths[i].item<int64_t>();
    ids[i][0] = vocab - 2;
    ids[i].slice(0, 1, len - 1).random_(1, vocab - 2);
    ids[i][len - 1] = vocab - 1;
  }
  return ids;
}

}  // namespace flyp::bench
