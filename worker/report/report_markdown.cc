// report.md and the comparison tables: Markdown rendering of RunReports.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "worker/report/progress.h"
#include "worker/report/report.h"
#include "worker/report/report_internal.h"

namespace flyp::report {

using report_internal::FindSplit;
using report_internal::FormatG;

// -------------------------------------------------------------- tables ---

namespace {

// A table column: the ID split (resolved per row), one named split, or the
// mean over the table's OOD split columns.
struct Column {
  enum class Kind { kId, kSplit, kAvgOod };
  Kind kind;
  std::string header;
  std::string split;  // kSplit
  bool ood = false;   // kSplit
};

struct Row {
  std::string label;
  const std::vector<SplitEval>* evals;
  std::string id_val_split;
  std::string id_test_split;
};

using Metric = std::optional<double> (*)(const SplitEval&);
std::optional<double> Accuracy(const SplitEval& e) { return e.accuracy; }
std::optional<double> MacroF1(const SplitEval& e) { return e.macro_f1; }

std::optional<double> CellValue(const Column& c, const Row& row, const std::vector<Column>& cols,
                                Metric metric) {
  switch (c.kind) {
    case Column::Kind::kId: {
      const SplitEval* e = FindIdEval(*row.evals, row.id_val_split, row.id_test_split);
      return e ? metric(*e) : std::nullopt;
    }
    case Column::Kind::kSplit: {
      const SplitEval* e = FindSplit(*row.evals, c.split);
      return e ? metric(*e) : std::nullopt;
    }
    case Column::Kind::kAvgOod: {
      double sum = 0;
      int n = 0;
      for (const Column& o : cols) {
        if (o.kind != Column::Kind::kSplit || !o.ood) continue;
        const SplitEval* e = FindSplit(*row.evals, o.split);
        const std::optional<double> v = (e && e->is_ood) ? metric(*e) : std::nullopt;
        if (!v) return std::nullopt;
        sum += *v;
        ++n;
      }
      if (n == 0) return std::nullopt;
      return sum / n;
    }
  }
  return std::nullopt;
}

// Cells must not break the table: '|' is escaped, newlines flattened.
std::string CellText(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// The table as text cells: the header row, then one row per Row.
std::vector<std::vector<std::string>> TableCells(const std::string& first_header,
                                                 const std::vector<Column>& cols,
                                                 const std::vector<Row>& rows, Metric metric) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({first_header});
  for (const Column& c : cols) cells.back().push_back(c.header);
  for (const Row& row : rows) {
    cells.push_back({row.label});
    for (const Column& c : cols) {
      const std::optional<double> v = CellValue(c, row, cols, metric);
      cells.back().push_back(v ? FormatPercent(*v) : std::string("-"));
    }
  }
  return cells;
}

// | first | col... | with the first column left-aligned, numbers right.
std::string MarkdownTable(const std::vector<std::vector<std::string>>& cells) {
  std::string out;
  for (size_t r = 0; r < cells.size(); ++r) {
    out += "|";
    for (const std::string& c : cells[r]) out += " " + CellText(c) + " |";
    out += "\n";
    if (r == 0) {
      out += "|:---|";
      for (size_t i = 1; i < cells[0].size(); ++i) out += "---:|";
      out += "\n";
    }
  }
  return out;
}

size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Aligned columns for a terminal: the first left, the others right.
std::string TextTable(const std::vector<std::vector<std::string>>& cells) {
  std::vector<size_t> widths;
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  }
  std::string out;
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string pad(widths[i] - Width(row[i]), ' ');
      line += i == 0 ? row[i] + pad : "  " + pad + row[i];
    }
    out += line + "\n";
  }
  return out;
}

std::string RenderTable(const std::string& first_header, const std::vector<Column>& cols,
                        const std::vector<Row>& rows, Metric metric) {
  return MarkdownTable(TableCells(first_header, cols, rows, metric));
}

// OOD split names in order of first appearance over `lists`.
std::vector<std::string> OodSplits(const std::vector<const std::vector<SplitEval>*>& lists) {
  std::vector<std::string> names;
  for (const auto* list : lists) {
    for (const SplitEval& e : *list) {
      if (e.is_ood && std::find(names.begin(), names.end(), e.split) == names.end()) names.push_back(e.split);
    }
  }
  return names;
}

// The ID header: "ID (<split>)" when every row that has an ID value uses the
// same split name, else "ID".
std::string IdHeader(const std::vector<Row>& rows) {
  std::string name;
  for (const Row& row : rows) {
    const SplitEval* e = FindIdEval(*row.evals, row.id_val_split, row.id_test_split);
    if (e == nullptr) continue;
    if (name.empty()) {
      name = e->split;
    } else if (name != e->split) {
      return "ID";
    }
  }
  return name.empty() ? "ID" : "ID (" + name + ")";
}

std::vector<Column> StandardColumns(const std::vector<Row>& rows) {
  std::vector<const std::vector<SplitEval>*> lists;
  for (const Row& row : rows) lists.push_back(row.evals);
  std::vector<Column> cols;
  cols.push_back({Column::Kind::kId, IdHeader(rows), "", false});
  for (const std::string& s : OodSplits(lists)) cols.push_back({Column::Kind::kSplit, s, s, true});
  cols.push_back({Column::Kind::kAvgOod, "Avg OOD", "", false});
  return cols;
}

bool AnyMacroF1(const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    for (const SplitEval& e : *row.evals) {
      if (e.macro_f1) return true;
    }
  }
  return false;
}

std::string WiseFtLabel(const std::string& method, double alpha) {
  return MethodDisplayName(method) + " + WiSE-FT (alpha=" + FormatG(alpha) + ")";
}

// The method's own row; a zero-shot run whose "finetuned" results are its
// zero-shot results would only repeat the Zeroshot row.
bool HasMethodRow(const RunReport& r) {
  return !r.finetuned.empty() && !(r.method == "zeroshot" && r.finetuned == r.zeroshot);
}

std::vector<Row> MainRows(const RunReport& r) {
  std::vector<Row> rows;
  if (!r.zeroshot.empty()) rows.push_back({"Zeroshot", &r.zeroshot, r.id_val_split, r.id_test_split});
  if (HasMethodRow(r))
    rows.push_back({MethodDisplayName(r.method), &r.finetuned, r.id_val_split, r.id_test_split});
  if (r.chosen_alpha && !r.chosen.empty()) {
    rows.push_back({WiseFtLabel(r.method, *r.chosen_alpha), &r.chosen, r.id_val_split, r.id_test_split});
  }
  for (const MethodRow& x : r.extra_rows)
    rows.push_back({x.label, &x.evaluations, r.id_val_split, r.id_test_split});
  return rows;
}

}  // namespace

std::string RenderReportMarkdown(const RunReport& r) {
  std::string out = "# Report: " + CellText(r.job) + "\n\n";
  out += "- method: " + r.method + "\n";
  out += "- model: " + r.model + "\n";
  out += "- world size: " + std::to_string(r.world_size) + "\n";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f", r.samples_per_second);
  out += "- steps: " + std::to_string(r.steps) + " (" + buf + " samples/s)\n";
  out += "- time: total " + FormatDuration(r.timings.total_seconds) + ", train " +
         FormatDuration(r.timings.train_seconds) + ", eval " + FormatDuration(r.timings.eval_seconds) + "\n";
  if (r.final_train_loss) {
    std::snprintf(buf, sizeof(buf), "%.4f", *r.final_train_loss);
    out += std::string("- final train loss: ") + buf + "\n";
  }
  if (r.lp_l2) out += "- LP L2 strength (chosen on " + r.id_val_split + "): " + FormatG(*r.lp_l2) + "\n";
  if (!r.hyperparameters.empty()) {
    out += "- hyperparameters:";
    bool first = true;
    for (const auto& [k, v] : r.hyperparameters) {
      out += (first ? " " : ", ") + k + "=" + (v.is_string() ? v.as_string() : v.Dump());
      first = false;
    }
    out += "\n";
  }

  const std::vector<Row> rows = MainRows(r);
  if (!rows.empty()) {
    const std::vector<Column> cols = StandardColumns(rows);
    out += "\n## Accuracy (%)\n\n" + RenderTable("Method", cols, rows, Accuracy);
    if (AnyMacroF1(rows)) out += "\n## Macro-F1 (%)\n\n" + RenderTable("Method", cols, rows, MacroF1);
  }

  const std::vector<std::string> plots = ReportPlotFiles(r);
  if (!plots.empty()) {
    out += "\n## Plots\n\n";
    for (const std::string& p : plots) {
      const std::string alt = p == "training.svg"
                                  ? "training curves: loss, learning rate, logit scale, samples/s"
                              : p == "evaluation.svg" ? "accuracy per split"
                                                      : "WiSE-FT: ID vs OOD accuracy over alpha";
      out += "![" + alt + "](" + p + ")\n\n";
    }
    out.pop_back();
  }

  if (!r.epochs.empty()) {
    out += "\n## Training per epoch\n\n| Epoch | Last step | Train loss | Time |\n|:---|---:|---:|---:|\n";
    for (const auto& [epoch, er] : r.epochs) {
      char loss[32] = "-";
      if (er.train_loss) std::snprintf(loss, sizeof(loss), "%.4f", *er.train_loss);
      out += "| " + std::to_string(epoch) + " | " + std::to_string(er.last_step) + " | " + loss + " | " +
             (er.seconds ? FormatDuration(*er.seconds) : std::string("-")) + " |\n";
    }
  }
  std::vector<Row> erows;
  for (const auto& [epoch, er] : r.epochs) {
    if (!er.evaluations.empty())
      erows.push_back({std::to_string(epoch), &er.evaluations, r.id_val_split, r.id_test_split});
  }
  if (!erows.empty()) {
    out += "\n## Per epoch (accuracy %)\n\n" + RenderTable("Epoch", StandardColumns(erows), erows, Accuracy);
  }

  if (!r.wise_ft.empty()) {
    std::vector<WiseFtPoint> sweep = r.wise_ft;
    std::stable_sort(sweep.begin(), sweep.end(),
                     [](const WiseFtPoint& a, const WiseFtPoint& b) { return a.alpha < b.alpha; });
    std::vector<Row> srows;
    for (const WiseFtPoint& p : sweep) {
      std::string label = FormatG(p.alpha);
      if (r.chosen_alpha && *r.chosen_alpha == p.alpha) label += " (chosen)";
      srows.push_back({label, &p.evaluations, r.id_val_split, r.id_test_split});
    }
    std::vector<Column> cols = StandardColumns(srows);
    // Show the selection criterion when it is not already the ID column.
    bool has_val = false;
    for (const WiseFtPoint& p : sweep)
      has_val = has_val || FindSplit(p.evaluations, r.id_val_split) != nullptr;
    if (has_val && cols[0].header != "ID (" + r.id_val_split + ")") {
      cols.insert(cols.begin(), {Column::Kind::kSplit, r.id_val_split, r.id_val_split, false});
    }
    out += "\n## WiSE-FT alpha sweep (accuracy %; alpha chosen on " + r.id_val_split + ")\n\n" +
           RenderTable("alpha", cols, srows, Accuracy);
  }
  return out;
}

std::string RenderReportText(const RunReport& r) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%s: %s on %s, %d rank%s, %lld steps, %.1f samples/s", r.job.c_str(),
                MethodDisplayName(r.method).c_str(), r.model.c_str(), r.world_size,
                r.world_size == 1 ? "" : "s", static_cast<long long>(r.steps), r.samples_per_second);
  std::string out = buf;
  if (r.final_train_loss) {
    std::snprintf(buf, sizeof(buf), ", final loss %.4f", *r.final_train_loss);
    out += buf;
  }
  out += "\n";
  const std::vector<Row> rows = MainRows(r);
  if (!rows.empty()) {
    const std::vector<Column> cols = StandardColumns(rows);
    out += "\nAccuracy (%)\n" + TextTable(TableCells("", cols, rows, Accuracy));
    if (AnyMacroF1(rows)) out += "\nMacro-F1 (%)\n" + TextTable(TableCells("", cols, rows, MacroF1));
  }
  if (const std::optional<Headline> h = HeadlineOf(r)) {
    out += "\nResult: " + h->model + ": " + h->id_split + " " + FormatPercent(h->id_accuracy) + " %";
    if (h->avg_ood) {
      out += ", OOD " + FormatPercent(*h->avg_ood) + " % (mean of " + std::to_string(h->ood_splits) +
             " split" + (h->ood_splits == 1 ? "" : "s") + ")";
    }
    out += "\n";
  }
  return out;
}

std::string RenderComparisonTable(const std::vector<RunReport>& runs) {
  std::vector<Row> rows;
  for (const RunReport& r : runs) {
    if (!r.zeroshot.empty()) {
      rows.push_back({"Zeroshot", &r.zeroshot, r.id_val_split, r.id_test_split});
      break;
    }
  }
  for (const RunReport& r : runs) {
    if (HasMethodRow(r))
      rows.push_back({MethodDisplayName(r.method), &r.finetuned, r.id_val_split, r.id_test_split});
    if (r.chosen_alpha && !r.chosen.empty()) {
      rows.push_back({WiseFtLabel(r.method, *r.chosen_alpha), &r.chosen, r.id_val_split, r.id_test_split});
    }
    for (const MethodRow& x : r.extra_rows) {
      rows.push_back({x.label, &x.evaluations, r.id_val_split, r.id_test_split});
    }
  }
  if (rows.empty()) return "(no results)\n";
  const std::vector<Column> cols = StandardColumns(rows);
  std::string out = RenderTable("Method", cols, rows, Accuracy);
  if (AnyMacroF1(rows)) out += "\nMacro-F1 (%)\n\n" + RenderTable("Method", cols, rows, MacroF1);
  return out;
}

}  // namespace flyp::report
