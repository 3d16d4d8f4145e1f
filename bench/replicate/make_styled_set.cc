// make_styled_set: the "broad" pretraining set of the FLYP replication in
// miniature. Renders Fashion-MNIST images [offset, offset + count) of a split,
// each under a style drawn at random (seeded per image), to gray 28x28 PNG
// files plus a CSV `path,caption` whose caption names the class and the
// style, e.g. "a blurry photo of a sneaker." or "an upside-down inverted
// photo of a bag.". A tiny CLIP pretrained on it (method pretrain, format
// csv_caption) sees the image styles the OOD test splits use, as web-scale
// CLIP pretraining has seen sketches, renditions, etc.
//
// Styles (worker/data/shifts.h does the pixel work): clean, rotated (+-10..45
// degrees), upside-down (180), inverted, noisy (std 0.1..0.4), blurry (sigma
// 0.7..2), occluded (0.2..0.5 of the side), small (zoom 0.5..0.8); with
// probability 1/4 a second style is combined with the first. Captions never
// contain commas (the CSV has no quoting).
//
// Usage: make_styled_set --out DIR [--count N] [--offset O] [--split train]
//                        [--seed S] [--fmnist DIR]
// Writes DIR/images/NNNNNN.png and DIR/captions.csv (paths relative to DIR).
// Exit code 0 on success, 2 on bad arguments, 1 on I/O errors.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "worker/data/fashion_mnist.h"
#include "worker/data/random.h"
#include "worker/data/shifts.h"
#include "worker/data/test_images.h"

namespace fs = std::filesystem;
using flyp::data::FloatImage;
using flyp::data::Image;
using flyp::data::Rng;

namespace {

enum Style { kClean, kRotated, kUpsideDown, kInverted, kNoisy, kBlurry, kOccluded, kSmall, kNumStyles };

// Adjective used in the caption, in front of "photo".
const char* kAdjective[kNumStyles] = {"",      "rotated", "upside-down", "inverted",
                                      "noisy", "blurry",  "occluded",    "small"};

flyp::v1::Shift MakeShift(flyp::v1::ShiftKind kind, double severity) {
  flyp::v1::Shift s;
  s.set_kind(kind);
  s.set_severity(static_cast<float>(severity));
  return s;
}

// The shift realising `style` with a random severity; clean has none.
std::vector<flyp::v1::Shift> ShiftsFor(Style style, Rng* rng) {
  using namespace flyp::v1;
  switch (style) {
    case kRotated: {
      const double deg = rng->Uniform(10, 45);
      return {MakeShift(SHIFT_KIND_ROTATE, rng->Uniform() < 0.5 ? deg : -deg)};
    }
    case kUpsideDown:
      return {MakeShift(SHIFT_KIND_ROTATE, 180)};
    case kInverted:
      return {MakeShift(SHIFT_KIND_INVERT, 1)};
    case kNoisy:
      return {MakeShift(SHIFT_KIND_NOISE, rng->Uniform(0.1, 0.4))};
    case kBlurry:
      return {MakeShift(SHIFT_KIND_BLUR, rng->Uniform(0.7, 2.0))};
    case kOccluded:
      return {MakeShift(SHIFT_KIND_OCCLUDE, rng->Uniform(0.2, 0.5))};
    case kSmall:
      return {MakeShift(SHIFT_KIND_SCALE, rng->Uniform(0.5, 0.8))};
    default:
      return {};
  }
}

std::string Article(const std::string& word) {
  return std::string("aeiou").find(word[0]) != std::string::npos ? "an" : "a";
}

Image ToGray8(const FloatImage& f) {
  Image im;
  im.width = f.width;
  im.height = f.height;
  im.channels = 1;
  im.pixels.resize(static_cast<size_t>(f.width) * f.height);
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) {
      const float v = std::min(1.0f, std::max(0.0f, f.at(0, y, x)));
      im.pixels[static_cast<size_t>(y) * f.width + x] = static_cast<uint8_t>(std::lround(v * 255.0f));
    }
  }
  return im;
}

int Usage(const char* msg) {
  std::fprintf(stderr,
               "make_styled_set: %s\nusage: make_styled_set --out DIR [--count N] [--offset O] "
               "[--split train|test] [--seed S] [--fmnist DIR]\n",
               msg);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out, split = "train", fmnist;
  long long count = 30000, offset = 0, seed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Usage(("missing value after " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--out")
      out = v;
    else if (a == "--count")
      count = std::atoll(v.c_str());
    else if (a == "--offset")
      offset = std::atoll(v.c_str());
    else if (a == "--split")
      split = v;
    else if (a == "--seed")
      seed = std::atoll(v.c_str());
    else if (a == "--fmnist")
      fmnist = v;
    else
      return Usage(("unknown argument " + a).c_str());
  }
  if (out.empty()) return Usage("--out is required");
  if (count <= 0 || offset < 0) return Usage("--count must be > 0 and --offset >= 0");

  auto ds = flyp::data::FashionMnistDataset::Open(fmnist, split);
  if (!ds.ok()) {
    std::fprintf(stderr, "make_styled_set: %s\n", ds.status().ToString().c_str());
    return 1;
  }
  if (offset + count > (*ds)->size()) {
    return Usage(("offset + count exceeds the split size " + std::to_string((*ds)->size())).c_str());
  }
  std::error_code ec;
  fs::create_directories(fs::path(out) / "images", ec);
  if (ec) {
    std::fprintf(stderr, "make_styled_set: cannot create %s/images: %s\n", out.c_str(), ec.message().c_str());
    return 1;
  }
  std::ofstream csv(fs::path(out) / "captions.csv");
  csv << "path,caption\n";
  std::vector<long long> style_counts(kNumStyles, 0);
  for (long long i = offset; i < offset + count; ++i) {
    auto ex = (*ds)->Get(i);
    if (!ex.ok()) {
      std::fprintf(stderr, "make_styled_set: %s\n", ex.status().ToString().c_str());
      return 1;
    }
    Rng rng(flyp::data::MixSeed({static_cast<uint64_t>(seed), static_cast<uint64_t>(i)}));
    // Clean images twice as likely as any single style.
    const int draw = static_cast<int>(rng.UniformInt(0, kNumStyles));
    Style first = draw >= kNumStyles ? kClean : static_cast<Style>(draw);
    std::vector<Style> styles = {first};
    if (first != kClean && rng.Uniform() < 0.25) {
      Style second = static_cast<Style>(rng.UniformInt(1, kNumStyles - 1));
      if (second != first && !(first == kUpsideDown && second == kRotated) &&
          !(first == kRotated && second == kUpsideDown)) {
        styles.push_back(second);
      }
    }
    FloatImage f = flyp::data::ToFloat(ex->image, /*to_rgb=*/false);
    std::string adjectives;
    for (Style s : styles) {
      ++style_counts[s];
      for (const auto& shift : ShiftsFor(s, &rng)) {
        flyp::data::ApplyShift(shift, static_cast<uint64_t>(seed) + 17 * s, i, &f);
      }
      if (s != kClean) adjectives += std::string(adjectives.empty() ? "" : " ") + kAdjective[s];
    }
    const std::string cls = (*ds)->class_names()[static_cast<size_t>(ex->label)];
    const std::string phrase = adjectives.empty() ? "photo" : adjectives + " photo";
    char name[32];
    std::snprintf(name, sizeof name, "images/%06lld.png", i);
    flyp::data::testing::WriteFileOrDie((fs::path(out) / name).string(),
                                        flyp::data::testing::EncodePng(ToGray8(f)));
    csv << name << "," << Article(phrase) << " " << phrase << " of " << Article(cls) << " " << cls << ".\n";
  }
  csv.close();
  if (!csv) {
    std::fprintf(stderr, "make_styled_set: cannot write %s/captions.csv\n", out.c_str());
    return 1;
  }
  std::printf("make_styled_set: wrote %lld images to %s (", count, out.c_str());
  for (int s = 0; s < kNumStyles; ++s) {
    std::printf("%s%s %lld", s ? ", " : "", s == kClean ? "clean" : kAdjective[s], style_counts[s]);
  }
  std::printf(")\n");
  return 0;
}
