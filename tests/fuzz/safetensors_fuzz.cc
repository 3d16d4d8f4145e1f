// Fuzz target: the safetensors reader (worker/model/safetensors.h) on
// arbitrary file bytes. The bytes are read twice: as they are, and with the
// 8-byte header length set to end at the input's last '}' (so mutants of the
// JSON header get past the length check). Invariants checked:
//   - no crash, no hang, no exception out of the reader;
//   - a refused file has an error that names it;
//   - an accepted file's entries lie inside its data area, do not overlap,
//     and each covers exactly shape x dtype size bytes; ReadAll gives
//     tensors of those shapes.
// The bytes go to a memfd read through /proc/self/fd (no disk traffic).
// Driven by fuzz_driver.cc under gcc, or by libFuzzer (docs/development.md).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "worker/model/safetensors.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "safetensors_fuzz: %s\n", what.substr(0, 4000).c_str());
  std::abort();
}

const std::string& FilePath(int* fd_out) {
  static int fd = ::memfd_create("safetensors-fuzz", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0) Fail("memfd_create failed");
  *fd_out = fd;
  return path;
}

void Check(const std::string& bytes) {
  int fd = -1;
  const std::string& path = FilePath(&fd);
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    Fail("cannot write the memfd");
  }
  auto reader = flyp::model::SafetensorsReader::Open(path);
  if (!reader.ok()) {
    if (reader.status().message().find(path) == std::string::npos) {
      Fail("an error that does not name the file: " + reader.status().ToString());
    }
    return;
  }
  uint64_t header = 0;
  for (int i = 0; i < 8; ++i)
    header |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  const uint64_t data_size = bytes.size() - 8 - header;  // the reader checked header <= size - 8
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& e : reader->entries()) {
    uint64_t numel = 1;
    for (int64_t d : e.shape) {
      if (d < 0 || (d != 0 && numel > UINT64_MAX / static_cast<uint64_t>(d)))
        Fail("accepted shape overflows: " + e.name);
      numel *= static_cast<uint64_t>(d);
    }
    const uint64_t want = numel * c10::elementSize(e.dtype);
    if (e.begin > e.end || e.end > data_size || e.end - e.begin != want) {
      Fail("accepted entry '" + e.name + "' with bytes [" + std::to_string(e.begin) + ", " +
           std::to_string(e.end) + ") for " + std::to_string(want) + " in a data area of " +
           std::to_string(data_size));
    }
    if (e.end > e.begin) ranges.emplace_back(e.begin, e.end);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) Fail("accepted overlapping entries");
  }
  auto all = reader->ReadAll();
  if (!all.ok()) Fail("entries accepted but not readable: " + all.status().ToString());
  for (size_t i = 0; i < all->size(); ++i) {
    const auto& want = reader->entries()[i].shape;
    if ((*all)[i].second.sizes().vec() != want) Fail("a tensor of another shape: " + (*all)[i].first);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  Check(bytes);
  const size_t close = bytes.rfind('}');
  if (bytes.size() >= 8 && close != std::string::npos && close >= 8) {
    const uint64_t n = close - 7;
    for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
    Check(bytes);
  }
  return 0;
}
