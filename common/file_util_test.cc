#include "common/file_util.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "tests/testing/test_env.h"

namespace flyp {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test.
std::string TestDir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = flyp::testing::TempDir() + "/" + info->test_suite_name() + "." + info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void Put(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

// gzip (one member) of `data`, written with zlib's deflate.
std::string Gzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

bool Contains(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

// ------------------------------------------------------------- reading ---

TEST(ReadFileToString, ReturnsEveryByte) {
  const std::string dir = TestDir();
  std::string bytes("a\0b\r\n\xff", 6);
  for (int i = 0; i < 20000; ++i) bytes += static_cast<char>(i * 7);  // several read() calls
  Put(dir + "/f", bytes);
  auto r = ReadFileToString(dir + "/f", kMiB);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, bytes);
  Put(dir + "/empty", "");
  r = ReadFileToString(dir + "/empty", 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "");
}

TEST(ReadFileToString, BudgetIsInclusiveAndNamed) {
  const std::string dir = TestDir();
  Put(dir + "/ten", "0123456789");
  auto exact = ReadFileToString(dir + "/ten", 10);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(*exact, "0123456789");
  auto over = ReadFileToString(dir + "/ten", 9);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(over.status().message(), "'" + dir + "/ten' is 10 bytes, over the budget of 9 bytes");
  Put(dir + "/big", std::string(2 * kMiB + 1, 'x'));
  over = ReadFileToString(dir + "/big", 2 * kMiB);
  EXPECT_EQ(over.status().message(), "'" + dir + "/big' is 2097153 bytes, over the budget of 2 MiB");
}

TEST(SelfStatusKb, ReadsTheProcessMemoryLines) {
  const int64_t rss = SelfStatusKb("VmRSS");
  EXPECT_GT(rss, 100);  // a test binary is more than 100 kB resident
  EXPECT_GE(SelfStatusKb("VmHWM"), rss);
  EXPECT_EQ(SelfStatusKb("VmNoSuchField"), -1);
  EXPECT_EQ(SelfStatusKb("VmRS"), -1) << "a prefix of a field is not the field";
}

TEST(ReadFileToString, ProcFilesWithoutASizeAreReadToTheEnd) {
  // stat() reports 0 bytes for /proc files: the budget is checked while reading.
  auto status = ReadFileToString("/proc/self/status", kMiB);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->rfind("Name:", 0), 0u) << *status;
  EXPECT_NE(status->find("VmRSS:"), std::string::npos);  // past the first few lines
  auto small = ReadFileToString("/proc/self/status", 16);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(small.status().message(),
            "'/proc/self/status' holds more than 16 bytes, over the budget of 16 bytes");
}

TEST(ReadFileToString, MissingFileAndDirectoryAreNamed) {
  const std::string dir = TestDir();
  auto missing = ReadFileToString(dir + "/nope.yaml", kMiB);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "cannot open '" + dir + "/nope.yaml': No such file or directory");
  auto not_dir = ReadFileToString(dir + "/nope/x", kMiB);
  EXPECT_EQ(not_dir.status().code(), StatusCode::kNotFound);
  auto is_dir = ReadFileToString(dir, kMiB);
  ASSERT_FALSE(is_dir.ok());
  EXPECT_EQ(is_dir.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(is_dir.status().message(), "'" + dir + "' is a directory, not a file");
}

TEST(ReadFileToString, UnreadableFileIsPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: permission bits do not stop reads";
  const std::string dir = TestDir();
  Put(dir + "/secret", "x");
  ::chmod((dir + "/secret").c_str(), 0);
  auto r = ReadFileToString(dir + "/secret", kMiB);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), "cannot open '" + dir + "/secret': Permission denied");
}

TEST(ReadFileToString, ReadErrorIsDataLossWithStrerror) {
  // open() succeeds but read() fails: offset 0 of /proc/self/mem is not
  // mapped, so the kernel answers EIO.
  auto r = ReadFileToString("/proc/self/mem", kMiB);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status();
  EXPECT_EQ(r.status().message(), "error reading '/proc/self/mem': Input/output error");
}

TEST(ReadFilePrefix, ReturnsAtMostTheFirstBytes) {
  const std::string dir = TestDir();
  Put(dir + "/f", "PK\x03\x04 and a lot more");
  auto head = ReadFilePrefix(dir + "/f", 2);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*head, "PK");
  Put(dir + "/short", "P");
  head = ReadFilePrefix(dir + "/short", 2);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, "P");
  EXPECT_EQ(ReadFilePrefix(dir + "/none", 2).status().code(), StatusCode::kNotFound);
}

TEST(ReadMaybeGzipFile, PlainAndGzipGiveTheSameBytes) {
  const std::string dir = TestDir();
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i) + "\n";
  Put(dir + "/plain.txt", text);
  Put(dir + "/text.gz", Gzip(text));
  ASSERT_LT(fs::file_size(dir + "/text.gz"), text.size() / 3);
  auto plain = ReadMaybeGzipFile(dir + "/plain.txt", kMiB);
  auto gz = ReadMaybeGzipFile(dir + "/text.gz", kMiB);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(gz.ok()) << gz.status();
  EXPECT_EQ(*plain, text);
  EXPECT_EQ(*gz, text);
}

TEST(ReadMaybeGzipFile, ConcatenatedMembersAreOneStream) {
  const std::string dir = TestDir();
  Put(dir + "/two.gz", Gzip("first half, ") + Gzip("second half"));
  auto r = ReadMaybeGzipFile(dir + "/two.gz", kMiB);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "first half, second half");
}

TEST(ReadMaybeGzipFile, DamagedStreamsAreDataLossNamingThePath) {
  const std::string dir = TestDir();
  std::string text;
  for (int i = 0; i < 3000; ++i) text += std::to_string(i * i) + " ";
  const std::string gz = Gzip(text);

  Put(dir + "/half.gz", gz.substr(0, gz.size() / 2));
  auto truncated = ReadMaybeGzipFile(dir + "/half.gz", kMiB);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(truncated.status().message(), "'" + dir + "/half.gz': truncated gzip data");

  Put(dir + "/no-trailer.gz", gz.substr(0, gz.size() - 4));  // the length field is missing
  EXPECT_EQ(ReadMaybeGzipFile(dir + "/no-trailer.gz", kMiB).status().code(), StatusCode::kDataLoss);

  std::string flipped = gz;
  flipped[gz.size() - 6] ^= 0x55;  // inside the CRC-32: the data no longer matches it
  Put(dir + "/crc.gz", flipped);
  auto corrupt = ReadMaybeGzipFile(dir + "/crc.gz", kMiB);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(corrupt.status(), "'" + dir + "/crc.gz': corrupt gzip data: ")) << corrupt.status();

  Put(dir + "/trailing.gz", gz + "junk");
  auto trailing = ReadMaybeGzipFile(dir + "/trailing.gz", kMiB);
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(trailing.status().message(), "'" + dir + "/trailing.gz': 4 unexpected bytes after the gzip data");
}

TEST(ReadMaybeGzipFile, BudgetBoundsTheDecompressedSize) {
  const std::string dir = TestDir();
  Put(dir + "/zeros.gz", Gzip(std::string(8 * kMiB, '\0')));  // a few KiB on disk
  ASSERT_LT(fs::file_size(dir + "/zeros.gz"), 64u << 10);
  auto bomb = ReadMaybeGzipFile(dir + "/zeros.gz", kMiB);
  ASSERT_FALSE(bomb.ok());
  EXPECT_EQ(bomb.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(bomb.status().message(),
            "'" + dir + "/zeros.gz' decompresses to more than 1 MiB, over the budget of 1 MiB");
  auto fits = ReadMaybeGzipFile(dir + "/zeros.gz", 8 * kMiB);
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(fits->size(), 8 * kMiB);
}

// ------------------------------------------------------------- writing ---

TEST(WriteFileAtomic, CreatesAndReplacesLeavingNoTemporaryFile) {
  const std::string dir = TestDir();
  const std::string path = dir + "/spec.yaml";
  ASSERT_TRUE(WriteFileAtomic(path, "first\n").ok());
  EXPECT_EQ(*ReadFileToString(path, kMiB), "first\n");
  ASSERT_TRUE(WriteFileAtomic(path, std::string("sec\0nd", 6)).ok());
  EXPECT_EQ(*ReadFileToString(path, kMiB), std::string("sec\0nd", 6));
  EXPECT_EQ(Names(dir), std::set<std::string>{"spec.yaml"});
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  ASSERT_TRUE(WriteFileAtomic(path, "private", 0600).ok());
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(WriteFileAtomic("", "x").code(), StatusCode::kInvalidArgument);
}

TEST(WriteFileAtomic, FailureLeavesTheTargetAndNoTemporaryFile) {
  const std::string dir = TestDir();
  Status missing_dir = WriteFileAtomic(dir + "/no/such/dir/f", "x");
  EXPECT_EQ(missing_dir.code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing_dir, "'" + dir + "/no/such/dir/f'")) << missing_dir;
  // The target is a directory: rename() fails after the data was written.
  fs::create_directories(dir + "/taken/inner");
  Status onto_dir = WriteFileAtomic(dir + "/taken", "x");
  ASSERT_FALSE(onto_dir.ok());
  EXPECT_TRUE(Contains(onto_dir, "cannot rename")) << onto_dir;
  EXPECT_TRUE(fs::is_directory(dir + "/taken/inner"));
  EXPECT_EQ(Names(dir), std::set<std::string>{"taken"});
}

TEST(WriteFileAtomic, ReadOnlyDirectoryIsPermissionDenied) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: permission bits do not stop writes";
  const std::string dir = TestDir();
  ASSERT_TRUE(WriteFileAtomic(dir + "/f", "old").ok());
  ::chmod(dir.c_str(), 0555);
  Status s = WriteFileAtomic(dir + "/f", "new");
  ::chmod(dir.c_str(), 0755);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s;
  EXPECT_EQ(*ReadFileToString(dir + "/f", kMiB), "old");
}

TEST(AtomicFileWriter, PiecesThenCommit) {
  const std::string dir = TestDir();
  auto w = AtomicFileWriter::Create(dir + "/t.bin");
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(w->Append("ab").ok());
  ASSERT_TRUE(w->Append("cd", 1).ok());
  EXPECT_FALSE(fs::exists(dir + "/t.bin"));  // nothing visible before Commit
  ASSERT_TRUE(w->Commit().ok());
  EXPECT_EQ(*ReadFileToString(dir + "/t.bin", kMiB), "abc");
  EXPECT_EQ(w->Commit().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(w->Append("x").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Names(dir), std::set<std::string>{"t.bin"});
}

TEST(AtomicFileWriter, AbandonedWriterKeepsTheOldFile) {
  const std::string dir = TestDir();
  ASSERT_TRUE(WriteFileAtomic(dir + "/latest", "step-1\n").ok());
  {
    auto w = AtomicFileWriter::Create(dir + "/latest");
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Append("step-2 (half writ").ok());
    EXPECT_EQ(Names(dir).size(), 2u);        // the temporary file exists meanwhile
    AtomicFileWriter moved = std::move(*w);  // ownership of the temporary file moves too
    EXPECT_EQ(Names(dir).size(), 2u);
  }  // destroyed without Commit
  EXPECT_EQ(*ReadFileToString(dir + "/latest", kMiB), "step-1\n");
  EXPECT_EQ(Names(dir), std::set<std::string>{"latest"});
}

TEST(WriteFileAtomic, ConcurrentWritersNeverMix) {
  const std::string dir = TestDir();
  const std::string path = dir + "/shared";
  std::vector<std::string> contents;
  for (int t = 0; t < 4; ++t) contents.push_back(std::string(256 << 10, static_cast<char>('a' + t)));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (!WriteFileAtomic(path, contents[t]).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto got = ReadFileToString(path, kMiB);
  ASSERT_TRUE(got.ok());
  EXPECT_NE(std::find(contents.begin(), contents.end(), *got), contents.end()) << "mixed contents";
  EXPECT_EQ(Names(dir), std::set<std::string>{"shared"});
}

}  // namespace
TEST(PathIsBelow, ComparesWholeComponents) {
  EXPECT_TRUE(PathIsBelow("/a/b/c", "/a/b"));
  EXPECT_TRUE(PathIsBelow("/a/b/c", "/a/b/"));
  EXPECT_TRUE(PathIsBelow("/a/b/c/d", "/a"));
  EXPECT_FALSE(PathIsBelow("/a/b", "/a/b"));
  EXPECT_FALSE(PathIsBelow("/a/b/", "/a/b"));  // the folder itself
  EXPECT_FALSE(PathIsBelow("/a/bc", "/a/b"));
  EXPECT_FALSE(PathIsBelow("/x/a/b", "/a"));
  EXPECT_TRUE(PathIsBelow("/srv", "/"));
  EXPECT_FALSE(PathIsBelow("/", "/"));
}

}  // namespace flyp

namespace flyp {
namespace {

// A FIFO without a writer blocked the open forever (a spec path that is a
// pipe hung flypctl and the worker).
TEST(ReadFileToString, FifoWithoutWriterReadsAsEmptyInsteadOfHanging) {
  const std::string dir = TestDir();
  ASSERT_EQ(::mkfifo((dir + "/pipe").c_str(), 0600), 0);
  auto r = ReadFileToString(dir + "/pipe", kMiB);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "");
}

TEST(ReadFileToString, DevicesAreRefused) {
  for (const char* dev : {"/dev/zero", "/dev/null"}) {
    auto r = ReadFileToString(dev, kMiB);
    ASSERT_FALSE(r.ok()) << dev;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), std::string("'") + dev + "' is a device or a socket, not a file");
  }
}

TEST(ReadFileToString, CheckSeesTheOpenedFileAndCanRefuseIt) {
  const std::string dir = TestDir();
  Put(dir + "/f", "data");
  int seen = -1;
  auto r = ReadFileToString(dir + "/f", kMiB, [&](int fd, const std::string& path) {
    seen = fd;
    EXPECT_EQ(path, dir + "/f");
    return PermissionDeniedError("no");
  });
  EXPECT_GE(seen, 0);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
}

// GetArtifact followed a symlinked directory (leak-dir -> /etc, then
// leak-dir/passwd): every component must be a real file or directory.
TEST(OpenFileBeneath, FollowsNoSymlinkInAnyComponent) {
  const std::string dir = TestDir();
  fs::create_directories(dir + "/job/sub");
  fs::create_directories(dir + "/outside");
  Put(dir + "/job/sub/ok.txt", "inside");
  Put(dir + "/outside/secret", "outside");
  fs::create_directory_symlink(dir + "/outside", dir + "/job/leak-dir");
  fs::create_symlink(dir + "/outside/secret", dir + "/job/leak-file");
  fs::create_symlink(dir + "/job/sub/ok.txt", dir + "/job/inner-link");  // even links that stay inside
  auto ok = OpenFileBeneath(dir + "/job", "sub/ok.txt");
  ASSERT_TRUE(ok.ok()) << ok.status();
  char buf[16] = {};
  EXPECT_EQ(::read(ok->get(), buf, sizeof(buf)), 6);
  EXPECT_EQ(std::string(buf), "inside");
  EXPECT_TRUE(OpenFileBeneath(dir + "/job", "./sub//ok.txt").ok());
  for (const char* bad : {"leak-dir/secret", "leak-file", "inner-link", "sub", "missing", "sub/missing"}) {
    auto r = OpenFileBeneath(dir + "/job", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << bad;
    EXPECT_EQ(r.status().message(), std::string("'") + bad + "' not found");
  }
  for (const char* bad : {"../outside/secret", "sub/../../outside/secret", "/etc/passwd", ""}) {
    EXPECT_EQ(OpenFileBeneath(dir + "/job", bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace flyp
