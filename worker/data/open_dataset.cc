#include "worker/data/open_dataset.h"

#include <filesystem>
#include <sstream>

#include "common/confine.h"
#include "common/file_util.h"
#include "worker/data/decode.h"
#include "worker/data/fashion_mnist.h"
#include "worker/data/file_list_dataset.h"
#include "worker/data/shifts.h"
#include "worker/data/subset.h"

namespace flyp::data {
namespace {

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (base_dir.empty() || path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

template <typename T>
StatusOr<std::unique_ptr<Dataset>> Upcast(StatusOr<std::unique_ptr<T>> r) {
  if (!r.ok()) return r.status();
  return std::unique_ptr<Dataset>(std::move(r).value());
}

StatusOr<std::unique_ptr<Dataset>> OpenBase(const v1::DataSource& source, const std::string& path,
                                            std::vector<std::string> class_names) {
  switch (source.format()) {
    case v1::DATA_FORMAT_FASHION_MNIST:
      return Upcast(FashionMnistDataset::Open(path, source.has_split() ? source.split() : "train",
                                              std::move(class_names)));
    case v1::DATA_FORMAT_IMAGE_FOLDER:
      if (path.empty()) return InvalidArgumentError("path: required for format image_folder");
      return Upcast(OpenImageFolder(path, std::move(class_names)));
    case v1::DATA_FORMAT_CSV_LABEL:
      if (path.empty()) return InvalidArgumentError("path: required for format csv_label");
      return Upcast(OpenCsvLabels(path, std::move(class_names)));
    case v1::DATA_FORMAT_CSV_CAPTION:
      if (path.empty()) return InvalidArgumentError("path: required for format csv_caption");
      return Upcast(OpenCsvCaptions(path));
    default:
      return InvalidArgumentError(
          "format: must be one of fashion_mnist, image_folder, csv_label, csv_caption");
  }
}

StatusOr<std::unique_ptr<Dataset>> OpenUnprefixed(const v1::DataSource& source, const OpenOptions& options) {
  for (const v1::Shift& shift : source.shifts()) FLYP_RETURN_IF_ERROR(ValidateShift(shift));
  if (source.class_names_size() > kMaxClasses) {
    return InvalidArgumentError("class_names: " + std::to_string(source.class_names_size()) +
                                " names, more than the limit of " + std::to_string(kMaxClasses));
  }
  std::vector<std::string> class_names(source.class_names().begin(), source.class_names().end());
  if (class_names.empty() && !source.class_names_file().empty()) {
    FLYP_ASSIGN_OR_RETURN(class_names,
                          ReadClassNamesFile(Resolve(options.base_dir, source.class_names_file())));
  }
  FLYP_ASSIGN_OR_RETURN(std::unique_ptr<Dataset> base,
                        OpenBase(source, Resolve(options.base_dir, source.path()), std::move(class_names)));
  FLYP_ASSIGN_OR_RETURN(std::vector<int64_t> indices,
                        OffsetLimit(base->size(), source.offset(), source.limit()));
  if (source.k_shot() != 0) {
    if (base->num_classes() == 0) return InvalidArgumentError("k_shot: needs labelled data");
    FLYP_ASSIGN_OR_RETURN(indices,
                          KShot(*base, indices, source.k_shot(), static_cast<uint64_t>(source.seed())));
  }
  if (indices.empty()) {
    return InvalidArgumentError("no examples (dataset has " + std::to_string(base->size()) +
                                "; check path, split, offset and limit)");
  }
  if (static_cast<int64_t>(indices.size()) == base->size()) return base;  // identity subset
  return std::unique_ptr<Dataset>(
      new SubsetDataset(std::shared_ptr<const Dataset>(std::move(base)), std::move(indices)));
}

}  // namespace

StatusOr<std::unique_ptr<Dataset>> OpenDataset(const v1::DataSource& source, const OpenOptions& options) {
  StatusOr<std::unique_ptr<Dataset>> r = OpenUnprefixed(source, options);
  if (!r.ok()) return r.status().WithContext("data source '" + source.name() + "'");
  return r;
}

StatusOr<std::vector<std::string>> ReadClassNamesFile(const std::string& path) {
  FLYP_ASSIGN_OR_RETURN(std::string text, ReadInputFile(path, kMaxConfigFileBytes));
  std::vector<std::string> names;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const size_t e = line.find_last_not_of(" \t\r");
    if (names.size() >= static_cast<size_t>(kMaxClasses)) {
      return InvalidArgumentError("class names file '" + path + "' lists more than " +
                                  std::to_string(kMaxClasses) + " names");
    }
    names.push_back(line.substr(b, e - b + 1));
  }
  if (names.empty()) return InvalidArgumentError("class names file '" + path + "' lists no names");
  return names;
}

}  // namespace flyp::data
