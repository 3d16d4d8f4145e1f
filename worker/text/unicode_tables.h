// Unicode property tables used by the tokenizer's pre-tokenisation (no ICU):
// sorted, non-overlapping code point ranges for \p{L} and \p{N}, and the
// simple lowercase mapping as runs. Data lives in unicode_tables.cc, written
// by scripts/gen-unicode-tables (Unicode 14.0.0; see the script for why).
#pragma once

#include <cstddef>
#include <cstdint>

namespace flyp::text::internal {

struct CodeRange {
  uint32_t first;
  uint32_t last;  // inclusive
};

// Code points first, first+stride, ..., last map to cp + delta when lowered.
struct LowerRun {
  uint32_t first;
  uint32_t last;  // inclusive
  int32_t delta;
  uint32_t stride;  // 1 or 2
};

extern const CodeRange kLetterRanges[];
extern const size_t kNumLetterRanges;
extern const CodeRange kNumberRanges[];
extern const size_t kNumNumberRanges;
extern const LowerRun kLowerRuns[];
extern const size_t kNumLowerRuns;

}  // namespace flyp::text::internal
