// Loader throughput benchmark (prints numbers; bench/loader/run.sh checks them against the step).
//
//   flyp_bench_loader [--images N] [--threads 1,2,4] [--fashion-dir DIR] [--fashion-res 28]
//
// 1. JPEG at 224 px: N synthetic 500x375 RGB JPEGs (quality 90) written to a
//    temp image folder; per-image decode + resize + center crop + normalise
//    on one thread, then the Loader (train and eval transforms) with each
//    thread count.
// 2. Fashion-MNIST at --fashion-res px (default 28, the tiny preset's and
//    the demo's; the real test split; skipped when missing): the same
//    measurements.
// Reported: images/s and images/s per loader thread.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "worker/data/decode.h"
#include "worker/data/fashion_mnist.h"
#include "worker/data/file_list_dataset.h"
#include "worker/data/loader.h"
#include "worker/data/test_images.h"

namespace fs = std::filesystem;
using flyp::data::Dataset;

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Single thread: Get (read + decode) and transform, no batching.
void BenchSerial(const char* name, const Dataset& ds, int resolution, int64_t n) {
  flyp::data::TransformOptions o;
  o.resolution = resolution;
  std::vector<float> out(3 * static_cast<size_t>(resolution) * resolution);
  // Read + decode only.
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) {
    if (!ds.Get(i % ds.size()).ok()) std::exit(1);
  }
  std::printf("%-22s decode only 1 thread       %9.1f images/s\n", name, n / Seconds(t0));
  t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n; ++i) {
    auto ex = ds.Get(i % ds.size());
    if (!ex.ok()) {
      std::fprintf(stderr, "%s\n", ex.status().ToString().c_str());
      std::exit(1);
    }
    flyp::data::TransformImage(ex->image, o, i, 0, out.data());
  }
  const double s = Seconds(t0);
  std::printf("%-22s decode+transform 1 thread  %9.1f images/s\n", name, n / s);
}

void BenchLoader(const char* name, std::shared_ptr<const Dataset> ds, int resolution, bool train, int threads,
                 int64_t batch) {
  flyp::data::LoaderOptions o;
  o.batch_size = batch;
  o.num_threads = threads;
  o.prefetch_batches = 2 * threads;
  o.transform.resolution = resolution;
  o.transform.train = train;
  o.sampler.shuffle = train;
  auto loader = flyp::data::Loader::Create(ds, o);
  if (!loader.ok()) {
    std::fprintf(stderr, "%s\n", loader.status().ToString().c_str());
    std::exit(1);
  }
  const auto t0 = std::chrono::steady_clock::now();
  if (!(*loader)->StartEpoch(0).ok()) std::exit(1);
  int64_t images = 0;
  while (true) {
    auto b = (*loader)->Next();
    if (!b.ok()) {
      std::fprintf(stderr, "%s\n", b.status().ToString().c_str());
      std::exit(1);
    }
    if (!b->has_value()) break;
    images += (*b)->images.size(0);
  }
  const double s = Seconds(t0);
  std::printf("%-22s loader %-5s %2d threads    %9.1f images/s  %8.1f /s/thread\n", name,
              train ? "train" : "eval", threads, images / s, images / s / threads);
}

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> v;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) v.push_back(std::stoi(item));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t num_images = 256;
  std::vector<int> threads = {1, 2, 4};
  std::string fashion_dir;
  int fashion_res = 28;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--images")
      num_images = std::stoll(argv[i + 1]);
    else if (flag == "--threads")
      threads = ParseList(argv[i + 1]);
    else if (flag == "--fashion-dir")
      fashion_dir = argv[i + 1];
    else if (flag == "--fashion-res")
      fashion_res = std::stoi(argv[i + 1]);
  }
  torch::set_num_threads(1);

  // --- JPEG, 224 px ---
  char tmpl[] = "/tmp/flyp_bench_loader_XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string root = tmpl;
  fs::create_directories(root + "/class0");
  const int distinct = 32;
  for (int k = 0; k < distinct; ++k) {
    const auto im = flyp::data::testing::MakeImage(500, 375, 3, [k](int x, int y, int c) {
      return static_cast<int>(127.5 + 127.5 * std::sin(0.05 * x * (c + 1) + 0.03 * y + k));
    });
    flyp::data::testing::WriteFileOrDie(root + "/class0/img" + std::to_string(k) + ".jpg",
                                        flyp::data::testing::EncodeJpeg(im, 90));
  }
  // Repeat the distinct files through a CSV so the epoch has num_images rows.
  std::string csv;
  for (int64_t i = 0; i < num_images; ++i) csv += "class0/img" + std::to_string(i % distinct) + ".jpg,0\n";
  flyp::data::testing::WriteFileOrDie(root + "/list.csv", csv);
  auto jpegs = flyp::data::OpenCsvLabels(root + "/list.csv");
  if (!jpegs.ok()) {
    std::fprintf(stderr, "%s\n", jpegs.status().ToString().c_str());
    return 1;
  }
  std::shared_ptr<const Dataset> jpeg_ds(std::move(*jpegs));
  std::printf("JPEG 500x375 -> 224 (%lld images)\n", static_cast<long long>(num_images));
  BenchSerial("jpeg@224", *jpeg_ds, 224, std::min<int64_t>(num_images, 128));
  for (int t : threads) BenchLoader("jpeg@224", jpeg_ds, 224, false, t, 32);
  for (int t : threads) BenchLoader("jpeg@224", jpeg_ds, 224, true, t, 32);
  fs::remove_all(root);

  // --- Fashion-MNIST ---
  auto fm = flyp::data::FashionMnistDataset::Open(fashion_dir, "test");
  if (!fm.ok()) {
    std::printf("fashion-mnist skipped: %s\n", fm.status().ToString().c_str());
    return 0;
  }
  std::shared_ptr<const Dataset> fm_ds(std::move(*fm));
  const std::string fm_name = "fashion-mnist@" + std::to_string(fashion_res);
  std::printf("Fashion-MNIST test 28x28 -> %d (%lld images)\n", fashion_res,
              static_cast<long long>(fm_ds->size()));
  BenchSerial(fm_name.c_str(), *fm_ds, fashion_res, fm_ds->size());
  for (int t : threads) BenchLoader(fm_name.c_str(), fm_ds, fashion_res, false, t, 256);
  for (int t : threads) BenchLoader(fm_name.c_str(), fm_ds, fashion_res, true, t, 256);
  return 0;
}
