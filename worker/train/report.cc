#include "worker/train/report.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json.h"
#include "worker/train/progress.h"
#include "worker/train/svg_plot.h"

namespace flyp::train {

bool RunReport::operator==(const RunReport& o) const {
  return job == o.job && method == o.method && model == o.model && world_size == o.world_size &&
         id_val_split == o.id_val_split && id_test_split == o.id_test_split && timings == o.timings &&
         steps == o.steps && samples_per_second == o.samples_per_second &&
         final_train_loss == o.final_train_loss && hyperparameters == o.hyperparameters &&
         zeroshot == o.zeroshot && finetuned == o.finetuned && epochs == o.epochs && wise_ft == o.wise_ft &&
         chosen_alpha == o.chosen_alpha && chosen == o.chosen && lp_l2 == o.lp_l2 &&
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

namespace {

const SplitEval* FindSplit(const std::vector<SplitEval>& evals, const std::string& split) {
  for (const SplitEval& e : evals) {
    if (e.split == split) return &e;
  }
  return nullptr;
}

std::string FormatAlpha(double alpha) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", alpha);
  return buf;
}

std::string FormatG(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

}  // namespace

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

// ---------------------------------------------------------------- JSON ---

namespace {

Json OptionalNumber(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

Json EvalsToJson(const std::vector<SplitEval>& evals) {
  Json arr = Json::MakeArray();
  for (const SplitEval& e : evals) {
    Json o = Json::MakeObject();
    o.Set("split", e.split);
    o.Set("ood", e.is_ood);
    o.Set("accuracy", e.accuracy);
    o.Set("macro_f1", OptionalNumber(e.macro_f1));
    arr.Append(std::move(o));
  }
  return arr;
}

// Typed field access with "source: path: problem" errors. An absent key or a
// null leaves the output at its default.
class JsonReader {
 public:
  explicit JsonReader(std::string source) : source_(std::move(source)) {}

  Status Error(const std::string& path, const std::string& what) const {
    return InvalidArgumentError(source_ + ": " + path + ": " + what);
  }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  // The member `key` of `obj`, or nullptr when absent or null.
  static const Json* Member(const Json& obj, const std::string& key) {
    const Json* v = obj.Find(key);
    return (v == nullptr || v->is_null()) ? nullptr : v;
  }

  Status String(const Json& obj, const std::string& path, const std::string& key, std::string* out) const {
    const Json* v = Member(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_string()) return Error(Join(path, key), "expected a string");
    *out = v->as_string();
    return Status::Ok();
  }
  Status Bool(const Json& obj, const std::string& path, const std::string& key, bool* out) const {
    const Json* v = Member(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_bool()) return Error(Join(path, key), "expected true or false");
    *out = v->as_bool();
    return Status::Ok();
  }
  Status Number(const Json& obj, const std::string& path, const std::string& key, double* out) const {
    const Json* v = Member(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_number()) return Error(Join(path, key), "expected a number");
    *out = v->as_double();
    return Status::Ok();
  }
  Status OptNumber(const Json& obj, const std::string& path, const std::string& key,
                   std::optional<double>* out) const {
    const Json* v = Member(obj, key);
    if (v == nullptr) {
      out->reset();
      return Status::Ok();
    }
    if (!v->is_number()) return Error(Join(path, key), "expected a number or null");
    *out = v->as_double();
    return Status::Ok();
  }
  Status Int(const Json& obj, const std::string& path, const std::string& key, int64_t* out) const {
    const Json* v = Member(obj, key);
    if (v == nullptr) return Status::Ok();
    if (!v->is_integer()) return Error(Join(path, key), "expected an integer");
    *out = v->as_int64();
    return Status::Ok();
  }
  // `*out` = the array member (nullptr when absent/null).
  Status Array(const Json& obj, const std::string& path, const std::string& key, const Json** out) const {
    *out = Member(obj, key);
    if (*out != nullptr && !(*out)->is_array()) return Error(Join(path, key), "expected an array");
    return Status::Ok();
  }
  Status Object(const Json& obj, const std::string& path, const std::string& key, const Json** out) const {
    *out = Member(obj, key);
    if (*out != nullptr && !(*out)->is_object()) return Error(Join(path, key), "expected an object");
    return Status::Ok();
  }

  Status Evals(const Json& obj, const std::string& path, const std::string& key,
               std::vector<SplitEval>* out) const {
    const Json* arr = nullptr;
    FLYP_RETURN_IF_ERROR(Array(obj, path, key, &arr));
    out->clear();
    if (arr == nullptr) return Status::Ok();
    for (size_t i = 0; i < arr->size(); ++i) {
      const Json& e = arr->as_array()[i];
      const std::string p = Join(path, key) + "[" + std::to_string(i) + "]";
      if (!e.is_object()) return Error(p, "expected an object");
      SplitEval ev;
      if (Member(e, "split") == nullptr) return Error(p, "missing \"split\"");
      if (Member(e, "accuracy") == nullptr) return Error(p, "missing \"accuracy\"");
      FLYP_RETURN_IF_ERROR(String(e, p, "split", &ev.split));
      FLYP_RETURN_IF_ERROR(Bool(e, p, "ood", &ev.is_ood));
      FLYP_RETURN_IF_ERROR(Number(e, p, "accuracy", &ev.accuracy));
      FLYP_RETURN_IF_ERROR(OptNumber(e, p, "macro_f1", &ev.macro_f1));
      out->push_back(std::move(ev));
    }
    return Status::Ok();
  }

 private:
  std::string source_;
};

}  // namespace

std::string ReportToJson(const RunReport& r) {
  Json root = Json::MakeObject();
  root.Set("format_version", 1);
  root.Set("job", r.job);
  root.Set("method", r.method);
  root.Set("model", r.model);
  root.Set("world_size", r.world_size);
  root.Set("id_val_split", r.id_val_split);
  root.Set("id_test_split", r.id_test_split);
  Json timings = Json::MakeObject();
  timings.Set("total_seconds", r.timings.total_seconds);
  timings.Set("train_seconds", r.timings.train_seconds);
  timings.Set("eval_seconds", r.timings.eval_seconds);
  Json epoch_seconds = Json::MakeArray();
  for (double s : r.timings.epoch_seconds) epoch_seconds.Append(s);
  timings.Set("epoch_seconds", std::move(epoch_seconds));
  root.Set("timings", std::move(timings));
  root.Set("steps", static_cast<long long>(r.steps));
  root.Set("samples_per_second", r.samples_per_second);
  root.Set("final_train_loss", OptionalNumber(r.final_train_loss));
  Json hp = Json::MakeObject();
  for (const auto& [k, v] : r.hyperparameters) hp.Set(k, v);
  root.Set("hyperparameters", std::move(hp));
  root.Set("zeroshot", EvalsToJson(r.zeroshot));
  root.Set("finetuned", EvalsToJson(r.finetuned));
  Json epochs = Json::MakeArray();
  for (const auto& [epoch, evals] : r.epochs) {
    Json e = Json::MakeObject();
    e.Set("epoch", epoch);
    e.Set("evaluations", EvalsToJson(evals));
    epochs.Append(std::move(e));
  }
  root.Set("epochs", std::move(epochs));
  Json wise = Json::MakeObject();
  Json sweep = Json::MakeArray();
  for (const WiseFtPoint& p : r.wise_ft) {
    Json e = Json::MakeObject();
    e.Set("alpha", p.alpha);
    e.Set("evaluations", EvalsToJson(p.evaluations));
    sweep.Append(std::move(e));
  }
  wise.Set("sweep", std::move(sweep));
  wise.Set("chosen_alpha", OptionalNumber(r.chosen_alpha));
  wise.Set("chosen", EvalsToJson(r.chosen));
  root.Set("wise_ft", std::move(wise));
  root.Set("lp_l2", OptionalNumber(r.lp_l2));
  Json extra = Json::MakeArray();
  for (const MethodRow& row : r.extra_rows) {
    Json e = Json::MakeObject();
    e.Set("label", row.label);
    e.Set("method", row.method);
    e.Set("wise_ft", row.wise_ft);
    e.Set("evaluations", EvalsToJson(row.evaluations));
    extra.Append(std::move(e));
  }
  root.Set("extra_rows", std::move(extra));
  return root.Dump(2) + "\n";
}

StatusOr<RunReport> ReportFromJson(const std::string& text, const std::string& source_name) {
  StatusOr<Json> parsed = ParseJson(text);
  if (!parsed.ok()) return parsed.status().WithContext(source_name);
  const Json& root = *parsed;
  const JsonReader rd(source_name);
  if (!root.is_object()) return rd.Error("(root)", "expected an object");
  if (JsonReader::Member(root, "format_version") == nullptr) return rd.Error("format_version", "missing");
  int64_t version = 0;
  FLYP_RETURN_IF_ERROR(rd.Int(root, "", "format_version", &version));
  if (version != 1) {
    return rd.Error("format_version",
                    "unsupported version " + std::to_string(version) + " (this build reads 1)");
  }
  RunReport r;
  FLYP_RETURN_IF_ERROR(rd.String(root, "", "job", &r.job));
  FLYP_RETURN_IF_ERROR(rd.String(root, "", "method", &r.method));
  FLYP_RETURN_IF_ERROR(rd.String(root, "", "model", &r.model));
  int64_t world_size = r.world_size;
  FLYP_RETURN_IF_ERROR(rd.Int(root, "", "world_size", &world_size));
  if (world_size < 1 || world_size > 1000000) return rd.Error("world_size", "must be in [1, 1000000]");
  r.world_size = static_cast<int>(world_size);
  FLYP_RETURN_IF_ERROR(rd.String(root, "", "id_val_split", &r.id_val_split));
  FLYP_RETURN_IF_ERROR(rd.String(root, "", "id_test_split", &r.id_test_split));

  const Json* timings = nullptr;
  FLYP_RETURN_IF_ERROR(rd.Object(root, "", "timings", &timings));
  if (timings != nullptr) {
    FLYP_RETURN_IF_ERROR(rd.Number(*timings, "timings", "total_seconds", &r.timings.total_seconds));
    FLYP_RETURN_IF_ERROR(rd.Number(*timings, "timings", "train_seconds", &r.timings.train_seconds));
    FLYP_RETURN_IF_ERROR(rd.Number(*timings, "timings", "eval_seconds", &r.timings.eval_seconds));
    const Json* es = nullptr;
    FLYP_RETURN_IF_ERROR(rd.Array(*timings, "timings", "epoch_seconds", &es));
    if (es != nullptr) {
      for (size_t i = 0; i < es->size(); ++i) {
        const Json& v = es->as_array()[i];
        if (!v.is_number())
          return rd.Error("timings.epoch_seconds[" + std::to_string(i) + "]", "expected a number");
        r.timings.epoch_seconds.push_back(v.as_double());
      }
    }
  }
  FLYP_RETURN_IF_ERROR(rd.Int(root, "", "steps", &r.steps));
  FLYP_RETURN_IF_ERROR(rd.Number(root, "", "samples_per_second", &r.samples_per_second));
  FLYP_RETURN_IF_ERROR(rd.OptNumber(root, "", "final_train_loss", &r.final_train_loss));

  const Json* hp = nullptr;
  FLYP_RETURN_IF_ERROR(rd.Object(root, "", "hyperparameters", &hp));
  if (hp != nullptr) {
    for (const auto& [k, v] : hp->as_object()) {
      if (!v.is_string()) return rd.Error("hyperparameters." + k, "expected a string");
      r.hyperparameters[k] = v.as_string();
    }
  }
  FLYP_RETURN_IF_ERROR(rd.Evals(root, "", "zeroshot", &r.zeroshot));
  FLYP_RETURN_IF_ERROR(rd.Evals(root, "", "finetuned", &r.finetuned));

  const Json* epochs = nullptr;
  FLYP_RETURN_IF_ERROR(rd.Array(root, "", "epochs", &epochs));
  if (epochs != nullptr) {
    for (size_t i = 0; i < epochs->size(); ++i) {
      const Json& e = epochs->as_array()[i];
      const std::string p = "epochs[" + std::to_string(i) + "]";
      if (!e.is_object()) return rd.Error(p, "expected an object");
      int64_t epoch = -1;
      FLYP_RETURN_IF_ERROR(rd.Int(e, p, "epoch", &epoch));
      if (epoch < 0 || epoch > 1000000000) return rd.Error(p + ".epoch", "missing or outside [0, 1e9]");
      if (r.epochs.count(static_cast<int>(epoch)) != 0) {
        return rd.Error(p + ".epoch", "epoch " + std::to_string(epoch) + " appears twice");
      }
      FLYP_RETURN_IF_ERROR(rd.Evals(e, p, "evaluations", &r.epochs[static_cast<int>(epoch)]));
    }
  }

  const Json* wise = nullptr;
  FLYP_RETURN_IF_ERROR(rd.Object(root, "", "wise_ft", &wise));
  if (wise != nullptr) {
    const Json* sweep = nullptr;
    FLYP_RETURN_IF_ERROR(rd.Array(*wise, "wise_ft", "sweep", &sweep));
    if (sweep != nullptr) {
      for (size_t i = 0; i < sweep->size(); ++i) {
        const Json& e = sweep->as_array()[i];
        const std::string p = "wise_ft.sweep[" + std::to_string(i) + "]";
        if (!e.is_object()) return rd.Error(p, "expected an object");
        if (JsonReader::Member(e, "alpha") == nullptr) return rd.Error(p, "missing \"alpha\"");
        WiseFtPoint point;
        FLYP_RETURN_IF_ERROR(rd.Number(e, p, "alpha", &point.alpha));
        FLYP_RETURN_IF_ERROR(rd.Evals(e, p, "evaluations", &point.evaluations));
        r.wise_ft.push_back(std::move(point));
      }
    }
    FLYP_RETURN_IF_ERROR(rd.OptNumber(*wise, "wise_ft", "chosen_alpha", &r.chosen_alpha));
    FLYP_RETURN_IF_ERROR(rd.Evals(*wise, "wise_ft", "chosen", &r.chosen));
  }
  FLYP_RETURN_IF_ERROR(rd.OptNumber(root, "", "lp_l2", &r.lp_l2));

  const Json* extra = nullptr;
  FLYP_RETURN_IF_ERROR(rd.Array(root, "", "extra_rows", &extra));
  if (extra != nullptr) {
    for (size_t i = 0; i < extra->size(); ++i) {
      const Json& e = extra->as_array()[i];
      const std::string p = "extra_rows[" + std::to_string(i) + "]";
      if (!e.is_object()) return rd.Error(p, "expected an object");
      MethodRow row;
      FLYP_RETURN_IF_ERROR(rd.String(e, p, "label", &row.label));
      FLYP_RETURN_IF_ERROR(rd.String(e, p, "method", &row.method));
      FLYP_RETURN_IF_ERROR(rd.Bool(e, p, "wise_ft", &row.wise_ft));
      FLYP_RETURN_IF_ERROR(rd.Evals(e, p, "evaluations", &row.evaluations));
      r.extra_rows.push_back(std::move(row));
    }
  }
  return r;
}

StatusOr<RunReport> ReadReportJson(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open report " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return DataLossError("cannot read report " + path);
  return ReportFromJson(ss.str(), path);
}

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

// | first | col... | with the first column left-aligned, numbers right.
std::string RenderTable(const std::string& first_header, const std::vector<Column>& cols,
                        const std::vector<Row>& rows, Metric metric) {
  std::string out = "| " + CellText(first_header) + " |";
  for (const Column& c : cols) out += " " + CellText(c.header) + " |";
  out += "\n|:---|";
  for (size_t i = 0; i < cols.size(); ++i) out += "---:|";
  out += "\n";
  for (const Row& row : rows) {
    out += "| " + CellText(row.label) + " |";
    for (const Column& c : cols) {
      const std::optional<double> v = CellValue(c, row, cols, metric);
      out += " " + (v ? FormatPercent(*v) : std::string("-")) + " |";
    }
    out += "\n";
  }
  return out;
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
  return MethodDisplayName(method) + " + WiSE-FT (alpha=" + FormatAlpha(alpha) + ")";
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
      out += (first ? " " : ", ") + k + "=" + v;
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

  if (!r.epochs.empty()) {
    std::vector<Row> erows;
    std::vector<std::string> labels;
    for (const auto& [epoch, evals] : r.epochs) {
      std::string label = std::to_string(epoch);
      if (epoch >= 1 && static_cast<size_t>(epoch) <= r.timings.epoch_seconds.size()) {
        label += " (" + FormatDuration(r.timings.epoch_seconds[epoch - 1]) + ")";
      }
      erows.push_back({label, &evals, r.id_val_split, r.id_test_split});
    }
    out += "\n## Per epoch (accuracy %)\n\n" + RenderTable("Epoch", StandardColumns(erows), erows, Accuracy);
  }

  if (!r.wise_ft.empty()) {
    std::vector<WiseFtPoint> sweep = r.wise_ft;
    std::stable_sort(sweep.begin(), sweep.end(),
                     [](const WiseFtPoint& a, const WiseFtPoint& b) { return a.alpha < b.alpha; });
    std::vector<Row> srows;
    for (const WiseFtPoint& p : sweep) {
      std::string label = FormatAlpha(p.alpha);
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
    s.points.push_back({100.0 * id->accuracy, 100.0 * *ood, "\xCE\xB1=" + FormatAlpha(alpha), chosen});
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

// ---------------------------------------------------------------- files ---

namespace {

// Writes `content` to dir/name via a temporary file in the same directory,
// fsync and rename (atomic on POSIX file systems).
Status WriteReportFile(const std::string& dir, const std::string& name, const std::string& content) {
  const std::string path = dir + "/" + name;
  const std::string tmp = dir + "/." + name + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return PermissionDeniedError("cannot create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return DataLossError("cannot write " + tmp + ": " + err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return DataLossError("cannot flush " + tmp + ": " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return DataLossError("cannot rename " + tmp + " to " + path + ": " + err);
  }
  return Status::Ok();
}

}  // namespace

Status WriteReport(const RunReport& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return PermissionDeniedError("cannot create report directory " + dir + ": " + ec.message());
  FLYP_RETURN_IF_ERROR(WriteReportFile(dir, "report.json", ReportToJson(report)));
  FLYP_RETURN_IF_ERROR(WriteReportFile(dir, "report.md", RenderReportMarkdown(report)));
  FLYP_RETURN_IF_ERROR(WriteReportFile(dir, "wiseft.svg", RenderWiseFtSvg(report)));
  return Status::Ok();
}

}  // namespace flyp::train
