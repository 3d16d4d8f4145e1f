// Learning BPE merges from a caption corpus (the train-bpe command), with the
// tokenizer's own conventions so the result loads with Tokenizer::Load:
// CleanText + PreTokenize, byte symbols (byte_encoder.h), "</w>" on each
// word's last symbol, special-token text skipped.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace flyp::text {

using MergeList = std::vector<std::pair<std::string, std::string>>;

// Greedy BPE: repeatedly merges the most frequent adjacent symbol pair
// (counted over word frequencies), ties broken by the lexicographically
// smallest (left, right) symbol text, until `num_merges` merges, no pair, or
// the best pair occurs fewer than `min_frequency` times. Every occurrence of
// the pair in a word is merged left to right, as the tokenizer applies it.
// Pair counts are updated incrementally (only words holding the pair are
// touched), so ~100k captions and ~2000 merges take about a second.
// Errors: InvalidArgument for num_merges outside [0, 48894], min_frequency
// < 1, or a corpus without a single word.
StatusOr<MergeList> LearnBpeMerges(const std::vector<std::string>& corpus, int num_merges,
                                   int min_frequency = 2);

// Writes `merges` in CLIP's format ("#version: 0.2", then "left right" per
// line) atomically (WriteFileAtomic), so a reader never sees a partial file.
// Errors: InvalidArgument for an empty token or one holding whitespace;
// those of WriteFileAtomic, naming the path, when the file cannot be written.
Status WriteClipVocab(const std::string& path, const MergeList& merges);

}  // namespace flyp::text
