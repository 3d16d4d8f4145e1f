// IDX files (the MNIST / Fashion-MNIST container): big-endian header
// 0x00 0x00 <type> <ndims>, ndims big-endian uint32 sizes, then the data.
// Only unsigned-byte data (type 0x08) is supported. Files may be gzip
// compressed or plain (ReadMaybeGzipFile, common/file_util.h), at most
// kMaxIdxFileBytes decompressed.
//
// Errors name the file: NOT_FOUND (missing), DATA_LOSS (corrupt or truncated
// gzip), RESOURCE_EXHAUSTED (over the budget), INVALID_ARGUMENT (bad magic,
// wrong type, truncated or trailing data).
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/status.h"

namespace flyp::data {

// Fashion-MNIST's training images are 47 MB; EMNIST's largest 550 MB.
inline constexpr size_t kMaxIdxFileBytes = 1024 * kMiB;
// The largest side of an IDX image (Fashion-MNIST's are 28).
inline constexpr uint32_t kMaxIdxImageSide = 4096;

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // product(dims) bytes, row-major
};

StatusOr<IdxArray> ReadIdxFile(const std::string& path);

}  // namespace flyp::data
