#include "worker/data/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace flyp::data {
namespace {

std::vector<Shard> AllShards(int64_t n, int world, bool drop_last, uint64_t seed, int64_t epoch) {
  std::vector<Shard> shards;
  for (int r = 0; r < world; ++r) {
    SamplerOptions o;
    o.world_size = world;
    o.rank = r;
    o.seed = seed;
    o.drop_last = drop_last;
    StatusOr<DistributedSampler> s = DistributedSampler::Create(n, o);
    EXPECT_TRUE(s.ok());
    shards.push_back(s->ShardFor(epoch));
  }
  return shards;
}

TEST(Sampler, PadShardsCoverAPermutationWithoutOverlap) {
  for (int64_t n : {1, 7, 12, 13, 100}) {
    for (int world : {1, 2, 3, 5}) {
      const std::vector<Shard> shards = AllShards(n, world, false, 9, 2);
      const size_t per = static_cast<size_t>((n + world - 1) / world);
      std::vector<int64_t> real;
      int64_t pads = 0;
      for (const Shard& s : shards) {
        ASSERT_EQ(s.indices.size(), per) << n << " " << world;  // equal lengths
        for (size_t j = 0; j < per; ++j) {
          if (s.padding[j]) {
            ++pads;
          } else {
            real.push_back(s.indices[j]);
          }
        }
      }
      std::sort(real.begin(), real.end());
      std::vector<int64_t> expect(static_cast<size_t>(n));
      std::iota(expect.begin(), expect.end(), 0);
      EXPECT_EQ(real, expect) << n << " " << world;  // union == permutation, no overlap
      EXPECT_EQ(pads, static_cast<int64_t>(per) * world - n);
    }
  }
}

TEST(Sampler, DropShardsAreDisjointAndEqual) {
  const std::vector<Shard> shards = AllShards(13, 3, true, 1, 0);
  std::vector<int64_t> all;
  for (const Shard& s : shards) {
    ASSERT_EQ(s.indices.size(), 4u);
    for (bool p : s.padding) EXPECT_FALSE(p);
    all.insert(all.end(), s.indices.begin(), s.indices.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::unique(all.begin(), all.end()), all.end());
  EXPECT_EQ(all.size(), 12u);
}

TEST(Sampler, DeterministicPerEpochAndShuffledAcrossEpochs) {
  const std::vector<Shard> a = AllShards(50, 2, false, 3, 1), b = AllShards(50, 2, false, 3, 1);
  const std::vector<Shard> c = AllShards(50, 2, false, 3, 2), d = AllShards(50, 2, false, 4, 1);
  EXPECT_EQ(a[0].indices, b[0].indices);
  EXPECT_EQ(a[1].indices, b[1].indices);
  EXPECT_NE(a[0].indices, c[0].indices);
  EXPECT_NE(a[0].indices, d[0].indices);
  // Strided: rank r takes positions r, r + W, ... of the epoch order.
  SamplerOptions o;
  o.world_size = 2;
  o.rank = 1;
  o.seed = 3;
  const std::vector<int64_t> order = DistributedSampler::Create(50, o)->EpochOrder(1);
  for (size_t j = 0; j < 25; ++j) EXPECT_EQ(a[1].indices[j], order[1 + 2 * j]);
}

TEST(Sampler, NoShuffleKeepsOrderAndPadsByWrapping) {
  SamplerOptions o;
  o.world_size = 4;
  o.rank = 3;
  o.shuffle = false;
  const Shard s = DistributedSampler::Create(6, o)->ShardFor(0);
  // Positions 3 and 7 of [0..5, 0, 1].
  EXPECT_EQ(s.indices, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(s.padding, (std::vector<bool>{false, true}));
}

TEST(Sampler, RejectsBadRank) {
  SamplerOptions o;
  o.world_size = 2;
  o.rank = 2;
  EXPECT_FALSE(DistributedSampler::Create(10, o).ok());
  o.world_size = 0;
  o.rank = 0;
  EXPECT_FALSE(DistributedSampler::Create(10, o).ok());
}

}  // namespace
}  // namespace flyp::data
