// CLIP's reversible byte-to-unicode map ("bytes_to_unicode"): every byte
// stands for one printable code point so BPE tokens are text. Printable
// bytes ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) stand for themselves; the
// other 68 map to U+0100, U+0101, ... in byte order. The vocabulary lists
// the 256 byte symbols in "printable first" order, see BytesInVocabOrder().
//
// All functions are pure and thread-safe (tables are built once, on first use).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace flyp::text {

// The 256 bytes in vocabulary order: id i of a CLIP vocabulary is the symbol
// of BytesInVocabOrder()[i], id 256 + i the same symbol followed by "</w>".
const std::array<uint8_t, 256>& BytesInVocabOrder();

// Position of byte b in BytesInVocabOrder() (its base token id).
int ByteVocabIndex(uint8_t b);

// The code point standing for byte b.
char32_t ByteToUnicode(uint8_t b);

// UTF-8 of ByteToUnicode(b).
const std::string& ByteSymbol(uint8_t b);

// The byte a code point stands for, or -1 if cp is not in the map.
int UnicodeToByte(char32_t cp);

// Raw bytes -> concatenated byte symbols (UTF-8).
std::string BytesToSymbols(std::string_view bytes);

// Symbol text -> raw bytes. Code points outside the map (e.g. none in a CLIP
// vocabulary, but possible in a foreign vocab.json) are kept as their UTF-8.
std::string SymbolsToBytes(std::string_view symbols);

}  // namespace flyp::text
