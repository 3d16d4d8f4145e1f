#include "common/confine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/test_env.h"

namespace flyp {
namespace {

namespace fs = std::filesystem;

class ConfineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::canonical(testing::TempDir()).string() + "/confine-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/root/data");
    fs::create_directories(dir_ + "/outside");
    std::ofstream(dir_ + "/root/data/in.txt") << "in";
    std::ofstream(dir_ + "/outside/secret") << "secret";
  }
  void TearDown() override { ASSERT_TRUE(SetInputRoots({}).ok()); }
  std::string dir_;
};

TEST_F(ConfineTest, OffByDefault) {
  EXPECT_TRUE(InputRoots().empty());
  EXPECT_EQ(*ReadInputFile(dir_ + "/outside/secret", 100), "secret");
}

TEST_F(ConfineTest, FilesInsideAreRead) {
  ASSERT_TRUE(SetInputRoots({dir_ + "/root"}).ok());
  EXPECT_EQ(*ReadInputFile(dir_ + "/root/data/in.txt", 100), "in");
  // ".." and links are fine while the file itself stays inside.
  fs::create_symlink(dir_ + "/root/data/in.txt", dir_ + "/root/link");
  EXPECT_EQ(*ReadInputFile(dir_ + "/root/data/../link", 100), "in");
  EXPECT_TRUE(OpenInput(dir_ + "/root/data", O_RDONLY | O_DIRECTORY).ok());
}

// A symlink that dangled when the job was submitted (so the coordinator's
// check saw nothing outside) and points outside once the job runs.
TEST_F(ConfineTest, LinksThatLeaveTheRootsAreRefusedAtUse) {
  ASSERT_TRUE(SetInputRoots({dir_ + "/root"}).ok());
  fs::create_symlink(dir_ + "/outside/later", dir_ + "/root/data/dangling");
  std::ofstream(dir_ + "/outside/later") << "later";
  auto r = ReadInputFile(dir_ + "/root/data/dangling", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), "'" + dir_ + "/root/data/dangling' resolves to '" + dir_ +
                                      "/outside/later', outside the data roots (" + dir_ + "/root)");
  fs::create_directory_symlink(dir_ + "/outside", dir_ + "/root/leak-dir");
  EXPECT_EQ(ReadMaybeGzipInputFile(dir_ + "/root/leak-dir/secret", 100).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(OpenInput(dir_ + "/root/leak-dir", O_RDONLY | O_DIRECTORY).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadInputFile(dir_ + "/root/../outside/secret", 100).status().code(),
            StatusCode::kPermissionDenied);
  // A sibling whose name starts with the root's is not inside it.
  fs::create_directories(dir_ + "/root-evil");
  std::ofstream(dir_ + "/root-evil/x") << "x";
  EXPECT_EQ(ReadInputFile(dir_ + "/root-evil/x", 100).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(ConfineTest, RootsAreResolvedAndMustExist) {
  fs::create_directory_symlink(dir_ + "/root", dir_ + "/root-link");
  ASSERT_TRUE(SetInputRoots({dir_ + "/root-link"}).ok());
  EXPECT_EQ(InputRoots(), std::vector<std::string>{dir_ + "/root"});
  EXPECT_EQ(*ReadInputFile(dir_ + "/root-link/data/in.txt", 100), "in");
  Status s = SetInputRoots({dir_ + "/nope"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "data root '" + dir_ + "/nope' is not an existing directory");
  EXPECT_EQ(InputRoots(), std::vector<std::string>{dir_ + "/root"});  // unchanged
}

TEST_F(ConfineTest, RootsFromTheEnvironment) {
  ::setenv("FLYP_DATA_ROOTS", (dir_ + "/outside:" + dir_ + "/root").c_str(), 1);
  Status s = SetInputRootsFromEnv();
  ::unsetenv("FLYP_DATA_ROOTS");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(InputRoots(), (std::vector<std::string>{dir_ + "/outside", dir_ + "/root"}));
}

}  // namespace
}  // namespace flyp
