#include "worker/report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/file_util.h"
#include "worker/report/progress.h"
#include "worker/report/report_internal.h"
#include "worker/report/svg_plot.h"

namespace flyp::report {

bool RunReport::operator==(const RunReport& o) const {
  return job == o.job && method == o.method && model == o.model && world_size == o.world_size &&
         id_val_split == o.id_val_split && id_test_split == o.id_test_split && timings == o.timings &&
         steps == o.steps && samples_per_second == o.samples_per_second &&
         final_train_loss == o.final_train_loss && hyperparameters == o.hyperparameters &&
         zeroshot == o.zeroshot && finetuned == o.finetuned && epochs == o.epochs && training == o.training &&
         wise_ft == o.wise_ft && chosen_alpha == o.chosen_alpha && chosen == o.chosen && lp_l2 == o.lp_l2 &&
         extra_rows == o.extra_rows;
}

// ------------------------------------------------------------ helpers ---

std::string FormatPercent(double accuracy) {
  if (!std::isfinite(accuracy)) return "-";
  const long long tenths = std::llround(accuracy * 1000.0);
  const long long mag = tenths < 0 ? -tenths : tenths;
  return std::string(tenths < 0 ? "-" : "") + std::to_string(mag / 10) + "." + std::to_string(mag % 10);
}

std::string MethodDisplayName(const std::string& method) {
  static const std::map<std::string, std::string> kNames = {
      {"zeroshot", "Zeroshot"}, {"lp", "LP"},      {"ft", "FT"},
      {"l2sp", "L2-SP"},        {"lpft", "LP-FT"}, {"flyp", "FLYP"},
      {"pretrain", "Pretrain"}};
  const auto it = kNames.find(method);
  return it == kNames.end() ? method : it->second;
}

namespace report_internal {

const SplitEval* FindSplit(const std::vector<SplitEval>& evals, const std::string& split) {
  for (const SplitEval& e : evals) {
    if (e.split == split) return &e;
  }
  return nullptr;
}

std::string FormatG(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

}  // namespace report_internal

using report_internal::FindSplit;
using report_internal::FormatG;

const SplitEval* FindIdEval(const std::vector<SplitEval>& evals, const std::string& id_val_split,
                            const std::string& id_test_split) {
  if (const SplitEval* e = FindSplit(evals, id_test_split)) return e;
  if (const SplitEval* e = FindSplit(evals, id_val_split)) return e;
  for (const SplitEval& e : evals) {
    if (!e.is_ood) return &e;
  }
  return nullptr;
}

std::optional<double> AverageOod(const std::vector<SplitEval>& evals) {
  double sum = 0;
  int n = 0;
  for (const SplitEval& e : evals) {
    if (!e.is_ood) continue;
    sum += e.accuracy;
    ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

// ------------------------------------------------------------- wise-ft ---

std::optional<size_t> ChooseAlphaIndex(const std::vector<WiseFtPoint>& sweep,
                                       const std::string& id_val_split) {
  std::optional<size_t> best;
  double best_acc = 0;
  for (size_t i = 0; i < sweep.size(); ++i) {
    const SplitEval* e = FindSplit(sweep[i].evaluations, id_val_split);
    if (e == nullptr || !std::isfinite(e->accuracy)) continue;
    if (!best || e->accuracy > best_acc || (e->accuracy == best_acc && sweep[i].alpha < sweep[*best].alpha)) {
      best = i;
      best_acc = e->accuracy;
    }
  }
  return best;
}

Status SelectWiseFtAlpha(RunReport* report) {
  report->chosen_alpha.reset();
  report->chosen.clear();
  if (report->wise_ft.empty()) return Status::Ok();
  const std::optional<size_t> i = ChooseAlphaIndex(report->wise_ft, report->id_val_split);
  if (!i) {
    return FailedPreconditionError(
        "WiSE-FT: no alpha of the sweep was evaluated on the ID validation split '" + report->id_val_split +
        "', so no alpha can be chosen");
  }
  report->chosen_alpha = report->wise_ft[*i].alpha;
  report->chosen = report->wise_ft[*i].evaluations;
  return Status::Ok();
}

// ---------------------------------------------------------------- plots ---

namespace {

svg::PlotSeries AlphaSeries(const RunReport& r, const std::string& name) {
  svg::PlotSeries s;
  s.name = name;
  auto add = [&](double alpha, const std::vector<SplitEval>& evals) {
    const SplitEval* id = FindIdEval(evals, r.id_val_split, r.id_test_split);
    const std::optional<double> ood = AverageOod(evals);
    if (id == nullptr || !ood) return;
    const bool chosen = r.chosen_alpha && *r.chosen_alpha == alpha && !r.wise_ft.empty();
    s.points.push_back({100.0 * id->accuracy, 100.0 * *ood, "\xCE\xB1=" + FormatG(alpha), chosen});
  };
  if (!r.wise_ft.empty()) {
    std::vector<WiseFtPoint> sweep = r.wise_ft;
    std::stable_sort(sweep.begin(), sweep.end(),
                     [](const WiseFtPoint& a, const WiseFtPoint& b) { return a.alpha < b.alpha; });
    for (const WiseFtPoint& p : sweep) add(p.alpha, p.evaluations);
  } else {
    if (!r.zeroshot.empty()) add(0.0, r.zeroshot);
    if (!r.finetuned.empty()) add(1.0, r.finetuned);
  }
  return s;
}

}  // namespace

std::string RenderAlphaCurves(const std::vector<RunReport>& runs) {
  std::vector<svg::PlotSeries> series;
  for (size_t i = 0; i < runs.size(); ++i) {
    std::string name = MethodDisplayName(runs[i].method);
    for (size_t j = 0; j < runs.size(); ++j) {
      if (j != i && runs[j].method == runs[i].method) {
        name += " (" + runs[i].job + ")";
        break;
      }
    }
    series.push_back(AlphaSeries(runs[i], name));
  }
  svg::PlotOptions opt;
  opt.title = "WiSE-FT: ID vs OOD accuracy over alpha";
  opt.x_label = "ID accuracy (%)";
  opt.y_label = "Avg OOD accuracy (%)";
  return svg::RenderSvgPlot(opt, series);
}

std::string RenderWiseFtSvg(const RunReport& report) {
  std::vector<svg::PlotSeries> series = {AlphaSeries(report, MethodDisplayName(report.method))};
  svg::PlotOptions opt;
  opt.title = report.job + ": WiSE-FT ID vs OOD accuracy over alpha";
  const SplitEval* id = nullptr;
  for (const auto* list : {&report.finetuned, &report.zeroshot}) {
    if (id == nullptr) id = FindIdEval(*list, report.id_val_split, report.id_test_split);
  }
  if (id == nullptr && !report.wise_ft.empty()) {
    id = FindIdEval(report.wise_ft.front().evaluations, report.id_val_split, report.id_test_split);
  }
  opt.x_label = "ID accuracy (%)" + (id ? " [" + id->split + "]" : std::string());
  opt.y_label = "Avg OOD accuracy (%)";
  return svg::RenderSvgPlot(opt, series);
}

// ------------------------------------------------------------ headline ---

namespace {

bool IsZeroshotOnly(const RunReport& r) { return r.method == "zeroshot" && r.finetuned == r.zeroshot; }

}  // namespace

std::optional<Headline> HeadlineOf(const RunReport& r) {
  Headline h;
  const std::vector<SplitEval>* evals = nullptr;
  if (r.chosen_alpha && !r.chosen.empty()) {
    evals = &r.chosen;
    h.model = MethodDisplayName(r.method) + " + WiSE-FT (alpha=" + FormatG(*r.chosen_alpha) + ")";
    h.chosen_alpha = r.chosen_alpha;
  } else if (!r.finetuned.empty() && !IsZeroshotOnly(r)) {
    evals = &r.finetuned;
    h.model = MethodDisplayName(r.method);
  } else if (!r.zeroshot.empty()) {
    evals = &r.zeroshot;
    h.model = "Zeroshot";
  }
  if (evals == nullptr) return std::nullopt;
  const SplitEval* id = FindIdEval(*evals, r.id_val_split, r.id_test_split);
  if (id == nullptr) return std::nullopt;
  h.id_split = id->split;
  h.id_accuracy = id->accuracy;
  h.avg_ood = AverageOod(*evals);
  for (const SplitEval& e : *evals) h.ood_splits += e.is_ood ? 1 : 0;
  return h;
}

// --------------------------------------------------------- more plots ---

std::string RenderTrainingSvg(const RunReport& r) {
  struct Curve {
    const char* title;
    const char* y_label;
    double (*value)(const TrainPoint&);
  };
  const Curve curves[] = {
      {"loss", "loss", [](const TrainPoint& p) { return p.loss; }},
      {"learning rate", "learning rate", [](const TrainPoint& p) { return p.learning_rate; }},
      {"logit scale", "exp(logit_scale)", [](const TrainPoint& p) { return p.logit_scale; }},
      {"throughput", "samples/s", [](const TrainPoint& p) { return p.samples_per_second; }},
  };
  std::vector<std::string> panels;
  for (const Curve& c : curves) {
    svg::PlotSeries s;
    s.name = c.title;
    s.markers = r.training.size() <= 30;
    for (const TrainPoint& p : r.training)
      s.points.push_back({static_cast<double>(p.step), c.value(p), "", false});
    svg::PlotOptions opt;
    opt.title = r.job + ": " + c.title;
    opt.x_label = "step";
    opt.y_label = c.y_label;
    opt.width = 480;
    opt.height = 320;
    opt.legend = false;
    panels.push_back(svg::RenderSvgPlot(opt, {s}));
  }
  return svg::RenderSvgPanels(panels, 2);
}

namespace {

// The rows of the accuracy table, as bars: label and evaluations.
std::vector<std::pair<std::string, const std::vector<SplitEval>*>> BarRows(const RunReport& r) {
  std::vector<std::pair<std::string, const std::vector<SplitEval>*>> rows;
  if (!r.zeroshot.empty()) rows.emplace_back("Zeroshot", &r.zeroshot);
  if (!r.finetuned.empty() && !IsZeroshotOnly(r))
    rows.emplace_back(MethodDisplayName(r.method), &r.finetuned);
  if (r.chosen_alpha && !r.chosen.empty()) {
    rows.emplace_back(MethodDisplayName(r.method) + " + WiSE-FT (alpha=" + FormatG(*r.chosen_alpha) + ")",
                      &r.chosen);
  }
  for (const MethodRow& x : r.extra_rows) rows.emplace_back(x.label, &x.evaluations);
  return rows;
}

}  // namespace

std::string RenderEvaluationSvg(const RunReport& r) {
  const auto rows = BarRows(r);
  std::vector<std::string> splits;  // ID splits first, then OOD, in order of appearance
  for (bool ood : {false, true}) {
    for (const auto& [label, evals] : rows) {
      for (const SplitEval& e : *evals) {
        if (e.is_ood == ood && std::find(splits.begin(), splits.end(), e.split) == splits.end()) {
          splits.push_back(e.split);
        }
      }
    }
  }
  std::vector<svg::BarSeries> series;
  for (const auto& [label, evals] : rows) {
    svg::BarSeries b;
    b.name = label;
    for (const std::string& split : splits) {
      const SplitEval* e = FindSplit(*evals, split);
      b.values.push_back(e ? std::optional<double>(std::round(1000.0 * e->accuracy) / 10.0) : std::nullopt);
    }
    series.push_back(std::move(b));
  }
  svg::PlotOptions opt;
  opt.title = r.job + ": accuracy per split";
  opt.y_label = "accuracy (%)";
  opt.y_range = svg::AxisRange{0, 100};
  return svg::RenderSvgBarChart(opt, splits, series);
}

std::vector<std::string> ReportPlotFiles(const RunReport& r) {
  std::vector<std::string> files;
  if (!r.training.empty()) files.push_back("training.svg");
  if (!BarRows(r).empty()) files.push_back("evaluation.svg");
  if (!r.wise_ft.empty()) files.push_back("wiseft.svg");
  return files;
}

// ---------------------------------------------------------------- files ---

Status WriteReport(const RunReport& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return PermissionDeniedError("cannot create report directory " + dir + ": " + ec.message());
  FLYP_RETURN_IF_ERROR(WriteFileAtomic(dir + "/report.json", ReportToJson(report)));
  const std::vector<std::string> plots = ReportPlotFiles(report);
  for (const char* plot : {"training.svg", "evaluation.svg", "wiseft.svg"}) {
    const std::string path = dir + "/" + plot;
    if (std::find(plots.begin(), plots.end(), plot) == plots.end()) {
      std::filesystem::remove(path, ec);  // a plot of an earlier report would contradict this one
      continue;
    }
    const std::string svg = std::string(plot) == "training.svg"     ? RenderTrainingSvg(report)
                            : std::string(plot) == "evaluation.svg" ? RenderEvaluationSvg(report)
                                                                    : RenderWiseFtSvg(report);
    FLYP_RETURN_IF_ERROR(WriteFileAtomic(path, svg));
  }
  FLYP_RETURN_IF_ERROR(WriteFileAtomic(dir + "/report.md", RenderReportMarkdown(report)));
  return Status::Ok();
}

}  // namespace flyp::report
