// CLIP checkpoints: loading OpenAI / open_clip / HuggingFace weights into a
// ClipModel, saving ours (safetensors, open_clip names), and building a model
// from the job spec. See docs/models.md for how users bring weights.
//
// Accepted files:
//   *.safetensors with open_clip / OpenAI names ("visual.conv1.weight", ...),
//     optionally prefixed "module." (DDP checkpoints);
//   *.safetensors with HuggingFace CLIPModel names ("vision_model.*",
//     "text_model.*", "visual_projection.weight", "text_projection.weight");
//   OpenAI's released TorchScript archives (ViT-B-32.pt ...): any file that
//     starts with the zip magic "PK" is opened with torch::jit::load and its
//     parameters and buffers are read under their OpenAI names.
// The naming scheme is detected from the tensor names. Tensors that are not
// weights are ignored: "*position_ids", "input_resolution", "context_length",
// "vocab_size", "*attn_mask".
//
// Errors: those of SafetensorsReader (NOT_FOUND, DATA_LOSS,
// INVALID_ARGUMENT); a TorchScript archive that fails to load: DATA_LOSS;
// INVALID_ARGUMENT naming the file and scheme for a missing tensor, extra
// tensors (the first few listed), a shape mismatch (both shapes), an
// incomplete q/k/v triple, a tensor holding NaN or infinite values; the
// errors of common/confine.h for a file outside the data roots. Floating tensors of any supported precision
// are converted to the model's dtype; the model is unchanged unless every check passes.
//
// Thread safety: the model must not be used by other threads while loading.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/model/clip.h"
#include "worker/model/safetensors.h"

namespace flyp::model {

enum class CheckpointScheme { kOpenClip, kHuggingFace };
const char* CheckpointSchemeName(CheckpointScheme scheme);  // "open_clip" | "huggingface"

// HuggingFace if any name starts with "vision_model.", "text_model.",
// "visual_projection." or "text_projection.weight"; open_clip otherwise.
CheckpointScheme DetectCheckpointScheme(const NamedTensors& tensors);

// HuggingFace CLIPModel names -> open_clip names: q/k/v projections merged
// into in_proj (rows q | k | v), visual_projection / text_projection
// transposed, position_ids dropped. Names it does not know are passed through
// unchanged (LoadClipStateDict then reports them as unexpected).
// INVALID_ARGUMENT when a q/k/v triple is incomplete or inconsistent.
StatusOr<NamedTensors> MapHfToOpenClip(const NamedTensors& hf);

// The inverse: open_clip names -> HuggingFace CLIPModel names (in_proj split
// into q/k/v, projections transposed). Unknown names pass through unchanged.
// Both directions read one name table (checkpoint.cc), so on known names
// each undoes the other exactly.
NamedTensors MapOpenClipToHf(const NamedTensors& open_clip);

// Copies `tensors` (either scheme) into `model` after checking that every
// parameter is present exactly once with the right shape and that nothing
// else is. `source` names the origin in error messages (usually the path).
Status LoadClipStateDict(const NamedTensors& tensors, ClipModel& model, const std::string& source);

// Reads `path` (safetensors or OpenAI TorchScript, see above) into `model`.
Status LoadClipCheckpoint(const std::string& path, ClipModel& model);

// The tensors of a TorchScript archive (named parameters and buffers,
// recursively), in the archive's order. DATA_LOSS if it cannot be loaded.
StatusOr<NamedTensors> ReadTorchScriptTensors(const std::string& path);

// Writes every parameter under its open_clip name, in the model's dtype, to a
// safetensors file (atomically). `metadata` is stored in __metadata__, with
// "format": "pt" added unless given.
Status SaveClipCheckpoint(const std::string& path, const ClipModel& model,
                          const std::map<std::string, std::string>& metadata = {});

// Resolves `spec.preset` + `spec.architecture` (flyp::ResolveArchitecture),
// builds the model (random init), loads `spec.checkpoint` when set and
// converts to `spec.dtype` (float32 | float16 | bfloat16; default float32).
// The model is on the CPU. Callers that need shared ownership (for
// torch::nn::Module::modules() or clone()) can move the unique_ptr into a
// std::shared_ptr.
StatusOr<std::unique_ptr<ClipModel>> BuildClipModel(const v1::ModelSpec& spec);

}  // namespace flyp::model
