// The evaluation report of one training job and how it is written:
//   report.json     everything, machine-readable (schema below);
//   report.md       a FLYP-paper "Table 1" style table (rows: zero-shot, the
//                   method, the method + WiSE-FT at the chosen alpha, extra
//                   rows; columns: ID, every OOD split, Avg OOD), a macro-F1
//                   table when any split has one, the plots below, then
//                   per-epoch and alpha-sweep tables. A "zeroshot" run whose
//                   finetuned results equal its zero-shot results shows only
//                   the Zeroshot row;
//   training.svg    training curves over steps: loss, learning rate, logit
//                   scale, samples/s (when the run trained);
//   evaluation.svg  accuracy per split, one bar per row of the table (when
//                   there are evaluations);
//   wiseft.svg      ID accuracy (x) vs average OOD accuracy (y) over alpha
//                   (only when there is a sweep: no empty plot).
//
// Accuracies are fractions in [0, 1] everywhere in the data model and JSON;
// tables and plots show percent. Percent text has one decimal, rounded half
// away from zero on the decimal value: FormatPercent(0.6785) == "67.9"
// (computed as llround(accuracy * 1000) tenths of a percent).
//
// Which split is "ID": the evaluation named `id_test_split` when present,
// else the one named `id_val_split`, else the first evaluation that is not
// OOD. "Avg OOD" is the arithmetic mean of the row's OOD accuracies (a
// missing cell, in comparison tables, makes the average "-").
//
// report.json schema (schema_version 2; every key always written; numbers
// as JSON numbers, never strings; an absent optional value is null):
//   {"schema_version": 2, "job": str, "method": str, "model": str,
//    "world_size": int, "id_val_split": str, "id_test_split": str,
//    "timings": {"total_seconds": num, "train_seconds": num,
//                "eval_seconds": num, "epoch_seconds": [num]},
//    "steps": int, "samples_per_second": num, "final_train_loss": num|null,
//    "hyperparameters": {str: num|bool|str},
//    "zeroshot": [Evaluation], "finetuned": [Evaluation],
//    "epochs": [{"epoch": int, "last_step": int, "train_loss": num|null,
//                "seconds": num|null, "evaluations": [Evaluation]}],
//    "training": [{"step": int, "epoch": int, "loss": num,
//                  "learning_rate": num, "logit_scale": num,
//                  "samples_per_second": num}],
//    "wise_ft": {"sweep": [{"alpha": num, "evaluations": [Evaluation]}],
//                "chosen_alpha": num|null, "chosen": [Evaluation]},
//    "lp_l2": num|null,
//    "extra_rows": [{"label": str, "method": str, "wise_ft": bool,
//                    "evaluations": [Evaluation]}]}
//   Evaluation = {"split": str, "ood": bool, "accuracy": num,
//                 "macro_f1": num|null}
// "epochs" lists every trained epoch (its evaluations empty unless
// schedule.eval_every_epochs asked for them; the last epoch's are the
// final evaluation); "training" every logged step.
// ReadReportJson reads schema_version 2 and the older format_version 1
// (hyperparameters as strings, epochs with evaluations only); it requires,
// in each Evaluation, "split" and "accuracy" (and "alpha" in a sweep point);
// other absent keys keep their defaults. It ignores unknown keys (forward
// compatibility) and rejects a present key of the wrong type, naming it
// ("report.json: finetuned[1].accuracy: expected a number").
//
// Thread safety: plain values and pure functions; WriteReport touches only
// files inside `dir`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace flyp::report {

// One split's result.
struct SplitEval {
  std::string split;
  bool is_ood = false;
  double accuracy = 0;  // fraction in [0, 1]
  std::optional<double> macro_f1;

  bool operator==(const SplitEval& o) const {
    return split == o.split && is_ood == o.is_ood && accuracy == o.accuracy && macro_f1 == o.macro_f1;
  }
};

// The WiSE-FT ensemble at one alpha: theta = (1 - alpha) zero-shot + alpha ft.
struct WiseFtPoint {
  double alpha = 0;
  std::vector<SplitEval> evaluations;

  bool operator==(const WiseFtPoint& o) const { return alpha == o.alpha && evaluations == o.evaluations; }
};

// A further table row (e.g. the bench harness adding a baseline). `label`
// is shown as is; `method` and `wise_ft` say what it is for machine readers.
struct MethodRow {
  std::string label;
  std::string method;
  bool wise_ft = false;
  std::vector<SplitEval> evaluations;

  bool operator==(const MethodRow& o) const {
    return label == o.label && method == o.method && wise_ft == o.wise_ft && evaluations == o.evaluations;
  }
};

// One epoch of training.
struct EpochReport {
  int64_t last_step = 0;               // optimiser steps done at its end
  std::optional<double> train_loss;    // the loss of its last step
  std::optional<double> seconds;       // wall time of the epoch (its evaluation excluded)
  std::vector<SplitEval> evaluations;  // at its end, when evaluated

  bool operator==(const EpochReport& o) const {
    return last_step == o.last_step && train_loss == o.train_loss && seconds == o.seconds &&
           evaluations == o.evaluations;
  }
};

// One logged training step (the training curves).
struct TrainPoint {
  int64_t step = 0;
  int epoch = 0;
  double loss = 0;
  double learning_rate = 0;
  double logit_scale = 0;
  double samples_per_second = 0;

  bool operator==(const TrainPoint& o) const {
    return step == o.step && epoch == o.epoch && loss == o.loss && learning_rate == o.learning_rate &&
           logit_scale == o.logit_scale && samples_per_second == o.samples_per_second;
  }
};

struct RunTimings {
  double total_seconds = 0;
  double train_seconds = 0;
  double eval_seconds = 0;
  std::vector<double> epoch_seconds;

  bool operator==(const RunTimings& o) const {
    return total_seconds == o.total_seconds && train_seconds == o.train_seconds &&
           eval_seconds == o.eval_seconds && epoch_seconds == o.epoch_seconds;
  }
};

struct RunReport {
  std::string job;
  // zeroshot | lp | ft | l2sp | lpft | flyp | pretrain
  std::string method;
  std::string model;  // preset name
  int world_size = 1;
  // Names of the ID validation / test splits in the evaluations below.
  std::string id_val_split = "id_val";
  std::string id_test_split = "id_test";

  RunTimings timings;
  int64_t steps = 0;
  double samples_per_second = 0;
  std::optional<double> final_train_loss;
  // learning_rate, weight_decay, batch_size, ...: numbers, booleans or
  // strings, typed as the job spec has them.
  std::map<std::string, Json> hyperparameters;

  // The zero-shot model (before training) and the finetuned model (end of
  // training).
  std::vector<SplitEval> zeroshot;
  std::vector<SplitEval> finetuned;
  // Every trained epoch (1-based), with its evaluations when evaluated.
  std::map<int, EpochReport> epochs;
  // Every logged training step, in order.
  std::vector<TrainPoint> training;

  // WiSE-FT sweep and the alpha chosen on ID validation accuracy.
  std::vector<WiseFtPoint> wise_ft;
  std::optional<double> chosen_alpha;
  std::vector<SplitEval> chosen;

  // LP: the L2 strength chosen on id_val.
  std::optional<double> lp_l2;

  std::vector<MethodRow> extra_rows;

  bool operator==(const RunReport& o) const;
  bool operator!=(const RunReport& o) const { return !(*this == o); }
};

// Index into `sweep` of the alpha with the highest accuracy on the split
// `id_val_split`; ties go to the smaller alpha (less departure from the
// zero-shot model, the conservative choice). nullopt when no point has that
// split.
std::optional<size_t> ChooseAlphaIndex(const std::vector<WiseFtPoint>& sweep,
                                       const std::string& id_val_split);

// Sets report->chosen_alpha and report->chosen from the sweep with
// ChooseAlphaIndex. FAILED_PRECONDITION when the sweep is non-empty but no
// point carries the id_val split; an empty sweep clears both.
Status SelectWiseFtAlpha(RunReport* report);

// Writes report.json, report.md and the plots that have data (above) into
// `dir` (created when missing). Each file is written to a temporary name in
// `dir` and renamed, so readers see the old or the new file, never a
// partial one. Errors name the file.
Status WriteReport(const RunReport& report, const std::string& dir);

// The headline result: the chosen model (WiSE-FT at the chosen alpha when
// there is one, else the method's finetuned model, else zero-shot) on the
// ID split and on average over the OOD splits.
struct Headline {
  std::string model;  // "FLYP + WiSE-FT (alpha=0.5)", "FLYP", "Zeroshot"
  std::string id_split;
  double id_accuracy = 0;
  std::optional<double> avg_ood;
  int ood_splits = 0;
  std::optional<double> chosen_alpha;
};
// nullopt when the run has no evaluation with an ID split.
std::optional<Headline> HeadlineOf(const RunReport& report);

// Reads a report.json written by WriteReport (schema above).
StatusOr<RunReport> ReadReportJson(const std::string& path);

// The pieces WriteReport writes, for callers that want them in memory.
std::string ReportToJson(const RunReport& report);  // indented JSON
StatusOr<RunReport> ReportFromJson(const std::string& text, const std::string& source_name);
std::string RenderReportMarkdown(const RunReport& report);
std::string RenderWiseFtSvg(const RunReport& report);
std::string RenderTrainingSvg(const RunReport& report);
std::string RenderEvaluationSvg(const RunReport& report);
// The plots WriteReport writes for `report`, by file name.
std::vector<std::string> ReportPlotFiles(const RunReport& report);
// For a terminal (flypctl report, the end of flypctl watch and of the
// worker's console output): a summary line, the accuracy table with aligned
// columns, and the headline.
std::string RenderReportText(const RunReport& report);

// Table-1-style markdown over several runs: a "Zeroshot" row (from the first
// run that has zero-shot evaluations), then per run its method row, its
// "+ WiSE-FT" row when it has a chosen alpha, and its extra rows. Columns:
// ID, the union of OOD splits in order of first appearance, Avg OOD.
// A missing cell is "-".
std::string RenderComparisonTable(const std::vector<RunReport>& runs);

// The alpha curves of several runs in one SVG, one series per run, points
// labelled with their alpha and the chosen alpha circled (a run without a
// sweep contributes its zero-shot (alpha 0) and finetuned (alpha 1) points).
std::string RenderAlphaCurves(const std::vector<RunReport>& runs);

// Helpers, exposed for tests.

// "67.9" for 0.6785 (see above); "-" for a non-finite value.
std::string FormatPercent(double accuracy);
// Display name of a method: "FLYP", "LP-FT", "L2-SP", "Zeroshot", ...
// (unknown names are returned unchanged).
std::string MethodDisplayName(const std::string& method);
// The ID split of a list of evaluations (rule above); nullptr when none.
const SplitEval* FindIdEval(const std::vector<SplitEval>& evals, const std::string& id_val_split,
                            const std::string& id_test_split);
// Mean OOD accuracy; nullopt when there is no OOD split.
std::optional<double> AverageOod(const std::vector<SplitEval>& evals);

}  // namespace flyp::report
