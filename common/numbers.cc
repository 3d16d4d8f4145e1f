#include "common/numbers.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <type_traits>

namespace flyp {
namespace {

std::string Prefix(std::string_view what) { return what.empty() ? std::string() : std::string(what) + ": "; }

Status Expected(std::string_view what, const std::string& expected, std::string_view text) {
  return InvalidArgumentError(Prefix(what) + "expected " + expected + ", got '" + QuoteForError(text) + "'");
}

template <typename T>
std::string RangeText(T min, T max) {
  return "[" + std::to_string(min) + ", " + std::to_string(max) + "]";
}

template <typename T>
StatusOr<T> ParseInteger(std::string_view text, std::string_view what, T min, T max) {
  T v{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  const bool digits = !text.empty() && ptr == end;
  if (digits && ec == std::errc() && v >= min && v <= max) return v;
  // A well-formed integer that does not fit, or a '-' before an unsigned one.
  const bool range = (digits && ec == std::errc::result_out_of_range) || (digits && ec == std::errc()) ||
                     (std::is_unsigned_v<T> && text.size() > 1 && text[0] == '-' &&
                      text.find_first_not_of("0123456789", 1) == std::string_view::npos);
  return Expected(what, range ? "an integer in " + RangeText(min, max) : std::string("an integer"), text);
}

// For text that from_chars parsed but found out of range: whether its
// magnitude is below 1 (the result underflows to zero) rather than huge.
bool MagnitudeBelowOne(std::string_view t) {
  size_t i = (!t.empty() && t[0] == '-') ? 1 : 0;
  int64_t int_digits = 0;  // significant digits before '.'
  int64_t frac_zeros = 0;  // zeros after '.' before the first non-zero digit
  bool nonzero_int = false, nonzero_frac = false;
  for (; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
    if (t[i] != '0') nonzero_int = true;
    if (nonzero_int) ++int_digits;
  }
  if (i < t.size() && t[i] == '.') {
    for (++i; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
      if (t[i] != '0') nonzero_frac = true;
      if (!nonzero_frac && !nonzero_int) ++frac_zeros;
    }
  }
  int64_t exp = 0;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && t[i] == '+') ++i;
    // A huge exponent does not fit: its sign alone decides.
    const auto r = std::from_chars(t.data() + i, t.data() + t.size(), exp);
    if (r.ec == std::errc::result_out_of_range) return t[i] == '-';
  }
  if (!nonzero_int && !nonzero_frac) return true;  // zero itself never overflows
  // In 128 bits: exp may be any int64 and the digit counts push it past.
  const __int128 decimal_exponent =
      nonzero_int ? static_cast<__int128>(exp) + int_digits - 1 : static_cast<__int128>(exp) - frac_zeros - 1;
  return decimal_exponent < 0;
}

template <typename T>
StatusOr<T> ParseFloating(std::string_view text, std::string_view what, T min, T max) {
  T v{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v, std::chars_format::general);
  if (text.empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Expected(what, "a number", text);
  }
  if (ec == std::errc::result_out_of_range) {
    // Either way the text names a number the type cannot hold: refused, not
    // silently replaced by infinity or zero.
    if (!MagnitudeBelowOne(text)) return Expected(what, "a finite number", text);
    char smallest[64];
    *std::to_chars(smallest, smallest + sizeof(smallest) - 1, std::numeric_limits<T>::denorm_min()).ptr =
        '\0';
    return Expected(what, std::string("0 or a number of magnitude at least ") + smallest, text);
  }
  if (!std::isfinite(v)) return Expected(what, "a finite number", text);
  if (v < min || v > max) {
    char lo[64], hi[64];
    *std::to_chars(lo, lo + sizeof(lo) - 1, min).ptr = '\0';
    *std::to_chars(hi, hi + sizeof(hi) - 1, max).ptr = '\0';
    return Expected(what, std::string("a number in [") + lo + ", " + hi + "]", text);
  }
  return v;
}

}  // namespace

std::string FormatShortest(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string FormatShortest(float v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string QuoteForError(std::string_view text) {
  std::string out;
  const size_t n = std::min(text.size(), kMaxQuotedChars);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > n) out += "...";
  return out;
}

StatusOr<int64_t> ParseInt64(std::string_view text, std::string_view what, int64_t min, int64_t max) {
  return ParseInteger<int64_t>(text, what, min, max);
}

StatusOr<int32_t> ParseInt32(std::string_view text, std::string_view what, int32_t min, int32_t max) {
  return ParseInteger<int32_t>(text, what, min, max);
}

StatusOr<uint64_t> ParseUint64(std::string_view text, std::string_view what, uint64_t max) {
  return ParseInteger<uint64_t>(text, what, 0, max);
}

StatusOr<double> ParseDouble(std::string_view text, std::string_view what, double min, double max) {
  return ParseFloating<double>(text, what, min, max);
}

StatusOr<float> ParseFloat(std::string_view text, std::string_view what) {
  return ParseFloating<float>(text, what, -std::numeric_limits<float>::max(),
                              std::numeric_limits<float>::max());
}

StatusOr<long double> ParseLongDouble(std::string_view text, std::string_view what) {
  return ParseFloating<long double>(text, what, -std::numeric_limits<long double>::max(),
                                    std::numeric_limits<long double>::max());
}

}  // namespace flyp
