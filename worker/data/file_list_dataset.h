// Datasets whose examples are image files: an image folder (one sub-folder
// per class) or a CSV of `path,label` or `path,caption` rows. Images are
// decoded on each Get (decode.h); errors name the file.
//
// Image folder: classes are the sub-folders in sorted (byte) order, skipping
// names starting with '.'; each class's files with extension .jpg, .jpeg or
// .png (any case) in sorted order. A class folder without images is an
// error (as torchvision's ImageFolder).
//
// CSV: two columns; a first row whose first field is "path", "file",
// "filename" or "image" (any case) is a header. Relative paths are resolved
// against the CSV's folder. Labels: with class names given (override or
// class_names_file) a label is a class name or an integer index into them;
// without, all-integer labels are indices (class names "0".."max") and
// otherwise the class names are the distinct labels in sorted order.
// Errors give the 1-based line: unknown class name, index out of range,
// wrong number of fields, empty path.
//
// The CSV is read whole (ReadFileToString) within kMaxCsvFileBytes.
//
// Thread safety: immutable after construction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "worker/data/dataset.h"

namespace flyp::data {

// The largest CSV read: ImageNet's 1.28M caption rows are about 150 MB.
inline constexpr size_t kMaxCsvFileBytes = 1024 * kMiB;

struct FileEntry {
  std::string path;
  int64_t label = -1;
  std::string caption;
};

class FileListDataset : public Dataset {
 public:
  FileListDataset(std::vector<FileEntry> entries, std::vector<std::string> class_names)
      : entries_(std::move(entries)), class_names_(std::move(class_names)) {}

  int64_t size() const override { return static_cast<int64_t>(entries_.size()); }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  StatusOr<Example> Get(int64_t i) const override;
  int64_t label(int64_t i) const override { return entries_[static_cast<size_t>(i)].label; }
  std::string Describe(int64_t i) const override { return "'" + entries_[static_cast<size_t>(i)].path + "'"; }

  const std::vector<FileEntry>& entries() const { return entries_; }

 private:
  std::vector<FileEntry> entries_;
  std::vector<std::string> class_names_;
};

// class_names non-empty: must have as many names as there are class folders.
StatusOr<std::unique_ptr<FileListDataset>> OpenImageFolder(const std::string& dir,
                                                           std::vector<std::string> class_names = {});
StatusOr<std::unique_ptr<FileListDataset>> OpenCsvLabels(const std::string& csv_path,
                                                         std::vector<std::string> class_names = {});
StatusOr<std::unique_ptr<FileListDataset>> OpenCsvCaptions(const std::string& csv_path);

}  // namespace flyp::data
