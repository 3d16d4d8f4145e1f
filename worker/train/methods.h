// The per-method pieces of training (ARCHITECTURE §4): the FLYP / CLIP
// contrastive step, the cross-entropy step of FT / L2-SP / LP-FT, and the
// linear probe. The orchestration (which to run, evaluation, WiSE-FT) is in
// job_runner.h.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/data/loader.h"
#include "worker/dist/communicator.h"
#include "worker/model/clip.h"
#include "worker/optim/optimizer.h"
#include "worker/text/tokenizer.h"
#include "worker/train/classifier.h"
#include "worker/train/train_loop.h"

namespace flyp::train {

// The template drawn for the example with dataset index `index` at `step`:
// a fresh uniform draw each time an image is seen (FLYP Algorithm 1),
// reproducible from (seed, step, index) alone.
size_t DrawTemplate(uint64_t seed, int64_t step, int64_t index, size_t num_templates);

// Captions of a batch: its own captions (csv_caption data) or, for labelled
// data, a drawn template filled with the class name.
std::vector<std::string> BatchCaptions(const data::Batch& batch, const std::vector<std::string>& class_names,
                                       const std::vector<std::string>& templates, uint64_t seed,
                                       int64_t step);

// Freezes / unfreezes the towers and logit_scale as method.train_* say and
// returns the trainable parameters by name.
optim::NamedTensors SetTrainable(model::ClipModel& model, const v1::MethodSpec& method);

// logit_scale clamped to [0, ln 100] in place (after every step).
void ClampLogitScale(model::ClipModel& model);

// What a training step works with besides its batch: the run's model, text
// side, world and spec. Every member is borrowed from the run (job_setup.h
// JobInputs) and outlives the steps.
struct StepContext {
  model::ClipModel& model;
  const text::Tokenizer& tokenizer;
  dist::Communicator& comm;
  const v1::JobSpec& spec;
  const std::vector<std::string>& class_names;  // captions of labelled data
  const std::vector<std::string>& templates;    // drawn per example and step
  torch::Device device;
};

// The contrastive (FLYP / CLIP) loss of one batch over the global batch.
// With optim.accum_steps = k > 1 the batch runs as k micro-batches through
// GradCacheStep (embedding caching: the loss still spans the whole global
// batch) and the step backpropagates itself: the returned StepLoss has no
// `backward` tensor. With resources.precision bfloat16 the encoders
// run under bf16 autocast; the loss always runs in float32.
StepLoss ContrastiveStep(const StepContext& ctx, const data::Batch& batch, int64_t step);

// Cross-entropy of head(encode_image(x)) (+ L2-SP penalty toward `anchor`
// when l2sp_weight > 0: weight · Σ‖θ − θ₀‖² over the image tower).
// With optim.accum_steps = k > 1: k micro-batches, each backpropagated
// with its share of the mean, and no `backward` tensor returned (as
// ContrastiveStep). Autocast as ContrastiveStep. Uses ctx's model, spec and
// device only.
// (live parameter, its value at the start of finetuning) for L2-SP.
using L2spAnchor = std::vector<std::pair<torch::Tensor, torch::Tensor>>;
StepLoss ClassifierStep(const StepContext& ctx, LinearHead& head, const L2spAnchor& anchor,
                        const data::Batch& batch);

struct LinearProbeResult {
  LinearHead head{nullptr};
  double l2 = 0;
  double val_accuracy = 0;
};

// Trains a linear head on frozen features (full batch, AdamW for lp_steps,
// loss CE + l2·‖W‖²) for every l2 in the grid, each from the zero-shot head,
// and keeps the one with the best accuracy on the validation features.
// Deterministic: every rank computes the same head from the same features.
LinearProbeResult LinearProbe(const torch::Tensor& train_x, const torch::Tensor& train_y,
                              const torch::Tensor& val_x, const torch::Tensor& val_y,
                              const torch::Tensor& zeroshot_head, double scale, const v1::MethodSpec& method);

}  // namespace flyp::train
