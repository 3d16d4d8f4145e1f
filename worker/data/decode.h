// Image decoding: JPEG (libjpeg-turbo) and PNG (libpng) into an 8-bit Image.
//
// Output channels: 1 for grayscale sources (gray, gray+alpha, 1/2/4/16-bit
// gray), 3 (RGB) for everything else (RGB, RGBA, palette, CMYK JPEG).
// Conversions: palette and low bit depths are expanded; 16-bit samples keep
// their high byte (v >> 8); alpha is dropped (not composited); CMYK/YCCK
// JPEGs are converted naively (R = C*K/255 for Adobe-inverted data).
// The format is chosen from the magic bytes, not the file name.
//
// Errors (never a crash or an abort): INVALID_ARGUMENT for data that is not
// a JPEG/PNG, is corrupt or truncated, or has more than kMaxImagePixels
// pixels; NOT_FOUND when the file is missing. File variants put the path in
// every message.
//
// Thread safety: all functions are reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/file_util.h"
#include "common/status.h"
#include "worker/data/image.h"

namespace flyp::data {

// Decompression-bomb guard (PIL's error threshold).
inline constexpr int64_t kMaxImagePixels = 178956970;
// The largest image file read: kMaxImagePixels of RGB would be 512 MiB raw,
// and a compressed file is smaller than its pixels.
inline constexpr size_t kMaxImageFileBytes = 512 * kMiB;

StatusOr<Image> DecodeJpeg(std::string_view bytes);
StatusOr<Image> DecodePng(std::string_view bytes);
// Sniffs the format from the magic bytes.
StatusOr<Image> DecodeImage(std::string_view bytes);
// Reads (ReadFileToString, common/file_util.h) and decodes a file; read
// errors are file_util's, decoding errors are "image 'path': ...".
StatusOr<Image> DecodeImageFile(const std::string& path);

}  // namespace flyp::data
