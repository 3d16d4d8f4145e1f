// UTF-8 and Unicode character classes for the CLIP tokenizer, matching what
// Python's str/regex do for the classes CLIP's pre-tokenisation uses.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace flyp::text {

// U+FFFD, substituted for malformed UTF-8.
constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point starting at text[*pos] and advances *pos past it.
// A malformed sequence yields kReplacementChar and advances over its maximal
// invalid subpart (at least one byte), as Python's errors="replace" does.
// Precondition: *pos < text.size().
char32_t DecodeUtf8(std::string_view text, size_t* pos);

// Appends the UTF-8 encoding of cp (cp must be a valid scalar value).
void AppendUtf8(char32_t cp, std::string* out);

// Returns text with every malformed UTF-8 subpart replaced by U+FFFD
// (bytes.decode("utf-8", errors="replace")).
std::string RepairUtf8(std::string_view text);

// General category L* (letters), from the Unicode 14 tables.
bool IsLetter(char32_t cp);
// General category N* (Nd, Nl, No).
bool IsNumber(char32_t cp);
// Python's str.isspace(): Unicode White_Space plus the ASCII separators
// U+001C..U+001F.
bool IsSpace(char32_t cp);

// Simple (one code point) lowercase mapping.
char32_t ToLower(char32_t cp);

// Python's str.lower() on UTF-8 text: simple mappings, plus U+0130 -> "i̇"
// and the Greek final sigma rule. Malformed bytes become U+FFFD.
std::string LowerUtf8(std::string_view text);

}  // namespace flyp::text
