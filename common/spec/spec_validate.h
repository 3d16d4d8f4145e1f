// The one pure validation function of a job spec. It sees the spec after
// defaults were applied and returns every problem, each with its field path,
// e.g. {"resources.world_size", "must be >= 1 (got 0)"}. It reads no files
// and touches no global state, so the coordinator and flypctl agree.
//
// Besides each field's own rule, every value must be in the range below:
// with these, every product or sum of spec numbers the coordinator and the
// worker compute fits its type (they are checked in 64 bits anyway), and no
// small spec asks for unbounded work. Messages from gRPC clients are
// checked for what YAML cannot express: non-finite floats, invalid
// google.protobuf.Duration values, oversized strings and lists.
#pragma once

#include <cstdint>
#include <vector>

#include "common/spec/spec_yaml.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp {

// Upper bounds of spec values (docs/security.md).
inline constexpr int kMaxWorldSize = 4096;        // resources.world_size
inline constexpr int kMaxSlotsPerRank = 1024;     // resources.slots_per_rank
inline constexpr int kMaxThreadsPerRank = 1024;   // resources.threads_per_rank
inline constexpr int kMaxBucketMib = 4096;        // resources.bucket_mib
inline constexpr int kMaxBatchSize = 1 << 24;     // schedule.batch_size (global)
inline constexpr int kMaxEpochs = 1000000;        // schedule.epochs
inline constexpr int kMaxLoaderThreads = 256;     // data.loader_threads
inline constexpr int kMaxPrefetchBatches = 1024;  // data.prefetch_batches
inline constexpr int kMaxLpSteps = 1000000;       // method.lp_steps
inline constexpr int kMaxBackoffLimit = 1000;     // run_policy.backoff_limit
inline constexpr int kMaxKShot = 1 << 20;         // data.<split>.k_shot
inline constexpr size_t kMaxNameBytes = 128;      // name, data.<split>.name
inline constexpr size_t kMaxPathBytes = 4096;     // every path field (PATH_MAX)
inline constexpr int kMaxOodSplits = 64;          // data.ood
inline constexpr int kMaxShifts = 16;             // data.<split>.shifts
inline constexpr int kMaxWiseFtAlphas = 101;      // wise_ft.alphas
inline constexpr int kMaxLpL2Grid = 64;           // method.lp_l2_grid
inline constexpr int kMaxCustomTemplates = 1024;  // data.templates.custom
// The architecture (model.architecture, presets included).
inline constexpr int kMaxModelWidth = 16384;                 // embed_dim, vision/text width
inline constexpr int kMaxModelLayers = 256;                  // vision/text layers
inline constexpr int kMaxImageSize = 4096;                   // vision.image_size
inline constexpr int64_t kMaxImageTokens = 16384;            // (image_size / patch_size)^2
inline constexpr int kMaxContextLength = 4096;               // text.context_length
inline constexpr int kMaxVocabSize = 1 << 24;                // text.vocab_size
inline constexpr float kMaxMlpRatio = 64;                    // vision/text mlp_ratio
inline constexpr int64_t kMaxModelParameters = 20000000000;  // estimated from the architecture

std::vector<FieldError> ValidateJobSpec(const v1::JobSpec& spec);
// The model section alone (preset, architecture and its bounds, vocab), as
// for a spec that only names a model (flyp-worker encode); a checkpoint is
// not required. Paths are "model.*".
std::vector<FieldError> ValidateModelSpec(const v1::ModelSpec& model);

// Names accepted by data.templates.builtin.
const std::vector<std::string>& BuiltinTemplateSetNames();

}  // namespace flyp
