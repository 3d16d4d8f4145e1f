#include "worker/model/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/testing/test_env.h"

namespace flyp::model {
namespace {

namespace fs = std::filesystem;

std::string ReadBytes(const std::string& path) { return flyp::testing::ReadFileOrDie(path); }

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string Le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

// A file written by hand: length, header, data.
std::string RawFile(const std::string& header, const std::string& data) {
  return Le64(header.size()) + header + data;
}

std::string Path(const std::string& name) { return flyp::testing::TempDir() + "/" + name; }

Status OpenStatus(const std::string& bytes, const std::string& name) {
  const std::string p = Path(name);
  WriteBytes(p, bytes);
  auto r = SafetensorsReader::Open(p);
  return r.ok() ? Status::Ok() : r.status();
}

TEST(SafetensorsTest, ExactFileLayout) {
  const std::string p = Path("layout.safetensors");
  NamedTensors t = {{"x", torch::tensor({1.0f, -2.0f})}};
  ASSERT_TRUE(WriteSafetensors(p, t, {{"a", "b"}}).ok());
  const std::string header =
      R"({"__metadata__":{"a":"b"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  const std::string data("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);  // 1.0f, -2.0f little-endian
  EXPECT_EQ(ReadBytes(p), RawFile(padded, data));
}

TEST(SafetensorsTest, ReadsHandWrittenFile) {
  // bf16 1.0 = 0x3F80, 0.5 = 0x3F00; i64 7; header with extra spaces.
  const std::string header =
      R"({ "b": {"dtype": "I64", "shape": [], "data_offsets": [4, 12]},
           "a": {"dtype": "BF16", "shape": [2, 1], "data_offsets": [0, 4]} })";
  const std::string data = std::string("\x80\x3f\x00\x3f", 4) + Le64(7);
  const std::string p = Path("hand.safetensors");
  WriteBytes(p, RawFile(header, data));
  std::map<std::string, std::string> meta;
  auto r = ReadSafetensors(p, &meta);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_TRUE(meta.empty());
  EXPECT_EQ((*r)[0].first, "b");  // header order
  EXPECT_EQ((*r)[0].second.scalar_type(), torch::kLong);
  EXPECT_EQ((*r)[0].second.dim(), 0);
  EXPECT_EQ((*r)[0].second.item<int64_t>(), 7);
  EXPECT_EQ((*r)[1].first, "a");
  EXPECT_EQ((*r)[1].second.scalar_type(), torch::kBFloat16);
  EXPECT_EQ((*r)[1].second.sizes().vec(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ((*r)[1].second[0][0].item<float>(), 1.0f);
  EXPECT_EQ((*r)[1].second[1][0].item<float>(), 0.5f);
}

TEST(SafetensorsTest, RoundTripIsBitIdenticalForEveryDtype) {
  torch::manual_seed(0);
  auto f = torch::randn({3, 5}) * 100;
  NamedTensors in = {
      {"f64", f.to(torch::kDouble)},
      {"f32", f},
      {"f16", f.to(torch::kHalf)},
      {"bf16", f.to(torch::kBFloat16)},
      {"i64", torch::randint(-(1LL << 40), 1LL << 40, {4}, torch::kLong)},
      {"i32", torch::randint(-100000, 100000, {2, 2, 2}, torch::kInt)},
      {"i16", torch::randint(-30000, 30000, {3}, torch::kShort)},
      {"i8", torch::randint(-128, 127, {5}, torch::kChar)},
      {"u8", torch::randint(0, 255, {7}, torch::kByte)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.5f).reshape({})},
      {"empty", torch::zeros({0, 3})},
      {"strided", f.t()},  // non-contiguous input
  };
  const std::string p = Path("all.safetensors");
  ASSERT_TRUE(WriteSafetensors(p, in, {{"format", "pt"}, {"step", "12"}}).ok());
  std::map<std::string, std::string> meta;
  auto out = ReadSafetensors(p, &meta);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(meta, (std::map<std::string, std::string>{{"format", "pt"}, {"step", "12"}}));
  ASSERT_EQ(out->size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const auto& a = in[i].second.contiguous();
    const auto& b = (*out)[i].second;
    EXPECT_EQ((*out)[i].first, in[i].first);
    EXPECT_EQ(b.scalar_type(), a.scalar_type()) << in[i].first;
    EXPECT_EQ(b.sizes(), a.sizes()) << in[i].first;
    ASSERT_EQ(b.nbytes(), a.nbytes());
    // An empty tensor may have no storage (a null data_ptr): nothing to compare.
    if (a.nbytes() > 0) {
      EXPECT_EQ(std::memcmp(a.data_ptr(), b.data_ptr(), a.nbytes()), 0) << in[i].first;
    }
  }
  // The data area starts 8-byte aligned.
  auto reader = SafetensorsReader::Open(p);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->Find("i64")->dtype_name, "I64");
  std::string bytes = ReadBytes(p);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST(SafetensorsTest, AtomicWriteReplacesAndLeavesNoTemporaries) {
  const std::string dir = Path("atomic");
  fs::create_directories(dir);
  const std::string p = dir + "/w.safetensors";
  ASSERT_TRUE(WriteSafetensors(p, {{"a", torch::ones({2})}}).ok());
  ASSERT_TRUE(WriteSafetensors(p, {{"b", torch::zeros({3})}}).ok());
  auto r = ReadSafetensors(p);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].first, "b");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++files;
    EXPECT_EQ(e.path().filename(), "w.safetensors");
  }
  EXPECT_EQ(files, 1);
  Status st = WriteSafetensors(dir + "/no/such/dir/x.safetensors", {{"a", torch::ones({1})}});
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find(dir + "/no/such/dir/x.safetensors"), std::string::npos) << st;
  st = WriteSafetensors(p, {{"a", torch::ones({1})}, {"a", torch::ones({1})}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("duplicate tensor name 'a'"), std::string::npos);
  // The failed writes left the previous file intact.
  EXPECT_EQ((*ReadSafetensors(p))[0].first, "b");
}

TEST(SafetensorsTest, TruncatedFileIsDataLoss) {
  const std::string p = Path("trunc.safetensors");
  ASSERT_TRUE(WriteSafetensors(p, {{"w", torch::ones({4, 4})}, {"tail", torch::ones({8})}}).ok());
  std::string bytes = ReadBytes(p);
  WriteBytes(p, bytes.substr(0, bytes.size() - 5));
  auto r = SafetensorsReader::Open(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(),
            p + ": tensor 'tail': data_offsets [64, 96) extend beyond the data area of 91 bytes "
                "(truncated file?)");

  Status st = OpenStatus("abc", "short.safetensors");
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("too short"), std::string::npos);
}

TEST(SafetensorsTest, HeaderLengthBeyondFileIsDataLoss) {
  const std::string p = Path("len.safetensors");
  ASSERT_TRUE(WriteSafetensors(p, {{"w", torch::ones({2})}}).ok());
  std::string bytes = ReadBytes(p);
  bytes[6] = '\x7f';  // flip a high byte of the length
  WriteBytes(p, bytes);
  auto r = SafetensorsReader::Open(p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find(p + ": header length 357473220422"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("exceeds the file size"), std::string::npos);
}

TEST(SafetensorsTest, MalformedHeadersAreInvalidArgument) {
  struct Case {
    std::string header, data, expect;
  };
  const std::string d8(8, '\0');
  const std::vector<Case> cases = {
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})", d8,
       "header is not valid JSON: JSON line 1"},
      {R"([1, 2])", d8, "header is not a JSON object"},
      {R"({"a": {"dtype": "F8_E4M3", "shape": [8], "data_offsets": [0, 8]}})", d8,
       "tensor 'a': unsupported safetensors dtype 'F8_E4M3'"},
      {R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", d8,
       "tensor 'a': data_offsets cover 8 bytes but shape [3] of F32 needs 12"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", d8,
       "tensor 'a': data_offsets begin 8 > end 0"},
      {R"({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", d8,
       "tensor 'a': shape entries must be non-negative integers"},
      {R"({"a": {"dtype": "F32", "shape": [2]}})", d8,
       "tensor 'a': 'data_offsets' must be an array [begin, end]"},
      {R"({"a": {"shape": [2], "data_offsets": [0, 8]}})", d8, "tensor 'a': missing or non-string 'dtype'"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
       d8, "tensors 'a' and 'b' overlap in the data area"},
      {R"({"__metadata__": {"k": 1}})", "", "__metadata__ value for 'k' is not a string"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string name = "bad" + std::to_string(i++) + ".safetensors";
    Status st = OpenStatus(RawFile(c.header, c.data), name);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.header << " -> " << st;
    EXPECT_NE(st.message().find(Path(name) + ": " + c.expect), std::string::npos) << st;
  }
}

TEST(SafetensorsTest, MissingFileAndMissingTensor) {
  auto r = SafetensorsReader::Open(Path("nope.safetensors"));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  const std::string p = Path("one.safetensors");
  ASSERT_TRUE(WriteSafetensors(p, {{"w", torch::ones({1})}}).ok());
  auto reader = SafetensorsReader::Open(p);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->Read("v").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reader->Find("v"), nullptr);
}

}  // namespace
}  // namespace flyp::model
