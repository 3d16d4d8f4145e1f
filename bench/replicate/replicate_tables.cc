// replicate_tables: turns the report.json files of the replication runs into
// the FLYP paper's tables (mean +- std over seeds) and its alpha-sweep
// figure, and checks them.
//
// Input: a manifest, one run per line `table|label|path/to/report.json`
// (blank lines and lines starting with '#' ignored). Runs with the same
// (table, label) are seeds of one configuration. Per table, in order of first
// appearance, the tool writes a markdown table with rows
//   Zeroshot                      (the zero-shot evaluations of the table's runs)
//   <label>                       (finetuned model, alpha = 1)
//   <label> + WiSE-FT             (alpha chosen on ID validation)
// and columns ID, every OOD split, Avg OOD, then (WiSE rows) the chosen
// alpha; cells are "mean ± std" in percent over the seeds (sample std; a
// single seed shows the value alone). A label starting with "Zeroshot" is
// the zero-shot method: it contributes only its zero-shot row. The seeds of
// one (table, label) must have the same splits in each of zeroshot,
// finetuned and wise_ft.chosen, and all or none a chosen alpha: a report
// lacking a split another seed has is rejected (naming both reports and the
// split), never averaged over fewer seeds.
// Below each table: RenderComparisonTable over the first seed of each label
// (the per-run view of worker/report/report.h).
//
// Options:
//   --manifest F     required
//   --md OUT         markdown output (default stdout)
//   --svg OUT        RenderAlphaCurves of the first seed of each label of
//                    table --svg-table (default: the first table)
//   --svg-table T
//   --min-zeroshot-id X   fail unless every table's zero-shot ID accuracy > X
//   --expect L1,L2,...    fail unless the --svg-table table (default: the
//                    first) has rows with these labels, with ID and OOD cells
//   --id-val REPORT  instead: print the finetuned id_val accuracy of one run
// Exit: 0 ok, 1 a report failed to read, lacked a split its other seeds have,
// or a check failed; 2 bad arguments.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "worker/report/report.h"

namespace {

using flyp::report::RunReport;
using flyp::report::SplitEval;

struct Group {
  std::string label;
  std::vector<RunReport> runs;
  std::vector<std::string> paths;  // runs[i] was read from paths[i]
};

struct Table {
  std::string name;
  std::vector<Group> groups;
};

// Accumulates values of one cell over seeds.
struct Cell {
  std::vector<double> v;
  void Add(double x) { v.push_back(x); }
  double Mean() const {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? NAN : s / static_cast<double>(v.size());
  }
  double Std() const {
    if (v.size() < 2) return 0;
    const double m = Mean();
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size() - 1));
  }
  std::string Percent() const {
    if (v.empty()) return "-";
    std::string out = flyp::report::FormatPercent(Mean());
    if (v.size() > 1) {
      char buf[32];
      std::snprintf(buf, sizeof buf, " ± %.1f", 100.0 * Std());
      out += buf;
    }
    return out;
  }
};

// One table row: per split (ID first, OOD in order) the cell, plus avg OOD.
struct Row {
  std::string label;
  Cell id;
  std::map<std::string, Cell> ood;
  Cell avg_ood;
  Cell alpha;
  bool has_alpha = false;
};

void AddEvals(const RunReport& r, const std::vector<SplitEval>& evals, std::vector<std::string>* ood_order,
              Row* row) {
  if (const SplitEval* id = flyp::report::FindIdEval(evals, r.id_val_split, r.id_test_split))
    row->id.Add(id->accuracy);
  for (const SplitEval& e : evals) {
    if (!e.is_ood) continue;
    row->ood[e.split].Add(e.accuracy);
    bool seen = false;
    for (const auto& s : *ood_order) seen = seen || s == e.split;
    if (!seen) ood_order->push_back(e.split);
  }
  if (auto avg = flyp::report::AverageOod(evals)) row->avg_ood.Add(*avg);
}

bool StartsWith(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

bool HasSplit(const std::vector<SplitEval>& evals, const std::string& split) {
  for (const SplitEval& e : evals)
    if (e.split == split) return true;
  return false;
}

// The seeds of one (table, label) are averaged cell by cell, so they must
// have evaluated the same splits: a seed without a split the others have
// would make that cell a mean over fewer seeds and its Avg OOD a mean over
// other splits. Prints one line per missing split, naming the report that
// lacks it and one that has it; returns how many.
int CheckSameSplits(const Table& t, const Group& g) {
  struct List {
    const char* name;  // as in report.json
    std::vector<SplitEval> RunReport::*evals;
  };
  static const List kLists[] = {{"zeroshot", &RunReport::zeroshot},
                                {"finetuned", &RunReport::finetuned},
                                {"wise_ft.chosen", &RunReport::chosen}};
  int missing = 0;
  auto report = [&](size_t lacking, size_t having, const std::string& what) {
    std::fprintf(stderr,
                 "replicate_tables: %s: %s that %s has (table '%s', label '%s'); refusing to average over "
                 "fewer seeds\n",
                 g.paths[lacking].c_str(), what.c_str(), g.paths[having].c_str(), t.name.c_str(),
                 g.label.c_str());
    ++missing;
  };
  // WiSE-FT: every seed or none chose an alpha (the chosen row averages them).
  std::optional<size_t> with_alpha;
  for (size_t i = 0; i < g.runs.size() && !with_alpha; ++i)
    if (g.runs[i].chosen_alpha) with_alpha = i;
  for (size_t i = 0; i < g.runs.size(); ++i)
    if (with_alpha && !g.runs[i].chosen_alpha)
      report(i, *with_alpha, "no chosen WiSE-FT alpha (wise_ft.chosen_alpha)");
  for (const List& list : kLists) {
    const bool chosen = list.evals == &RunReport::chosen;
    std::map<std::string, size_t> first_with;  // split -> first run that has it
    for (size_t i = 0; i < g.runs.size(); ++i) {
      if (chosen && !g.runs[i].chosen_alpha) continue;
      for (const SplitEval& e : g.runs[i].*list.evals) first_with.emplace(e.split, i);
    }
    for (size_t i = 0; i < g.runs.size(); ++i) {
      if (chosen && !g.runs[i].chosen_alpha) continue;
      for (const auto& [split, having] : first_with)
        if (!HasSplit(g.runs[i].*list.evals, split))
          report(i, having, std::string(list.name) + " evaluations lack split '" + split + "'");
    }
  }
  return missing;
}

std::string RenderTable(const Table& t, std::vector<Row>* rows_out) {
  std::vector<std::string> ood_order;
  std::vector<Row> rows;
  Row zs;
  zs.label = "Zeroshot";
  for (const Group& g : t.groups) {
    for (const RunReport& r : g.runs) {
      // The zero-shot model does not depend on the seed or the method: take
      // it from the first group only, so each seed counts once.
      if (&g == &t.groups.front()) AddEvals(r, r.zeroshot, &ood_order, &zs);
    }
  }
  rows.push_back(zs);
  for (const Group& g : t.groups) {
    if (StartsWith(g.label, "Zeroshot")) continue;
    Row ft, wise;
    ft.label = g.label;
    wise.label = g.label + " + WiSE-FT";
    wise.has_alpha = true;
    for (const RunReport& r : g.runs) {
      AddEvals(r, r.finetuned, &ood_order, &ft);
      if (r.chosen_alpha) {
        AddEvals(r, r.chosen, &ood_order, &wise);
        wise.alpha.Add(*r.chosen_alpha);
      }
    }
    rows.push_back(ft);
    if (!wise.alpha.v.empty()) rows.push_back(wise);
  }
  std::ostringstream md;
  md << "| Method | ID";
  for (const auto& s : ood_order) md << " | " << s;
  md << " | Avg OOD | alpha |\n|---|---:";
  for (size_t i = 0; i < ood_order.size(); ++i) md << "|---:";
  md << "|---:|---:|\n";
  for (const Row& row : rows) {
    md << "| " << row.label << " | " << row.id.Percent();
    for (const auto& s : ood_order) {
      auto it = row.ood.find(s);
      md << " | " << (it == row.ood.end() ? std::string("-") : it->second.Percent());
    }
    md << " | " << row.avg_ood.Percent() << " | ";
    if (row.has_alpha && !row.alpha.v.empty()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f", row.alpha.Mean());
      md << buf;
    } else {
      md << "-";
    }
    md << " |\n";
  }
  size_t seeds = 0;
  for (const Group& g : t.groups) seeds = std::max(seeds, g.runs.size());
  md << "\n(" << seeds << " seed(s); cells: mean ± sample std in %; alpha: mean chosen WiSE-FT alpha)\n";
  *rows_out = rows;
  return md.str();
}

int Usage(const char* msg) {
  std::fprintf(stderr,
               "replicate_tables: %s\nusage: replicate_tables --manifest F [--md OUT] [--svg OUT] "
               "[--svg-table T] [--min-zeroshot-id X] [--expect L1,L2,...]\n",
               msg);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string manifest, md_out, svg_out, svg_table, expect, id_val_report;
  double min_zs = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Usage(("missing value after " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--manifest")
      manifest = v;
    else if (a == "--md")
      md_out = v;
    else if (a == "--svg")
      svg_out = v;
    else if (a == "--svg-table")
      svg_table = v;
    else if (a == "--min-zeroshot-id")
      min_zs = std::atof(v.c_str());
    else if (a == "--expect")
      expect = v;
    else if (a == "--id-val")
      id_val_report = v;
    else
      return Usage(("unknown argument " + a).c_str());
  }
  if (!id_val_report.empty()) {
    // Grid mode: print the finetuned model's ID validation accuracy.
    auto r = flyp::report::ReadReportJson(id_val_report);
    if (!r.ok()) {
      std::fprintf(stderr, "replicate_tables: %s\n", r.status().ToString().c_str());
      return 1;
    }
    for (const SplitEval& e : r->finetuned) {
      if (e.split == r->id_val_split) {
        std::printf("%.4f\n", e.accuracy);
        return 0;
      }
    }
    std::fprintf(stderr, "replicate_tables: %s: no finetuned evaluation of split %s\n", id_val_report.c_str(),
                 r->id_val_split.c_str());
    return 1;
  }
  if (manifest.empty()) return Usage("--manifest is required");
  std::ifstream in(manifest);
  if (!in) return Usage(("cannot read manifest " + manifest).c_str());

  std::vector<Table> tables;
  std::string line;
  int lineno = 0, failures = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    const size_t p1 = line.find('|'), p2 = line.find('|', p1 == std::string::npos ? 0 : p1 + 1);
    if (p1 == std::string::npos || p2 == std::string::npos) {
      std::fprintf(stderr, "%s:%d: expected table|label|report.json\n", manifest.c_str(), lineno);
      return 2;
    }
    const std::string tname = line.substr(0, p1), label = line.substr(p1 + 1, p2 - p1 - 1),
                      path = line.substr(p2 + 1);
    auto report = flyp::report::ReadReportJson(path);
    if (!report.ok()) {
      std::fprintf(stderr, "%s:%d: %s\n", manifest.c_str(), lineno, report.status().ToString().c_str());
      ++failures;
      continue;
    }
    Table* t = nullptr;
    for (auto& x : tables) t = x.name == tname ? &x : t;
    if (!t) t = &tables.emplace_back(Table{tname, {}});
    Group* g = nullptr;
    for (auto& x : t->groups) g = x.label == label ? &x : g;
    if (!g) g = &t->groups.emplace_back(Group{label, {}, {}});
    g->runs.push_back(std::move(*report));
    g->paths.push_back(path);
  }
  if (tables.empty()) {
    std::fprintf(stderr, "replicate_tables: no readable runs in %s\n", manifest.c_str());
    return 1;
  }
  int missing = 0;
  for (const Table& t : tables)
    for (const Group& g : t.groups) missing += CheckSameSplits(t, g);
  if (missing) {
    std::fprintf(stderr,
                 "replicate_tables: %d split(s) or alpha(s) missing from some seeds; no tables written\n",
                 missing);
    return 1;
  }

  std::ostringstream md;
  for (const Table& t : tables) {
    std::vector<Row> rows;
    md << "### " << t.name << "\n\n" << RenderTable(t, &rows) << "\n";
    std::vector<RunReport> firsts;
    for (const Group& g : t.groups) {
      firsts.push_back(g.runs.front());
      firsts.back().job = g.label;
      // A variant ("FLYP (mask same class)") is shown under its own label.
      if (flyp::report::MethodDisplayName(firsts.back().method) != g.label) firsts.back().method = g.label;
    }
    md << "<details><summary>first seed, per run (RenderComparisonTable)</summary>\n\n"
       << flyp::report::RenderComparisonTable(firsts) << "\n</details>\n\n";
    // Checks.
    if (min_zs >= 0) {
      const Cell& zs = rows.front().id;
      if (zs.v.empty() || !(zs.Mean() > min_zs)) {
        std::fprintf(stderr, "CHECK FAILED: table %s: zero-shot ID accuracy %s%% not above %.1f%%\n",
                     t.name.c_str(), zs.Percent().c_str(), 100 * min_zs);
        ++failures;
      }
    }
    const std::string main_table = svg_table.empty() ? tables.front().name : svg_table;
    std::stringstream ex(t.name == main_table ? expect : std::string());
    std::string want;
    while (std::getline(ex, want, ',')) {
      if (want.empty()) continue;
      bool found = false;
      for (const Row& r : rows) found = found || (r.label == want && !r.id.v.empty() && !r.avg_ood.v.empty());
      if (!found) {
        std::fprintf(stderr, "CHECK FAILED: table %s: no row '%s' with ID and OOD accuracies\n",
                     t.name.c_str(), want.c_str());
        ++failures;
      }
    }
    for (const Row& r : rows) {
      for (double x : r.id.v) {
        if (!(x >= 0 && x <= 1)) {
          std::fprintf(stderr, "CHECK FAILED: table %s row %s: accuracy %g outside [0,1]\n", t.name.c_str(),
                       r.label.c_str(), x);
          ++failures;
        }
      }
    }
  }
  if (md_out.empty()) {
    std::fputs(md.str().c_str(), stdout);
  } else {
    std::ofstream(md_out) << md.str();
    std::printf("replicate_tables: wrote %s\n", md_out.c_str());
  }
  if (!svg_out.empty()) {
    const Table* t = &tables.front();
    for (const auto& x : tables) t = x.name == svg_table ? &x : t;
    std::vector<RunReport> firsts;
    for (const Group& g : t->groups) {
      if (StartsWith(g.label, "Zeroshot")) continue;
      firsts.push_back(g.runs.front());
      firsts.back().job = g.label;
      if (flyp::report::MethodDisplayName(firsts.back().method) != g.label) firsts.back().method = g.label;
    }
    std::ofstream(svg_out) << flyp::report::RenderAlphaCurves(firsts);
    std::printf("replicate_tables: wrote %s\n", svg_out.c_str());
  }
  if (failures) std::fprintf(stderr, "replicate_tables: %d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
