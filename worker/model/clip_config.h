// The resolved, validated dimensions of a CLIP model, and the table of its
// parameters (open_clip state-dict names and shapes) derived from them.
//
// The table is the single source of truth for names and shapes: ClipModel
// registers exactly these parameters in this order (clip_test checks it), so
// parameter counts of ViT-L models can be computed without allocating them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace flyp::model {

struct TowerConfig {
  int64_t width = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t mlp_width = 0;  // int(width * mlp_ratio), as open_clip
};

struct ClipConfig {
  int64_t embed_dim = 0;
  TowerConfig vision;
  int64_t patch_size = 0;
  int64_t image_size = 0;
  TowerConfig text;
  int64_t context_length = 0;
  int64_t vocab_size = 0;
  bool quick_gelu = false;  // x * sigmoid(1.702 x) instead of erf GELU

  int64_t grid_size() const { return image_size / patch_size; }
  int64_t num_image_tokens() const { return grid_size() * grid_size() + 1; }
};

// The checks of ClipConfigFromArchitecture (clip_architecture.h) on a
// config (used by the ClipModel constructor, which throws
// std::invalid_argument on failure): positive sizes, heads dividing width,
// image size a multiple of the patch size.
Status ValidateClipConfig(const ClipConfig& config);

struct ParameterShape {
  std::string name;  // open_clip state-dict name, e.g. "visual.conv1.weight"
  std::vector<int64_t> shape;
  int64_t numel() const;
};

// Every learnable tensor of the model, in the order of OpenAI's / open_clip's
// state dict (which is also ClipModel's named_parameters() order).
std::vector<ParameterShape> ClipParameterShapes(const ClipConfig& config);

// Sum of numel() over ClipParameterShapes (logit_scale included).
int64_t ClipParameterCount(const ClipConfig& config);

}  // namespace flyp::model
