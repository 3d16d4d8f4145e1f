#include "worker/text/bpe_model.h"

#include <climits>

#include "worker/text/byte_encoder.h"

namespace flyp::text {

StatusOr<BpeModel> BpeModel::Build(std::vector<std::string> id_to_token, const std::vector<Merge>& merges,
                                   const std::string& vocab_source, const std::string& merges_source) {
  BpeModel m;
  std::unordered_map<std::string, int32_t> ids;
  ids.reserve(id_to_token.size() * 2);
  for (size_t i = 0; i < id_to_token.size(); ++i) {
    if (!id_to_token[i].empty()) {
      ids[id_to_token[i]] = static_cast<int32_t>(i);
    }
  }
  auto find = [&](const std::string& token) -> int32_t {
    auto it = ids.find(token);
    return it == ids.end() ? -1 : it->second;
  };
  for (int b = 0; b < 256; ++b) {
    const std::string& sym = ByteSymbol(static_cast<uint8_t>(b));
    m.byte_id_[b] = find(sym);
    m.byte_end_id_[b] = find(sym + std::string(kEndOfWord));
    if (m.byte_id_[b] < 0 || m.byte_end_id_[b] < 0) {
      return InvalidArgumentError(vocab_source + ": vocabulary lacks the byte token '" + sym + "' (byte " +
                                  std::to_string(b) + ") or its '</w>' form");
    }
  }
  m.sot_ = find(std::string(kStartOfText));
  m.eot_ = find(std::string(kEndOfText));
  if (m.sot_ < 0 || m.eot_ < 0) {
    return InvalidArgumentError(vocab_source + ": vocabulary lacks <|startoftext|> or <|endoftext|>");
  }
  m.ranks_.reserve(merges.size() * 2);
  for (size_t r = 0; r < merges.size(); ++r) {
    const Merge& mg = merges[r];
    const int32_t merged = find(mg.left + mg.right);
    if (merged < 0) {
      return InvalidArgumentError(merges_source + ":" + std::to_string(mg.line) + ": merged token '" +
                                  mg.left + mg.right + "' is not in the vocabulary");
    }
    const int32_t a = find(mg.left);
    const int32_t b = find(mg.right);
    if (a < 0 || b < 0) {
      continue;  // unreachable merge
    }
    m.ranks_[Key(a, b)] = MergeInfo{static_cast<int32_t>(r), merged};
  }
  m.id_bytes_.resize(id_to_token.size());
  for (size_t i = 0; i < id_to_token.size(); ++i) {
    m.id_bytes_[i] = SymbolsToBytes(id_to_token[i]);
  }
  m.id_to_token_ = std::move(id_to_token);
  return m;
}

void BpeModel::EncodeWord(std::string_view bytes, std::vector<int32_t>* out) const {
  if (bytes.empty()) {
    return;
  }
  std::vector<int32_t> word;
  word.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    word.push_back(i + 1 < bytes.size() ? byte_id_[b] : byte_end_id_[b]);
  }
  std::vector<int32_t> next;
  next.reserve(word.size());
  while (word.size() > 1) {
    int32_t best_rank = INT32_MAX;
    MergeInfo best{};
    int32_t first = 0, second = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks_.find(Key(word[i], word[i + 1]));
      if (it != ranks_.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        best = it->second;
        first = word[i];
        second = word[i + 1];
      }
    }
    if (best_rank == INT32_MAX) {
      break;
    }
    // Merge every occurrence, left to right, without overlaps.
    next.clear();
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        next.push_back(best.merged);
        i += 2;
      } else {
        next.push_back(word[i++]);
      }
    }
    word.swap(next);
  }
  out->insert(out->end(), word.begin(), word.end());
}

}  // namespace flyp::text
