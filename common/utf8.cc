#include "common/utf8.h"

#include <cstdio>
#include <string>

namespace flyp {

size_t Utf8SequenceLength(std::string_view text, size_t pos) {
  const auto* u = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char b0 = u[pos];
  if (b0 < 0x80) return 1;
  size_t need;                         // continuation bytes after the lead
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - pos <= need) return 0;
  for (size_t k = 1; k <= need; ++k) {
    const unsigned char b = u[pos + k];
    if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) return 0;
  }
  return need + 1;
}

std::optional<size_t> FirstInvalidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8SequenceLength(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

std::string TextPosition(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "byte " + std::to_string(offset) + " (line " + std::to_string(line) + ", column " +
         std::to_string(column) + ")";
}

Status CheckUtf8(std::string_view text, std::string_view what) {
  const std::optional<size_t> bad = FirstInvalidUtf8(text);
  if (!bad) return Status::Ok();
  char byte[8];
  std::snprintf(byte, sizeof(byte), "0x%02X", static_cast<unsigned char>(text[*bad]));
  return InvalidArgumentError((what.empty() ? std::string() : std::string(what) + ": ") +
                              "invalid UTF-8 at " + TextPosition(text, *bad) + ": " + byte);
}

}  // namespace flyp
