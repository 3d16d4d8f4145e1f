#include "worker/model/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/confine.h"
#include "common/file_util.h"
#include "common/json.h"
#include "common/numbers.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; big-endian hosts would need byte swapping");

namespace flyp::model {
namespace {

struct DtypeRow {
  const char* name;
  torch::ScalarType type;
};

const DtypeRow kDtypes[] = {
    {"F64", torch::kDouble}, {"F32", torch::kFloat}, {"F16", torch::kHalf},  {"BF16", torch::kBFloat16},
    {"I64", torch::kLong},   {"I32", torch::kInt},   {"I16", torch::kShort}, {"I8", torch::kChar},
    {"U8", torch::kByte},    {"BOOL", torch::kBool},
};

std::string ErrnoText() { return std::strerror(errno); }

// A tensor name for a message: names come from the file and may be huge.
std::string BoundedName(const std::string& name) {
  return name.size() <= 200 ? name : name.substr(0, 200) + "...";
}

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly n bytes at offset; false on a short read or error.
bool PreadAll(int fd, void* buf, uint64_t n, uint64_t offset) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, std::min<uint64_t>(n, 1ull << 30), static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<uint64_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Parses one header entry; `where` is "<path>: tensor '<name>'".
Status ParseEntry(const std::string& where, const std::string& name, const Json& v, SafetensorsEntry& e) {
  if (!v.is_object()) return InvalidArgumentError(where + ": header entry is not an object");
  const Json* dtype = v.Find("dtype");
  const Json* shape = v.Find("shape");
  const Json* offsets = v.Find("data_offsets");
  if (dtype == nullptr || !dtype->is_string())
    return InvalidArgumentError(where + ": missing or non-string 'dtype'");
  if (shape == nullptr || !shape->is_array())
    return InvalidArgumentError(where + ": missing or non-array 'shape'");
  if (offsets == nullptr || !offsets->is_array() || offsets->size() != 2) {
    return InvalidArgumentError(where + ": 'data_offsets' must be an array [begin, end]");
  }
  e.name = name;
  e.dtype_name = dtype->as_string();
  auto type = SafetensorsDtypeFromName(e.dtype_name);
  if (!type.ok()) return InvalidArgumentError(where + ": " + type.status().message());
  e.dtype = *type;
  if (shape->size() > 64) {
    return InvalidArgumentError(where + ": shape has " + std::to_string(shape->size()) +
                                " dimensions (at most 64)");
  }
  uint64_t numel = 1;
  for (const Json& d : shape->as_array()) {
    if (!d.is_integer() || d.as_int64() < 0) {
      return InvalidArgumentError(where + ": shape entries must be non-negative integers, got " +
                                  BoundedName(shape->Dump()));
    }
    e.shape.push_back(d.as_int64());
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d.as_int64()), &numel)) {
      return InvalidArgumentError(where + ": shape " + BoundedName(shape->Dump()) + " overflows");
    }
  }
  for (const Json& o : offsets->as_array()) {
    if (!o.is_integer() || o.as_int64() < 0) {
      return InvalidArgumentError(where + ": data_offsets must be non-negative integers, got " +
                                  BoundedName(offsets->Dump()));
    }
  }
  e.begin = static_cast<uint64_t>(offsets->as_array()[0].as_int64());
  e.end = static_cast<uint64_t>(offsets->as_array()[1].as_int64());
  if (e.begin > e.end) {
    return InvalidArgumentError(where + ": data_offsets begin " + std::to_string(e.begin) + " > end " +
                                std::to_string(e.end));
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(c10::elementSize(e.dtype)), &bytes) ||
      bytes != e.end - e.begin) {
    return InvalidArgumentError(where + ": data_offsets cover " + std::to_string(e.end - e.begin) +
                                " bytes but shape " + ShapeText(e.shape) + " of " + e.dtype_name + " needs " +
                                std::to_string(numel * c10::elementSize(e.dtype)));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<torch::ScalarType> SafetensorsDtypeFromName(const std::string& name) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return d.type;
  }
  return InvalidArgumentError("unsupported safetensors dtype '" + QuoteForError(name) +
                              "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
}

StatusOr<std::string> SafetensorsDtypeName(torch::ScalarType type) {
  for (const auto& d : kDtypes) {
    if (type == d.type) return std::string(d.name);
  }
  return InvalidArgumentError(std::string("dtype ") + c10::toString(type) +
                              " cannot be stored in safetensors");
}

// ----------------------------------------------------------------- reader ---

StatusOr<SafetensorsReader> SafetensorsReader::Open(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (f.fd < 0) return NotFoundError(path + ": cannot open: " + ErrnoText());
  FLYP_RETURN_IF_ERROR(CheckInputFd(f.fd, path));
  struct stat st;
  if (::fstat(f.fd, &st) != 0) return InternalError(path + ": fstat failed: " + ErrnoText());
  if (S_ISDIR(st.st_mode)) return InvalidArgumentError(path + ": is a directory, not a safetensors file");
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(path + ": is not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    return DataLossError(path + ": file is " + std::to_string(file_size) +
                         " bytes, too short for a safetensors header length");
  }
  unsigned char len_bytes[8];
  if (!PreadAll(f.fd, len_bytes, 8, 0)) return DataLossError(path + ": cannot read the header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8) {
    return DataLossError(path + ": header length " + std::to_string(header_len) + " exceeds the file size " +
                         std::to_string(file_size) + " (truncated or not a safetensors file)");
  }
  if (header_len > kMaxSafetensorsHeaderBytes) {
    return InvalidArgumentError(path + ": header length " + std::to_string(header_len) +
                                " exceeds the limit of " + std::to_string(kMaxSafetensorsHeaderBytes) +
                                " bytes");
  }
  std::string header(header_len, '\0');
  if (!PreadAll(f.fd, header.data(), header_len, 8)) return DataLossError(path + ": cannot read the header");
  auto json = ParseJson(header);
  if (!json.ok())
    return InvalidArgumentError(path + ": header is not valid JSON: " + json.status().message());
  if (!json->is_object()) return InvalidArgumentError(path + ": header is not a JSON object");

  SafetensorsReader r;
  r.path_ = path;
  r.data_start_ = 8 + header_len;
  const uint64_t data_size = file_size - r.data_start_;
  for (const auto& [name, value] : json->as_object()) {
    if (name == "__metadata__") {
      if (!value.is_object()) return InvalidArgumentError(path + ": __metadata__ is not an object");
      for (const auto& [k, v] : value.as_object()) {
        if (!v.is_string())
          return InvalidArgumentError(path + ": __metadata__ value for '" + QuoteForError(k) +
                                      "' is not a string");
        r.metadata_[k] = v.as_string();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + BoundedName(name) + "'";
    SafetensorsEntry e;
    FLYP_RETURN_IF_ERROR(ParseEntry(where, name, value, e));
    if (e.end > data_size) {
      return DataLossError(where + ": data_offsets [" + std::to_string(e.begin) + ", " +
                           std::to_string(e.end) + ") extend beyond the data area of " +
                           std::to_string(data_size) + " bytes (truncated file?)");
    }
    r.index_.emplace(e.name, r.entries_.size());
    r.entries_.push_back(std::move(e));
  }
  // Overlap check on non-empty tensors sorted by start offset.
  std::vector<const SafetensorsEntry*> sorted;
  for (const auto& e : r.entries_) {
    if (e.end > e.begin) sorted.push_back(&e);
  }
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i]->begin < sorted[i - 1]->end) {
      return InvalidArgumentError(path + ": tensors '" + BoundedName(sorted[i - 1]->name) + "' and '" +
                                  BoundedName(sorted[i]->name) + "' overlap in the data area");
    }
  }
  return r;
}

const SafetensorsEntry* SafetensorsReader::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

StatusOr<torch::Tensor> SafetensorsReader::ReadEntry(int fd, const SafetensorsEntry& e) const {
  auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype));
  const uint64_t n = e.end - e.begin;
  if (n > 0 && !PreadAll(fd, t.data_ptr(), n, data_start_ + e.begin)) {
    return DataLossError(path_ + ": tensor '" + BoundedName(e.name) + "': short read of " +
                         std::to_string(n) + " bytes");
  }
  return t;
}

StatusOr<torch::Tensor> SafetensorsReader::Read(const std::string& name) const {
  const SafetensorsEntry* e = Find(name);
  if (e == nullptr) return NotFoundError(path_ + ": no tensor '" + BoundedName(name) + "'");
  Fd f;
  f.fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return NotFoundError(path_ + ": cannot open: " + ErrnoText());
  FLYP_RETURN_IF_ERROR(CheckInputFd(f.fd, path_));
  return ReadEntry(f.fd, *e);
}

StatusOr<NamedTensors> SafetensorsReader::ReadAll() const {
  // One open for every tensor (a header of a million tiny tensors must not
  // cost a million opens).
  Fd f;
  f.fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return NotFoundError(path_ + ": cannot open: " + ErrnoText());
  FLYP_RETURN_IF_ERROR(CheckInputFd(f.fd, path_));
  NamedTensors out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) {
    FLYP_ASSIGN_OR_RETURN(auto t, ReadEntry(f.fd, e));
    out.emplace_back(e.name, std::move(t));
  }
  return out;
}

StatusOr<NamedTensors> ReadSafetensors(const std::string& path,
                                       std::map<std::string, std::string>* metadata) {
  FLYP_ASSIGN_OR_RETURN(auto reader, SafetensorsReader::Open(path));
  if (metadata != nullptr) *metadata = reader.metadata();
  return reader.ReadAll();
}

// ----------------------------------------------------------------- writer ---

Status WriteSafetensors(const std::string& path, const NamedTensors& tensors,
                        const std::map<std::string, std::string>& metadata) {
  Json header = Json::MakeObject();
  if (!metadata.empty()) {
    Json m = Json::MakeObject();
    for (const auto& [k, v] : metadata) m.Set(k, v);
    header.Set("__metadata__", std::move(m));
  }
  std::vector<torch::Tensor> cpu;
  cpu.reserve(tensors.size());
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty() || name == "__metadata__") {
      return InvalidArgumentError(path + ": invalid tensor name '" + name + "'");
    }
    if (!seen.insert(name).second)
      return InvalidArgumentError(path + ": duplicate tensor name '" + name + "'");
    if (!tensor.defined()) return InvalidArgumentError(path + ": tensor '" + name + "' is undefined");
    auto dtype = SafetensorsDtypeName(tensor.scalar_type());
    if (!dtype.ok())
      return InvalidArgumentError(path + ": tensor '" + name + "': " + dtype.status().message());
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = t.nbytes();
    Json shape = Json::MakeArray();
    for (int64_t d : t.sizes()) shape.Append(d);
    Json entry = Json::MakeObject();
    entry.Set("dtype", *dtype);
    entry.Set("shape", std::move(shape));
    entry.Set("data_offsets", Json(Json::Array{offset, offset + bytes}));
    header.Set(name, std::move(entry));
    offset += bytes;
    cpu.push_back(std::move(t));
  }
  std::string text = header.Dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data area to 8 bytes
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i)
    len_bytes[i] = static_cast<unsigned char>(static_cast<uint64_t>(text.size()) >> (8 * i));

  FLYP_ASSIGN_OR_RETURN(AtomicFileWriter w, AtomicFileWriter::Create(path));
  FLYP_RETURN_IF_ERROR(w.Append(len_bytes, 8));
  FLYP_RETURN_IF_ERROR(w.Append(text));
  for (const auto& t : cpu) {
    if (t.nbytes() > 0) FLYP_RETURN_IF_ERROR(w.Append(t.data_ptr(), t.nbytes()));
  }
  return w.Commit();
}

}  // namespace flyp::model
