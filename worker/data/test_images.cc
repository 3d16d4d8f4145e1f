#include "worker/data/test_images.h"

#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace flyp::data::testing {
namespace {

void PngWrite(png_structp png, png_bytep data, png_size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), n);
}
void PngFlush(png_structp) {}

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "test_images: %s\n", what);
  std::abort();
}

}  // namespace

std::string EncodePng(const PngSpec& spec) {
  std::string out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) Die("libpng write failed");
  png_set_write_fn(png, &out, PngWrite, PngFlush);
  png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_color> palette;
  for (size_t i = 0; i + 2 < spec.palette_rgb.size(); i += 3) {
    palette.push_back(png_color{spec.palette_rgb[i], spec.palette_rgb[i + 1], spec.palette_rgb[i + 2]});
  }
  if (!palette.empty()) png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
  png_write_info(png, info);
  const size_t stride = spec.rows.size() / spec.height;
  for (int y = 0; y < spec.height; ++y) {
    png_write_row(png, const_cast<png_bytep>(spec.rows.data() + stride * y));
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

std::string EncodePng(const Image& image) {
  PngSpec spec;
  spec.width = image.width;
  spec.height = image.height;
  spec.color_type = image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB;
  spec.rows = image.pixels;
  return EncodePng(spec);
}

namespace {
std::string EncodeJpegRaw(int width, int height, int components, J_COLOR_SPACE space, const uint8_t* pixels,
                          int quality) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space = space;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  for (int c = 0; c < cinfo.num_components; ++c) {
    cinfo.comp_info[c].h_samp_factor = 1;
    cinfo.comp_info[c].v_samp_factor = 1;
  }
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row =
        const_cast<JSAMPROW>(pixels + static_cast<size_t>(cinfo.next_scanline) * width * components);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  std::string out(reinterpret_cast<const char*>(buf), size);
  jpeg_destroy_compress(&cinfo);
  std::free(buf);
  return out;
}
}  // namespace

std::string EncodeJpegCmyk(int width, int height, const std::vector<uint8_t>& cmyk) {
  return EncodeJpegRaw(width, height, 4, JCS_CMYK, cmyk.data(), 100);
}

std::string EncodeJpeg(const Image& image, int quality) {
  return EncodeJpegRaw(image.width, image.height, image.channels,
                       image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB, image.pixels.data(), quality);
}

void WriteFileOrDie(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) Die(("cannot write " + path).c_str());
}

}  // namespace flyp::data::testing
