// The dataset interface of the data layer: an indexed, immutable collection
// of examples (a decoded image, an optional class label, an optional
// caption). Implementations: Fashion-MNIST IDX (fashion_mnist.h), file lists
// from an image folder or a CSV (file_list_dataset.h), in-memory examples
// (memory_dataset.h, also the test fake), and index subsets (subset.h).
// Build one from a job spec's DataSource with OpenDataset (open_dataset.h).
//
// Thread safety: every method is const and may be called concurrently from
// any number of threads (the loader's workers do).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/data/image.h"

namespace flyp::data {

// The most classes a dataset may have, however they are given (class names
// in the spec or a file, image-folder sub-folders, CSV labels): a one-line
// CSV with label 999999999 asked for 10^9 class names. ImageNet-21k has
// 21,841.
inline constexpr int kMaxClasses = 65536;

struct Example {
  Image image;          // decoded, before any transform
  int64_t label = -1;   // class index in [0, num_classes), -1 when unlabelled
  std::string caption;  // csv_caption data; empty otherwise
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual int64_t size() const = 0;
  // 0 for unlabelled (caption) data.
  int num_classes() const { return static_cast<int>(class_names().size()); }
  // Class names in label order.
  virtual const std::vector<std::string>& class_names() const = 0;
  // Decodes example i (0 <= i < size()). Errors name the underlying file.
  virtual StatusOr<Example> Get(int64_t i) const = 0;
  // The label of example i without decoding its image (-1: unlabelled).
  virtual int64_t label(int64_t i) const = 0;
  // Where example i comes from, for messages ("path/x.png", "idx #12").
  virtual std::string Describe(int64_t i) const = 0;
};

}  // namespace flyp::data
