#include "common/spec/spec_validate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "common/model_presets.h"
#include "common/spec/kube_fields.h"

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

class Validator {
 public:
  std::vector<FieldError> Run(const v1::JobSpec& s) {
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

  void Top(const v1::JobSpec& s) {
    if (s.name().empty()) Err("name", "must not be empty");
    for (char c : s.name()) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
        Err("name", "may contain only letters, digits, '-', '_' and '.' (got '" + s.name() + "')");
        break;
      }
    }
    InRange("priority", s.priority(), -100, 100);
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
        Err("model.preset",
            "unknown preset '" + preset + "'" + (guess.empty() ? "" : "; did you mean " + guess + "?"));
        return;
      }
    }
    auto arch = ResolveArchitecture(custom ? "" : preset, m.architecture());
    if (arch.ok()) Architecture(*arch, custom);
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
    AtLeast(p + ".embed_dim", a.embed_dim(), 1);
    const auto& v = a.vision();
    AtLeast(p + ".vision.width", v.width(), 1);
    AtLeast(p + ".vision.layers", v.layers(), 1);
    AtLeast(p + ".vision.heads", v.heads(), 1);
    AtLeast(p + ".vision.patch_size", v.patch_size(), 1);
    AtLeast(p + ".vision.image_size", v.image_size(), 1);
    if (v.heads() > 0 && v.width() % v.heads() != 0) {
      Err(p + ".vision.heads",
          "must divide vision.width (got " + Num(v.heads()) + " and " + Num(v.width()) + ")");
    }
    if (v.patch_size() > 0 && v.image_size() % v.patch_size() != 0) {
      Err(p + ".vision.patch_size",
          "must divide vision.image_size (got " + Num(v.patch_size()) + " and " + Num(v.image_size()) + ")");
    }
    if (v.has_mlp_ratio()) Positive(p + ".vision.mlp_ratio", v.mlp_ratio());
    const auto& t = a.text();
    AtLeast(p + ".text.width", t.width(), 1);
    AtLeast(p + ".text.layers", t.layers(), 1);
    AtLeast(p + ".text.heads", t.heads(), 1);
    AtLeast(p + ".text.context_length", t.context_length(), 3);
    AtLeast(p + ".text.vocab_size", t.vocab_size(), 3);
    if (t.heads() > 0 && t.width() % t.heads() != 0) {
      Err(p + ".text.heads",
          "must divide text.width (got " + Num(t.heads()) + " and " + Num(t.width()) + ")");
    }
    if (t.has_mlp_ratio()) Positive(p + ".text.mlp_ratio", t.mlp_ratio());
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
    for (int i = 0; i < m.lp_l2_grid_size(); ++i) {
      AtLeast("method.lp_l2_grid[" + std::to_string(i) + "]", m.lp_l2_grid(i), 0);
    }
    AtLeast("method.lp_steps", m.lp_steps(), 1);
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
    if (d.format() == v1::DATA_FORMAT_FASHION_MNIST && d.split() != "train" && d.split() != "test") {
      Err(path + ".split", "must be train or test for fashion_mnist (got '" + d.split() + "')");
    }
    if (labelled && d.format() == v1::DATA_FORMAT_CSV_CAPTION) {
      Err(path + ".format", "method " + MethodName(method_) + " needs labelled data (got csv_caption)");
    }
    AtLeast(path + ".offset", static_cast<double>(d.offset()), 0);
    AtLeast(path + ".limit", static_cast<double>(d.limit()), 0);
    AtLeast(path + ".k_shot", d.k_shot(), 0);
    if (d.k_shot() > 0 && d.format() == v1::DATA_FORMAT_CSV_CAPTION) {
      Err(path + ".k_shot", "needs labelled data (got csv_caption)");
    }
    if (!d.class_names().empty() && !d.class_names_file().empty()) {
      Err(path + ".class_names", "give class_names or class_names_file, not both");
    }
    for (int i = 0; i < d.shifts_size(); ++i) {
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
        Err(path + ".name", "duplicate split name '" + name + "' (also used by " + it->second + ")");
    };
    if (d.has_id_val()) eval(d.id_val(), "data.id_val", "id_val");
    if (d.has_id_test()) eval(d.id_test(), "data.id_test", "id_test");
    for (int i = 0; i < d.ood_size(); ++i) {
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
      Err("data.templates.builtin", "unknown template set '" + t.builtin() + "'" +
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
      for (int i = 0; i < t.custom_size(); ++i) {
        const std::string& tpl = t.custom(i);
        size_t first = tpl.find("{}");
        if (first == std::string::npos || tpl.find("{}", first + 2) != std::string::npos) {
          Err("data.templates.custom[" + std::to_string(i) + "]",
              "must contain exactly one {} for the class name (got '" + tpl + "')");
        }
      }
    } else if (!t.custom().empty() || !t.file().empty()) {
      Err("data.templates.builtin",
          "must be custom when data.templates.custom or data.templates.file is given");
    }
    AtLeast("data.loader_threads", d.loader_threads(), 0);
    AtLeast("data.prefetch_batches", d.prefetch_batches(), 1);
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
    AtLeast("optim.accum_steps", o.accum_steps(), 1);
  }

  void Schedule(const v1::JobSpec& s) {
    const auto& sc = s.schedule();
    AtLeast("schedule.epochs", sc.epochs(), 1);
    AtLeast("schedule.max_steps", static_cast<double>(sc.max_steps()), 0);
    AtLeast("schedule.warmup_steps", static_cast<double>(sc.warmup_steps()), 0);
    AtLeast("schedule.batch_size", sc.batch_size(), 1);
    AtLeast("schedule.eval_every_epochs", sc.eval_every_epochs(), 0);
    AtLeast("schedule.log_every_steps", sc.log_every_steps(), 1);
    int world = s.resources().world_size();
    int accum = std::max(1, s.optim().accum_steps());
    if (world >= 1 && sc.batch_size() >= 1 && sc.batch_size() % (world * accum) != 0) {
      Err("schedule.batch_size", "must be divisible by resources.world_size x optim.accum_steps (got " +
                                     Num(sc.batch_size()) + " and " + Num(world) + " x " + Num(accum) + ")");
    }
    const bool contrastive = method_ == v1::METHOD_FLYP || method_ == v1::METHOD_PRETRAIN;
    if (contrastive && sc.batch_size() >= 1 && sc.batch_size() < 2) {
      Err("schedule.batch_size", "contrastive methods need at least 2 samples per batch (got 1)");
    }
  }

  void Resources(const v1::ResourceSpec& r) {
    AtLeast("resources.world_size", r.world_size(), 1);
    AtLeast("resources.slots_per_rank", r.slots_per_rank(), 1);
    AtLeast("resources.threads_per_rank", r.threads_per_rank(), 0);
    AtLeast("resources.bucket_mib", r.bucket_mib(), 1);
    AtLeast("resources.ranks_per_host", r.ranks_per_host(), 0);
    if (r.ranks_per_host() > 0 && r.world_size() >= 1 && r.world_size() % r.ranks_per_host() != 0) {
      Err("resources.ranks_per_host", "resources.world_size " + Num(r.world_size()) +
                                          " must be divisible by it (got " + Num(r.ranks_per_host()) + ")");
    }
    if (r.precision() != v1::PRECISION_FLOAT32 && r.precision() != v1::PRECISION_BFLOAT16) {
      Err("resources.precision",
          "must be float32 or bfloat16 (got " + EnumText(v1::Precision_descriptor(), r.precision()) + ")");
    } else if (r.precision() == v1::PRECISION_BFLOAT16 && r.device() != v1::DEVICE_CUDA) {
      Err("resources.precision", "bfloat16 autocast needs resources.device cuda (got cpu)");
    }
    kube::ValidateKubernetesSpec(r.kubernetes(), "resources.kubernetes", &errors_);
  }

  void RunPolicy(const v1::RunPolicy& p) {
    AtLeast("run_policy.backoff_limit", p.backoff_limit(), 0);
    if (p.active_deadline().seconds() < 0 || p.active_deadline().nanos() < 0) {
      Err("run_policy.active_deadline", "must be >= 0 (0 means no deadline)");
    }
    AtLeast("run_policy.checkpoint_every", static_cast<double>(p.checkpoint_every()), 0);
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
    for (int i = 0; i < w.alphas_size(); ++i) {
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

std::vector<FieldError> ValidateJobSpec(const v1::JobSpec& spec) { return Validator().Run(spec); }

}  // namespace flyp
