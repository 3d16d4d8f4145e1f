// IDX files (the MNIST / Fashion-MNIST container): big-endian header
// 0x00 0x00 <type> <ndims>, ndims big-endian uint32 sizes, then the data.
// Only unsigned-byte data (type 0x08) is supported. Files may be gzip
// compressed or plain; zlib detects which.
//
// Errors name the file: NOT_FOUND (missing), INVALID_ARGUMENT (bad magic,
// wrong type, truncated or trailing data, corrupt gzip).
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace flyp::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // product(dims) bytes, row-major
};

StatusOr<IdxArray> ReadIdxFile(const std::string& path);

}  // namespace flyp::data
