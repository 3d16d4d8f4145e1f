// Number parsing: the one family every component uses to turn text (flags,
// YAML scalars, environment variables, page tokens, /proc fields) into
// numbers. Built on std::from_chars: no locale, no exceptions, no errno.
//
// The whole of `text` must be the number: decimal digits with an optional
// leading '-' (not for unsigned types); no '+', no surrounding whitespace,
// no "0x". Floating-point text is what from_chars accepts in general format
// ("1.5", "-2e-3", "inf" and "nan" are recognised but refused: results must
// be finite); a non-zero value too small for the type (it would round to
// zero) is refused too, so no number is silently replaced by another.
//
// Errors are INVALID_ARGUMENT; the message starts with `what` (the flag, key
// or field; omitted when empty) and quotes at most kMaxQuotedChars of the
// input, control bytes escaped:
//   "cpu-slots: expected an integer, got 'x'"
//   "page_token: expected an integer in [0, 9223372036854775807], got '-1'"
//   "grace-period-s: expected a finite number, got 'inf'"
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/status.h"

namespace flyp {

// Input quoted in error messages is cut after this many characters ("...").
inline constexpr size_t kMaxQuotedChars = 40;

// Integers in [min, max].
StatusOr<int64_t> ParseInt64(std::string_view text, std::string_view what,
                             int64_t min = std::numeric_limits<int64_t>::min(),
                             int64_t max = std::numeric_limits<int64_t>::max());
StatusOr<int32_t> ParseInt32(std::string_view text, std::string_view what,
                             int32_t min = std::numeric_limits<int32_t>::min(),
                             int32_t max = std::numeric_limits<int32_t>::max());
StatusOr<uint64_t> ParseUint64(std::string_view text, std::string_view what,
                               uint64_t max = std::numeric_limits<uint64_t>::max());

// Finite numbers in [min, max]. ParseFloat rounds the text to float directly
// (not through double), so "0.1" gives the float nearest 0.1.
StatusOr<double> ParseDouble(std::string_view text, std::string_view what,
                             double min = -std::numeric_limits<double>::max(),
                             double max = std::numeric_limits<double>::max());
StatusOr<float> ParseFloat(std::string_view text, std::string_view what);
StatusOr<long double> ParseLongDouble(std::string_view text, std::string_view what);

// The shortest decimal text that parses back (ParseDouble) to exactly `v`:
// 0.25 -> "0.25", 1e-4 -> "1e-04", 3.0 -> "3" (std::to_chars' shortest form).
// The float overload is shortest for the float (0.1f -> "0.1").
std::string FormatShortest(double v);
std::string FormatShortest(float v);

// `text` for an error message: at most kMaxQuotedChars characters ("..."
// after a cut), control and non-ASCII bytes as \xNN.
std::string QuoteForError(std::string_view text);

}  // namespace flyp
