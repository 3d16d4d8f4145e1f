// CRC32C (Castagnoli, polynomial 0x1EDC6F41 reflected: 0x82F63B78), the
// checksum of TensorBoard's record framing and of artifact downloads.
//
//   uint32_t crc = Crc32c(data, n);              // whole buffer
//   crc = Crc32cExtend(crc, more, m);            // streaming: same as one call over both
//
// Reference value: Crc32c("123456789") == 0xE3069283.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flyp {

// CRC32C of n more bytes after a prefix whose CRC32C is `crc` (0 for none).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }
inline uint32_t Crc32c(std::string_view s) { return Crc32c(s.data(), s.size()); }

// The masked form TensorFlow's record format stores (a CRC of data that
// itself holds CRCs is weak, so the stored value is rotated and offset).
inline uint32_t MaskCrc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace flyp
