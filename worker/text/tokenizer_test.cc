#include "worker/text/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "common/json.h"
#include "tests/testing/test_env.h"
#include "worker/text/text_cleanup.h"

namespace flyp::text {
namespace {

std::string ClipVocabPath() { return flyp::testing::SharedDataDir() + "/clip/bpe_simple_vocab_16e6.txt.gz"; }

// Loading the 48,894-merge vocabulary takes a moment: share one per binary.
const Tokenizer& Clip() {
  static const Tokenizer* tok = [] {
    auto t = Tokenizer::Load(ClipVocabPath());
    if (!t.ok()) {
      ADD_FAILURE() << t.status();
      std::abort();
    }
    return new Tokenizer(std::move(t).value());
  }();
  return *tok;
}

std::string StripSpaces(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != ' ') {
      out.push_back(c);
    }
  }
  return out;
}

TEST(ClipTokenizer, VocabularyLayout) {
  const Tokenizer& tok = Clip();
  EXPECT_EQ(tok.vocab_size(), 49408);
  EXPECT_EQ(tok.sot_id(), 49406);
  EXPECT_EQ(tok.eot_id(), 49407);
  EXPECT_EQ(tok.model().num_merges(), 48894u);
  // First byte token is '!', 'a' is 97 - 33, and "</w>" forms follow at 256.
  EXPECT_EQ(tok.model().TokenText(0), "!");
  EXPECT_EQ(tok.model().TokenText(64), "a");
  EXPECT_EQ(tok.model().TokenText(256 + 64), "a</w>");
  EXPECT_EQ(tok.model().TokenText(49406), "<|startoftext|>");
}

TEST(ClipTokenizer, EveryReferenceCaseExact) {
  const std::string path = flyp::testing::SharedDataDir() + "/clip/tokenizer_cases.json";
  auto json = flyp::ParseJson(flyp::testing::ReadFileOrDie(path));
  ASSERT_TRUE(json.ok()) << json.status();
  const flyp::Json* cases = json->Find("cases");
  ASSERT_NE(cases, nullptr);
  ASSERT_TRUE(cases->is_array());
  ASSERT_GE(cases->size(), 10u);
  ASSERT_EQ(json->Find("sot")->as_int64(), Clip().sot_id());
  ASSERT_EQ(json->Find("eot")->as_int64(), Clip().eot_id());
  const int context = static_cast<int>(json->Find("context_length")->as_int64());
  for (const flyp::Json& c : cases->as_array()) {
    const std::string& text = c.Find("text")->as_string();
    std::vector<int32_t> expected;
    for (const flyp::Json& id : c.Find("ids")->as_array()) {
      expected.push_back(static_cast<int32_t>(id.as_int64()));
    }
    EXPECT_EQ(Clip().EncodeWithMarkers(text), expected) << "text: '" << text << "'";
    // Padded batch form of the same case.
    std::vector<int32_t> padded = expected;
    padded.resize(context, 0);
    EXPECT_EQ(Clip().TokenizeBatch({text}, context), padded) << "text: '" << text << "'";
    // The reference decoder gives the cleaned text back, pre-tokens
    // separated by spaces.
    const std::vector<int32_t> body(expected.begin() + 1, expected.end() - 1);
    EXPECT_EQ(StripSpaces(Clip().Decode(body)), StripSpaces(CleanText(text))) << text;
  }
}

TEST(ClipTokenizer, KnownIdsAndDecode) {
  const Tokenizer& tok = Clip();
  EXPECT_EQ(tok.Encode("a photo of a cat"), (std::vector<int32_t>{320, 1125, 539, 320, 2368}));
  EXPECT_EQ(tok.Decode(tok.Encode("a photo of a T-shirt/top.")), "a photo of a t - shirt / top . ");
  EXPECT_EQ(tok.Decode(tok.EncodeWithMarkers("a dog")), "<|startoftext|>a dog <|endoftext|>");
  EXPECT_EQ(tok.Decode(tok.Encode("don't stop")), "don 't stop ");
  // HTML entities are unescaped (twice), case folded, whitespace collapsed.
  EXPECT_EQ(tok.Encode("A &amp;amp; B"), tok.Encode("a & b"));
  EXPECT_EQ(tok.Encode("  a\tcat\n"), tok.Encode("a cat"));
  // Special token text maps to the special ids.
  EXPECT_EQ(tok.Encode("<|endoftext|>"), (std::vector<int32_t>{49407}));
  // Out-of-range ids are skipped.
  EXPECT_EQ(tok.Decode({320, -5, 99999}), "a ");
}

TEST(ClipTokenizer, NonAsciiRoundTrips) {
  const Tokenizer& tok = Clip();
  for (const std::string text : {"café crème", "Москва", "東京タワー", "ελληνικά", "עברית", "नमस्ते",
                                 "naïve 😀 emoji", "١٢٣ arabic digits"}) {
    const auto ids = tok.Encode(text);
    ASSERT_FALSE(ids.empty()) << text;
    for (int32_t id : ids) {
      EXPECT_GE(id, 0);
      EXPECT_LT(id, 49406);
    }
    EXPECT_EQ(StripSpaces(tok.Decode(ids)), StripSpaces(CleanText(text))) << text;
  }
  // Uppercase Cyrillic and Greek fold to lowercase.
  EXPECT_EQ(tok.Encode("МОСКВА"), tok.Encode("москва"));
  EXPECT_EQ(tok.Encode("ΑΘΗΝΑ"), tok.Encode("αθηνα"));
}

TEST(ClipTokenizer, BatchPadsAndTruncatesKeepingEot) {
  const Tokenizer& tok = Clip();
  const auto batch = tok.TokenizeBatch({"a dog", "", "a photo of a cat"}, 8);
  const std::vector<int32_t> expected = {49406, 320,   1929, 49407, 0,   0,    0,     0,  //
                                         49406, 49407, 0,    0,     0,   0,    0,     0,  //
                                         49406, 320,   1125, 539,   320, 2368, 49407, 0};
  EXPECT_EQ(batch, expected);
  // Too long: cut, last position EOT.
  EXPECT_EQ(tok.TokenizeBatch({"a photo of a cat"}, 5), (std::vector<int32_t>{49406, 320, 1125, 539, 49407}));
  EXPECT_EQ(tok.TokenizeBatch({"a photo of a cat"}, 7),
            (std::vector<int32_t>{49406, 320, 1125, 539, 320, 2368, 49407}));
  std::string long_text;
  for (int i = 0; i < 200; ++i) {
    long_text += "cat ";
  }
  const auto row = tok.TokenizeBatch({long_text}, 77);
  ASSERT_EQ(row.size(), 77u);
  EXPECT_EQ(row.front(), 49406);
  EXPECT_EQ(row.back(), 49407);
  EXPECT_EQ(row[1], 2368);
  EXPECT_TRUE(tok.TokenizeBatch({"x"}, 0).empty());
  EXPECT_TRUE(tok.TokenizeBatch({}, 77).empty());
}

TEST(ClipTokenizer, ConcurrentEncodeAgrees) {
  const Tokenizer& tok = Clip();
  const std::vector<std::string> texts = {"a bad photo of the ankle boot.", "itap of a {}.",
                                          "a sculpture of a pullover.", "UPPER lower MiXeD"};
  std::vector<std::vector<int32_t>> expected;
  for (const auto& t : texts) {
    expected.push_back(tok.Encode(t));
  }
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const size_t k = (i + t) % texts.size();
        if (tok.Encode(texts[k]) != expected[k]) {
          ++mismatches;
        }
        tok.Encode("word" + std::to_string(i * 4 + t));  // fills the cache concurrently
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ByteTokenizer, LayoutAndEncoding) {
  auto tok = Tokenizer::Load("byte");
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->vocab_size(), 514);
  EXPECT_EQ(tok->sot_id(), 512);
  EXPECT_EQ(tok->eot_id(), 513);
  // "ab c": a=64, b=65 then "b</w>"=256+65; c alone is "c</w>".
  EXPECT_EQ(tok->Encode("ab c"), (std::vector<int32_t>{64, 256 + 65, 256 + 66}));
  // A non-printable byte (space is mapped past the printable ones: id 188+32).
  EXPECT_EQ(tok->Encode("é"), (std::vector<int32_t>{0xC3 - 0xAE + 94 + 12, 256 + 0xA9 - 0xA1 + 94}));
  EXPECT_EQ(tok->Decode(tok->Encode("héllo wörld")), "héllo wörld ");
  EXPECT_EQ(tok->TokenizeBatch({"ab"}, 4), (std::vector<int32_t>{512, 64, 321, 513}));
}

TEST(TokenizerLoad, Errors) {
  auto missing = Tokenizer::Load("/nonexistent/vocab.txt.gz");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("/nonexistent/vocab.txt.gz"), std::string::npos);

  const std::string dir = flyp::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir + "/" + name, std::ios::binary) << content;
    return dir + "/" + name;
  };
  const std::string empty = write("empty.txt", "");
  auto e = Tokenizer::Load(empty);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("empty.txt"), std::string::npos) << e.status();
  EXPECT_NE(e.status().message().find("empty"), std::string::npos);

  auto bad_line = Tokenizer::Load(write("bad.txt", "#version: 0.2\na b\nc d e\n"));
  ASSERT_FALSE(bad_line.ok());
  EXPECT_NE(bad_line.status().message().find("bad.txt:3:"), std::string::npos) << bad_line.status();

  auto no_header = Tokenizer::Load(write("nohead.txt", "a b\n"));
  ASSERT_FALSE(no_header.ok());
  EXPECT_NE(no_header.status().message().find("nohead.txt:1:"), std::string::npos);

  auto gap = Tokenizer::Load(write("gap.txt", "#version: 0.2\na b\n\nc d\n"));
  ASSERT_FALSE(gap.ok());
  EXPECT_NE(gap.status().message().find("gap.txt:3:"), std::string::npos) << gap.status();

  // Truncated gzip: the first half of the real file.
  const std::string gz = flyp::testing::ReadFileOrDie(ClipVocabPath());
  auto corrupt = Tokenizer::Load(write("half.txt.gz", gz.substr(0, gz.size() / 2)));
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(corrupt.status().message().find("half.txt.gz"), std::string::npos);

  // Header only: a valid vocabulary with no merges (byte level).
  auto header_only = Tokenizer::Load(write("h.txt", "#version: 0.2\n"));
  ASSERT_TRUE(header_only.ok()) << header_only.status();
  EXPECT_EQ(header_only->vocab_size(), 514);
}

}  // namespace
}  // namespace flyp::text
