// "Did you mean ...?": the one edit-distance helper behind every suggestion
// flyp makes (unknown spec fields and enum values, unknown commands and
// flags, unknown contexts).
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flyp {

// Levenshtein distance, ignoring ASCII case.
size_t EditDistance(std::string_view a, std::string_view b);
// The candidate closest to `word`, when it is within max(2, |word| / 3)
// edits; empty when nothing is that close.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace flyp
