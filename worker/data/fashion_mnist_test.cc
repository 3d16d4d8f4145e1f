#include "worker/data/fashion_mnist.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <array>

#include "common/env.h"
#include "tests/testing/test_env.h"
#include "worker/data/decode.h"
#include "worker/data/idx.h"
#include "worker/data/test_images.h"

namespace flyp::data {
namespace {

std::string FashionDir() { return EnvString(env::kFashionMnistDir); }

TEST(FashionMnist, RealTestSplit) {
  StatusOr<std::unique_ptr<FashionMnistDataset>> ds = FashionMnistDataset::Open("", "test");
  if (!ds.ok() && ds.status().code() == StatusCode::kNotFound) GTEST_SKIP() << ds.status();
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 10000);
  EXPECT_EQ((*ds)->rows(), 28);
  EXPECT_EQ((*ds)->cols(), 28);
  EXPECT_EQ((*ds)->num_classes(), 10);
  EXPECT_EQ((*ds)->class_names()[0], "t-shirt");
  EXPECT_EQ((*ds)->class_names()[9], "ankle boot");
  // The first test example is an ankle boot (label 9).
  StatusOr<Example> ex = (*ds)->Get(0);
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->label, 9);
  EXPECT_EQ(ex->image.width, 28);
  EXPECT_EQ(ex->image.channels, 1);
  EXPECT_EQ(ex->image.pixels.size(), 784u);
  std::array<int, 10> hist{};
  for (int64_t i = 0; i < (*ds)->size(); ++i) ++hist[static_cast<size_t>((*ds)->label(i))];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(hist[c], 1000) << c;
}

TEST(FashionMnist, AcceptsUncompressedFilesAndNamesBadOnes) {
  const std::string dir = flyp::testing::TempDir() + "/fm_plain";
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  // Tiny IDX files: 2 images of 2x3, 2 labels.
  const std::string images =
      std::string("\0\0\x08\x03\0\0\0\x02\0\0\0\x02\0\0\0\x03", 16) + std::string("abcdefABCDEF");
  const std::string labels = std::string("\0\0\x08\x01\0\0\0\x02", 8) + std::string("\x03\x07", 2);
  testing::WriteFileOrDie(dir + "/t10k-images-idx3-ubyte", images);
  testing::WriteFileOrDie(dir + "/t10k-labels-idx1-ubyte", labels);
  StatusOr<std::unique_ptr<FashionMnistDataset>> ds = FashionMnistDataset::Open(dir, "test");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 2);
  StatusOr<Example> ex = (*ds)->Get(1);
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->label, 7);
  EXPECT_EQ(ex->image.width, 3);
  EXPECT_EQ(ex->image.height, 2);
  EXPECT_EQ(ex->image.pixels, (std::vector<uint8_t>{'A', 'B', 'C', 'D', 'E', 'F'}));

  // Train split missing: NOT_FOUND listing what was tried.
  StatusOr<std::unique_ptr<FashionMnistDataset>> train = FashionMnistDataset::Open(dir, "train");
  ASSERT_FALSE(train.ok());
  EXPECT_EQ(train.status().code(), StatusCode::kNotFound);
  EXPECT_NE(train.status().message().find("train-images-idx3-ubyte.gz"), std::string::npos);

  // Bad split name.
  EXPECT_FALSE(FashionMnistDataset::Open(dir, "val").ok());

  // Count mismatch.
  testing::WriteFileOrDie(dir + "/t10k-labels-idx1-ubyte", std::string("\0\0\x08\x01\0\0\0\x01\x03", 9));
  ds = FashionMnistDataset::Open(dir, "test");
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("2 images"), std::string::npos) << ds.status();

  // Bad magic names the file.
  testing::WriteFileOrDie(dir + "/t10k-labels-idx1-ubyte", std::string("\x01\x02\x08\x01\0\0\0\x01\x03", 9));
  ds = FashionMnistDataset::Open(dir, "test");
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("t10k-labels-idx1-ubyte"), std::string::npos) << ds.status();
  EXPECT_NE(ds.status().message().find("magic"), std::string::npos) << ds.status();

  // Truncated data.
  testing::WriteFileOrDie(dir + "/t10k-labels-idx1-ubyte", std::string("\0\0\x08\x01\0\0\0\x02\x03", 9));
  ds = FashionMnistDataset::Open(dir, "test");
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("promises 2 bytes"), std::string::npos) << ds.status();
}

TEST(Idx, TruncatedGzipIsAnError) {
  const std::string src = FashionDir() + "/t10k-labels-idx1-ubyte.gz";
  StatusOr<std::string> bytes = ReadFileToString(src, kMaxIdxFileBytes);
  if (!bytes.ok()) GTEST_SKIP() << bytes.status();
  const std::string path = flyp::testing::TempDir() + "/trunc-labels.gz";
  testing::WriteFileOrDie(path, bytes->substr(0, bytes->size() / 2));
  StatusOr<IdxArray> idx = ReadIdxFile(path);
  ASSERT_FALSE(idx.ok());
  EXPECT_NE(idx.status().message().find(path), std::string::npos) << idx.status();
}

}  // namespace
}  // namespace flyp::data
