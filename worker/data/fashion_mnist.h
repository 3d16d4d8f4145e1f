// Fashion-MNIST from its IDX files: <dir>/<prefix>-images-idx3-ubyte and
// <prefix>-labels-idx1-ubyte, gzip compressed (".gz") or plain, prefix
// "train" for split "train" and "t10k" (or "test") for split "test". The
// default directory is FLYP_FASHION_MNIST_DIR (/usr/share/datasets/
// fashion-mnist). Images are 8-bit gray (28x28), loaded whole into memory.
//
// Class names: by default the readable lowercase names of
// kFashionMnistPromptNames (used in captions and prompts: "a photo of a
// t-shirt."); the dataset's official names are kFashionMnistOfficialNames.
//
// Thread safety: immutable after Open().
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "worker/data/dataset.h"

namespace flyp::data {

inline const std::array<const char*, 10> kFashionMnistOfficialNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
inline const std::array<const char*, 10> kFashionMnistPromptNames = {
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"};

class FashionMnistDataset : public Dataset {
 public:
  // dir empty: the FLYP_FASHION_MNIST_DIR default. class_names empty: the
  // prompt names; otherwise exactly 10 names. Errors: NOT_FOUND listing the
  // file names tried; INVALID_ARGUMENT for a bad split, bad magic numbers,
  // image/label count mismatch, labels >= 10.
  static StatusOr<std::unique_ptr<FashionMnistDataset>> Open(std::string dir, const std::string& split,
                                                             std::vector<std::string> class_names = {});

  int64_t size() const override { return count_; }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  StatusOr<Example> Get(int64_t i) const override;
  int64_t label(int64_t i) const override { return labels_[static_cast<size_t>(i)]; }
  std::string Describe(int64_t i) const override;

  int rows() const { return rows_; }
  int cols() const { return cols_; }

 private:
  FashionMnistDataset() = default;

  std::string images_path_;
  int64_t count_ = 0;
  int rows_ = 0;
  int cols_ = 0;
  std::vector<uint8_t> pixels_;
  std::vector<uint8_t> labels_;
  std::vector<std::string> class_names_;
};

}  // namespace flyp::data
