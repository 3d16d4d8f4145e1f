#include "worker/report/tensorboard.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/crc32c.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "flyp/tensorboard/event.pb.h"

namespace flyp::report {
namespace {

// Event files are read whole for checking; a run's scalars are far below this.
constexpr size_t kMaxEventFileBytes = 256 * kMiB;
constexpr char kFileVersion[] = "brain.Event:2";

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  return v;
}

double Seconds(WallTime t) {
  if (t.time_since_epoch().count() == 0) t = std::chrono::system_clock::now();
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

std::string TensorBoardRecord(const std::string& data) {
  std::string out;
  std::string header;
  PutLe(&header, data.size(), 8);
  out += header;
  PutLe(&out, MaskCrc32c(Crc32c(header)), 4);
  out += data;
  PutLe(&out, MaskCrc32c(Crc32c(data)), 4);
  return out;
}

StatusOr<std::unique_ptr<TensorBoardWriter>> TensorBoardWriter::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return PermissionDeniedError("cannot create TensorBoard directory " + dir + ": " + ec.message());
  char host[256] = "localhost";
  if (gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "localhost");
  const auto now = std::chrono::system_clock::now();
  const std::string path =
      dir + "/events.out.tfevents." +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()) + "." +
      host;
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (f == nullptr)
    return PermissionDeniedError("cannot open TensorBoard event file " + path + ": " + std::strerror(errno));
  std::unique_ptr<TensorBoardWriter> w(new TensorBoardWriter(path, f));
  tensorboard::Event first;
  first.set_wall_time(Seconds(now));
  first.set_file_version(kFileVersion);
  const std::string record = TensorBoardRecord(first.SerializeAsString());
  MutexLock lock(&w->mu_);
  if (std::fwrite(record.data(), 1, record.size(), f) != record.size() || std::fflush(f) != 0) {
    return DataLossError("cannot write TensorBoard event file " + path + ": " + std::strerror(errno));
  }
  return w;
}

TensorBoardWriter::~TensorBoardWriter() {
  MutexLock lock(&mu_);
  if (file_ != nullptr) std::fclose(file_);
}

Status TensorBoardWriter::status() const {
  MutexLock lock(&mu_);
  return status_;
}

void TensorBoardWriter::Write(int64_t step, WallTime time,
                              const std::vector<std::pair<std::string, double>>& scalars) {
  tensorboard::Event e;
  e.set_wall_time(Seconds(time));
  e.set_step(step);
  for (const auto& [tag, value] : scalars) {
    if (!std::isfinite(value)) continue;
    auto* v = e.mutable_summary()->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  const std::string record = TensorBoardRecord(e.SerializeAsString());
  MutexLock lock(&mu_);
  if (!status_.ok()) return;
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0) {
    status_ = DataLossError("cannot write TensorBoard event file " + path_ + ": " + std::strerror(errno));
    FLYP_LOG(WARNING) << status_.message() << " (further scalars are dropped)";
  }
}

void TensorBoardWriter::OnStep(const StepProgress& p) {
  {
    MutexLock lock(&mu_);
    last_step_ = p.step;
  }
  Write(p.step, p.time,
        {{"train/loss", p.loss},
         {"train/learning_rate", p.learning_rate},
         {"train/logit_scale", p.logit_scale},
         {"train/samples_per_second", p.samples_per_second}});
}

void TensorBoardWriter::OnEval(const EvalEvent& e) {
  int64_t step = 0;
  {
    MutexLock lock(&mu_);
    step = last_step_;
  }
  std::string tag;
  switch (e.stage) {
    case EvalStage::kZeroShot:
      tag = "eval/zeroshot/";
      step = 0;
      break;
    case EvalStage::kEpoch:
      tag = "eval/epoch/";
      break;
    case EvalStage::kFinal:
      tag = "eval/final/";
      break;
    case EvalStage::kWiseFt:
      tag = "wiseft/";
      step = std::llround(100.0 * e.alpha.value_or(0));
      break;
  }
  Write(step, e.time, {{tag + e.split, e.accuracy}});
}

StatusOr<std::vector<ScalarEvent>> ReadTensorBoardScalars(const std::string& path) {
  FLYP_ASSIGN_OR_RETURN(std::string data, ReadFileToString(path, kMaxEventFileBytes));
  std::vector<ScalarEvent> out;
  size_t at = 0;
  bool first = true;
  auto loss = [&](const std::string& what) {
    return DataLossError(path + ": " + what + " at byte " + std::to_string(at));
  };
  while (at < data.size()) {
    if (data.size() - at < 12) return loss("truncated record header");
    const uint64_t n = GetLe(data, at, 8);
    if (static_cast<uint32_t>(GetLe(data, at + 8, 4)) != MaskCrc32c(Crc32c(data.data() + at, 8))) {
      return loss("bad length CRC");
    }
    if (n > data.size() - at - 16) return loss("truncated record");
    const std::string payload = data.substr(at + 12, n);
    if (static_cast<uint32_t>(GetLe(data, at + 12 + n, 4)) != MaskCrc32c(Crc32c(payload))) {
      return loss("bad data CRC");
    }
    tensorboard::Event e;
    if (!e.ParseFromString(payload)) return loss("not an Event");
    if (first && e.file_version() != kFileVersion)
      return loss("first record is not file_version " + std::string(kFileVersion));
    first = false;
    for (const auto& v : e.summary().value())
      out.push_back({e.wall_time(), e.step(), v.tag(), v.simple_value()});
    at += 16 + n;
  }
  if (first) return DataLossError(path + ": empty event file");
  return out;
}

}  // namespace flyp::report
