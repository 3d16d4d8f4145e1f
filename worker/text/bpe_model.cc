#include "worker/text/bpe_model.h"

#include <climits>
#include <functional>
#include <queue>
#include <vector>

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

// The reference algorithm (CLIP's simple_tokenizer.bpe) repeats: find the
// adjacent pair of lowest merge rank, merge all its occurrences left to
// right without overlaps. Rescanning the word for each merge made a word of
// n bytes cost O(n^2) (a 100 kB word took seconds, a caption of a few MB
// hours). This does the same merges in O(n log n): the pairs live in a heap
// ordered by (rank, position) over a linked list of symbols; all entries of
// the lowest rank are taken as one round and merged left to right, and only
// then are the pairs the round created pushed, exactly as the reference
// recomputes its pairs between rounds. An entry whose symbols changed since
// it was pushed is stale and skipped.
void BpeModel::EncodeWord(std::string_view bytes, std::vector<int32_t>* out) const {
  if (bytes.empty()) {
    return;
  }
  const int32_t n = static_cast<int32_t>(bytes.size());
  std::vector<int32_t> sym(static_cast<size_t>(n));  // -1: merged into the symbol before it
  std::vector<int32_t> prev(static_cast<size_t>(n)), next(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    const auto b = static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
    sym[static_cast<size_t>(i)] = i + 1 < n ? byte_id_[b] : byte_end_id_[b];
    prev[static_cast<size_t>(i)] = i - 1;
    next[static_cast<size_t>(i)] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    int32_t rank, pos, left, right, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](int32_t i) {
    if (i < 0) return;
    const int32_t j = next[static_cast<size_t>(i)];
    if (j < 0) return;
    const int32_t l = sym[static_cast<size_t>(i)], r = sym[static_cast<size_t>(j)];
    auto it = ranks_.find(Key(l, r));
    if (it != ranks_.end()) heap.push({it->second.rank, i, l, r, it->second.merged});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  std::vector<int32_t> merged_at;
  while (!heap.empty()) {
    const int32_t rank = heap.top().rank;
    merged_at.clear();
    while (!heap.empty() && heap.top().rank == rank) {
      const Candidate c = heap.top();
      heap.pop();
      const int32_t j = next[static_cast<size_t>(c.pos)];
      if (sym[static_cast<size_t>(c.pos)] != c.left || j < 0 || sym[static_cast<size_t>(j)] != c.right) {
        continue;  // stale: a merge of this round or an earlier one changed it
      }
      sym[static_cast<size_t>(c.pos)] = c.merged;
      sym[static_cast<size_t>(j)] = -1;
      next[static_cast<size_t>(c.pos)] = next[static_cast<size_t>(j)];
      if (next[static_cast<size_t>(j)] >= 0) prev[static_cast<size_t>(next[static_cast<size_t>(j)])] = c.pos;
      merged_at.push_back(c.pos);
    }
    for (int32_t i : merged_at) {
      if (sym[static_cast<size_t>(i)] < 0) continue;
      push(prev[static_cast<size_t>(i)]);
      push(i);
    }
  }
  for (int32_t i = 0; i >= 0; i = next[static_cast<size_t>(i)]) out->push_back(sym[static_cast<size_t>(i)]);
}

}  // namespace flyp::text
