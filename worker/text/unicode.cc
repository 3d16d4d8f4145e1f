#include "worker/text/unicode.h"

#include <algorithm>
#include <vector>

#include "worker/text/unicode_tables.h"

namespace flyp::text {
namespace {

bool InRanges(const internal::CodeRange* ranges, size_t n, char32_t cp) {
  // First range whose last >= cp.
  const internal::CodeRange* end = ranges + n;
  const internal::CodeRange* it =
      std::lower_bound(ranges, end, static_cast<uint32_t>(cp),
                       [](const internal::CodeRange& r, uint32_t v) { return r.last < v; });
  return it != end && it->first <= cp;
}

bool IsContinuation(unsigned char b, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
  return b >= lo && b <= hi;
}

}  // namespace

char32_t DecodeUtf8(std::string_view text, size_t* pos) {
  const size_t i = *pos;
  const unsigned char b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) {
    *pos = i + 1;
    return b0;
  }
  int need;                            // continuation bytes after the lead
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the 2nd byte
  char32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) {
      lo = 0xA0;  // no overlong forms
    }
    if (b0 == 0xED) {
      hi = 0x9F;  // no surrogates
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) {
      lo = 0x90;
    }
    if (b0 == 0xF4) {
      hi = 0x8F;  // <= U+10FFFF
    }
  } else {
    *pos = i + 1;
    return kReplacementChar;
  }
  size_t j = i + 1;
  for (int k = 0; k < need; ++k, ++j) {
    const bool ok = j < text.size() && (k == 0 ? IsContinuation(static_cast<unsigned char>(text[j]), lo, hi)
                                               : IsContinuation(static_cast<unsigned char>(text[j])));
    if (!ok) {
      *pos = j;  // the maximal invalid subpart ends before the offending byte
      return kReplacementChar;
    }
    cp = (cp << 6) | (static_cast<unsigned char>(text[j]) & 0x3F);
  }
  *pos = j;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string RepairUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const char32_t cp = DecodeUtf8(text, &pos);
    if (cp == kReplacementChar && !(pos - start == 3 && text.substr(start, 3) == "\xEF\xBF\xBD")) {
      AppendUtf8(kReplacementChar, &out);
    } else {
      out.append(text.substr(start, pos - start));
    }
  }
  return out;
}

bool IsLetter(char32_t cp) {
  if (cp < 0x80) {
    return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  }
  return InRanges(internal::kLetterRanges, internal::kNumLetterRanges, cp);
}

bool IsNumber(char32_t cp) {
  if (cp < 0x80) {
    return cp >= '0' && cp <= '9';
  }
  return InRanges(internal::kNumberRanges, internal::kNumNumberRanges, cp);
}

bool IsSpace(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  }
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

char32_t ToLower(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  }
  const internal::LowerRun* begin = internal::kLowerRuns;
  const internal::LowerRun* end = begin + internal::kNumLowerRuns;
  const internal::LowerRun* it =
      std::lower_bound(begin, end, static_cast<uint32_t>(cp),
                       [](const internal::LowerRun& r, uint32_t v) { return r.last < v; });
  if (it == end || it->first > cp || (cp - it->first) % it->stride != 0) {
    return cp;
  }
  return static_cast<char32_t>(static_cast<int64_t>(cp) + it->delta);
}

std::string LowerUtf8(std::string_view text) {
  std::vector<char32_t> cps;
  cps.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    cps.push_back(DecodeUtf8(text, &pos));
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t cp = cps[i];
    if (cp == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE -> i + COMBINING DOT ABOVE
      out.push_back('i');
      AppendUtf8(0x307, &out);
    } else if (cp == 0x3A3) {
      // Final sigma (simplified Unicode rule): after a letter, not before one.
      const bool after_letter = i > 0 && IsLetter(cps[i - 1]);
      const bool before_letter = i + 1 < cps.size() && IsLetter(cps[i + 1]);
      AppendUtf8(after_letter && !before_letter ? 0x3C2 : 0x3C3, &out);
    } else {
      AppendUtf8(ToLower(cp), &out);
    }
  }
  return out;
}

}  // namespace flyp::text
