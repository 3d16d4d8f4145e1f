#include "worker/data/fashion_mnist.h"

#include <sys/stat.h>

#include "common/env.h"
#include "worker/data/idx.h"

namespace flyp::data {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The first existing file among <dir>/<prefix>-<kind>[.gz] for the prefixes.
StatusOr<std::string> FindFile(const std::string& dir, const std::vector<std::string>& prefixes,
                               const std::string& kind) {
  std::string tried;
  for (const std::string& prefix : prefixes) {
    for (const char* ext : {".gz", ""}) {
      const std::string path = dir + "/" + prefix + "-" + kind + ext;
      if (Exists(path)) return path;
      tried += (tried.empty() ? "" : ", ") + path;
    }
  }
  return NotFoundError("fashion_mnist: no file found; tried " + tried);
}

}  // namespace

StatusOr<std::unique_ptr<FashionMnistDataset>> FashionMnistDataset::Open(
    std::string dir, const std::string& split, std::vector<std::string> class_names) {
  if (dir.empty()) dir = EnvString(env::kFashionMnistDir);
  std::vector<std::string> prefixes;
  if (split == "train") {
    prefixes = {"train"};
  } else if (split == "test") {
    prefixes = {"t10k", "test"};
  } else {
    return InvalidArgumentError("fashion_mnist: split must be 'train' or 'test', got '" + split + "'");
  }
  if (!class_names.empty() && class_names.size() != 10) {
    return InvalidArgumentError("fashion_mnist: class_names must list 10 names, got " +
                                std::to_string(class_names.size()));
  }
  FLYP_ASSIGN_OR_RETURN(std::string images_path, FindFile(dir, prefixes, "images-idx3-ubyte"));
  FLYP_ASSIGN_OR_RETURN(std::string labels_path, FindFile(dir, prefixes, "labels-idx1-ubyte"));
  FLYP_ASSIGN_OR_RETURN(IdxArray images, ReadIdxFile(images_path));
  FLYP_ASSIGN_OR_RETURN(IdxArray labels, ReadIdxFile(labels_path));
  if (images.dims.size() != 3 || images.dims[1] == 0 || images.dims[2] == 0) {
    return InvalidArgumentError("'" + images_path +
                                "': expected 3 dimensions [count, rows, cols] (magic 0x00000803)");
  }
  if (images.dims[1] > kMaxIdxImageSide || images.dims[2] > kMaxIdxImageSide) {
    return InvalidArgumentError("'" + images_path + "': images of " + std::to_string(images.dims[1]) + "x" +
                                std::to_string(images.dims[2]) + " pixels (at most " +
                                std::to_string(kMaxIdxImageSide) + " a side)");
  }
  if (labels.dims.size() != 1) {
    return InvalidArgumentError("'" + labels_path + "': expected 1 dimension [count] (magic 0x00000801)");
  }
  if (images.dims[0] != labels.dims[0]) {
    return InvalidArgumentError("fashion_mnist: '" + images_path + "' has " + std::to_string(images.dims[0]) +
                                " images but '" + labels_path + "' has " + std::to_string(labels.dims[0]) +
                                " labels");
  }
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= 10) {
      return InvalidArgumentError("'" + labels_path + "': label " + std::to_string(labels.data[i]) +
                                  " of example " + std::to_string(i) + " is not in [0, 10)");
    }
  }
  std::unique_ptr<FashionMnistDataset> ds(new FashionMnistDataset());
  ds->images_path_ = images_path;
  ds->count_ = images.dims[0];
  ds->rows_ = static_cast<int>(images.dims[1]);
  ds->cols_ = static_cast<int>(images.dims[2]);
  ds->pixels_ = std::move(images.data);
  ds->labels_ = std::move(labels.data);
  if (class_names.empty())
    class_names.assign(kFashionMnistPromptNames.begin(), kFashionMnistPromptNames.end());
  ds->class_names_ = std::move(class_names);
  return ds;
}

StatusOr<Example> FashionMnistDataset::Get(int64_t i) const {
  if (i < 0 || i >= count_) return OutOfRangeError(Describe(i) + ": index out of range");
  Example ex;
  ex.image.width = cols_;
  ex.image.height = rows_;
  ex.image.channels = 1;
  const size_t n = static_cast<size_t>(rows_) * cols_;
  ex.image.pixels.assign(pixels_.begin() + static_cast<ptrdiff_t>(n * i),
                         pixels_.begin() + static_cast<ptrdiff_t>(n * (i + 1)));
  ex.label = labels_[static_cast<size_t>(i)];
  return ex;
}

std::string FashionMnistDataset::Describe(int64_t i) const {
  return "'" + images_path_ + "' image #" + std::to_string(i);
}

}  // namespace flyp::data
