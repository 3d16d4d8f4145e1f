#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/testing/test_env.h"
#include "worker/text/byte_encoder.h"
#include "worker/text/tokenizer.h"
#include "worker/text/unicode.h"
#include "worker/text/vocab_files.h"

namespace flyp::text {
namespace {

constexpr int kMerges = 300;

std::string ClipPath() { return flyp::testing::SharedDataDir() + "/clip/bpe_simple_vocab_16e6.txt.gz"; }

// JSON string literal with every non-ASCII code point as \uXXXX.
std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (size_t pos = 0; pos < s.size();) {
    const char32_t cp = DecodeUtf8(s, &pos);
    if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "\\u%04X", static_cast<unsigned>(cp));
      out += buf;
    }
  }
  return out + "\"";
}

// Writes vocab.json + merges.txt holding the CLIP vocabulary's first
// kMerges merges (ids as CLIP numbers them, SOT/EOT right after), members in
// reverse id order. Returns the directory.
std::string WriteSmallHfVocab(const std::string& name) {
  auto content = ReadMaybeGzipFile(ClipPath(), kMaxVocabFileBytes);
  EXPECT_TRUE(content.ok());
  auto merges = ParseMerges(*content, ClipPath());
  EXPECT_TRUE(merges.ok());
  merges->resize(kMerges);
  const std::vector<std::string> tokens = ClipVocabTokens(*merges);
  const std::string dir = flyp::testing::TempDir() + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  std::ofstream json(dir + "/vocab.json");
  json << "{\n";
  for (size_t i = tokens.size(); i-- > 0;) {
    json << "  " << JsonQuote(tokens[i]) << ": " << i << (i ? ",\n" : "\n");
  }
  json << "}\n";
  std::ofstream txt(dir + "/merges.txt");
  txt << "#version: 0.2\n";
  for (const auto& m : *merges) {
    txt << m.left << " " << m.right << "\n";
  }
  return dir;
}

TEST(HfVocab, TokenisesLikeClipForTextWithinItsMerges) {
  const std::string dir = WriteSmallHfVocab("hf");
  auto hf = Tokenizer::Load(dir);
  ASSERT_TRUE(hf.ok()) << hf.status();
  EXPECT_EQ(hf->vocab_size(), 512 + kMerges + 2);
  EXPECT_EQ(hf->sot_id(), 512 + kMerges);
  EXPECT_EQ(hf->eot_id(), 512 + kMerges + 1);
  auto by_file = Tokenizer::Load(dir + "/vocab.json");
  ASSERT_TRUE(by_file.ok()) << by_file.status();
  auto clip = Tokenizer::Load(ClipPath());
  ASSERT_TRUE(clip.ok()) << clip.status();

  int compared = 0;
  for (const std::string text : {"the one in a to", "it is on at", "and the re in", "a an the",
                                 "he she it we", "to be or not to be"}) {
    const auto full = clip->Encode(text);
    bool within = true;
    for (int32_t id : full) {
      within &= id < 512 + kMerges;
    }
    if (!within) {
      continue;  // needs merges beyond the first kMerges
    }
    ++compared;
    EXPECT_EQ(hf->Encode(text), full) << text;
    EXPECT_EQ(by_file->Encode(text), full) << text;
    EXPECT_EQ(hf->Decode(full), clip->Decode(full)) << text;
  }
  EXPECT_GE(compared, 3);
  // Some merge applies (fewer ids than bytes) and non-ASCII goes through the
  // \u-escaped byte symbols.
  EXPECT_LT(hf->Encode("the the the").size(), 9u);
  EXPECT_EQ(hf->Decode(hf->Encode("über")), "über ");
}

TEST(HfVocab, Errors) {
  const std::string dir = WriteSmallHfVocab("hf_err");
  std::remove((dir + "/merges.txt").c_str());
  auto no_merges = Tokenizer::Load(dir);
  ASSERT_FALSE(no_merges.ok());
  EXPECT_EQ(no_merges.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_merges.status().message().find("merges.txt"), std::string::npos);

  // A merge whose joined token has no id: named with its line.
  std::ofstream(dir + "/merges.txt") << "#version: 0.2\nt h\nq z\n";
  auto bad_merge = Tokenizer::Load(dir);
  ASSERT_FALSE(bad_merge.ok());
  EXPECT_NE(bad_merge.status().message().find("merges.txt:3:"), std::string::npos) << bad_merge.status();

  std::ofstream(dir + "/vocab.json") << "{\"a\": 0, \"b\": 1}";
  auto few = Tokenizer::Load(dir);
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("vocab.json"), std::string::npos) << few.status();

  std::ofstream(dir + "/vocab.json") << "{\"a\": 0, \"b\": }";
  auto bad_json = Tokenizer::Load(dir);
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.status().message().find("vocab.json: JSON line 1, column "), std::string::npos)
      << bad_json.status();

  std::ofstream(dir + "/vocab.json") << "{\"a\": -1}";
  auto negative = Tokenizer::Load(dir);
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("'a'"), std::string::npos) << negative.status();
}

}  // namespace
}  // namespace flyp::text
