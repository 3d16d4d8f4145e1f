// Deterministic random numbers for the data layer.
//
// Everything random in data loading (shuffles, k-shot picks, crops, noise) is
// a pure function of integers such as (seed, epoch, index): MixSeed() hashes
// them into one 64-bit seed and Rng expands it. The generators and the
// distributions are our own (xoshiro256** seeded by splitmix64, Box-Muller
// normals), not <random>'s distributions, so streams are identical across
// standard libraries and platforms.
//
// Thread safety: an Rng is a value; use one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace flyp::data {

// Order-sensitive hash of the given integers (splitmix64 chain).
uint64_t MixSeed(std::initializer_list<uint64_t> parts);

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t Next();
  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [lo, hi] (inclusive); requires lo <= hi. Unbiased.
  int64_t UniformInt(int64_t lo, int64_t hi);
  // Standard normal (Box-Muller, one value per call).
  double Normal();

  // Fisher-Yates shuffle driven by this generator.
  template <typename T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(UniformInt(0, static_cast<int64_t>(i) - 1));
      std::swap((*v)[i - 1], (*v)[j]);
    }
  }

 private:
  uint64_t s_[4];
};

}  // namespace flyp::data
