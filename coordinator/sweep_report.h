// The sweep report: the FLYP paper's tables produced by the service from a
// sweep and its trials' own report.json files (worker/report/report.h).
//
//   report.md    1. the sweep: state, objective, trials by state;
//                2. the summary: per group its chosen configuration as a
//                   row (the finetuned model) and a "+ WiSE-FT" row (each
//                   trial's alpha chosen on ID validation by the worker):
//                   ID, every OOD split, Avg OOD as mean ± sample std over
//                   the replicates, n, mean chosen alpha; a zero-shot row
//                   (the trials' starting model) when no group is zeroshot;
//                3. comparisons: for ID and Avg OOD, among the finetuned
//                   rows and among the WiSE-FT rows (the zero-shot row in
//                   both), the leading row against every other: the mean
//                   difference in points and
//                   its 95% confidence interval (Student t over replicates,
//                   paired by replicate, e.g. the seed; a row of one trial
//                   is a constant); a row "wins" only where the interval
//                   excludes zero;
//                4. the choice in each group: every configuration's
//                   objective (ID validation accuracy) mean ± std, n, the
//                   chosen one, and chosen minus runner-up with its
//                   interval (did validation separate them?);
//                5. every trial: parameters, state, objective, ID, Avg OOD,
//                   alpha, and why it ended (early stopping's reason).
//   report.json  the same numbers (schema in docs/sweeps.md).
//   report.svg   ID vs Avg OOD over alpha of each group's chosen
//                configuration (mean over its replicates), the alpha with
//                the best mean ID validation accuracy circled.
//
// The choice is made on the objective only (the ID validation split, the
// sweep spec checked that); test and OOD numbers are reported, never used.
// A configuration's objective is the mean over its succeeded trials;
// early-stopped, failed and cancelled trials take no part. Ties go to the
// configuration that comes first.
//
// Thread safety: the Build/Render functions are pure; the loaders read
// files and the job store.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/stats.h"
#include "coordinator/store/job_store.h"
#include "flyp/v1/sweep.pb.h"
#include "worker/report/report.h"

namespace flyp::coord {

struct SweepReportData {
  struct Config {
    std::string key;                // "optim.learning_rate=1e-4" (TrialConfigKey)
    std::vector<int> trials;        // indexes, in order
    std::vector<int> succeeded;     // those with an objective
    std::vector<double> objective;  // of `succeeded`, in order
    stats::Interval interval;       // of `objective`
  };
  struct Group {
    std::string key;    // Trial.group ("method.name=flyp"); empty without group_by
    std::string label;  // "FLYP", "FLYP, mask_same_class=true", "all trials"
    std::vector<Config> configs;
    int chosen = -1;  // index into configs; -1: no configuration succeeded
    int runner_up = -1;
    // chosen minus runner-up on the objective, paired by replicate.
    std::optional<stats::Interval> margin;
  };
  struct Row {
    std::string label;  // group label, " + WiSE-FT" for the ensemble rows
    std::string group;  // Group::key; "" for the zero-shot row
    bool wise_ft = false;
    std::vector<std::string> replicates;  // TrialReplicateKey per value
    std::vector<double> id, avg_ood, alpha;
    std::map<std::string, std::vector<double>> ood;  // by split
  };
  struct Comparison {
    std::string metric;         // "ID" or "Avg OOD"
    int leader = 0, other = 0;  // indexes into rows
    stats::Interval diff;       // leader - other, fractions
    std::string pairing;        // "paired by schedule.seed", "against a single run", or why none
  };
  struct Curve {
    std::string label;
    std::vector<double> alpha, id, avg_ood;  // means over the replicates
    std::optional<double> chosen_alpha;      // best mean ID validation accuracy
  };

  v1::Sweep sweep;
  std::string id_split;                 // the ID column's split ("id_test")
  bool id_is_validation = false;        // no test split: ID is the objective's split
  std::vector<std::string> ood_splits;  // in order of first appearance
  std::vector<Group> groups;
  std::vector<Row> rows;
  std::vector<Comparison> comparisons;
  std::vector<Curve> curves;
  std::map<int, report::RunReport> reports;  // by trial index
  std::vector<std::string> problems;         // reports that could not be read
};

// A group's label from its key ("method.name=flyp, method.mask_same_class=true"):
// the method by its display name, other paths as "leaf=value", switches that
// are off left out ("FLYP, mask_same_class=true", "FT"); "all trials" for
// no key; the key itself when nothing is left.
std::string GroupLabel(const std::string& key);

// Computes the report from the sweep and its succeeded trials' reports.
SweepReportData BuildSweepReport(const v1::Sweep& sweep, std::map<int, report::RunReport> reports,
                                 std::vector<std::string> problems = {});
std::string RenderSweepMarkdown(const SweepReportData& data);
std::string RenderSweepJson(const SweepReportData& data);
std::string RenderSweepSvg(const SweepReportData& data);

// The report.json of every succeeded trial, read from its job's artifact
// folder; a trial whose job or report cannot be read is left out and named
// in *problems.
std::map<int, report::RunReport> LoadTrialReports(const v1::Sweep& sweep, JobStore* jobs,
                                                  std::vector<std::string>* problems);
// Loads, builds and renders one format.
std::string RenderSweepReport(const v1::Sweep& sweep, JobStore* jobs, v1::SweepReportFormat format);
// Writes report.md, report.json and report.svg into `dir` (created when
// missing; each file written atomically).
Status WriteSweepReport(const v1::Sweep& sweep, JobStore* jobs, const std::string& dir);

}  // namespace flyp::coord
