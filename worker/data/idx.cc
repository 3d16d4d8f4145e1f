#include "worker/data/idx.h"

#include "common/confine.h"
#include "common/file_util.h"

namespace flyp::data {
namespace {

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

StatusOr<IdxArray> ReadIdxFile(const std::string& path) {
  FLYP_ASSIGN_OR_RETURN(std::string bytes, ReadMaybeGzipInputFile(path, kMaxIdxFileBytes));
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4 || p[0] != 0 || p[1] != 0) {
    return InvalidArgumentError("'" + path + "': not an IDX file (bad magic number)");
  }
  if (p[2] != 0x08) {
    return InvalidArgumentError("'" + path + "': IDX data type 0x" + std::to_string(p[2]) +
                                " is not supported (only unsigned byte, 0x08)");
  }
  const int ndims = p[3];
  if (ndims == 0 || bytes.size() < 4 + 4 * static_cast<size_t>(ndims)) {
    return InvalidArgumentError("'" + path + "': truncated IDX header");
  }
  IdxArray out;
  uint64_t total = 1;
  for (int d = 0; d < ndims; ++d) {
    const uint32_t n = BigEndian32(p + 4 + 4 * d);
    out.dims.push_back(n);
    // Checked: an unchecked product could wrap to a small number (2^40 x
    // 2^24 is 0 in 64 bits) and pass the size check below.
    if (__builtin_mul_overflow(total, uint64_t{n}, &total) || total > (uint64_t{1} << 40)) {
      return InvalidArgumentError("'" + path + "': IDX dimensions too large");
    }
  }
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() - header != total) {
    return InvalidArgumentError("'" + path + "': IDX header promises " + std::to_string(total) +
                                " bytes of data, file has " + std::to_string(bytes.size() - header));
  }
  out.data.assign(p + header, p + bytes.size());
  return out;
}

}  // namespace flyp::data
