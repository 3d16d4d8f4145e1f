#include "worker/data/open_dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <limits>
#include <map>

#include "tests/testing/test_env.h"
#include "worker/data/test_images.h"

namespace flyp::data {
namespace {

namespace fs = std::filesystem;

// <tmp>/<tag>/{bird,cat,dog}: bird 2 images, cat 3, dog 4; pixel (0,0,0)
// encodes class * 10 + file number so tests can tell images apart.
std::string MakeFolder(const std::string& tag) {
  const std::string root = flyp::testing::TempDir() + "/" + tag;
  const std::map<std::string, int> counts = {{"bird", 2}, {"cat", 3}, {"dog", 4}};
  int c = 0;
  for (const auto& [name, n] : counts) {
    fs::create_directories(root + "/" + name);
    for (int i = 0; i < n; ++i) {
      const int v = c * 10 + i;
      const Image im = testing::MakeImage(4, 4, 3, [v](int, int, int) { return v; });
      const std::string file = root + "/" + name + "/img" + std::to_string(i) + (i % 2 ? ".PNG" : ".png");
      testing::WriteFileOrDie(file, testing::EncodePng(im));
    }
    testing::WriteFileOrDie(root + "/" + name + "/notes.txt", "not an image");
    ++c;
  }
  return root;
}

v1::DataSource Source(v1::DataFormat format, const std::string& path) {
  v1::DataSource s;
  s.set_name("src");
  s.set_format(format);
  s.set_path(path);
  return s;
}

TEST(ImageFolder, SortedClassesAndFiles) {
  const std::string root = MakeFolder("folder1");
  StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(Source(v1::DATA_FORMAT_IMAGE_FOLDER, root));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 9);
  EXPECT_EQ((*ds)->class_names(), (std::vector<std::string>{"bird", "cat", "dog"}));
  EXPECT_EQ((*ds)->label(0), 0);
  EXPECT_EQ((*ds)->label(2), 1);
  EXPECT_EQ((*ds)->label(8), 2);
  StatusOr<Example> ex = (*ds)->Get(3);  // cat/img1.PNG
  ASSERT_TRUE(ex.ok()) << ex.status();
  EXPECT_EQ(ex->image.pixels[0], 11);
  EXPECT_EQ(ex->label, 1);
}

TEST(ImageFolder, KShotOffsetLimitAndErrors) {
  const std::string root = MakeFolder("folder2");
  v1::DataSource s = Source(v1::DATA_FORMAT_IMAGE_FOLDER, root);
  s.set_k_shot(2);
  s.set_seed(5);
  StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(s);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 6);
  std::map<int64_t, int> per_class;
  for (int64_t i = 0; i < 6; ++i) ++per_class[(*ds)->label(i)];
  EXPECT_EQ(per_class, (std::map<int64_t, int>{{0, 2}, {1, 2}, {2, 2}}));
  // Seeded: the same seed picks the same examples, another seed differs for
  // some seed (dog has 6 possible pairs).
  StatusOr<std::unique_ptr<Dataset>> again = OpenDataset(s);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ((*ds)->Describe(i), (*again)->Describe(i));
  bool differs = false;
  for (int seed = 6; seed < 20 && !differs; ++seed) {
    s.set_seed(seed);
    StatusOr<std::unique_ptr<Dataset>> other = OpenDataset(s);
    for (int64_t i = 0; i < 6; ++i) differs |= (*other)->Describe(i) != (*ds)->Describe(i);
  }
  EXPECT_TRUE(differs);

  s.set_k_shot(3);  // bird has only 2
  ds = OpenDataset(s);
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("'bird'"), std::string::npos) << ds.status();
  EXPECT_NE(ds.status().message().find("data source 'src'"), std::string::npos) << ds.status();

  s.set_k_shot(0);
  s.set_offset(2);
  s.set_limit(3);
  ds = OpenDataset(s);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ASSERT_EQ((*ds)->size(), 3);
  EXPECT_EQ((*ds)->label(0), 1);  // cat/img0

  // offset + limit past 64 bits used to wrap to a negative end (a
  // std::length_error from reserve): it means "to the end".
  s.set_limit(std::numeric_limits<int64_t>::max());
  ds = OpenDataset(s);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 7);

  s.set_offset(9);
  s.set_limit(0);
  ds = OpenDataset(s);
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("no examples"), std::string::npos) << ds.status();

  ds = OpenDataset(Source(v1::DATA_FORMAT_IMAGE_FOLDER, root + "/missing"));
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kNotFound);
  EXPECT_NE(ds.status().message().find(root + "/missing"), std::string::npos);
}

TEST(CsvLabel, NamesIndicesHeaderAndRelativePaths) {
  const std::string root = MakeFolder("csv1");
  testing::WriteFileOrDie(root + "/labels.csv",
                          "path,label\n"
                          "cat/img0.png,cat\n"
                          "\"dog/img1.PNG\",\"dog\"\n" +
                              root + "/bird/img0.png,bird\n");
  StatusOr<std::unique_ptr<Dataset>> ds =
      OpenDataset(Source(v1::DATA_FORMAT_CSV_LABEL, root + "/labels.csv"));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->class_names(), (std::vector<std::string>{"bird", "cat", "dog"}));
  EXPECT_EQ((*ds)->label(0), 1);
  EXPECT_EQ((*ds)->label(1), 2);
  EXPECT_EQ((*ds)->label(2), 0);
  StatusOr<Example> ex = (*ds)->Get(1);
  ASSERT_TRUE(ex.ok()) << ex.status();
  EXPECT_EQ(ex->image.pixels[0], 21);

  // Class names given through a file relative to base_dir; labels may be
  // names or indices.
  testing::WriteFileOrDie(root + "/classes.txt", "dog\n  cat \n\nbird\n");
  testing::WriteFileOrDie(root + "/mixed.csv", "cat/img0.png,0\ncat/img1.PNG,cat\n");
  v1::DataSource s = Source(v1::DATA_FORMAT_CSV_LABEL, "mixed.csv");
  s.set_class_names_file("classes.txt");
  OpenOptions opts;
  opts.base_dir = root;
  ds = OpenDataset(s, opts);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->class_names(), (std::vector<std::string>{"dog", "cat", "bird"}));
  EXPECT_EQ((*ds)->label(0), 0);
  EXPECT_EQ((*ds)->label(1), 1);

  // Unknown class name: the row's line.
  testing::WriteFileOrDie(root + "/bad.csv", "cat/img0.png,cat\ncat/img1.PNG,cow\n");
  s.set_path("bad.csv");
  ds = OpenDataset(s, opts);
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("line 2"), std::string::npos) << ds.status();
  EXPECT_NE(ds.status().message().find("'cow'"), std::string::npos) << ds.status();

  // All-integer labels without names.
  testing::WriteFileOrDie(root + "/ints.csv", "cat/img0.png,2\ncat/img1.PNG,0\n");
  ds = OpenDataset(Source(v1::DATA_FORMAT_CSV_LABEL, root + "/ints.csv"));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->num_classes(), 3);
  EXPECT_EQ((*ds)->label(0), 2);

  // A missing image is reported by Get, naming the file.
  testing::WriteFileOrDie(root + "/missing.csv", "nope.png,cat\n");
  ds = OpenDataset(Source(v1::DATA_FORMAT_CSV_LABEL, root + "/missing.csv"));
  ASSERT_TRUE(ds.ok()) << ds.status();
  ex = (*ds)->Get(0);
  ASSERT_FALSE(ex.ok());
  EXPECT_NE(ex.status().message().find(root + "/nope.png"), std::string::npos) << ex.status();

  // Missing CSV.
  ds = OpenDataset(Source(v1::DATA_FORMAT_CSV_LABEL, root + "/absent.csv"));
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), StatusCode::kNotFound);
  EXPECT_NE(ds.status().message().find("absent.csv"), std::string::npos);
}

TEST(OpenDataset, InvalidShiftOrFormatIsNamed) {
  const std::string root = MakeFolder("shiftbad");
  v1::DataSource s = Source(v1::DATA_FORMAT_IMAGE_FOLDER, root);
  v1::Shift* shift = s.add_shifts();
  shift->set_kind(v1::SHIFT_KIND_OCCLUDE);
  shift->set_severity(2);
  StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(s);
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("occlude"), std::string::npos) << ds.status();
  ds = OpenDataset(Source(v1::DATA_FORMAT_UNSPECIFIED, root));
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("format"), std::string::npos) << ds.status();
}

TEST(CsvCaption, CaptionsAndNoLabels) {
  const std::string root = MakeFolder("csv2");
  testing::WriteFileOrDie(root + "/caps.csv",
                          "path,caption\ncat/img0.png,\"a cat, sitting\"\ndog/img0.png,a dog\n");
  StatusOr<std::unique_ptr<Dataset>> ds =
      OpenDataset(Source(v1::DATA_FORMAT_CSV_CAPTION, root + "/caps.csv"));
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 2);
  EXPECT_EQ((*ds)->num_classes(), 0);
  StatusOr<Example> ex = (*ds)->Get(0);
  ASSERT_TRUE(ex.ok()) << ex.status();
  EXPECT_EQ(ex->caption, "a cat, sitting");
  EXPECT_EQ(ex->label, -1);
}

TEST(FashionMnistSource, KShotAndLimit) {
  v1::DataSource s = Source(v1::DATA_FORMAT_FASHION_MNIST, "");
  s.set_split("test");
  s.set_k_shot(4);
  s.set_seed(1);
  StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(s);
  if (!ds.ok() && ds.status().code() == StatusCode::kNotFound) GTEST_SKIP() << ds.status();
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 40);
  std::map<int64_t, int> per_class;
  for (int64_t i = 0; i < 40; ++i) ++per_class[(*ds)->label(i)];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], 4) << c;

  // k-shot within a window: the first 30 test examples lack 4 of some class.
  s.set_limit(30);
  ds = OpenDataset(s);
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("k_shot 4"), std::string::npos) << ds.status();

  s.set_k_shot(0);
  s.set_class_names_file("/nonexistent/classes.txt");
  ds = OpenDataset(s);
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("/nonexistent/classes.txt"), std::string::npos) << ds.status();
}

}  // namespace
}  // namespace flyp::data
