#include "worker/report/progress.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/json.h"
#include "common/logging.h"

namespace flyp::report {

// ---------------------------------------------------------- formatting ---

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e12) return "?";
  const long long s = std::llround(seconds);
  char buf[64];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
  }
  return buf;
}

std::string FormatRfc3339(WallTime t) {
  using namespace std::chrono;
  const long long ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  // Floor division so times before 1970 still format correctly.
  long long secs = ms / 1000;
  long long frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::string FormatProgressLine(const StepProgress& e) {
  char buf[256];
  std::string line = "step " + std::to_string(e.step);
  if (e.total_steps > 0) {
    std::snprintf(buf, sizeof(buf), "/%lld (%.1f%%)", static_cast<long long>(e.total_steps),
                  100.0 * static_cast<double>(e.step) / static_cast<double>(e.total_steps));
    line += buf;
  }
  if (e.epoch > 0) {
    line += " epoch " + std::to_string(e.epoch);
    if (e.total_epochs > 0) line += "/" + std::to_string(e.total_epochs);
  }
  std::snprintf(buf, sizeof(buf), " loss %.4f lr %.2e scale %.2f %.1f samples/s ETA ", e.loss,
                e.learning_rate, e.logit_scale, e.samples_per_second);
  line += buf;
  line += FormatDuration(e.eta_seconds);
  return line;
}

std::string FormatEvalLine(const EvalEvent& e) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f%%", 100.0 * e.accuracy);
  std::string line = "eval " + e.split + " accuracy " + buf;
  if (e.macro_f1) {
    std::snprintf(buf, sizeof(buf), "%.2f%%", 100.0 * *e.macro_f1);
    line += std::string(" macro-F1 ") + buf;
  }
  if (e.epoch) line += " (epoch " + std::to_string(*e.epoch) + ")";
  return line;
}

std::string FormatPhaseLine(const PhaseEvent& e) {
  std::string line = std::string("state ") + PhaseName(e.phase);
  if (!e.message.empty()) line += ": " + e.message;
  return line;
}

namespace {

WallTime Stamp(WallTime t, WallTime now) { return t.time_since_epoch().count() == 0 ? now : t; }

}  // namespace

std::string StepProgressJson(const StepProgress& e, WallTime now) {
  Json j = Json::MakeObject();
  j.Set("type", "progress");
  j.Set("step", static_cast<long long>(e.step));
  j.Set("total_steps", static_cast<long long>(e.total_steps));
  j.Set("epoch", e.epoch);
  j.Set("loss", e.loss);
  j.Set("lr", e.learning_rate);
  j.Set("logit_scale", e.logit_scale);
  j.Set("samples_per_second", e.samples_per_second);
  // Unknown ETA (negative) is null, like a non-finite value.
  j.Set("eta_seconds", e.eta_seconds >= 0 ? Json(e.eta_seconds) : Json());
  j.Set("time", FormatRfc3339(Stamp(e.time, now)));
  return j.Dump();
}

std::string EvalEventJson(const EvalEvent& e, WallTime now) {
  Json j = Json::MakeObject();
  j.Set("type", "eval");
  j.Set("split", e.split);
  j.Set("accuracy", e.accuracy);
  if (e.macro_f1) j.Set("macro_f1", *e.macro_f1);
  if (e.epoch) j.Set("epoch", *e.epoch);
  j.Set("time", FormatRfc3339(Stamp(e.time, now)));
  return j.Dump();
}

std::string PhaseEventJson(const PhaseEvent& e, WallTime now) {
  Json j = Json::MakeObject();
  j.Set("type", "state");
  j.Set("phase", PhaseName(e.phase));
  j.Set("message", e.message);
  j.Set("time", FormatRfc3339(Stamp(e.time, now)));
  return j.Dump();
}

// ------------------------------------------------------------- printer ---

ProgressPrinter::ProgressPrinter(std::FILE* out, Mode mode) : out_(out) {
  switch (mode) {
    case Mode::kRedraw:
      redraw_ = true;
      break;
    case Mode::kLines:
      redraw_ = false;
      break;
    case Mode::kAuto:
      redraw_ = out != nullptr && ::isatty(::fileno(out)) == 1;
      break;
  }
}

ProgressPrinter::~ProgressPrinter() {
  MutexLock lock(&mu_);
  if (pending_ && out_ != nullptr) {
    std::fputc('\n', out_);
    std::fflush(out_);
  }
}

void ProgressPrinter::PrintLine(const std::string& line) {
  if (out_ == nullptr) return;
  if (pending_) {
    // Replace the redrawn progress line; the next progress event redraws it
    // below.
    std::fputs("\r\x1b[K", out_);
    pending_ = false;
  }
  // One write for the line and its newline: stderr is unbuffered, and
  // mpirun --tag-output prefixes every write.
  std::fputs((line + "\n").c_str(), out_);
  std::fflush(out_);
}

void ProgressPrinter::OnStep(const StepProgress& e) {
  const std::string line = FormatProgressLine(e);
  MutexLock lock(&mu_);
  if (out_ == nullptr) return;
  if (redraw_) {
    std::fputs(("\r" + line + "\x1b[K").c_str(), out_);
    pending_ = true;
    std::fflush(out_);
  } else {
    PrintLine(line);
  }
}

void ProgressPrinter::OnEval(const EvalEvent& e) {
  const std::string line = FormatEvalLine(e);
  MutexLock lock(&mu_);
  PrintLine(line);
}

void ProgressPrinter::OnPhase(const PhaseEvent& e) {
  const std::string line = FormatPhaseLine(e);
  MutexLock lock(&mu_);
  PrintLine(line);
}

// -------------------------------------------------------- event writer ---

StatusOr<std::unique_ptr<EventWriter>> EventWriter::Open(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec)
      return PermissionDeniedError("cannot create directory for events file " + path + ": " + ec.message());
  }
  std::FILE* f = std::fopen(path.c_str(), "ae");
  if (f == nullptr)
    return PermissionDeniedError("cannot open events file " + path + ": " + std::strerror(errno));
  return std::unique_ptr<EventWriter>(new EventWriter(path, f));
}

EventWriter::~EventWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void EventWriter::WriteLine(const std::string& line) {
  MutexLock lock(&mu_);
  if (file_ == nullptr || !status_.ok()) return;
  const std::string text = line + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
    status_ = DataLossError("cannot write events file " + path_ + ": " + std::strerror(errno));
    FLYP_LOG(WARNING) << status_.message() << " (further events are dropped)";
  }
}

Status EventWriter::status() const {
  MutexLock lock(&mu_);
  return status_;
}

void EventWriter::OnStep(const StepProgress& e) {
  WriteLine(StepProgressJson(e, std::chrono::system_clock::now()));
}
void EventWriter::OnEval(const EvalEvent& e) {
  WriteLine(EvalEventJson(e, std::chrono::system_clock::now()));
}
void EventWriter::OnPhase(const PhaseEvent& e) {
  WriteLine(PhaseEventJson(e, std::chrono::system_clock::now()));
}

}  // namespace flyp::report
