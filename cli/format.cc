#include "cli/format.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include "worker/report/observer.h"
#include "worker/report/report.h"

namespace flyp::cli {
namespace {

const char kDot[] = " \xC2\xB7 ";

size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Pad(const std::string& s, size_t width) {
  return s + std::string(width - std::min(width, Width(s)), ' ');
}

std::string G(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

}  // namespace

std::string StateName(int state) {
  std::string n = v1::JobState_Name(static_cast<v1::JobState>(state));
  const std::string prefix = "JOB_STATE_";
  return n.rfind(prefix, 0) == 0 ? n.substr(prefix.size()) : n;
}

bool IsTerminalState(int state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

std::string FormatAge(const google::protobuf::Timestamp& t, int64_t now) {
  if (t.seconds() == 0) return "-";
  const int64_t s = std::max<int64_t>(0, now - t.seconds());
  if (s < 120) return std::to_string(s) + "s";
  if (s < 2 * 3600) return std::to_string(s / 60) + "m";
  if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0) return "-";
  const time_t s = static_cast<time_t>(t.seconds());
  std::tm tm;
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string StageText(const v1::ProgressPoint& p) {
  report::StageEvent e;
  switch (p.stage()) {
    case v1::STAGE_TRAINING:
      e.stage = report::Stage::kTraining;
      break;
    case v1::STAGE_EVALUATING:
      e.stage = report::Stage::kEvaluating;
      e.label = p.eval_stage();
      e.split = p.eval_split();
      break;
    case v1::STAGE_WISE_FT:
      e.stage = report::Stage::kWiseFt;
      e.index = p.wise_ft_index();
      e.count = p.wise_ft_count();
      e.alpha = p.wise_ft_alpha();
      break;
    case v1::STAGE_WRITING_REPORT:
      e.stage = report::Stage::kWritingReport;
      break;
    default:
      return "";
  }
  std::string text = report::FormatStage(e);
  if (p.stage() == v1::STAGE_TRAINING && p.epoch() > 0) text += " (epoch " + std::to_string(p.epoch()) + ")";
  return text;
}

std::string ResultText(const v1::JobResult& r) {
  if (r.id_split().empty()) return "";
  std::string s = "ID " + report::FormatPercent(r.id_accuracy()) + " %";
  if (r.has_avg_ood_accuracy())
    s += kDot + std::string("OOD ") + report::FormatPercent(r.avg_ood_accuracy()) + " %";
  if (r.has_chosen_alpha()) s += kDot + std::string("WiSE-FT alpha=") + G(r.chosen_alpha());
  return s;
}

std::string StatusText(const v1::Job& job) {
  const auto& st = job.status();
  const auto& p = st.latest_progress();
  switch (st.state()) {
    case v1::JOB_STATE_SUCCEEDED:
      return ResultText(p.result());
    case v1::JOB_STATE_FAILED:
    case v1::JOB_STATE_CANCELLED:
    case v1::JOB_STATE_RESTARTING:
    case v1::JOB_STATE_QUEUED: {
      if (st.history_size() == 0) return "";
      const auto& last = st.history(st.history_size() - 1);
      std::string s = last.reason();
      if (!last.message().empty() && st.state() != v1::JOB_STATE_QUEUED) s += ": " + last.message();
      return s.size() > 60 ? s.substr(0, 57) + "..." : s;
    }
    default:
      return StageText(p);
  }
}

std::vector<std::string> JobTableRows(const std::vector<const v1::Job*>& jobs, int64_t now, bool header) {
  std::vector<std::vector<std::string>> cells;
  if (header) cells.push_back({"ID", "NAME", "OWNER", "STATE", "AGE", "STEP", "LOSS", "STATUS"});
  for (const v1::Job* j : jobs) {
    const auto& p = j->status().latest_progress();
    std::string step = p.step() > 0 ? std::to_string(p.step()) : "-";
    if (p.step() > 0 && p.total_steps() > 0) step += "/" + std::to_string(p.total_steps());
    char loss[32] = "-";
    if (p.step() > 0) std::snprintf(loss, sizeof(loss), "%.4f", p.loss());
    cells.push_back({j->id(), j->spec().name().substr(0, 32), j->owner().empty() ? "-" : j->owner(),
                     StateName(j->status().state()), FormatAge(j->status().create_time(), now), step, loss,
                     StatusText(*j)});
  }
  std::vector<size_t> widths(8, 0);
  // With only rows (list --watch updates), widths as if the header were there.
  const std::vector<std::string> head = {"ID", "NAME", "OWNER", "STATE", "AGE", "STEP", "LOSS", "STATUS"};
  for (size_t i = 0; i < head.size(); ++i) widths[i] = head[i].size();
  widths[0] = std::max<size_t>(widths[0], 10);
  widths[1] = std::max<size_t>(widths[1], 16);
  widths[3] = std::max<size_t>(widths[3], 9);
  widths[5] = std::max<size_t>(widths[5], 9);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  }
  std::vector<std::string> out;
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i + 1 == row.size()) {
        line += row[i];
      } else if (i == 5 || i == 6) {  // numbers right-aligned
        line += std::string(widths[i] - Width(row[i]), ' ') + row[i] + "  ";
      } else {
        line += Pad(row[i], widths[i]) + "  ";
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> EvalLines(const v1::ProgressPoint& p) {
  std::map<std::string, double> sorted(p.eval_accuracy().begin(), p.eval_accuracy().end());
  std::vector<std::string> out;
  for (const auto& [split, acc] : sorted) {
    out.push_back((p.eval_stage().empty() ? std::string("eval") : p.eval_stage()) + kDot + split + " " +
                  report::FormatPercent(acc) + " %");
  }
  return out;
}

}  // namespace flyp::cli
