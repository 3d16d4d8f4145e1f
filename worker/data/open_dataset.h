// Builds the dataset a job spec's DataSource describes:
//   format fashion_mnist | image_folder | csv_label | csv_caption at `path`
//   (fashion_mnist: the IDX directory, default FLYP_FASHION_MNIST_DIR, and
//   `split`), class names from `class_names`, else `class_names_file` (one
//   name per line, blank lines ignored), else the format's own;
//   then examples [offset, offset + limit) in dataset order, then, when
//   k_shot > 0, k examples per class drawn with `seed` from that window
//   (ascending order kept). Shifts are validated here but applied by the
//   loader (transform.h), which needs the source's shifts and seed.
//
// Errors (INVALID_ARGUMENT / NOT_FOUND) start with "data source '<name>'"
// and name the file, line, class or field at fault; an empty result is an
// error.
//
// Thread safety: pure function; the returned dataset is immutable.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/data/dataset.h"

namespace flyp::data {

struct OpenOptions {
  // Relative `path` and `class_names_file` are resolved against this folder
  // (empty: the working directory).
  std::string base_dir;
};

StatusOr<std::unique_ptr<Dataset>> OpenDataset(const v1::DataSource& source, const OpenOptions& options = {});

// One class name per line (surrounding whitespace trimmed, blank lines
// skipped). NOT_FOUND naming the file; INVALID_ARGUMENT when empty.
StatusOr<std::vector<std::string>> ReadClassNamesFile(const std::string& path);

}  // namespace flyp::data
