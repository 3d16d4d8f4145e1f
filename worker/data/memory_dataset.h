// A Dataset over examples held in memory: the in-tree fake for tests and a
// container for synthetic data. Get(i) returns a copy of example i; examples
// listed in `failing` return an INVALID_ARGUMENT error instead (to test error
// paths). Thread-safe (immutable after construction).
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "worker/data/dataset.h"

namespace flyp::data {

class MemoryDataset : public Dataset {
 public:
  MemoryDataset(std::vector<Example> examples, std::vector<std::string> class_names,
                std::set<int64_t> failing = {})
      : examples_(std::move(examples)), class_names_(std::move(class_names)), failing_(std::move(failing)) {}

  int64_t size() const override { return static_cast<int64_t>(examples_.size()); }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  StatusOr<Example> Get(int64_t i) const override {
    if (failing_.count(i))
      return InvalidArgumentError("memory example " + std::to_string(i) + " is marked failing");
    return examples_[static_cast<size_t>(i)];
  }
  int64_t label(int64_t i) const override { return examples_[static_cast<size_t>(i)].label; }
  std::string Describe(int64_t i) const override { return "memory example " + std::to_string(i); }

 private:
  std::vector<Example> examples_;
  std::vector<std::string> class_names_;
  std::set<int64_t> failing_;
};

}  // namespace flyp::data
