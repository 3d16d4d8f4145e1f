#include "worker/text/text_cleanup.h"

#include <cstring>

#include "worker/text/unicode.h"

namespace flyp::text {
namespace {

struct NamedEntity {
  const char* name;
  char32_t cp;
  bool semicolon_optional;  // HTML5 also accepts these without ';'
};

// A small subset of the HTML5 named character references.
constexpr NamedEntity kEntities[] = {
    {"amp", '&', true},       {"lt", '<', true},         {"gt", '>', true},        {"quot", '"', true},
    {"apos", '\'', false},    {"nbsp", 0xA0, true},      {"copy", 0xA9, true},     {"reg", 0xAE, true},
    {"trade", 0x2122, false}, {"hellip", 0x2026, false}, {"mdash", 0x2014, false}, {"ndash", 0x2013, false},
    {"lsquo", 0x2018, false}, {"rsquo", 0x2019, false},  {"ldquo", 0x201C, false}, {"rdquo", 0x201D, false},
    {"laquo", 0xAB, true},    {"raquo", 0xBB, true},     {"deg", 0xB0, true},      {"times", 0xD7, true},
    {"middot", 0xB7, true},   {"bull", 0x2022, false},   {"euro", 0x20AC, false},
};

// Windows-1252 meanings of numeric references &#128; .. &#159; (HTML5).
constexpr char32_t kCp1252[32] = {0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,   0x017D, 0x8F,
                                  0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};

// Appends the character a numeric reference denotes (Python's rules).
void AppendCharRef(uint64_t cp, std::string* out) {
  if (cp == 0) {
    return AppendUtf8(kReplacementChar, out);
  }
  if (cp == 0x0D) {
    return out->push_back('\r');
  }
  if (cp >= 0x80 && cp <= 0x9F) {
    return AppendUtf8(kCp1252[cp - 0x80], out);
  }
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    return AppendUtf8(kReplacementChar, out);
  }
  const bool invalid = (cp >= 0x1 && cp <= 0x8) || cp == 0xB || (cp >= 0xE && cp <= 0x1F) ||
                       (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xFDD0 && cp <= 0xFDEF) ||
                       (cp & 0xFFFE) == 0xFFFE;
  if (invalid) {
    return;  // Python drops these
  }
  AppendUtf8(static_cast<char32_t>(cp), out);
}

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int HexValue(char c) { return IsAsciiDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

// Tries to decode a reference at text[i] == '&'. On success appends the
// replacement, sets *consumed and returns true.
bool DecodeReference(std::string_view text, size_t i, std::string* out, size_t* consumed) {
  size_t j = i + 1;
  if (j < text.size() && text[j] == '#') {
    ++j;
    const bool hex = j < text.size() && (text[j] == 'x' || text[j] == 'X');
    if (hex) {
      ++j;
    }
    const size_t digits_start = j;
    uint64_t cp = 0;
    while (j < text.size() && (hex ? IsHexDigit(text[j]) : IsAsciiDigit(text[j]))) {
      if (cp <= 0x10FFFF) {
        cp = cp * (hex ? 16 : 10) + (hex ? HexValue(text[j]) : text[j] - '0');
      }
      ++j;
    }
    if (j == digits_start) {
      return false;
    }
    if (j < text.size() && text[j] == ';') {
      ++j;
    }
    AppendCharRef(cp, out);
    *consumed = j - i;
    return true;
  }
  // Named: exact "name;" first, then the longest semicolon-optional prefix.
  const NamedEntity* best = nullptr;
  size_t best_len = 0;
  for (const NamedEntity& e : kEntities) {
    const size_t n = std::strlen(e.name);
    if (text.substr(j, n) != e.name) {
      continue;
    }
    if (j + n < text.size() && text[j + n] == ';') {
      AppendUtf8(e.cp, out);
      *consumed = n + 2;
      return true;
    }
    if (e.semicolon_optional && n > best_len) {
      best = &e;
      best_len = n;
    }
  }
  if (best == nullptr) {
    return false;
  }
  AppendUtf8(best->cp, out);
  *consumed = best_len + 1;
  return true;
}

bool StartsWith(std::string_view s, size_t pos, std::string_view prefix) {
  return s.substr(pos, prefix.size()) == prefix;
}

}  // namespace

std::string HtmlUnescape(std::string_view text) {
  if (text.find('&') == std::string_view::npos) {
    return std::string(text);
  }
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t consumed = 0;
    if (text[i] == '&' && DecodeReference(text, i, &out, &consumed)) {
      i += consumed;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

std::string CollapseWhitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const char32_t cp = DecodeUtf8(text, &pos);
    if (IsSpace(cp)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
    }
    pending_space = false;
    out.append(text.substr(start, pos - start));  // malformed bytes: LowerUtf8 repairs them
  }
  return out;
}

std::string CleanText(std::string_view text) {
  return LowerUtf8(CollapseWhitespace(HtmlUnescape(HtmlUnescape(text))));
}

std::vector<std::string_view> PreTokenize(std::string_view s) {
  static constexpr std::string_view kSpecials[] = {"<|startoftext|>", "<|endoftext|>"};
  // Contractions in the regex's alternation order; "ſ" (U+017F) matches 's'
  // because the reference compiles the pattern with IGNORECASE.
  static constexpr std::string_view kContractions[] = {"'s",  "'\xC5\xBF", "'t",  "'re",
                                                       "'ve", "'m",        "'ll", "'d"};
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t start = pos;
    bool matched = false;
    for (std::string_view special : kSpecials) {
      if (StartsWith(s, start, special)) {
        out.push_back(s.substr(start, special.size()));
        pos = start + special.size();
        matched = true;
        break;
      }
    }
    if (matched) {
      continue;
    }
    if (s[start] == '\'') {
      for (std::string_view c : kContractions) {
        if (StartsWith(s, start, c)) {
          out.push_back(s.substr(start, c.size()));
          pos = start + c.size();
          matched = true;
          break;
        }
      }
      if (matched) {
        continue;
      }
    }
    const char32_t cp = DecodeUtf8(s, &pos);
    if (IsSpace(cp)) {
      continue;
    }
    if (IsNumber(cp)) {
      out.push_back(s.substr(start, pos - start));
      continue;
    }
    const bool letters = IsLetter(cp);
    size_t end = pos;
    while (end < s.size()) {
      size_t next = end;
      const char32_t c = DecodeUtf8(s, &next);
      const bool keep = letters ? IsLetter(c) : !(IsSpace(c) || IsLetter(c) || IsNumber(c));
      if (!keep) {
        break;
      }
      end = next;
    }
    out.push_back(s.substr(start, end - start));
    pos = end;
  }
  return out;
}

}  // namespace flyp::text
