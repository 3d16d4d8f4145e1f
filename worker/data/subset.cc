#include "worker/data/subset.h"

#include <algorithm>

#include "worker/data/random.h"

namespace flyp::data {

StatusOr<std::vector<int64_t>> OffsetLimit(int64_t size, int64_t offset, int64_t limit) {
  if (offset < 0) return InvalidArgumentError("offset must be >= 0, got " + std::to_string(offset));
  if (limit < 0) return InvalidArgumentError("limit must be >= 0, got " + std::to_string(limit));
  if (offset > size) {
    return InvalidArgumentError("offset " + std::to_string(offset) + " is beyond the " +
                                std::to_string(size) + " examples");
  }
  // offset <= size here, so size - offset cannot overflow (offset + limit can).
  const int64_t end = limit == 0 || limit >= size - offset ? size : offset + limit;
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(end - offset));
  for (int64_t i = offset; i < end; ++i) out.push_back(i);
  return out;
}

StatusOr<std::vector<int64_t>> KShot(const Dataset& dataset, const std::vector<int64_t>& indices, int k,
                                     uint64_t seed) {
  if (k < 0) return InvalidArgumentError("k_shot must be >= 0, got " + std::to_string(k));
  const int classes = dataset.num_classes();
  std::vector<std::vector<int64_t>> members(classes);
  for (int64_t i : indices) {
    const int64_t y = dataset.label(i);
    if (y >= 0 && y < classes) members[static_cast<size_t>(y)].push_back(i);
  }
  std::vector<int64_t> out;
  for (int c = 0; c < classes; ++c) {
    auto& m = members[static_cast<size_t>(c)];
    if (static_cast<int64_t>(m.size()) < k) {
      return InvalidArgumentError("k_shot " + std::to_string(k) + " is larger than the " +
                                  std::to_string(m.size()) + " examples of class " + std::to_string(c) +
                                  " '" + dataset.class_names()[c] + "'");
    }
    Rng rng(MixSeed({seed, static_cast<uint64_t>(c), 0x6b73686fULL}));
    rng.Shuffle(&m);
    out.insert(out.end(), m.begin(), m.begin() + k);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace flyp::data
