// PNG decoding with libpng. libpng reports fatal errors through an error
// callback that must not return; ours records the message and longjmps to
// png_jmpbuf. Rows go into heap storage owned by a pointer fixed before
// setjmp, so nothing read after a longjmp was modified in registers.
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <string>

#include "worker/data/decode.h"

namespace flyp::data {
namespace {

struct ReadState {
  const uint8_t* data;
  size_t size;
  size_t pos;
  std::string error;
};

void OnError(png_structp png, png_const_charp message) {
  auto* state = static_cast<ReadState*>(png_get_error_ptr(png));
  state->error = message ? message : "unknown libpng error";
  png_longjmp(png, 1);
}

void OnWarning(png_structp, png_const_charp) {}

void ReadBytes(png_structp png, png_bytep out, png_size_t n) {
  auto* state = static_cast<ReadState*>(png_get_io_ptr(png));
  if (state->size - state->pos < n) png_error(png, "premature end of data (truncated file)");
  std::memcpy(out, state->data + state->pos, n);
  state->pos += n;
}

}  // namespace

StatusOr<Image> DecodePng(std::string_view bytes) {
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) != 0) {
    return InvalidArgumentError("not a PNG file (bad magic bytes)");
  }
  ReadState state{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), 8, {}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, OnError, OnWarning);
  if (png == nullptr) return InternalError("png_create_read_struct failed");
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    return InternalError("png_create_info_struct failed");
  }
  // Heap state behind a pointer fixed before setjmp (see the file comment);
  // no automatic object with a destructor is alive across a libpng call.
  struct Output {
    Image image;
    std::vector<png_bytep> rows;
  };
  Output* volatile result_state = new Output();
  Image* const out = &result_state->image;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    delete result_state;
    return InvalidArgumentError("corrupt PNG: " + state.error);
  }
  png_set_read_fn(png, &state, ReadBytes);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  const png_uint_32 width = png_get_image_width(png, info);
  const png_uint_32 height = png_get_image_height(png, info);
  const int64_t pixels = static_cast<int64_t>(width) * height;
  if (pixels > kMaxImagePixels || pixels == 0) {
    png_destroy_read_struct(&png, &info, nullptr);
    delete result_state;
    return InvalidArgumentError("PNG of " + std::to_string(width) + "x" + std::to_string(height) +
                                " pixels is empty or too large");
  }
  // Normalise everything to 8-bit gray or 8-bit RGB without alpha.
  png_set_expand(png);  // palette -> RGB, gray < 8 bit -> 8 bit, tRNS -> alpha
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const int channels = png_get_channels(png, info);
  if (channels != 1 && channels != 3) {
    png_error(png, "unexpected channel count after conversion");
  }
  out->width = static_cast<int>(width);
  out->height = static_cast<int>(height);
  out->channels = channels;
  out->pixels.resize(static_cast<size_t>(pixels) * channels);
  std::vector<png_bytep>& rows = result_state->rows;
  rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y)
    rows[y] = out->pixels.data() + static_cast<size_t>(y) * width * channels;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  Image result = std::move(*out);
  delete result_state;
  return result;
}

}  // namespace flyp::data
