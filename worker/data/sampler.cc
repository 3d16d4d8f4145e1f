#include "worker/data/sampler.h"

#include <numeric>
#include <string>

#include "worker/data/random.h"

namespace flyp::data {

StatusOr<DistributedSampler> DistributedSampler::Create(int64_t dataset_size, const SamplerOptions& o) {
  if (o.world_size < 1)
    return InvalidArgumentError("sampler: world_size must be >= 1, got " + std::to_string(o.world_size));
  if (o.rank < 0 || o.rank >= o.world_size) {
    return InvalidArgumentError("sampler: rank " + std::to_string(o.rank) + " is not in [0, " +
                                std::to_string(o.world_size) + ")");
  }
  if (dataset_size < 0) return InvalidArgumentError("sampler: negative dataset size");
  const int64_t w = o.world_size;
  const int64_t per_rank = o.drop_last ? dataset_size / w : (dataset_size + w - 1) / w;
  return DistributedSampler(dataset_size, o, per_rank);
}

std::vector<int64_t> DistributedSampler::EpochOrder(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(size_));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (options_.shuffle) {
    Rng rng(MixSeed({options_.seed, static_cast<uint64_t>(epoch), 0x73616d70ULL}));
    rng.Shuffle(&order);
  }
  return order;
}

Shard DistributedSampler::ShardFor(int64_t epoch) const {
  Shard shard;
  if (per_rank_ == 0) return shard;
  const std::vector<int64_t> order = EpochOrder(epoch);
  shard.indices.reserve(static_cast<size_t>(per_rank_));
  shard.padding.reserve(static_cast<size_t>(per_rank_));
  for (int64_t j = 0; j < per_rank_; ++j) {
    const int64_t pos = options_.rank + j * options_.world_size;
    shard.indices.push_back(order[static_cast<size_t>(pos % size_)]);
    shard.padding.push_back(pos >= size_);
  }
  return shard;
}

}  // namespace flyp::data
