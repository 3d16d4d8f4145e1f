#include "worker/text/bpe_trainer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "tests/testing/test_env.h"
#include "worker/text/tokenizer.h"

namespace flyp::text {
namespace {

// Sennrich et al.'s example: low x5, lower x2, newest x6, widest x3.
std::vector<std::string> SennrichCorpus() {
  std::vector<std::string> corpus;
  for (int i = 0; i < 5; ++i) {
    corpus.push_back("low");
  }
  corpus.push_back("Lower  lower");  // case and whitespace are cleaned
  for (int i = 0; i < 3; ++i) {
    corpus.push_back("newest newest");
  }
  corpus.push_back("widest widest widest");
  return corpus;
}

// Worked by hand: counts (e,s)=9 and (s,t</w>)=9 tie, "e" < "s"; then
// es+t</w> (9), l+o (7); then three pairs at 6 where "e" < "n" < "w"; ...
const MergeList kExpected = {{"e", "s"},        {"es", "t</w>"},    {"l", "o"},      {"e", "w"},
                             {"ew", "est</w>"}, {"n", "ewest</w>"}, {"lo", "w</w>"}, {"d", "est</w>"},
                             {"i", "dest</w>"}, {"w", "idest</w>"}, {"e", "r</w>"},  {"lo", "w"},
                             {"low", "er</w>"}};

TEST(LearnBpeMerges, MatchesHandWorkedExample) {
  auto merges = LearnBpeMerges(SennrichCorpus(), 100, 2);
  ASSERT_TRUE(merges.ok()) << merges.status();
  EXPECT_EQ(*merges, kExpected);  // stops when no pair is left
}

TEST(LearnBpeMerges, StopsAtCountAndMinFrequency) {
  auto four = LearnBpeMerges(SennrichCorpus(), 4, 2);
  ASSERT_TRUE(four.ok());
  EXPECT_EQ(*four, MergeList(kExpected.begin(), kExpected.begin() + 4));
  auto freq3 = LearnBpeMerges(SennrichCorpus(), 100, 3);
  ASSERT_TRUE(freq3.ok());
  EXPECT_EQ(*freq3, MergeList(kExpected.begin(), kExpected.begin() + 10));
  auto none = LearnBpeMerges(SennrichCorpus(), 0, 1);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(LearnBpeMerges, WrittenFileReloads) {
  auto merges = LearnBpeMerges(SennrichCorpus(), 100, 2);
  ASSERT_TRUE(merges.ok());
  const std::string path = flyp::testing::TempDir() + "/trained.txt";
  ASSERT_TRUE(WriteClipVocab(path, *merges).ok());
  EXPECT_EQ(flyp::testing::ReadFileOrDie(path).substr(0, 18), "#version: 0.2\ne s\n");
  auto tok = Tokenizer::Load(path);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->vocab_size(), 512 + 13 + 2);
  EXPECT_EQ(tok->eot_id(), 512 + 13 + 1);
  // Every training word is one token: the id of the merge that completed it.
  EXPECT_EQ(tok->Encode("low lower newest widest"),
            (std::vector<int32_t>{512 + 6, 512 + 12, 512 + 5, 512 + 9}));
  // An unseen word falls back to pieces; decoding restores it.
  const auto ids = tok->Encode("slowest");
  EXPECT_GT(ids.size(), 1u);
  EXPECT_EQ(tok->Decode(ids), "slowest ");
}

TEST(LearnBpeMerges, NonAsciiAndDeterminism) {
  const std::vector<std::string> corpus = {"über über über", "Über uber", "niño niño", "日本 日本"};
  auto a = LearnBpeMerges(corpus, 50, 2);
  auto b = LearnBpeMerges(corpus, 50, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  ASSERT_FALSE(a->empty());
  const std::string path = flyp::testing::TempDir() + "/utf8.txt";
  ASSERT_TRUE(WriteClipVocab(path, *a).ok());
  auto tok = Tokenizer::Load(path);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->Encode("über").size(), 1u);  // 4 occurrences: fully merged
  EXPECT_EQ(tok->Decode(tok->Encode("über niño 日本")), "über niño 日本 ");
}

TEST(LearnBpeMerges, Errors) {
  EXPECT_EQ(LearnBpeMerges({"a b"}, -1, 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LearnBpeMerges({"a b"}, 50000, 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LearnBpeMerges({"a b"}, 10, 0).status().code(), StatusCode::kInvalidArgument);
  auto empty = LearnBpeMerges({"", "   "}, 10, 1);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("no words"), std::string::npos);
  EXPECT_FALSE(WriteClipVocab(flyp::testing::TempDir() + "/x.txt", {{"a b", "c"}}).ok());
  const Status unwritable = WriteClipVocab("/nonexistent-dir/vocab.txt", {{"a", "b"}});
  ASSERT_FALSE(unwritable.ok());
  EXPECT_NE(unwritable.message().find("/nonexistent-dir/vocab.txt"), std::string::npos);
}

// ~100k short captions, 2000 merges: must stay in the seconds range.
TEST(LearnBpeMerges, ScalesToCaptionCorpora) {
  std::mt19937 rng(7);
  const char* letters = "etaoinshrdlcumwfgypbvkjxqz";
  std::vector<std::string> vocab;
  for (int i = 0; i < 3000; ++i) {
    std::string w;
    const int len = 3 + static_cast<int>(rng() % 7);
    for (int k = 0; k < len; ++k) {
      w += letters[std::min<unsigned>(rng() % 26, rng() % 26)];
    }
    vocab.push_back(w);
  }
  std::vector<std::string> corpus;
  for (int i = 0; i < 100000; ++i) {
    corpus.push_back("a photo of a " + vocab[rng() % vocab.size()] + " " +
                     vocab[std::min(rng() % vocab.size(), rng() % vocab.size())] + ".");
  }
  const auto start = std::chrono::steady_clock::now();
  auto merges = LearnBpeMerges(corpus, 2000, 2);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(merges.ok());
  EXPECT_EQ(merges->size(), 2000u);
  EXPECT_LT(seconds, 30.0) << "far too slow for a caption corpus";
  std::printf("LearnBpeMerges: 100k captions, 2000 merges in %.2f s\n", seconds);
}

}  // namespace
}  // namespace flyp::text
