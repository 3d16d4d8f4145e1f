#include "coordinator/sweep_report.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "common/file_util.h"
#include "common/json.h"
#include "common/spec/sweep_spec.h"
#include "worker/report/svg_plot.h"

namespace flyp::coord {
namespace {

using report::RunReport;
using report::SplitEval;
using Data = SweepReportData;

std::vector<std::string> ReplicateBy(const v1::Sweep& s) {
  return {s.spec().replicate_by().begin(), s.spec().replicate_by().end()};
}

bool Maximize(const v1::Sweep& s) { return s.spec().objective().goal() != v1::OBJECTIVE_GOAL_MINIMIZE; }

}  // namespace

std::string GroupLabel(const std::string& key) {
  if (key.empty()) return "all trials";
  std::string out;
  size_t start = 0;
  while (start < key.size()) {
    size_t end = key.find(", ", start);
    if (end == std::string::npos) end = key.size();
    const std::string part = key.substr(start, end - start);
    const size_t eq = part.find('=');
    const std::string path = part.substr(0, eq), value = eq == std::string::npos ? "" : part.substr(eq + 1);
    const std::string leaf = path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
    start = end + 2;
    if (value == "false") continue;  // a switch that is off says nothing
    out += (out.empty() ? "" : ", ") +
           (path == "method.name" ? report::MethodDisplayName(value) : leaf + "=" + value);
  }
  return out.empty() ? key : out;
}

namespace {

const SplitEval* IdEval(const RunReport& r, const std::vector<SplitEval>& evals) {
  return report::FindIdEval(evals, r.id_val_split, r.id_test_split);
}

// One row's values from each trial's evaluations (finetuned or chosen).
void AddToRow(const RunReport& r, const std::vector<SplitEval>& evals, const std::string& replicate,
              Data::Row* row, Data* data) {
  const SplitEval* id = IdEval(r, evals);
  if (id == nullptr) return;
  row->replicates.push_back(replicate);
  row->id.push_back(id->accuracy);
  for (const SplitEval& e : evals) {
    if (!e.is_ood) continue;
    row->ood[e.split].push_back(e.accuracy);
    if (std::find(data->ood_splits.begin(), data->ood_splits.end(), e.split) == data->ood_splits.end())
      data->ood_splits.push_back(e.split);
  }
  if (auto avg = report::AverageOod(evals)) row->avg_ood.push_back(*avg);
  if (data->id_split.empty()) {
    data->id_split = id->split;
    data->id_is_validation = id->split == r.id_val_split;
  }
}

// Leader minus other for one metric, paired by replicate where both rows
// have replicates; a row of a single value is a constant.
Data::Comparison Compare(const Data& d, const std::string& metric, int leader, int other) {
  auto values = [&](const Data::Row& r) -> const std::vector<double>& {
    return metric == "ID" ? r.id : r.avg_ood;
  };
  const Data::Row& a = d.rows[leader];
  const Data::Row& b = d.rows[other];
  const std::vector<double>& va = values(a);
  const std::vector<double>& vb = values(b);
  Data::Comparison c;
  c.metric = metric;
  c.leader = leader;
  c.other = other;
  std::vector<double> x, y;
  if (vb.size() == 1 || va.size() == 1) {
    const bool other_single = vb.size() == 1;
    for (double v : other_single ? va : vb) {
      x.push_back(other_single ? v : va[0]);
      y.push_back(other_single ? vb[0] : v);
    }
    c.pairing = "against a single run";
  } else {
    for (size_t i = 0; i < va.size() && i < a.replicates.size(); ++i) {
      for (size_t j = 0; j < vb.size() && j < b.replicates.size(); ++j) {
        if (a.replicates[i] == b.replicates[j] && !a.replicates[i].empty()) {
          x.push_back(va[i]);
          y.push_back(vb[j]);
        }
      }
    }
    std::string by;
    for (const auto& p : d.sweep.spec().replicate_by()) by += (by.empty() ? "" : ", ") + p;
    c.pairing = x.size() >= 2 ? "paired by " + by : "fewer than 2 common replicates: not compared";
  }
  c.diff = stats::PairedDifferenceInterval(x, y);
  return c;
}

void BuildGroups(Data* d) {
  const v1::Sweep& s = d->sweep;
  const std::vector<std::string> rep = ReplicateBy(s);
  for (const v1::Trial& t : s.trials()) {
    auto g = std::find_if(d->groups.begin(), d->groups.end(),
                          [&](const Data::Group& x) { return x.key == t.group(); });
    if (g == d->groups.end()) {
      d->groups.push_back({});
      g = d->groups.end() - 1;
      g->key = t.group();
      g->label = GroupLabel(t.group());
    }
    const std::vector<v1::TrialParameter> params(t.parameters().begin(), t.parameters().end());
    const std::string key = TrialConfigKey(params, rep);
    auto c = std::find_if(g->configs.begin(), g->configs.end(),
                          [&](const Data::Config& x) { return x.key == key; });
    if (c == g->configs.end()) {
      g->configs.push_back({});
      c = g->configs.end() - 1;
      c->key = key;
    }
    c->trials.push_back(t.index());
    if (t.state() == v1::TRIAL_STATE_SUCCEEDED && t.has_objective()) {
      c->succeeded.push_back(t.index());
      c->objective.push_back(t.objective());
    }
  }
  const bool max = Maximize(s);
  for (Data::Group& g : d->groups) {
    for (Data::Config& c : g.configs) c.interval = stats::MeanInterval(c.objective);
    auto better = [&](int i, int j) {  // i strictly better than j
      const double a = g.configs[i].interval.mean, b = g.configs[j].interval.mean;
      return max ? a > b : a < b;
    };
    for (int i = 0; i < static_cast<int>(g.configs.size()); ++i) {
      if (g.configs[i].objective.empty()) continue;
      if (g.chosen < 0 || better(i, g.chosen)) {
        g.runner_up = g.chosen;
        g.chosen = i;
      } else if (g.runner_up < 0 || better(i, g.runner_up)) {
        g.runner_up = i;
      }
    }
    if (g.chosen < 0 || g.runner_up < 0) continue;
    // chosen - runner-up, paired by replicate.
    const Data::Config& a = g.configs[g.chosen];
    const Data::Config& b = g.configs[g.runner_up];
    std::vector<double> x, y;
    for (size_t i = 0; i < a.succeeded.size(); ++i) {
      const v1::Trial& ta = s.trials(a.succeeded[i]);
      const std::string ka = TrialReplicateKey({ta.parameters().begin(), ta.parameters().end()}, rep);
      for (size_t j = 0; j < b.succeeded.size(); ++j) {
        const v1::Trial& tb = s.trials(b.succeeded[j]);
        if (TrialReplicateKey({tb.parameters().begin(), tb.parameters().end()}, rep) == ka) {
          x.push_back(a.objective[i]);
          y.push_back(b.objective[j]);
        }
      }
    }
    g.margin = stats::PairedDifferenceInterval(x, y);
  }
}

void BuildRows(Data* d) {
  const v1::Sweep& s = d->sweep;
  const std::vector<std::string> rep = ReplicateBy(s);
  bool has_zeroshot_group = false;
  const RunReport* start = nullptr;  // the first chosen trial's report (its zero-shot evaluations)
  for (const Data::Group& g : d->groups) {
    if (g.chosen < 0) continue;
    Data::Row ft, wise;
    ft.label = g.label;
    ft.group = wise.group = g.key;
    wise.label = g.label + " + WiSE-FT";
    wise.wise_ft = true;
    for (int idx : g.configs[g.chosen].succeeded) {
      auto it = d->reports.find(idx);
      if (it == d->reports.end()) continue;
      const RunReport& r = it->second;
      if (start == nullptr && !r.zeroshot.empty()) start = &r;
      if (r.method == "zeroshot") has_zeroshot_group = true;
      const v1::Trial& t = s.trials(idx);
      const std::string key = TrialReplicateKey({t.parameters().begin(), t.parameters().end()}, rep);
      AddToRow(r, r.finetuned, key, &ft, d);
      if (r.chosen_alpha && !r.chosen.empty()) {
        AddToRow(r, r.chosen, key, &wise, d);
        wise.alpha.push_back(*r.chosen_alpha);
      }
    }
    if (!ft.id.empty()) d->rows.push_back(std::move(ft));
    if (!wise.id.empty()) d->rows.push_back(std::move(wise));
  }
  if (!has_zeroshot_group && start != nullptr) {
    Data::Row zs;
    zs.label = "Zeroshot (the trials' starting model)";
    AddToRow(*start, start->zeroshot, "", &zs, d);
    if (!zs.id.empty()) d->rows.insert(d->rows.begin(), std::move(zs));
  }
  // Within each variant (the finetuned rows, the WiSE-FT rows; the zero-shot
  // row in both): the leader against every other row.
  for (const std::string metric : {"ID", "Avg OOD"}) {
    for (const bool wise : {false, true}) {
      auto in = [&](const Data::Row& r) { return r.group.empty() || r.wise_ft == wise; };
      auto values = [&](const Data::Row& r) -> const std::vector<double>& {
        return metric == "ID" ? r.id : r.avg_ood;
      };
      int leader = -1;
      for (int i = 0; i < static_cast<int>(d->rows.size()); ++i) {
        const Data::Row& r = d->rows[i];
        if (!in(r) || values(r).empty()) continue;
        if (leader < 0 || stats::Mean(values(r)) > stats::Mean(values(d->rows[leader]))) leader = i;
      }
      if (leader < 0) continue;
      for (int i = 0; i < static_cast<int>(d->rows.size()); ++i) {
        const Data::Row& r = d->rows[i];
        if (i == leader || !in(r) || values(r).empty()) continue;
        if (r.group.empty() && d->rows[leader].group.empty()) continue;
        const bool seen =
            std::any_of(d->comparisons.begin(), d->comparisons.end(), [&](const Data::Comparison& c) {
              return c.metric == metric && c.leader == leader && c.other == i;
            });
        if (!seen) d->comparisons.push_back(Compare(*d, metric, leader, i));
      }
    }
  }
}

void BuildCurves(Data* d) {
  for (const Data::Group& g : d->groups) {
    if (g.chosen < 0) continue;
    // alpha -> values over the replicates
    std::map<double, std::vector<double>> ids, oods, vals;
    for (int idx : g.configs[g.chosen].succeeded) {
      auto it = d->reports.find(idx);
      if (it == d->reports.end()) continue;
      const RunReport& r = it->second;
      for (const report::WiseFtPoint& p : r.wise_ft) {
        const SplitEval* id = IdEval(r, p.evaluations);
        const auto ood = report::AverageOod(p.evaluations);
        if (id == nullptr || !ood) continue;
        ids[p.alpha].push_back(id->accuracy);
        oods[p.alpha].push_back(*ood);
        for (const SplitEval& e : p.evaluations)
          if (e.split == r.id_val_split) vals[p.alpha].push_back(e.accuracy);
      }
    }
    if (ids.empty()) continue;
    Data::Curve c;
    c.label = g.label;
    double best = 0;
    for (const auto& [alpha, v] : ids) {
      c.alpha.push_back(alpha);
      c.id.push_back(stats::Mean(v));
      c.avg_ood.push_back(stats::Mean(oods[alpha]));
      if (!vals[alpha].empty() && (!c.chosen_alpha || stats::Mean(vals[alpha]) > best)) {
        best = stats::Mean(vals[alpha]);
        c.chosen_alpha = alpha;
      }
    }
    d->curves.push_back(std::move(c));
  }
}

// ------------------------------------------------------------- text

std::string Pct(double v) { return report::FormatPercent(v); }

std::string MeanStd(const std::vector<double>& v) {
  if (v.empty()) return "-";
  std::string out = Pct(stats::Mean(v));
  if (v.size() > 1) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), " ± %.1f", 100.0 * stats::SampleStd(v));
    out += buf;
  }
  return out;
}

// Points with a sign and two decimals: "+0.70".
std::string Points(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%+.2f", 100.0 * fraction);
  return buf;
}

std::string CiText(const stats::Interval& i) {
  if (!i.defined()) return i.n == 1 ? Points(i.mean) + " (one pair: no interval)" : "-";
  return Points(i.mean) + " [" + Points(i.low) + ", " + Points(i.high) + "]";
}

std::string Verdict(const Data& d, const Data::Comparison& c) {
  const std::string& a = d.rows[c.leader].label;
  const std::string& b = d.rows[c.other].label;
  if (!c.diff.defined()) return "not compared (" + c.pairing + ")";
  if (c.diff.Sign() > 0) return "**" + a + " better** than " + b;
  if (c.diff.Sign() < 0) return b + " better than " + a;
  return "not separated: the interval includes 0";
}

std::string StateName(v1::TrialState s) {
  std::string n = v1::TrialState_Name(s);
  return n.rfind("TRIAL_STATE_", 0) == 0 ? n.substr(12) : n;
}

std::string EscapeCell(std::string s) {
  for (size_t i = 0; (i = s.find('|', i)) != std::string::npos; i += 2) s.replace(i, 1, "\\|");
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

double MeanOr(const std::vector<double>& v, double fallback) { return v.empty() ? fallback : stats::Mean(v); }

}  // namespace

SweepReportData BuildSweepReport(const v1::Sweep& sweep, std::map<int, RunReport> reports,
                                 std::vector<std::string> problems) {
  Data d;
  d.sweep = sweep;
  d.reports = std::move(reports);
  d.problems = std::move(problems);
  BuildGroups(&d);
  BuildRows(&d);
  BuildCurves(&d);
  return d;
}

std::string RenderSweepMarkdown(const Data& d) {
  const v1::Sweep& s = d.sweep;
  std::string o;
  o += "# Sweep " + s.id() + ": " + s.spec().name() + "\n\n";
  std::map<v1::TrialState, int> by_state;
  for (const v1::Trial& t : s.trials()) ++by_state[t.state()];
  std::string states;
  for (const auto& [st, n] : by_state)
    states += (states.empty() ? "" : ", ") + std::to_string(n) + " " + StateName(st);
  std::string state = v1::SweepState_Name(s.status().state());
  state = state.substr(std::string("SWEEP_STATE_").size());
  o += "State " + state + "; " + std::to_string(s.trials_size()) + " trials (" + states +
       "). Objective: " + s.spec().objective().metric() + " accuracy, " +
       (Maximize(s) ? "maximised" : "minimised") + ", the mean over each configuration's succeeded trials";
  if (!s.spec().replicate_by().empty()) {
    std::string by;
    for (const auto& p : s.spec().replicate_by()) by += (by.empty() ? "" : ", ") + p;
    o += " (replicates: " + by + ")";
  }
  o += ".\n";
  if (d.id_is_validation) {
    o += "\nThe trials have no test split: the ID column is the ID validation split '" + d.id_split +
         "', the objective itself, so the chosen rows' ID numbers are optimistic.\n";
  }
  for (const std::string& p : d.problems) o += "\nNot included: " + p + "\n";

  // Summary.
  o += "\n## Chosen configurations (mean ± std over replicates, %)\n\n";
  o += "| Method | ID | ";
  for (const auto& split : d.ood_splits) o += split + " | ";
  o += "Avg OOD | n | alpha |\n|---|---:|";
  for (size_t i = 0; i < d.ood_splits.size(); ++i) o += "---:|";
  o += "---:|---:|---:|\n";
  for (const Data::Row& r : d.rows) {
    o += "| " + EscapeCell(r.label) + " | " + MeanStd(r.id) + " | ";
    for (const auto& split : d.ood_splits) {
      auto it = r.ood.find(split);
      o += (it == r.ood.end() ? "-" : MeanStd(it->second)) + " | ";
    }
    char alpha[16] = "-";
    if (!r.alpha.empty()) std::snprintf(alpha, sizeof(alpha), "%.2f", MeanOr(r.alpha, 0));
    o += MeanStd(r.avg_ood) + " | " + std::to_string(r.id.size()) + " | " + alpha + " |\n";
  }
  o += "\nID = " + (d.id_split.empty() ? std::string("-") : d.id_split) +
       "; Avg OOD = mean of the OOD splits; alpha = mean WiSE-FT alpha chosen on ID validation.\n";

  // Comparisons.
  o += "\n## Comparisons (difference in points, 95% confidence interval)\n\n";
  o += "Student t over the replicates, each pair of rows paired by replicate; a row of one trial (e.g. the "
       "zero-shot model) is a constant. The interval covers the spread between replicates (seeds: training "
       "randomness and data draws); it does not cover the sampling of the fixed test images, which the "
       "rows share. A row is better only where its interval excludes 0.\n\n";
  o += "| Metric | Leader | Other | Leader − other | n | Verdict |\n|---|---|---|---:|---:|---|\n";
  for (const Data::Comparison& c : d.comparisons) {
    o += "| " + c.metric + " | " + EscapeCell(d.rows[c.leader].label) + " | " +
         EscapeCell(d.rows[c.other].label) + " | " + CiText(c.diff) + " | " + std::to_string(c.diff.n) +
         " | " + Verdict(d, c) + " |\n";
  }

  // The choices.
  o += "\n## The choice in each group (objective: " + s.spec().objective().metric() + " accuracy, %)\n";
  for (const Data::Group& g : d.groups) {
    o += "\n**" + EscapeCell(g.label) + "**\n\n| Configuration | n | " + s.spec().objective().metric() +
         " | |\n|---|---:|---:|---|\n";
    for (size_t i = 0; i < g.configs.size(); ++i) {
      const Data::Config& c = g.configs[i];
      o += "| " + EscapeCell(c.key.empty() ? "(the base)" : c.key) + " | " +
           std::to_string(c.succeeded.size()) + "/" + std::to_string(c.trials.size()) + " | " +
           MeanStd(c.objective) + " | " + (static_cast<int>(i) == g.chosen ? "chosen" : "") + " |\n";
    }
    if (g.margin) {
      o += "\nChosen − runner-up: " + CiText(*g.margin) + " points (n " + std::to_string(g.margin->n) + ")" +
           (g.margin->Sign() > 0 ? ": validation separates them.\n"
                                 : ": not separated by validation; the choice could go either way.\n");
    }
  }

  // Trials.
  o += "\n## Trials\n\n| # | Job | State | Parameters | " + s.spec().objective().metric() +
       " | ID | Avg OOD | alpha | Note |\n|---:|---|---|---|---:|---:|---:|---:|---|\n";
  for (const v1::Trial& t : s.trials()) {
    std::string params;
    for (const auto& p : t.parameters()) params += (params.empty() ? "" : ", ") + p.path() + "=" + p.value();
    std::string id = "-", ood = "-", alpha = "-";
    auto it = d.reports.find(t.index());
    if (it != d.reports.end()) {
      const RunReport& r = it->second;
      if (const SplitEval* e = IdEval(r, r.finetuned)) id = Pct(e->accuracy);
      if (auto a = report::AverageOod(r.finetuned)) ood = Pct(*a);
      if (r.chosen_alpha) {
        char buf[16];
        std::snprintf(buf, sizeof(buf), "%.2f", *r.chosen_alpha);
        alpha = buf;
      }
    }
    std::string note = t.state() == v1::TRIAL_STATE_SUCCEEDED
                           ? ""
                           : t.reason() + (t.message().empty() ? "" : ": " + t.message());
    o += "| " + std::to_string(t.index()) + " | " + (t.job_id().empty() ? "-" : t.job_id()) + " | " +
         StateName(t.state()) + " | " + EscapeCell(params) + " | " +
         (t.has_objective() ? Pct(t.objective()) : "-") + " | " + id + " | " + ood + " | " + alpha + " | " +
         EscapeCell(note) + " |\n";
  }
  return o;
}

namespace {

Json Numbers(const std::vector<double>& v) {
  Json a = Json::MakeArray();
  for (double x : v) a.Append(x);
  return a;
}

Json IntervalJson(const stats::Interval& i) {
  Json o = Json::MakeObject();
  o.Set("n", i.n);
  o.Set("mean", i.mean);
  o.Set("low", i.defined() ? Json(i.low) : Json());
  o.Set("high", i.defined() ? Json(i.high) : Json());
  return o;
}

Json Summary(const std::vector<double>& v) {
  Json o = Json::MakeObject();
  o.Set("values", Numbers(v));
  o.Set("mean", v.empty() ? Json() : Json(stats::Mean(v)));
  o.Set("std", v.empty() ? Json() : Json(stats::SampleStd(v)));
  o.Set("ci95", IntervalJson(stats::MeanInterval(v)));
  return o;
}

}  // namespace

std::string RenderSweepJson(const Data& d) {
  const v1::Sweep& s = d.sweep;
  Json root = Json::MakeObject();
  root.Set("format_version", 1);
  root.Set("sweep", s.id());
  root.Set("name", s.spec().name());
  root.Set("state", v1::SweepState_Name(s.status().state()));
  root.Set("objective", s.spec().objective().metric());
  root.Set("maximize", Maximize(s));
  root.Set("id_split", d.id_split);
  Json splits = Json::MakeArray();
  for (const auto& sp : d.ood_splits) splits.Append(sp);
  root.Set("ood_splits", std::move(splits));
  Json rows = Json::MakeArray();
  for (const Data::Row& r : d.rows) {
    Json o = Json::MakeObject();
    o.Set("label", r.label);
    o.Set("group", r.group);
    o.Set("wise_ft", r.wise_ft);
    Json reps = Json::MakeArray();
    for (const auto& k : r.replicates) reps.Append(k);
    o.Set("replicates", std::move(reps));
    o.Set("id", Summary(r.id));
    Json ood = Json::MakeObject();
    for (const auto& [split, v] : r.ood) ood.Set(split, Summary(v));
    o.Set("ood", std::move(ood));
    o.Set("avg_ood", Summary(r.avg_ood));
    o.Set("alpha", Numbers(r.alpha));
    rows.Append(std::move(o));
  }
  root.Set("rows", std::move(rows));
  Json comps = Json::MakeArray();
  for (const Data::Comparison& c : d.comparisons) {
    Json o = Json::MakeObject();
    o.Set("metric", c.metric);
    o.Set("leader", d.rows[c.leader].label);
    o.Set("other", d.rows[c.other].label);
    o.Set("difference", IntervalJson(c.diff));
    o.Set("pairing", c.pairing);
    o.Set("separated", c.diff.Sign() != 0);
    comps.Append(std::move(o));
  }
  root.Set("comparisons", std::move(comps));
  Json groups = Json::MakeArray();
  for (const Data::Group& g : d.groups) {
    Json o = Json::MakeObject();
    o.Set("group", g.key);
    o.Set("label", g.label);
    Json configs = Json::MakeArray();
    for (size_t i = 0; i < g.configs.size(); ++i) {
      const Data::Config& c = g.configs[i];
      Json co = Json::MakeObject();
      co.Set("config", c.key);
      Json trials = Json::MakeArray();
      for (int t : c.trials) trials.Append(t);
      co.Set("trials", std::move(trials));
      co.Set("objective", Summary(c.objective));
      co.Set("chosen", static_cast<int>(i) == g.chosen);
      configs.Append(std::move(co));
    }
    o.Set("configs", std::move(configs));
    o.Set("margin_over_runner_up", g.margin ? IntervalJson(*g.margin) : Json());
    groups.Append(std::move(o));
  }
  root.Set("groups", std::move(groups));
  Json trials = Json::MakeArray();
  for (const v1::Trial& t : s.trials()) {
    Json o = Json::MakeObject();
    o.Set("index", t.index());
    o.Set("job", t.job_id());
    o.Set("state", v1::TrialState_Name(t.state()));
    o.Set("group", t.group());
    Json params = Json::MakeObject();
    for (const auto& p : t.parameters()) params.Set(p.path(), p.value());
    o.Set("parameters", std::move(params));
    o.Set("objective", t.has_objective() ? Json(t.objective()) : Json());
    o.Set("reason", t.reason());
    o.Set("message", t.message());
    Json rungs = Json::MakeArray();
    for (const auto& r : t.rungs()) {
      Json ro = Json::MakeObject();
      ro.Set("rung", r.rung());
      ro.Set("epoch", r.epoch());
      ro.Set("value", r.value());
      rungs.Append(std::move(ro));
    }
    o.Set("rungs", std::move(rungs));
    auto it = d.reports.find(t.index());
    if (it != d.reports.end()) {
      const RunReport& r = it->second;
      const SplitEval* id = IdEval(r, r.finetuned);
      o.Set("id", id ? Json(id->accuracy) : Json());
      const auto ood = report::AverageOod(r.finetuned);
      o.Set("avg_ood", ood ? Json(*ood) : Json());
      o.Set("chosen_alpha", r.chosen_alpha ? Json(*r.chosen_alpha) : Json());
    }
    trials.Append(std::move(o));
  }
  root.Set("trials", std::move(trials));
  Json probs = Json::MakeArray();
  for (const auto& p : d.problems) probs.Append(p);
  root.Set("problems", std::move(probs));
  return root.Dump(2) + "\n";
}

std::string RenderSweepSvg(const Data& d) {
  std::vector<svg::PlotSeries> series;
  for (const Data::Curve& c : d.curves) {
    svg::PlotSeries s;
    s.name = c.label;
    for (size_t i = 0; i < c.alpha.size(); ++i) {
      char label[32];
      std::snprintf(label, sizeof(label), "\xCE\xB1=%g", c.alpha[i]);
      s.points.push_back(
          {100.0 * c.id[i], 100.0 * c.avg_ood[i], label, c.chosen_alpha && *c.chosen_alpha == c.alpha[i]});
    }
    series.push_back(std::move(s));
  }
  svg::PlotOptions opt;
  opt.title = d.sweep.id() + ": WiSE-FT of the chosen configurations (mean over replicates)";
  opt.x_label = "ID accuracy (%)" + (d.id_split.empty() ? std::string() : " [" + d.id_split + "]");
  opt.y_label = "Avg OOD accuracy (%)";
  return svg::RenderSvgPlot(opt, series);
}

std::map<int, RunReport> LoadTrialReports(const v1::Sweep& sweep, JobStore* jobs,
                                          std::vector<std::string>* problems) {
  std::map<int, RunReport> out;
  for (const v1::Trial& t : sweep.trials()) {
    if (t.state() != v1::TRIAL_STATE_SUCCEEDED || t.job_id().empty()) continue;
    StatusOr<JobRecord> rec = jobs->GetJob(t.job_id());
    if (!rec.ok()) {
      problems->push_back("trial " + std::to_string(t.index()) + ": " + rec.status().message());
      continue;
    }
    StatusOr<RunReport> r = report::ReadReportJson(rec->job.artifact_dir() + "/report.json");
    if (!r.ok()) {
      problems->push_back("trial " + std::to_string(t.index()) + " (" + t.job_id() +
                          "): " + r.status().message());
      continue;
    }
    out.emplace(t.index(), std::move(r).value());
  }
  return out;
}

std::string RenderSweepReport(const v1::Sweep& sweep, JobStore* jobs, v1::SweepReportFormat format) {
  std::vector<std::string> problems;
  std::map<int, RunReport> reports = LoadTrialReports(sweep, jobs, &problems);
  const Data d = BuildSweepReport(sweep, std::move(reports), std::move(problems));
  switch (format) {
    case v1::SWEEP_REPORT_FORMAT_JSON:
      return RenderSweepJson(d);
    case v1::SWEEP_REPORT_FORMAT_SVG:
      return RenderSweepSvg(d);
    default:
      return RenderSweepMarkdown(d);
  }
}

Status WriteSweepReport(const v1::Sweep& sweep, JobStore* jobs, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return UnavailableError("cannot create the sweep folder '" + dir + "': " + ec.message());
  std::vector<std::string> problems;
  std::map<int, RunReport> reports = LoadTrialReports(sweep, jobs, &problems);
  const Data d = BuildSweepReport(sweep, std::move(reports), std::move(problems));
  FLYP_RETURN_IF_ERROR(WriteFileAtomic(dir + "/report.md", RenderSweepMarkdown(d)));
  FLYP_RETURN_IF_ERROR(WriteFileAtomic(dir + "/report.json", RenderSweepJson(d)));
  return WriteFileAtomic(dir + "/report.svg", RenderSweepSvg(d));
}

}  // namespace flyp::coord
