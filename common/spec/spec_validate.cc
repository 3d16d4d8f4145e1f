#include "common/spec/spec_validate.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "common/model_presets.h"
#include "common/numbers.h"
#include "common/spec/kube_fields.h"
#include "common/utf8.h"

namespace flyp {
namespace {

std::string Num(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

// The YAML name of an enum value; a number the enum does not know (from a
// gRPC client built against a newer proto) as "value N".
std::string EnumText(const google::protobuf::EnumDescriptor* type, int number) {
  const google::protobuf::EnumValueDescriptor* v = type->FindValueByNumber(number);
  return v != nullptr ? EnumYamlName(v) : "value " + std::to_string(number);
}

std::string MethodName(v1::Method m) { return EnumText(v1::Method_descriptor(), m); }
std::string FormatName(v1::DataFormat f) { return EnumText(v1::DataFormat_descriptor(), f); }

// a * b and a + b in 64 bits; false on overflow.
bool MulOk(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
bool AddOk(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

// What YAML cannot express but a JobSpec message from a gRPC client can:
// non-finite floats, invalid Durations, oversized strings and lists, text
// that is not UTF-8 (the C++ API does not check). Every field, generically.
class MessageChecks {
 public:
  explicit MessageChecks(std::vector<FieldError>* errors) : errors_(errors) {}

  void Walk(const google::protobuf::Message& m, const std::string& path) {
    using google::protobuf::FieldDescriptor;
    const auto* r = m.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    r->ListFields(m, &fields);
    for (const FieldDescriptor* f : fields) {
      const std::string fpath = path.empty() ? f->name() : path + "." + f->name();
      if (f->is_repeated()) {
        const int n = r->FieldSize(m, f);
        if (static_cast<size_t>(n) > kMaxSpecListItems) {
          Err(fpath, "list of " + std::to_string(n) + " items is longer than the limit of " +
                         std::to_string(kMaxSpecListItems));
          continue;
        }
        for (int i = 0; i < n; ++i) Value(m, f, i, fpath + "[" + std::to_string(i) + "]");
      } else {
        Value(m, f, -1, fpath);
      }
    }
  }

 private:
  void Err(const std::string& path, const std::string& msg) { errors_->push_back({path, msg}); }

  void Value(const google::protobuf::Message& m, const google::protobuf::FieldDescriptor* f, int i,
             const std::string& path) {
    using google::protobuf::FieldDescriptor;
    const auto* r = m.GetReflection();
    const bool rep = i >= 0;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_FLOAT: {
        const float v = rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f);
        if (!std::isfinite(v)) Err(path, "must be a finite number");
        break;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        const double v = rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f);
        if (!std::isfinite(v)) Err(path, "must be a finite number");
        break;
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        const std::string& v =
            rep ? r->GetRepeatedStringReference(m, f, i, &scratch) : r->GetStringReference(m, f, &scratch);
        if (v.size() > kMaxSpecScalarBytes) {
          Err(path, "value of " + std::to_string(v.size()) + " bytes is longer than the limit of " +
                        std::to_string(kMaxSpecScalarBytes));
        } else if (Status u = CheckUtf8(v, ""); !u.ok()) {
          Err(path, u.message());
        } else if (v.find('\0') != std::string::npos) {
          // A path would end there for the system, and name another file.
          Err(path, "must not contain a NUL character (at byte " + std::to_string(v.find('\0')) + ")");
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        const auto& sub = rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f);
        if (f->message_type()->full_name() == "google.protobuf.Duration") {
          const auto& d = static_cast<const google::protobuf::Duration&>(sub);
          const bool range = d.seconds() >= -kMaxDurationSeconds && d.seconds() <= kMaxDurationSeconds &&
                             d.nanos() > -1000000000 && d.nanos() < 1000000000;
          const bool signs = (d.seconds() >= 0 && d.nanos() >= 0) || (d.seconds() <= 0 && d.nanos() <= 0);
          if (!range || !signs) {
            Err(path, "not a valid duration (seconds " + std::to_string(d.seconds()) + ", nanos " +
                          std::to_string(d.nanos()) + "; at most " + std::to_string(kMaxDurationSeconds) +
                          " seconds, nanos of the same sign below 1e9)");
          }
        } else {
          Walk(sub, path);
        }
        break;
      }
      default:
        break;
    }
  }

  std::vector<FieldError>* errors_;
};

class Validator {
 public:
  std::vector<FieldError> RunModel(const v1::JobSpec& s) {
    MessageChecks(&errors_).Walk(s, "");
    if (!errors_.empty()) return std::move(errors_);
    method_ = s.method().name();
    Model(s.model());
    return std::move(errors_);
  }

  std::vector<FieldError> Run(const v1::JobSpec& s) {
    MessageChecks(&errors_).Walk(s, "");
    if (!errors_.empty()) return std::move(errors_);  // the rules below assume sane values
    method_ = s.method().name();
    Top(s);
    Model(s.model());
    Method(s);
    Data(s);
    Optim(s.optim());
    Schedule(s);
    Resources(s.resources());
    RunPolicy(s.run_policy());
    WiseFt(s);
    return std::move(errors_);
  }

 private:
  void Err(const std::string& path, const std::string& msg) { errors_.push_back({path, msg}); }

  void AtLeast(const std::string& path, double v, double lo) {
    if (v < lo) Err(path, "must be >= " + Num(lo) + " (got " + Num(v) + ")");
  }
  void Positive(const std::string& path, double v) {
    if (!(v > 0)) Err(path, "must be > 0 (got " + Num(v) + ")");
  }
  void InRange(const std::string& path, double v, double lo, double hi) {
    if (v < lo || v > hi) Err(path, "must be in [" + Num(lo) + ", " + Num(hi) + "] (got " + Num(v) + ")");
  }
  // Integers: "must be >= lo" below the range, "must be <= hi" above it.
  void Between(const std::string& path, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo) Err(path, "must be >= " + std::to_string(lo) + " (got " + std::to_string(v) + ")");
    if (v > hi) Err(path, "must be <= " + std::to_string(hi) + " (got " + std::to_string(v) + ")");
  }
  void MaxItems(const std::string& path, int n, int max) {
    if (n > max)
      Err(path, "must have at most " + std::to_string(max) + " entries (got " + std::to_string(n) + ")");
  }
  void MaxBytes(const std::string& path, const std::string& v, size_t max) {
    if (v.size() > max) {
      Err(path, "must be at most " + std::to_string(max) + " bytes (got " + std::to_string(v.size()) + ")");
    }
  }

  void Top(const v1::JobSpec& s) {
    if (s.name().empty()) Err("name", "must not be empty");
    MaxBytes("name", s.name(), kMaxNameBytes);
    for (char c : s.name()) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
        Err("name",
            "may contain only letters, digits, '-', '_' and '.' (got '" + QuoteForError(s.name()) + "')");
        break;
      }
    }
    InRange("priority", s.priority(), -100, 100);
    MaxBytes("output.dir", s.output().dir(), kMaxPathBytes);
  }

  void Model(const v1::ModelSpec& m) {
    const std::string& preset = m.preset();
    bool custom = preset == "custom";
    if (!custom) {
      const auto& names = ModelPresetNames();
      if (std::find(names.begin(), names.end(), preset) == names.end()) {
        std::vector<std::string> all = names;
        all.push_back("custom");
        std::string guess = ClosestMatch(preset, all);
        Err("model.preset", "unknown preset '" + QuoteForError(preset) + "'" +
                                (guess.empty() ? "" : "; did you mean " + guess + "?"));
        return;
      }
    }
    auto arch = ResolveArchitecture(custom ? "" : preset, m.architecture());
    if (arch.ok()) Architecture(*arch, custom);
    MaxBytes("model.vocab", m.vocab(), kMaxPathBytes);
    MaxBytes("model.checkpoint", m.checkpoint(), kMaxPathBytes);
    if (m.vocab().empty()) {
      Err("model.vocab",
          "required: a CLIP vocab file (bpe_simple_vocab_16e6.txt.gz), a HuggingFace tokenizer "
          "folder, a file from `flyp-worker train-bpe`, or \"byte\"");
    }
    if (m.checkpoint().empty() && method_ != v1::METHOD_PRETRAIN) {
      Err("model.checkpoint",
          "required for method " + MethodName(method_) +
              " (it starts from a pretrained model); only pretrain may start from random weights");
    }
    if (m.dtype() != v1::DTYPE_FLOAT32 && m.dtype() != v1::DTYPE_FLOAT16 && m.dtype() != v1::DTYPE_BFLOAT16) {
      Err("model.dtype", "must be one of float32, float16, bfloat16 (got " +
                             EnumText(v1::Dtype_descriptor(), m.dtype()) + ")");
    }
  }

  void Architecture(const v1::Architecture& a, bool custom) {
    const std::string p = "model.architecture";
    auto required = [&](bool has, const std::string& field) {
      if (!has) Err(p + "." + field, "required when model.preset is custom");
      return has;
    };
    if (custom) {
      bool ok = required(a.has_embed_dim(), "embed_dim");
      ok &= required(a.vision().has_width(), "vision.width");
      ok &= required(a.vision().has_layers(), "vision.layers");
      ok &= required(a.vision().has_heads(), "vision.heads");
      ok &= required(a.vision().has_patch_size(), "vision.patch_size");
      ok &= required(a.vision().has_image_size(), "vision.image_size");
      ok &= required(a.text().has_width(), "text.width");
      ok &= required(a.text().has_layers(), "text.layers");
      ok &= required(a.text().has_heads(), "text.heads");
      ok &= required(a.text().has_context_length(), "text.context_length");
      ok &= required(a.text().has_vocab_size(), "text.vocab_size");
      if (!ok) return;
    }
    const size_t before = errors_.size();
    Between(p + ".embed_dim", a.embed_dim(), 1, kMaxModelWidth);
    const auto& v = a.vision();
    Between(p + ".vision.width", v.width(), 1, kMaxModelWidth);
    Between(p + ".vision.layers", v.layers(), 1, kMaxModelLayers);
    Between(p + ".vision.heads", v.heads(), 1, kMaxModelWidth);
    Between(p + ".vision.patch_size", v.patch_size(), 1, kMaxImageSize);
    Between(p + ".vision.image_size", v.image_size(), 1, kMaxImageSize);
    if (v.heads() > 0 && v.width() % v.heads() != 0) {
      Err(p + ".vision.heads",
          "must divide vision.width (got " + Num(v.heads()) + " and " + Num(v.width()) + ")");
    }
    if (v.patch_size() > 0 && v.image_size() % v.patch_size() != 0) {
      Err(p + ".vision.patch_size",
          "must divide vision.image_size (got " + Num(v.patch_size()) + " and " + Num(v.image_size()) + ")");
    }
    if (v.has_mlp_ratio()) {
      Positive(p + ".vision.mlp_ratio", v.mlp_ratio());
      if (v.mlp_ratio() > kMaxMlpRatio) Err(p + ".vision.mlp_ratio", "must be <= " + Num(kMaxMlpRatio));
    }
    const auto& t = a.text();
    Between(p + ".text.width", t.width(), 1, kMaxModelWidth);
    Between(p + ".text.layers", t.layers(), 1, kMaxModelLayers);
    Between(p + ".text.heads", t.heads(), 1, kMaxModelWidth);
    Between(p + ".text.context_length", t.context_length(), 3, kMaxContextLength);
    Between(p + ".text.vocab_size", t.vocab_size(), 3, kMaxVocabSize);
    if (t.heads() > 0 && t.width() % t.heads() != 0) {
      Err(p + ".text.heads",
          "must divide text.width (got " + Num(t.heads()) + " and " + Num(t.width()) + ")");
    }
    if (t.has_mlp_ratio()) {
      Positive(p + ".text.mlp_ratio", t.mlp_ratio());
      if (t.mlp_ratio() > kMaxMlpRatio) Err(p + ".text.mlp_ratio", "must be <= " + Num(kMaxMlpRatio));
    }
    if (errors_.size() != before) return;  // the estimates below assume the ranges hold
    if (v.image_size() % v.patch_size() == 0) {
      const int64_t side = v.image_size() / v.patch_size();
      if (side * side > kMaxImageTokens) {
        Err(p + ".vision.patch_size",
            "gives " + std::to_string(side * side) + " image tokens ((image_size / " +
                "patch_size)^2), more than the limit of " + std::to_string(kMaxImageTokens));
        return;
      }
    }
    const int64_t params = EstimateParameters(a);
    if (params > kMaxModelParameters) {
      Err(p, "has about " + std::to_string(params) + " parameters, more than the limit of " +
                 std::to_string(kMaxModelParameters));
    }
  }

  // Roughly what BuildClipModel allocates (transformer blocks, embeddings,
  // projections), in 64 bits; INT64_MAX when even that overflows.
  static int64_t EstimateParameters(const v1::Architecture& a) {
    auto tower = [](int64_t width, int64_t layers, double mlp_ratio, int64_t extra) {
      const int64_t mlp = static_cast<int64_t>(std::ceil(mlp_ratio * static_cast<double>(width)));
      int64_t block = 0, w2 = 0, wm = 0, all = 0;
      if (!MulOk(width, width, &w2) || !MulOk(width, mlp, &wm)) return INT64_MAX;
      if (!MulOk(w2, 4, &w2) || !MulOk(wm, 2, &wm) || !AddOk(w2, wm, &block)) return INT64_MAX;
      if (!MulOk(block, layers, &all) || !AddOk(all, extra, &all)) return INT64_MAX;
      return all;
    };
    const auto& v = a.vision();
    const auto& t = a.text();
    const int64_t side = v.image_size() / std::max(1, v.patch_size());
    const int64_t v_extra = int64_t{3} * v.patch_size() * v.patch_size() * v.width() +
                            (side * side + 1) * v.width() + int64_t{v.width()} * a.embed_dim();
    const int64_t t_extra = (int64_t{t.vocab_size()} + t.context_length() + a.embed_dim()) * t.width();
    const int64_t vision = tower(v.width(), v.layers(), v.has_mlp_ratio() ? v.mlp_ratio() : 4.0, v_extra);
    const int64_t text = tower(t.width(), t.layers(), t.has_mlp_ratio() ? t.mlp_ratio() : 4.0, t_extra);
    int64_t total = 0;
    return AddOk(vision, text, &total) ? total : INT64_MAX;
  }

  void Method(const v1::JobSpec& s) {
    const auto& m = s.method();
    if (method_ == v1::METHOD_UNSPECIFIED) {
      Err("method.name", "required");
      return;
    }
    const std::string name = MethodName(method_);
    const bool contrastive = method_ == v1::METHOD_FLYP || method_ == v1::METHOD_PRETRAIN;
    if ((method_ == v1::METHOD_LP || method_ == v1::METHOD_ZEROSHOT) && m.train_image_tower()) {
      Err("method.train_image_tower", "must be false for method " + name + " (the image tower is frozen)");
    }
    if (!contrastive && m.train_text_tower()) {
      Err("method.train_text_tower",
          "must be false for method " + name + " (only flyp and pretrain use the text tower in training)");
    }
    if (!contrastive && m.train_logit_scale()) {
      Err("method.train_logit_scale", "must be false for method " + name + " (no contrastive logits)");
    }
    if (contrastive && !m.train_image_tower() && !m.train_text_tower()) {
      Err("method.train_image_tower", "method " + name + " must train at least one tower");
    }
    if (!contrastive && m.local_loss()) {
      Err("method.local_loss",
          "only applies to the contrastive methods flyp and pretrain (got " + name + ")");
    }
    if (!contrastive && m.mask_same_class()) {
      Err("method.mask_same_class",
          "only applies to the contrastive methods flyp and pretrain (got " + name + ")");
    }
    if (method_ == v1::METHOD_L2SP)
      Positive("method.l2sp_weight", m.l2sp_weight());
    else if (m.l2sp_weight() != 0) {
      Err("method.l2sp_weight", "only applies to method l2sp (got " + name + ")");
    }
    MaxItems("method.lp_l2_grid", m.lp_l2_grid_size(), kMaxLpL2Grid);
    for (int i = 0; i < m.lp_l2_grid_size(); ++i) {
      AtLeast("method.lp_l2_grid[" + std::to_string(i) + "]", m.lp_l2_grid(i), 0);
    }
    Between("method.lp_steps", m.lp_steps(), 1, kMaxLpSteps);
    Positive("method.lp_learning_rate", m.lp_learning_rate());
    if (m.label_smoothing() < 0 || m.label_smoothing() >= 1) {
      Err("method.label_smoothing", "must be in [0, 1) (got " + Num(m.label_smoothing()) + ")");
    }
  }

  void Source(const v1::DataSource& d, const std::string& path, bool labelled) {
    if (!d.has_format()) {
      Err(path + ".format", "required (one of: " + Join(EnumYamlNames(v1::DataFormat_descriptor())) + ")");
      return;
    }
    if (d.path().empty()) Err(path + ".path", "required for format " + FormatName(d.format()));
    MaxBytes(path + ".path", d.path(), kMaxPathBytes);
    MaxBytes(path + ".class_names_file", d.class_names_file(), kMaxPathBytes);
    MaxBytes(path + ".name", d.name(), kMaxNameBytes);
    if (d.format() == v1::DATA_FORMAT_FASHION_MNIST && d.split() != "train" && d.split() != "test") {
      Err(path + ".split",
          "must be train or test for fashion_mnist (got '" + QuoteForError(d.split()) + "')");
    }
    if (labelled && d.format() == v1::DATA_FORMAT_CSV_CAPTION) {
      Err(path + ".format", "method " + MethodName(method_) + " needs labelled data (got csv_caption)");
    }
    Between(path + ".offset", d.offset(), 0, INT64_MAX);
    Between(path + ".limit", d.limit(), 0, INT64_MAX);
    int64_t end = 0;
    if (d.offset() >= 0 && d.limit() >= 0 && !AddOk(d.offset(), d.limit(), &end)) {
      Err(path + ".limit", "offset + limit overflows 64 bits (got " + std::to_string(d.offset()) + " + " +
                               std::to_string(d.limit()) + ")");
    }
    Between(path + ".k_shot", d.k_shot(), 0, kMaxKShot);
    if (d.k_shot() > 0 && d.format() == v1::DATA_FORMAT_CSV_CAPTION) {
      Err(path + ".k_shot", "needs labelled data (got csv_caption)");
    }
    if (!d.class_names().empty() && !d.class_names_file().empty()) {
      Err(path + ".class_names", "give class_names or class_names_file, not both");
    }
    MaxItems(path + ".shifts", d.shifts_size(), kMaxShifts);
    for (int i = 0; i < d.shifts_size() && i < kMaxShifts; ++i) {
      const auto& sh = d.shifts(i);
      std::string sp = path + ".shifts[" + std::to_string(i) + "]";
      if (!sh.has_kind()) {
        Err(sp + ".kind", "required (one of: " + Join(EnumYamlNames(v1::ShiftKind_descriptor())) + ")");
        continue;
      }
      float v = sh.severity();
      switch (sh.kind()) {
        case v1::SHIFT_KIND_ROTATE:
          InRange(sp + ".severity", v, -180, 180);
          break;
        case v1::SHIFT_KIND_NOISE:
          InRange(sp + ".severity", v, 0, 1);
          break;
        case v1::SHIFT_KIND_BLUR:
          InRange(sp + ".severity", v, 0, 20);
          break;
        case v1::SHIFT_KIND_OCCLUDE:
          InRange(sp + ".severity", v, 0, 1);
          break;
        case v1::SHIFT_KIND_SCALE:
          if (!(v > 0 && v <= 4)) Err(sp + ".severity", "must be in (0, 4] (got " + Num(v) + ")");
          break;
        default:
          break;
      }
    }
  }

  void Data(const v1::JobSpec& s) {
    const auto& d = s.data();
    const bool trains = method_ != v1::METHOD_ZEROSHOT;
    const bool labelled_train = method_ != v1::METHOD_PRETRAIN;
    if (trains) {
      if (!d.has_train())
        Err("data.train", "required for method " + MethodName(method_));
      else
        Source(d.train(), "data.train", labelled_train);
    } else if (d.has_train()) {
      Err("data.train", "not used by method zeroshot; remove it");
    }
    // Names of evaluation splits must be unique: they label reports and metrics.
    std::map<std::string, std::string> seen;
    auto eval = [&](const v1::DataSource& src, const std::string& path, const std::string& fallback) {
      Source(src, path, true);
      std::string name = src.name().empty() ? fallback : src.name();
      auto [it, inserted] = seen.emplace(name, path);
      if (!inserted)
        Err(path + ".name",
            "duplicate split name '" + QuoteForError(name) + "' (also used by " + it->second + ")");
    };
    if (d.has_id_val()) eval(d.id_val(), "data.id_val", "id_val");
    if (d.has_id_test()) eval(d.id_test(), "data.id_test", "id_test");
    MaxItems("data.ood", d.ood_size(), kMaxOodSplits);
    for (int i = 0; i < d.ood_size() && i < kMaxOodSplits; ++i) {
      std::string p = "data.ood[" + std::to_string(i) + "]";
      if (d.ood(i).name().empty()) Err(p + ".name", "required for OOD splits (it labels the report)");
      eval(d.ood(i), p, "");
    }
    if ((method_ == v1::METHOD_LP || method_ == v1::METHOD_LPFT) && !d.has_id_val()) {
      Err("data.id_val", "required for method " + MethodName(method_) + " (the L2 strength is chosen on it)");
    }
    if (method_ != v1::METHOD_PRETRAIN && !d.has_id_val() && !d.has_id_test() && d.ood_size() == 0) {
      Err("data",
          "method " + MethodName(method_) + " needs at least one evaluation split (id_val, id_test or ood)");
    }
    if (s.wise_ft().enabled() && !d.has_id_val()) {
      Err("data.id_val", "required when wise_ft.enabled (alpha is chosen on ID validation accuracy)");
    }
    const auto& t = d.templates();
    const auto& sets = BuiltinTemplateSetNames();
    if (std::find(sets.begin(), sets.end(), t.builtin()) == sets.end()) {
      std::string guess = ClosestMatch(t.builtin(), sets);
      Err("data.templates.builtin", "unknown template set '" + QuoteForError(t.builtin()) + "'" +
                                        (guess.empty() ? "" : "; did you mean " + guess + "?") +
                                        " (one of: " + Join(sets) + ")");
    } else if (t.builtin() == "custom") {
      if (t.custom().empty() && t.file().empty()) {
        Err("data.templates.custom",
            "give a list of templates or data.templates.file when builtin is custom");
      }
      if (!t.custom().empty() && !t.file().empty()) {
        Err("data.templates.file", "give data.templates.custom or data.templates.file, not both");
      }
      MaxItems("data.templates.custom", t.custom_size(), kMaxCustomTemplates);
      MaxBytes("data.templates.file", t.file(), kMaxPathBytes);
      for (int i = 0; i < t.custom_size() && i < kMaxCustomTemplates; ++i) {
        const std::string& tpl = t.custom(i);
        size_t first = tpl.find("{}");
        if (first == std::string::npos || tpl.find("{}", first + 2) != std::string::npos) {
          Err("data.templates.custom[" + std::to_string(i) + "]",
              "must contain exactly one {} for the class name (got '" + QuoteForError(tpl) + "')");
        }
      }
    } else if (!t.custom().empty() || !t.file().empty()) {
      Err("data.templates.builtin",
          "must be custom when data.templates.custom or data.templates.file is given");
    }
    Between("data.loader_threads", d.loader_threads(), 0, kMaxLoaderThreads);
    Between("data.prefetch_batches", d.prefetch_batches(), 1, kMaxPrefetchBatches);
    InRange("data.crop_scale_min", d.crop_scale_min(), 0.05, 1);
    InRange("data.crop_scale_max", d.crop_scale_max(), 0.05, 1);
    if (d.crop_scale_min() > d.crop_scale_max()) {
      Err("data.crop_scale_min", "must be <= data.crop_scale_max (got " + Num(d.crop_scale_min()) + " > " +
                                     Num(d.crop_scale_max()) + ")");
    }
  }

  void Optim(const v1::OptimSpec& o) {
    Positive("optim.learning_rate", o.learning_rate());
    AtLeast("optim.weight_decay", o.weight_decay(), 0);
    if (o.beta1() < 0 || o.beta1() >= 1) Err("optim.beta1", "must be in [0, 1) (got " + Num(o.beta1()) + ")");
    if (o.beta2() < 0 || o.beta2() >= 1) Err("optim.beta2", "must be in [0, 1) (got " + Num(o.beta2()) + ")");
    Positive("optim.eps", o.eps());
    if (o.momentum() < 0 || o.momentum() >= 1) {
      Err("optim.momentum", "must be in [0, 1) (got " + Num(o.momentum()) + ")");
    }
    AtLeast("optim.grad_clip_norm", o.grad_clip_norm(), 0);
    Between("optim.accum_steps", o.accum_steps(), 1, kMaxBatchSize);
  }

  void Schedule(const v1::JobSpec& s) {
    const auto& sc = s.schedule();
    Between("schedule.epochs", sc.epochs(), 1, kMaxEpochs);
    Between("schedule.max_steps", sc.max_steps(), 0, INT64_MAX);
    Between("schedule.warmup_steps", sc.warmup_steps(), 0, INT64_MAX);
    Between("schedule.batch_size", sc.batch_size(), 1, kMaxBatchSize);
    Between("schedule.eval_every_epochs", sc.eval_every_epochs(), 0, INT32_MAX);
    Between("schedule.log_every_steps", sc.log_every_steps(), 1, INT32_MAX);
    // In 64 bits: world_size x accum_steps overflowed int32 to 0 and the
    // remainder by it raised SIGFPE (in flypctl and in the coordinator).
    const int64_t world = s.resources().world_size();
    const int64_t accum = std::max(1, s.optim().accum_steps());
    const int64_t per_step = world * accum;
    if (world >= 1 && sc.batch_size() >= 1 && sc.batch_size() % per_step != 0) {
      Err("schedule.batch_size", "must be divisible by resources.world_size x optim.accum_steps (got " +
                                     Num(sc.batch_size()) + " and " + std::to_string(world) + " x " +
                                     std::to_string(accum) + ")");
    }
    const bool contrastive = method_ == v1::METHOD_FLYP || method_ == v1::METHOD_PRETRAIN;
    if (contrastive && sc.batch_size() >= 1 && sc.batch_size() < 2) {
      Err("schedule.batch_size", "contrastive methods need at least 2 samples per batch (got 1)");
    }
  }

  void Resources(const v1::ResourceSpec& r) {
    Between("resources.world_size", r.world_size(), 1, kMaxWorldSize);
    Between("resources.slots_per_rank", r.slots_per_rank(), 1, kMaxSlotsPerRank);
    Between("resources.threads_per_rank", r.threads_per_rank(), 0, kMaxThreadsPerRank);
    Between("resources.bucket_mib", r.bucket_mib(), 1, kMaxBucketMib);
    Between("resources.ranks_per_host", r.ranks_per_host(), 0, kMaxWorldSize);
    if (r.ranks_per_host() > 0 && r.world_size() >= 1 && r.world_size() % r.ranks_per_host() != 0) {
      Err("resources.ranks_per_host", "resources.world_size " + Num(r.world_size()) +
                                          " must be divisible by it (got " + Num(r.ranks_per_host()) + ")");
    }
    if (r.precision() != v1::PRECISION_FLOAT32 && r.precision() != v1::PRECISION_BFLOAT16) {
      Err("resources.precision",
          "must be float32 or bfloat16 (got " + EnumText(v1::Precision_descriptor(), r.precision()) + ")");
    }
    kube::ValidateKubernetesSpec(r.kubernetes(), "resources.kubernetes", &errors_);
  }

  void RunPolicy(const v1::RunPolicy& p) {
    Between("run_policy.backoff_limit", p.backoff_limit(), 0, kMaxBackoffLimit);
    if (p.active_deadline().seconds() < 0 || p.active_deadline().nanos() < 0) {
      Err("run_policy.active_deadline", "must be >= 0 (0 means no deadline)");
    }
    Between("run_policy.checkpoint_every", p.checkpoint_every(), 0, INT64_MAX);
    const auto& t = p.collective_timeout();
    if (t.seconds() < 0 || (t.seconds() == 0 && t.nanos() <= 0)) {
      Err("run_policy.collective_timeout", "must be > 0");
    }
  }

  void WiseFt(const v1::JobSpec& s) {
    const auto& w = s.wise_ft();
    if (w.enabled() && (method_ == v1::METHOD_ZEROSHOT || method_ == v1::METHOD_PRETRAIN)) {
      Err("wise_ft.enabled", "needs a finetuning method (got " + MethodName(method_) + ")");
    }
    if (w.enabled() && w.alphas_size() == 0) Err("wise_ft.alphas", "must not be empty when wise_ft.enabled");
    MaxItems("wise_ft.alphas", w.alphas_size(), kMaxWiseFtAlphas);
    for (int i = 0; i < w.alphas_size() && i < kMaxWiseFtAlphas; ++i) {
      InRange("wise_ft.alphas[" + std::to_string(i) + "]", w.alphas(i), 0, 1);
    }
  }

  static std::string Join(const std::vector<std::string>& v) {
    std::string o;
    for (size_t i = 0; i < v.size(); ++i) o += (i ? ", " : "") + v[i];
    return o;
  }

  v1::Method method_ = v1::METHOD_UNSPECIFIED;
  std::vector<FieldError> errors_;
};

}  // namespace

const std::vector<std::string>& BuiltinTemplateSetNames() {
  static const std::vector<std::string> names = {"simple", "openai_imagenet", "custom"};
  return names;
}

std::vector<FieldError> ValidateModelSpec(const v1::ModelSpec& model) {
  v1::JobSpec spec;
  *spec.mutable_model() = model;
  spec.mutable_method()->set_name(v1::METHOD_PRETRAIN);  // the one method without a checkpoint
  std::vector<FieldError> errors = Validator().RunModel(spec);
  CapSpecErrors(&errors);
  return errors;
}

std::vector<FieldError> ValidateJobSpec(const v1::JobSpec& spec) {
  std::vector<FieldError> errors = Validator().Run(spec);
  CapSpecErrors(&errors);
  return errors;
}

}  // namespace flyp
