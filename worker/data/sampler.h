// Distributed sampler: which dataset indices each rank reads in an epoch,
// as torch.utils.data.DistributedSampler does it.
//
// Each epoch the indices [0, N) are shuffled with (seed, epoch) (or kept in
// order when shuffle is off). Then, so that every rank gets the same number
// of samples S:
//   pad  (drop_last false): S = ceil(N / W); the list is extended to S*W by
//        wrapping around to its beginning (repeating it if N < W);
//   drop (drop_last true):  S = floor(N / W); the tail beyond S*W is dropped.
// Rank r takes positions r, r + W, r + 2W, ... of that list. Over all ranks
// the shards are disjoint (positions), cover every index once (pad: plus
// S*W - N duplicates marked as padding) and are identical for every caller
// with the same arguments.
//
// Thread safety: immutable; Shard() may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/status.h"

namespace flyp::data {

struct SamplerOptions {
  int world_size = 1;
  int rank = 0;
  bool shuffle = true;
  uint64_t seed = 0;
  bool drop_last = false;  // see above: drop the tail instead of padding
};

struct Shard {
  std::vector<int64_t> indices;  // dataset indices, in reading order
  std::vector<bool> padding;     // true where the index is a wrap-around duplicate
};

class DistributedSampler {
 public:
  // INVALID_ARGUMENT unless world_size >= 1, 0 <= rank < world_size and
  // dataset_size >= 0.
  static StatusOr<DistributedSampler> Create(int64_t dataset_size, const SamplerOptions& options);

  // Samples per rank per epoch (S above).
  int64_t samples_per_rank() const { return per_rank_; }
  const SamplerOptions& options() const { return options_; }

  // This rank's indices for `epoch`.
  Shard ShardFor(int64_t epoch) const;
  // The full epoch order before sharding (length N), for tests and tools.
  std::vector<int64_t> EpochOrder(int64_t epoch) const;

 private:
  DistributedSampler(int64_t n, const SamplerOptions& o, int64_t per_rank)
      : size_(n), options_(o), per_rank_(per_rank) {}

  int64_t size_;
  SamplerOptions options_;
  int64_t per_rank_;
};

}  // namespace flyp::data
