// JPEG decoding with libjpeg-turbo. libjpeg reports fatal errors through
// error_exit, which must not return: we longjmp back to DecodeJpeg. Only
// trivially destructible state lives between setjmp and longjmp, and every
// object that is modified after setjmp and read after a longjmp is either
// volatile or owned by the heap-allocated context.
#include <csetjmp>
#include <cstdio>
#include <cstring>

// jpeglib.h uses size_t and FILE without including their headers: it must
// follow <cstdio>, so clang-format may not move it up with the C headers.
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include "worker/data/decode.h"

namespace flyp::data {
namespace {

struct ErrorContext {
  jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool premature_end;
};

[[noreturn]] void OnError(j_common_ptr cinfo) {
  auto* ctx = reinterpret_cast<ErrorContext*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, ctx->message);
  std::longjmp(ctx->jump, 1);
}

void OnMessage(j_common_ptr cinfo, int level) {
  // Warnings are silent, except "premature end of data": a truncated file
  // would otherwise decode into a gray-filled image without complaint.
  auto* ctx = reinterpret_cast<ErrorContext*>(cinfo->err);
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) ctx->premature_end = true;
}

}  // namespace

StatusOr<Image> DecodeJpeg(std::string_view bytes) {
  if (bytes.size() < 3 || static_cast<uint8_t>(bytes[0]) != 0xFF || static_cast<uint8_t>(bytes[1]) != 0xD8) {
    return InvalidArgumentError("not a JPEG file (bad magic bytes)");
  }
  jpeg_decompress_struct cinfo;
  ErrorContext err;
  std::memset(&err, 0, sizeof(err));
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = OnError;
  err.mgr.emit_message = OnMessage;
  // Output and scratch row are heap state reached through a pointer that does
  // not change after setjmp: valid after a longjmp, and no automatic object
  // with a destructor is alive across a libjpeg call (which would make the
  // longjmp undefined behaviour).
  struct Output {
    Image image;
    std::vector<uint8_t> row;
  };
  Output* volatile state = new Output();
  Image* const out = &state->image;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    delete state;
    return InvalidArgumentError(std::string("corrupt JPEG: ") + err.message);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  const bool gray = cinfo.num_components == 1;
  cinfo.out_color_space = gray ? JCS_GRAYSCALE : (cmyk ? JCS_CMYK : JCS_RGB);
  jpeg_start_decompress(&cinfo);
  const int64_t pixels = static_cast<int64_t>(cinfo.output_width) * cinfo.output_height;
  if (pixels > kMaxImagePixels || pixels == 0) {
    jpeg_destroy_decompress(&cinfo);
    delete state;
    return InvalidArgumentError("JPEG of " + std::to_string(cinfo.output_width) + "x" +
                                std::to_string(cinfo.output_height) + " pixels is empty or too large");
  }
  const int in_c = cinfo.output_components;
  std::vector<uint8_t>& row = state->row;
  row.resize(static_cast<size_t>(cinfo.output_width) * in_c);
  out->width = static_cast<int>(cinfo.output_width);
  out->height = static_cast<int>(cinfo.output_height);
  out->channels = gray ? 1 : 3;
  out->pixels.resize(static_cast<size_t>(pixels) * out->channels);
  const bool adobe_inverted = cinfo.saw_Adobe_marker;
  while (cinfo.output_scanline < cinfo.output_height) {
    const size_t y = cinfo.output_scanline;
    uint8_t* dst = out->pixels.data() + y * out->width * out->channels;
    if (!cmyk) {
      JSAMPROW rows[1] = {dst};
      jpeg_read_scanlines(&cinfo, rows, 1);
      continue;
    }
    JSAMPROW rows[1] = {row.data()};
    jpeg_read_scanlines(&cinfo, rows, 1);
    for (int x = 0; x < out->width; ++x) {
      int k = row[x * 4 + 3];
      for (int c = 0; c < 3; ++c) {
        int v = row[x * 4 + c];
        dst[x * 3 + c] = static_cast<uint8_t>(adobe_inverted ? v * k / 255 : (255 - v) * (255 - k) / 255);
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.premature_end) {
    delete state;
    return InvalidArgumentError("corrupt JPEG: premature end of data (truncated file)");
  }
  Image result = std::move(*out);
  delete state;
  return result;
}

}  // namespace flyp::data
