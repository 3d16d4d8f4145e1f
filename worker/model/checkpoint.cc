#include "worker/model/checkpoint.h"

#include <torch/script.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "common/confine.h"
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

// The HuggingFace CLIPModel <-> open_clip naming, as one table that
// Translate() reads in either direction. A rule maps a whole name, a prefix
// (the rest of the name is kept), or a prefix followed by "N." and a name
// inside transformer block N, which kBlockRules maps.
enum class Match { kName, kPrefix, kBlocks };

struct NameRule {
  const char* hf;
  const char* oc;
  Match match;
  bool transpose;  // HF stores the transposed matrix
};

const NameRule kRules[] = {
    {"vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight", Match::kName, false},
    {"vision_model.embeddings.class_embedding", "visual.class_embedding", Match::kName, false},
    {"vision_model.embeddings.position_embedding.weight", "visual.positional_embedding", Match::kName, false},
    {"vision_model.pre_layrnorm.", "visual.ln_pre.", Match::kPrefix, false},
    {"vision_model.post_layernorm.", "visual.ln_post.", Match::kPrefix, false},
    {"vision_model.encoder.layers.", "visual.transformer.resblocks.", Match::kBlocks, false},
    {"text_model.embeddings.token_embedding.weight", "token_embedding.weight", Match::kName, false},
    {"text_model.embeddings.position_embedding.weight", "positional_embedding", Match::kName, false},
    {"text_model.encoder.layers.", "transformer.resblocks.", Match::kBlocks, false},
    {"text_model.final_layer_norm.", "ln_final.", Match::kPrefix, false},
    {"visual_projection.weight", "visual.proj", Match::kName, true},
    {"text_projection.weight", "text_projection", Match::kName, true},
    {"logit_scale", "logit_scale", Match::kName, false},
};

// Inside a block (after "N."): prefixes. HF keeps q, k and v apart; open_clip
// stacks their rows into one in_proj tensor (q | k | v), so three HF rules
// share one open_clip prefix, each with its third (qkv 0, 1, 2), and the rest
// of the name must be "weight" or "bias".
struct BlockRule {
  const char* hf;
  const char* oc;
  int qkv;  // -1: one tensor on each side
};

const BlockRule kBlockRules[] = {
    {"self_attn.out_proj.", "attn.out_proj.", -1},
    {"layer_norm1.", "ln_1.", -1},
    {"layer_norm2.", "ln_2.", -1},
    {"mlp.fc1.", "mlp.c_fc.", -1},
    {"mlp.fc2.", "mlp.c_proj.", -1},
    {"self_attn.q_proj.", "attn.in_proj_", 0},
    {"self_attn.k_proj.", "attn.in_proj_", 1},
    {"self_attn.v_proj.", "attn.in_proj_", 2},
};

enum class Scheme { kHf, kOc };

template <typename Rule>
const char* Side(const Rule& r, Scheme s) {
  return s == Scheme::kHf ? r.hf : r.oc;
}

struct Mapped {
  std::string name;  // in the other scheme; the input itself when !known
  bool known = false;
  bool transpose = false;
  // An in_proj third: HF -> open_clip, which third the HF tensor is (0 q,
  // 1 k, 2 v); open_clip -> HF, 0, and `parts` holds the three HF names.
  int qkv = -1;
  std::string parts[3];
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

// `name` in scheme `from`, translated to the other scheme with the tables
// above; the first rule that matches decides.
Mapped Translate(const std::string& name, Scheme from) {
  const Scheme to = from == Scheme::kHf ? Scheme::kOc : Scheme::kHf;
  Mapped m;
  m.name = name;
  for (const NameRule& r : kRules) {
    const std::string key = Side(r, from);
    if (r.match == Match::kName) {
      if (name != key) continue;
      m.name = Side(r, to);
      m.transpose = r.transpose;
      m.known = true;
      return m;
    }
    if (!StartsWith(name, key)) continue;
    const std::string rest = name.substr(key.size());
    if (r.match == Match::kPrefix) {
      m.name = Side(r, to) + rest;
      m.known = true;
      return m;
    }
    std::string layer, inner;
    if (!SplitLayer(rest, layer, inner)) return m;
    const std::string block = Side(r, to) + layer;
    for (const BlockRule& b : kBlockRules) {
      const std::string bkey = Side(b, from);
      if (!StartsWith(inner, bkey)) continue;
      const std::string tail = inner.substr(bkey.size());
      if (b.qkv >= 0 && tail != "weight" && tail != "bias") return m;
      m.name = block + Side(b, to) + tail;
      m.known = true;
      m.qkv = b.qkv;
      if (b.qkv >= 0 && to == Scheme::kHf) {
        for (const BlockRule& part : kBlockRules) {
          if (part.qkv >= 0 && std::string(part.oc) == b.oc) m.parts[part.qkv] = block + part.hf + tail;
        }
      }
      return m;
    }
    return m;
  }
  return m;
}

// The HF name(s) of open_clip tensor `oc`, for error messages; an in_proj
// tensor gives "...self_attn.{q,k,v}_proj.weight".
std::string HfNameHint(const std::string& oc) {
  Mapped m = Translate(oc, Scheme::kOc);
  if (m.qkv < 0) return m.name;
  const std::string& a = m.parts[0];
  const size_t n = std::min({a.size(), m.parts[1].size(), m.parts[2].size()});
  size_t head = 0, tail = 0;  // common prefix and suffix of the three names
  while (head < n && a[head] == m.parts[1][head] && a[head] == m.parts[2][head]) ++head;
  auto back = [&](const std::string& s, size_t i) { return s[s.size() - 1 - i]; };
  while (tail + head < n && back(a, tail) == back(m.parts[1], tail) &&
         back(a, tail) == back(m.parts[2], tail))
    ++tail;
  std::string middle;
  for (int i = 0; i < 3; ++i) {
    middle += (i ? "," : "") + m.parts[i].substr(head, m.parts[i].size() - head - tail);
  }
  return a.substr(0, head) + "{" + middle + "}" + a.substr(a.size() - tail);
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
    size_t index;  // of the in_proj tensor in `out`
    torch::Tensor t[3];
  };
  std::map<std::string, Parts> qkv;
  for (const auto& [name, tensor] : hf) {
    if (IsIgnored(name)) continue;
    Mapped m = Translate(name, Scheme::kHf);
    if (m.qkv < 0) {
      out.emplace_back(m.name, m.transpose ? tensor.t().contiguous() : tensor);
      continue;
    }
    auto it = qkv.find(m.name);
    if (it == qkv.end()) {
      it = qkv.emplace(m.name, Parts{out.size(), {}}).first;
      out.emplace_back(m.name, torch::Tensor());  // filled below, keeps the order
    }
    if (it->second.t[m.qkv].defined()) return InvalidArgumentError("duplicate tensor '" + name + "'");
    it->second.t[m.qkv] = tensor;
  }
  for (auto& [oc_name, parts] : qkv) {
    for (int i = 0; i < 3; ++i) {
      if (!parts.t[i].defined()) {
        return InvalidArgumentError("incomplete q/k/v projection for '" + oc_name + "': '" +
                                    Translate(oc_name, Scheme::kOc).parts[i] + "' is missing");
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
    Mapped m = Translate(name, Scheme::kOc);
    if (m.qkv < 0) {
      out.emplace_back(m.name, m.transpose ? tensor.t().contiguous() : tensor);
      continue;
    }
    auto thirds = tensor.chunk(3, 0);
    for (int i = 0; i < 3; ++i) out.emplace_back(m.parts[i], thirds[i].contiguous());
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
    // A NaN weight gave a model that evaluated at chance, without a word.
    if (!torch::isfinite(t).all().item<bool>()) {
      return InvalidArgumentError(where + ": tensor '" + p.key() +
                                  "' holds NaN or infinite values (a diverged or corrupt checkpoint)");
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
  // Opened and checked here, then loaded through the open descriptor, so the
  // file that was checked is the file that is read.
  FLYP_ASSIGN_OR_RETURN(UniqueFd fd, OpenInput(path));
  try {
    torch::jit::Module m = torch::jit::load("/proc/self/fd/" + std::to_string(fd.get()), torch::kCPU);
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
  StatusOr<std::string> magic = ReadInputFilePrefix(path, 2);
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
