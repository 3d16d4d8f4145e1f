// Index subsets of a dataset: offset/limit windows and seeded k-shot
// sampling, as DataSource.offset / limit / k_shot ask.
//
// Thread safety: SubsetDataset is immutable; the functions are pure.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/data/dataset.h"

namespace flyp::data {

// Dataset view whose example i is base example indices[i].
class SubsetDataset : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, std::vector<int64_t> indices)
      : base_(std::move(base)), indices_(std::move(indices)) {}

  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  const std::vector<std::string>& class_names() const override { return base_->class_names(); }
  StatusOr<Example> Get(int64_t i) const override { return base_->Get(indices_[static_cast<size_t>(i)]); }
  int64_t label(int64_t i) const override { return base_->label(indices_[static_cast<size_t>(i)]); }
  std::string Describe(int64_t i) const override { return base_->Describe(indices_[static_cast<size_t>(i)]); }

  // Index in the base dataset of example i.
  int64_t base_index(int64_t i) const { return indices_[static_cast<size_t>(i)]; }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<int64_t> indices_;
};

// Indices [offset, offset + limit) of [0, size) (limit 0: to the end).
// INVALID_ARGUMENT when offset or limit is negative or offset > size.
StatusOr<std::vector<int64_t>> OffsetLimit(int64_t size, int64_t offset, int64_t limit);

// k examples of every class, chosen by a seeded shuffle of each class's
// members of `indices`; returned in ascending order. Unlabelled examples are
// skipped. INVALID_ARGUMENT naming the class when it has fewer than k.
StatusOr<std::vector<int64_t>> KShot(const Dataset& dataset, const std::vector<int64_t>& indices, int k,
                                     uint64_t seed);

}  // namespace flyp::data
