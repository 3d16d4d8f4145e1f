#include "worker/model/checkpoint.h"

#include <torch/script.h>

#include <map>
#include <set>
#include <unordered_map>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/model_presets.h"
#include "worker/model/clip_architecture.h"

namespace flyp::model {
namespace {

bool StartsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
bool EndsWith(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

std::string ShapeText(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

// Tensors in checkpoints that are not weights.
bool IsIgnored(const std::string& name) {
  return EndsWith(name, "position_ids") || name == "input_resolution" || name == "context_length" ||
         name == "vocab_size" || name == "attn_mask" || EndsWith(name, ".attn_mask");
}

// One naming rule: HF name (or prefix) <-> open_clip name (or prefix).
struct NameRule {
  const char* hf;
  const char* oc;
  bool prefix;     // the rule maps a prefix; the rest of the name is kept
  bool block;      // the rest is "N.<block name>"
  bool transpose;  // HF stores the transposed matrix
};

const NameRule kRules[] = {
    {"vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight", false, false, false},
    {"vision_model.embeddings.class_embedding", "visual.class_embedding", false, false, false},
    {"vision_model.embeddings.position_embedding.weight", "visual.positional_embedding", false, false, false},
    {"vision_model.pre_layrnorm.", "visual.ln_pre.", true, false, false},
    {"vision_model.post_layernorm.", "visual.ln_post.", true, false, false},
    {"vision_model.encoder.layers.", "visual.transformer.resblocks.", true, true, false},
    {"text_model.embeddings.token_embedding.weight", "token_embedding.weight", false, false, false},
    {"text_model.embeddings.position_embedding.weight", "positional_embedding", false, false, false},
    {"text_model.encoder.layers.", "transformer.resblocks.", true, true, false},
    {"text_model.final_layer_norm.", "ln_final.", true, false, false},
    {"visual_projection.weight", "visual.proj", false, false, true},
    {"text_projection.weight", "text_projection", false, false, true},
    {"logit_scale", "logit_scale", false, false, false},
};

// Inside a block (after "N."): HF <-> open_clip prefixes.
const std::pair<const char*, const char*> kBlockRules[] = {
    {"self_attn.out_proj.", "attn.out_proj."},
    {"layer_norm1.", "ln_1."},
    {"layer_norm2.", "ln_2."},
    {"mlp.fc1.", "mlp.c_fc."},
    {"mlp.fc2.", "mlp.c_proj."},
};

const char* const kQkv[] = {"q_proj", "k_proj", "v_proj"};

struct Mapped {
  std::string name;
  bool transpose = false;
  int qkv = -1;        // HF -> OC: which part of in_proj (0 q, 1 k, 2 v)
  std::string suffix;  // "weight" | "bias" for q/k/v parts
  bool known = false;
};

// Splits "N.rest" into ("N.", "rest"); false if not of that form.
bool SplitLayer(const std::string& s, std::string& layer, std::string& rest) {
  size_t dot = s.find('.');
  if (dot == 0 || dot == std::string::npos) return false;
  for (size_t i = 0; i < dot; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  layer = s.substr(0, dot + 1);
  rest = s.substr(dot + 1);
  return true;
}

Mapped HfToOc(const std::string& hf) {
  Mapped m;
  m.name = hf;
  for (const auto& r : kRules) {
    if (!r.prefix) {
      if (hf == r.hf) {
        m.name = r.oc;
        m.transpose = r.transpose;
        m.known = true;
        return m;
      }
      continue;
    }
    if (!StartsWith(hf, r.hf)) continue;
    std::string rest = hf.substr(std::strlen(r.hf));
    if (!r.block) {
      m.name = r.oc + rest;
      m.known = true;
      return m;
    }
    std::string layer, inner;
    if (!SplitLayer(rest, layer, inner)) return m;
    for (const auto& [h, o] : kBlockRules) {
      if (StartsWith(inner, h)) {
        m.name = std::string(r.oc) + layer + o + inner.substr(std::strlen(h));
        m.known = true;
        return m;
      }
    }
    for (int i = 0; i < 3; ++i) {
      const std::string p = std::string("self_attn.") + kQkv[i] + ".";
      if (StartsWith(inner, p)) {
        m.suffix = inner.substr(p.size());
        if (m.suffix != "weight" && m.suffix != "bias") return m;
        m.name = std::string(r.oc) + layer + "attn.in_proj_" + m.suffix;
        m.qkv = i;
        m.known = true;
        return m;
      }
    }
    return m;
  }
  return m;
}

// open_clip -> HF. For in_proj tensors `qkv_base` receives the HF prefix
// "...self_attn." and `suffix` "weight"/"bias".
Mapped OcToHf(const std::string& oc, std::string* qkv_base) {
  Mapped m;
  m.name = oc;
  for (const auto& r : kRules) {
    if (!r.prefix) {
      if (oc == r.oc) {
        m.name = r.hf;
        m.transpose = r.transpose;
        m.known = true;
        return m;
      }
      continue;
    }
    if (!StartsWith(oc, r.oc)) continue;
    std::string rest = oc.substr(std::strlen(r.oc));
    if (!r.block) {
      m.name = r.hf + rest;
      m.known = true;
      return m;
    }
    std::string layer, inner;
    if (!SplitLayer(rest, layer, inner)) return m;
    for (const auto& [h, o] : kBlockRules) {
      if (StartsWith(inner, o)) {
        m.name = std::string(r.hf) + layer + h + inner.substr(std::strlen(o));
        m.known = true;
        return m;
      }
    }
    if (inner == "attn.in_proj_weight" || inner == "attn.in_proj_bias") {
      m.suffix = inner == "attn.in_proj_weight" ? "weight" : "bias";
      *qkv_base = std::string(r.hf) + layer + "self_attn.";
      m.qkv = 0;
      m.known = true;
      return m;
    }
    return m;
  }
  return m;
}

std::string HfNameHint(const std::string& oc) {
  std::string base;
  Mapped m = OcToHf(oc, &base);
  if (m.qkv >= 0) return base + "{q,k,v}_proj." + m.suffix;
  return m.name;
}

}  // namespace

const char* CheckpointSchemeName(CheckpointScheme scheme) {
  return scheme == CheckpointScheme::kHuggingFace ? "huggingface" : "open_clip";
}

CheckpointScheme DetectCheckpointScheme(const NamedTensors& tensors) {
  for (const auto& [name, t] : tensors) {
    if (StartsWith(name, "vision_model.") || StartsWith(name, "text_model.") ||
        StartsWith(name, "visual_projection.") || name == "text_projection.weight") {
      return CheckpointScheme::kHuggingFace;
    }
  }
  return CheckpointScheme::kOpenClip;
}

StatusOr<NamedTensors> MapHfToOpenClip(const NamedTensors& hf) {
  NamedTensors out;
  struct Parts {
    size_t index;
    torch::Tensor t[3];
    std::string names[3];
  };
  std::map<std::string, Parts> qkv;
  for (const auto& [name, tensor] : hf) {
    if (IsIgnored(name)) continue;
    Mapped m = HfToOc(name);
    if (m.qkv < 0) {
      out.emplace_back(m.name, m.transpose ? tensor.t().contiguous() : tensor);
      continue;
    }
    auto it = qkv.find(m.name);
    if (it == qkv.end()) {
      it = qkv.emplace(m.name, Parts{out.size(), {}, {}}).first;
      out.emplace_back(m.name, torch::Tensor());  // filled below, keeps the order
    }
    if (it->second.t[m.qkv].defined()) return InvalidArgumentError("duplicate tensor '" + name + "'");
    it->second.t[m.qkv] = tensor;
    it->second.names[m.qkv] = name;
  }
  for (auto& [oc_name, parts] : qkv) {
    for (int i = 0; i < 3; ++i) {
      if (!parts.t[i].defined()) {
        const std::string base = HfNameHint(oc_name);
        return InvalidArgumentError("incomplete q/k/v projection for '" + oc_name + "': '" + kQkv[i] +
                                    "' is missing (HuggingFace names " + base + ")");
      }
    }
    if (parts.t[0].sizes() != parts.t[1].sizes() || parts.t[0].sizes() != parts.t[2].sizes()) {
      return InvalidArgumentError("q/k/v projections for '" + oc_name +
                                  "' differ in shape: " + ShapeText(parts.t[0]) + ", " +
                                  ShapeText(parts.t[1]) + ", " + ShapeText(parts.t[2]));
    }
    out[parts.index].second = torch::cat({parts.t[0], parts.t[1], parts.t[2]}, 0);
  }
  return out;
}

NamedTensors MapOpenClipToHf(const NamedTensors& open_clip) {
  NamedTensors out;
  for (const auto& [name, tensor] : open_clip) {
    std::string base;
    Mapped m = OcToHf(name, &base);
    if (m.qkv < 0) {
      out.emplace_back(m.name, m.transpose ? tensor.t().contiguous() : tensor);
      continue;
    }
    auto parts = tensor.chunk(3, 0);
    for (int i = 0; i < 3; ++i) {
      out.emplace_back(base + kQkv[i] + "." + m.suffix, parts[i].contiguous());
    }
  }
  return out;
}

Status LoadClipStateDict(const NamedTensors& tensors, ClipModel& model, const std::string& source) {
  NamedTensors input;
  // DDP checkpoints prefix every name with "module.".
  bool all_module = !tensors.empty();
  for (const auto& [name, t] : tensors) all_module = all_module && StartsWith(name, "module.");
  for (const auto& [name, t] : tensors) {
    std::string n = all_module ? name.substr(7) : name;
    if (!IsIgnored(n)) input.emplace_back(std::move(n), t);
  }
  const CheckpointScheme scheme = DetectCheckpointScheme(input);
  const std::string where = source + " (" + CheckpointSchemeName(scheme) + " names)";
  if (scheme == CheckpointScheme::kHuggingFace) {
    auto mapped = MapHfToOpenClip(input);
    if (!mapped.ok()) return InvalidArgumentError(where + ": " + mapped.status().message());
    input = std::move(*mapped);
  }
  std::unordered_map<std::string, torch::Tensor> by_name;
  for (const auto& [name, t] : input) {
    if (!by_name.emplace(name, t).second)
      return InvalidArgumentError(where + ": duplicate tensor '" + name + "'");
  }

  auto params = model.named_parameters();
  std::vector<std::string> missing;
  for (const auto& p : params) {
    auto it = by_name.find(p.key());
    if (it == by_name.end()) {
      missing.push_back(p.key());
      continue;
    }
    const torch::Tensor& t = it->second;
    if (t.sizes() != p.value().sizes()) {
      std::string name = "'" + p.key() + "'";
      if (scheme == CheckpointScheme::kHuggingFace) name += " (from '" + HfNameHint(p.key()) + "')";
      return InvalidArgumentError(where + ": tensor " + name + " has shape " + ShapeText(t) +
                                  " but the model expects " + ShapeText(p.value()) +
                                  " (does the checkpoint match the model preset?)");
    }
    if (!t.is_floating_point()) {
      return InvalidArgumentError(where + ": tensor '" + p.key() + "' has non-floating dtype " +
                                  c10::toString(t.scalar_type()));
    }
  }
  if (!missing.empty()) {
    std::string name = "'" + missing[0] + "'";
    if (scheme == CheckpointScheme::kHuggingFace) name += " (HuggingFace '" + HfNameHint(missing[0]) + "')";
    return InvalidArgumentError(where + ": missing tensor " + name + "; " + std::to_string(missing.size()) +
                                " of the model's " + std::to_string(params.size()) + " tensors are missing");
  }
  if (by_name.size() > params.size()) {
    std::vector<std::string> extra;
    for (const auto& [name, t] : input) {
      if (params.find(name) == nullptr) extra.push_back(name);
    }
    std::string list;
    for (size_t i = 0; i < extra.size() && i < 5; ++i) list += (i ? ", '" : "'") + extra[i] + "'";
    if (extra.size() > 5) list += ", ...";
    return InvalidArgumentError(where + ": " + std::to_string(extra.size()) +
                                " unexpected tensor(s) not in the model: " + list);
  }
  torch::NoGradGuard no_grad;
  for (auto& p : params) p.value().copy_(by_name.at(p.key()));
  return Status::Ok();
}

StatusOr<NamedTensors> ReadTorchScriptTensors(const std::string& path) {
  try {
    torch::jit::Module m = torch::jit::load(path, torch::kCPU);
    NamedTensors out;
    for (const auto& p : m.named_parameters(/*recurse=*/true)) out.emplace_back(p.name, p.value);
    for (const auto& b : m.named_buffers(/*recurse=*/true)) out.emplace_back(b.name, b.value);
    return out;
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.size() > 400) what = what.substr(0, 400) + "...";
    return DataLossError(path + ": not a loadable TorchScript archive: " + what);
  }
}

Status LoadClipCheckpoint(const std::string& path, ClipModel& model) {
  StatusOr<std::string> magic = ReadFilePrefix(path, 2);
  if (!magic.ok()) return magic.status().WithContext("checkpoint");
  NamedTensors tensors;
  if (*magic == "PK") {
    FLYP_ASSIGN_OR_RETURN(tensors, ReadTorchScriptTensors(path));
  } else {
    FLYP_ASSIGN_OR_RETURN(tensors, ReadSafetensors(path));
  }
  return LoadClipStateDict(tensors, model, path);
}

Status SaveClipCheckpoint(const std::string& path, const ClipModel& model,
                          const std::map<std::string, std::string>& metadata) {
  NamedTensors tensors;
  for (const auto& p : model.named_parameters()) tensors.emplace_back(p.key(), p.value());
  auto meta = metadata;
  meta.emplace("format", "pt");
  return WriteSafetensors(path, tensors, meta);
}

StatusOr<std::unique_ptr<ClipModel>> BuildClipModel(const v1::ModelSpec& spec) {
  FLYP_ASSIGN_OR_RETURN(auto arch, ResolveArchitecture(spec.preset(), spec.architecture()));
  FLYP_ASSIGN_OR_RETURN(auto config, ClipConfigFromArchitecture(arch));
  torch::ScalarType dtype;
  switch (spec.dtype()) {
    case v1::DTYPE_UNSPECIFIED:  // a spec without defaults applied
    case v1::DTYPE_FLOAT32:
      dtype = torch::kFloat;
      break;
    case v1::DTYPE_FLOAT16:
      dtype = torch::kHalf;
      break;
    case v1::DTYPE_BFLOAT16:
      dtype = torch::kBFloat16;
      break;
    default:
      return InvalidArgumentError("model.dtype: value " + std::to_string(spec.dtype()) +
                                  " is not one of float32, float16, bfloat16");
  }
  std::unique_ptr<ClipModel> model;
  try {
    model = std::make_unique<ClipModel>(config);
  } catch (const std::exception& e) {
    return InternalError(std::string("building the CLIP model failed: ") + e.what());
  }
  if (spec.has_checkpoint() && !spec.checkpoint().empty()) {
    FLYP_RETURN_IF_ERROR(LoadClipCheckpoint(spec.checkpoint(), *model));
    FLYP_LOG(INFO) << "loaded checkpoint " << spec.checkpoint();
  }
  if (dtype != torch::kFloat) model->to(dtype);
  return model;
}

}  // namespace flyp::model
