// A byte-level BPE vocabulary (CLIP convention): token ids for the 256 byte
// symbols with and without the end-of-word marker "</w>", merge ranks, and
// the bytes each id decodes to. Built by the vocabulary loaders
// (vocab_files.h); the Tokenizer adds cleanup, pre-tokenisation and caching.
//
// Thread safety: immutable after Build(); const methods may be called from
// any number of threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace flyp::text {

inline constexpr std::string_view kEndOfWord = "</w>";
inline constexpr std::string_view kStartOfText = "<|startoftext|>";
inline constexpr std::string_view kEndOfText = "<|endoftext|>";

class BpeModel {
 public:
  struct Merge {
    std::string left;
    std::string right;
    int line = 0;  // 1-based line in `source`, for error messages
  };

  // id_to_token[i] is the text of token i (byte symbols, optionally ending in
  // "</w>"); empty strings mark unused ids. When a text appears twice the
  // later id wins (as Python's dict(zip(vocab, range)) does). Merges are in
  // rank order; a repeated pair keeps its later rank.
  // Fails (naming `vocab_source`) when a byte symbol, "<|startoftext|>" or
  // "<|endoftext|>" has no id, or (naming `merges_source` and the line) when
  // a merge's joined text has none. A merge whose halves have no id can never
  // apply and is ignored.
  static StatusOr<BpeModel> Build(std::vector<std::string> id_to_token, const std::vector<Merge>& merges,
                                  const std::string& vocab_source, const std::string& merges_source);

  // Appends the ids of one pre-token (raw UTF-8 bytes, not byte symbols):
  // bytes -> symbols, "</w>" on the last, then merges by rank. Empty input
  // appends nothing.
  void EncodeWord(std::string_view bytes, std::vector<int32_t>* out) const;

  // Raw bytes of token `id` with "</w>" kept literally (CLIP's decoder joins
  // these, repairs UTF-8, then turns "</w>" into a space). Precondition:
  // 0 <= id < vocab_size().
  const std::string& TokenBytes(int32_t id) const { return id_bytes_[id]; }
  // Token text as in the vocabulary (byte symbols).
  const std::string& TokenText(int32_t id) const { return id_to_token_[id]; }

  int32_t vocab_size() const { return static_cast<int32_t>(id_to_token_.size()); }
  int32_t sot_id() const { return sot_; }
  int32_t eot_id() const { return eot_; }
  size_t num_merges() const { return ranks_.size(); }

 private:
  struct MergeInfo {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t Key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  std::vector<std::string> id_to_token_;
  std::vector<std::string> id_bytes_;
  std::array<int32_t, 256> byte_id_{};      // symbol of byte b
  std::array<int32_t, 256> byte_end_id_{};  // symbol of byte b + "</w>"
  std::unordered_map<uint64_t, MergeInfo> ranks_;
  int32_t sot_ = -1;
  int32_t eot_ = -1;
};

}  // namespace flyp::text
