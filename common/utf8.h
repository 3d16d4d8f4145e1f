// UTF-8 well-formedness (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF), for the places that must refuse malformed text instead of
// repairing it: job specs (flypctl, the coordinator, flyp-worker) and JSON.
// The tokenizer repairs malformed text instead (worker/text/unicode.h).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace flyp {

// The length (1 to 4) of the well-formed UTF-8 sequence that starts at
// text[pos], or 0 when the bytes there do not start one (a stray
// continuation byte, an overlong form, a surrogate, a truncated sequence).
// Precondition: pos < text.size().
size_t Utf8SequenceLength(std::string_view text, size_t pos);

// The offset of the first byte of `text` that is not part of a well-formed
// sequence; nullopt when all of `text` is well-formed UTF-8.
std::optional<size_t> FirstInvalidUtf8(std::string_view text);

// "byte 1234 (line 7, column 3)" for `offset` in `text` (offsets from 0,
// lines and columns from 1, columns counted in bytes).
std::string TextPosition(std::string_view text, size_t offset);

// OK for well-formed UTF-8; otherwise INVALID_ARGUMENT
//   "<what>: invalid UTF-8 at byte 1234 (line 7, column 3): 0xFF"
// (offsets from 0, lines and columns from 1, columns counted in bytes).
Status CheckUtf8(std::string_view text, std::string_view what);

}  // namespace flyp
