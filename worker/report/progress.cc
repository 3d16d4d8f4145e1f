#include "worker/report/progress.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/json.h"
#include "common/logging.h"
#include "worker/report/report.h"

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

std::string FormatProgressBarLine(const StepProgress& e, int columns) {
  const char* dot = " \xC2\xB7 ";
  std::string text = "step " + std::to_string(e.step);
  if (e.total_steps > 0) text += "/" + std::to_string(e.total_steps);
  if (e.epoch > 0) {
    text += dot + std::string("epoch ") + std::to_string(e.epoch);
    if (e.total_epochs > 0) text += "/" + std::to_string(e.total_epochs);
  }
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%sloss %.4f%s%.1f samples/s%sETA ", dot, e.loss, dot, e.samples_per_second,
                dot);
  text += buf + FormatDuration(e.eta_seconds);
  const double fraction =
      e.total_steps > 0 ? static_cast<double>(e.step) / static_cast<double>(e.total_steps) : -1;
  return ProgressBar(fraction, text, columns);
}

std::string FormatEvalLine(const EvalEvent& e) {
  std::string line = EvalStageLabel(e) + " \xC2\xB7 " + e.split + " " + FormatPercent(e.accuracy) + " %";
  if (e.macro_f1) line += " \xC2\xB7 macro-F1 " + FormatPercent(*e.macro_f1) + " %";
  return line;
}

std::string FormatStageHeading(const StageEvent& e) {
  switch (e.stage) {
    case Stage::kEvaluating:
      return "== evaluating" + (e.label.empty() ? std::string() : " " + e.label);
    case Stage::kWiseFt:
      return "== WiSE-FT sweep (" + std::to_string(e.count) + " alphas)";
    default:
      return "== " + FormatStage(e);
  }
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
  // This step's own wall time (batch in hand to the optimiser's end; the
  // wait for the batch is not in it): bench/step_vs_python compares a job's
  // steps with the benchmark's.
  j.Set("step_seconds", e.seconds);
  // The text tower's work this step (contrastive methods; absent where not
  // counted): bench/step_vs_python checks a job did the benchmark's work.
  if (e.captions_encoded >= 0) j.Set("captions_encoded", static_cast<long long>(e.captions_encoded));
  if (e.caption_tokens >= 0) j.Set("caption_tokens", static_cast<long long>(e.caption_tokens));
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
  j.Set("stage", EvalStageName(e.stage));
  j.Set("label", EvalStageLabel(e));
  if (e.epoch) j.Set("epoch", *e.epoch);
  if (e.alpha) j.Set("alpha", *e.alpha);
  j.Set("time", FormatRfc3339(Stamp(e.time, now)));
  return j.Dump();
}

std::string StageEventJson(const StageEvent& e, WallTime now) {
  Json j = Json::MakeObject();
  j.Set("type", "stage");
  j.Set("stage", StageName(e.stage));
  if (e.stage == Stage::kEvaluating) {
    j.Set("label", e.label);
    j.Set("split", e.split);
  }
  if (e.stage == Stage::kWiseFt) {
    j.Set("index", e.index);
    j.Set("count", e.count);
    j.Set("alpha", e.alpha);
  }
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

ProgressPrinter::ProgressPrinter(std::FILE* out, Mode mode) : line_(out, mode), redraws_(line_.redraws()) {}

ProgressPrinter::~ProgressPrinter() {
  MutexLock lock(&mu_);
  line_.Finish();
}

// Every write below is one write of a whole line: stderr is unbuffered, and
// mpirun --tag-output prefixes every write.
void ProgressPrinter::OnStep(const StepProgress& e) {
  MutexLock lock(&mu_);
  if (redraws_) {
    line_.Update(FormatProgressBarLine(e, line_.columns()));
  } else {
    last_heading_.clear();
    line_.Print(FormatProgressLine(e));
  }
}

void ProgressPrinter::OnEval(const EvalEvent& e) {
  const std::string text = FormatEvalLine(e);
  MutexLock lock(&mu_);
  line_.Print(text);
}

void ProgressPrinter::OnPhase(const PhaseEvent& e) {
  const std::string text = FormatPhaseLine(e);
  MutexLock lock(&mu_);
  line_.Print(text);
}

void ProgressPrinter::OnStage(const StageEvent& e) {
  MutexLock lock(&mu_);
  if (redraws_) {
    if (e.stage != Stage::kTraining) line_.Update(FormatStage(e));
    return;
  }
  // Plain: one line per change of what runs, not per split or alpha.
  const std::string heading = FormatStageHeading(e);
  if (heading == last_heading_) return;
  last_heading_ = heading;
  if (e.stage != Stage::kTraining) line_.Print(heading);
}

void ProgressPrinter::OnReport(const RunReport& r) {
  const std::string table = RenderReportText(r);
  MutexLock lock(&mu_);
  line_.Print("");
  std::string block = table;
  if (!block.empty() && block.back() == '\n') block.pop_back();
  line_.Print(block);
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
void EventWriter::OnStage(const StageEvent& e) {
  WriteLine(StageEventJson(e, std::chrono::system_clock::now()));
}

}  // namespace flyp::report
