// report.json: RunReport to and from JSON (schema_version 2; reads format_version 1 too).
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/json.h"
#include "worker/report/report.h"

namespace flyp::report {

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
  root.Set("schema_version", 2);
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
  for (const auto& [epoch, er] : r.epochs) {
    Json e = Json::MakeObject();
    e.Set("epoch", epoch);
    e.Set("last_step", static_cast<long long>(er.last_step));
    e.Set("train_loss", OptionalNumber(er.train_loss));
    e.Set("seconds", OptionalNumber(er.seconds));
    e.Set("evaluations", EvalsToJson(er.evaluations));
    epochs.Append(std::move(e));
  }
  root.Set("epochs", std::move(epochs));
  Json training = Json::MakeArray();
  for (const TrainPoint& p : r.training) {
    Json t = Json::MakeObject();
    t.Set("step", static_cast<long long>(p.step));
    t.Set("epoch", p.epoch);
    t.Set("loss", p.loss);
    t.Set("learning_rate", p.learning_rate);
    t.Set("logit_scale", p.logit_scale);
    t.Set("samples_per_second", p.samples_per_second);
    training.Append(std::move(t));
  }
  root.Set("training", std::move(training));
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
  // schema_version 2; format_version 1 is the schema before it.
  int64_t version = 0;
  if (JsonReader::Member(root, "schema_version") != nullptr) {
    FLYP_RETURN_IF_ERROR(rd.Int(root, "", "schema_version", &version));
    if (version != 2) {
      return rd.Error("schema_version", "unsupported version " + std::to_string(version) +
                                            " (this build reads 2, and format_version 1)");
    }
  } else if (JsonReader::Member(root, "format_version") != nullptr) {
    FLYP_RETURN_IF_ERROR(rd.Int(root, "", "format_version", &version));
    if (version != 1) {
      return rd.Error("format_version", "unsupported version " + std::to_string(version) +
                                            " (this build reads 1, and schema_version 2)");
    }
  } else {
    return rd.Error("schema_version", "missing");
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
      if (version == 1 && !v.is_string()) return rd.Error("hyperparameters." + k, "expected a string");
      if (!v.is_string() && !v.is_number() && !v.is_bool()) {
        return rd.Error("hyperparameters." + k, "expected a number, true/false or a string");
      }
      r.hyperparameters[k] = v;
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
      EpochReport& er = r.epochs[static_cast<int>(epoch)];
      FLYP_RETURN_IF_ERROR(rd.Int(e, p, "last_step", &er.last_step));
      FLYP_RETURN_IF_ERROR(rd.OptNumber(e, p, "train_loss", &er.train_loss));
      FLYP_RETURN_IF_ERROR(rd.OptNumber(e, p, "seconds", &er.seconds));
      FLYP_RETURN_IF_ERROR(rd.Evals(e, p, "evaluations", &er.evaluations));
    }
  }
  const Json* training = nullptr;
  FLYP_RETURN_IF_ERROR(rd.Array(root, "", "training", &training));
  if (training != nullptr) {
    for (size_t i = 0; i < training->size(); ++i) {
      const Json& e = training->as_array()[i];
      const std::string p = "training[" + std::to_string(i) + "]";
      if (!e.is_object()) return rd.Error(p, "expected an object");
      TrainPoint t;
      int64_t epoch = 0;
      FLYP_RETURN_IF_ERROR(rd.Int(e, p, "step", &t.step));
      FLYP_RETURN_IF_ERROR(rd.Int(e, p, "epoch", &epoch));
      if (epoch < 0 || epoch > 1000000000) return rd.Error(p + ".epoch", "outside [0, 1e9]");
      t.epoch = static_cast<int>(epoch);
      FLYP_RETURN_IF_ERROR(rd.Number(e, p, "loss", &t.loss));
      FLYP_RETURN_IF_ERROR(rd.Number(e, p, "learning_rate", &t.learning_rate));
      FLYP_RETURN_IF_ERROR(rd.Number(e, p, "logit_scale", &t.logit_scale));
      FLYP_RETURN_IF_ERROR(rd.Number(e, p, "samples_per_second", &t.samples_per_second));
      r.training.push_back(t);
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
  StatusOr<std::string> text = ReadFileToString(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.status().WithContext("report");
  return ReportFromJson(*text, path);
}

}  // namespace flyp::report
