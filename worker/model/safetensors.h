// Reading and writing safetensors files (https://github.com/huggingface/safetensors):
//
//   [8 bytes: N, little-endian u64][N bytes: JSON header][data area]
//
// The header maps tensor names to {"dtype", "shape", "data_offsets":[b, e]}
// (offsets relative to the data area) plus an optional "__metadata__"
// object of string -> string. Tensor bytes are raw, little-endian, C order.
//
// Supported dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
//
// Errors (every message names the file, and the tensor where one is at fault):
//   NOT_FOUND         the file cannot be opened
//   DATA_LOSS         file shorter than 8 bytes, header length beyond the end
//                     of the file, a tensor's bytes beyond the end of the data
//                     area (truncated file), a short read
//   INVALID_ARGUMENT  header not valid JSON / not an object, a malformed entry
//                     (missing or mistyped dtype, shape, data_offsets), an
//                     unknown dtype, negative dimensions, begin > end, byte
//                     size != shape x dtype size, overlapping tensors,
//                     non-string metadata, a header larger than
//                     kMaxSafetensorsHeaderBytes, a path that is a directory
//
// Thread safety: a SafetensorsReader may be used from several threads
// (Read() opens its own stream); the free functions are reentrant.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"

namespace flyp::model {

// The largest header read (the JSON before the tensor data), as the
// reference implementation's limit. Tensor data is bounded by the file: a
// tensor's bytes must lie inside it, with no two tensors overlapping.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

// Ordered (name, tensor) pairs: checkpoint order is preserved end to end.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// "F32" -> kFloat etc.; INVALID_ARGUMENT for other names.
StatusOr<torch::ScalarType> SafetensorsDtypeFromName(const std::string& name);
// kFloat -> "F32"; INVALID_ARGUMENT for unsupported types (complex, ...).
StatusOr<std::string> SafetensorsDtypeName(torch::ScalarType type);

struct SafetensorsEntry {
  std::string name;
  torch::ScalarType dtype;
  std::string dtype_name;  // as written in the header, e.g. "BF16"
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the data area
};

class SafetensorsReader {
 public:
  // Reads and validates the header (not the tensor data).
  static StatusOr<SafetensorsReader> Open(const std::string& path);

  const std::string& path() const { return path_; }
  // Entries in header order.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // nullptr if absent.
  const SafetensorsEntry* Find(const std::string& name) const;

  // A CPU tensor of the file's dtype and shape. NOT_FOUND for an unknown
  // name, DATA_LOSS if the file changed underneath and a read comes up short.
  StatusOr<torch::Tensor> Read(const std::string& name) const;
  // Every tensor, in header order.
  StatusOr<NamedTensors> ReadAll() const;

 private:
  StatusOr<torch::Tensor> ReadEntry(int fd, const SafetensorsEntry& e) const;

  std::string path_;
  uint64_t data_start_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::unordered_map<std::string, size_t> index_;  // name -> entries_ index
  std::map<std::string, std::string> metadata_;
};

// Convenience: Open + ReadAll (+ metadata if non-null).
StatusOr<NamedTensors> ReadSafetensors(const std::string& path,
                                       std::map<std::string, std::string>* metadata = nullptr);

// Writes `tensors` (any device; made contiguous and copied to the CPU) in the
// given order, 8-byte aligned header, atomically (AtomicFileWriter,
// common/file_util.h: a temporary file in the same directory, fsync, rename,
// directory fsync). Names must be unique, non-empty and not "__metadata__"
// (INVALID_ARGUMENT); I/O errors are AtomicFileWriter's (NOT_FOUND for a
// missing directory, ...), name the path and leave `path` untouched.
Status WriteSafetensors(const std::string& path, const NamedTensors& tensors,
                        const std::map<std::string, std::string>& metadata = {});

}  // namespace flyp::model
