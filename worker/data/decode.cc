#include "worker/data/decode.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace flyp::data {

StatusOr<std::string> ReadFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int e = errno;
    std::string msg = "cannot open '" + path + "': " + std::strerror(e);
    if (e == ENOENT) return NotFoundError(msg);
    if (e == EACCES) return PermissionDeniedError(msg);
    return InvalidArgumentError(msg);
  }
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) data.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return DataLossError("error reading '" + path + "'");
  return data;
}

StatusOr<Image> DecodeImage(std::string_view bytes) {
  if (bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF && static_cast<uint8_t>(bytes[1]) == 0xD8) {
    return DecodeJpeg(bytes);
  }
  if (bytes.size() >= 8 && static_cast<uint8_t>(bytes[0]) == 0x89 && bytes.substr(1, 3) == "PNG") {
    return DecodePng(bytes);
  }
  return InvalidArgumentError("not a JPEG or PNG file (unrecognised magic bytes)");
}

StatusOr<Image> DecodeImageFile(const std::string& path) {
  StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  StatusOr<Image> image = DecodeImage(*bytes);
  if (!image.ok()) return image.status().WithContext("image '" + path + "'");
  return image;
}

}  // namespace flyp::data
