#include "worker/data/decode.h"

#include "common/confine.h"

namespace flyp::data {

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
  StatusOr<std::string> bytes = ReadInputFile(path, kMaxImageFileBytes);
  if (!bytes.ok()) return bytes.status();
  StatusOr<Image> image = DecodeImage(*bytes);
  if (!image.ok()) return image.status().WithContext("image '" + path + "'");
  return image;
}

}  // namespace flyp::data
