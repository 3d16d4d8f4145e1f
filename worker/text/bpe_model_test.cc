// BpeModel::EncodeWord (a heap over a linked list) against the reference
// algorithm written out as CLIP's simple_tokenizer.bpe has it (find the
// lowest-ranked pair, merge all its occurrences left to right, repeat), on
// the CLIP vocabulary and on hand-made merge tables where the two orders of
// work could differ.
#include "worker/text/bpe_model.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>

#include "common/file_util.h"
#include "tests/testing/test_env.h"
#include "worker/text/byte_encoder.h"
#include "worker/text/vocab_files.h"

namespace flyp::text {
namespace {

using Pair = std::pair<std::string, std::string>;

// The reference: token texts of `bytes`.
std::vector<std::string> ReferenceBpe(const std::map<Pair, int>& ranks, const std::string& bytes) {
  std::vector<std::string> word;
  for (size_t i = 0; i < bytes.size(); ++i) {
    word.push_back(ByteSymbol(static_cast<uint8_t>(bytes[i])) + (i + 1 == bytes.size() ? "</w>" : ""));
  }
  while (word.size() > 1) {
    int best = INT32_MAX;
    Pair bigram;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks.find({word[i], word[i + 1]});
      if (it != ranks.end() && it->second < best) {
        best = it->second;
        bigram = it->first;
      }
    }
    if (best == INT32_MAX) break;
    std::vector<std::string> next;
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == bigram.first && word[i + 1] == bigram.second) {
        next.push_back(word[i] + word[i + 1]);
        i += 2;
      } else {
        next.push_back(word[i++]);
      }
    }
    word.swap(next);
  }
  return word;
}

std::vector<std::string> Texts(const BpeModel& m, const std::string& bytes) {
  std::vector<int32_t> ids;
  m.EncodeWord(bytes, &ids);
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(m.TokenText(id));
  return out;
}

struct Table {
  BpeModel model;
  std::map<Pair, int> ranks;
};

Table Make(const std::vector<BpeModel::Merge>& merges) {
  std::map<Pair, int> ranks;
  for (size_t r = 0; r < merges.size(); ++r) ranks[{merges[r].left, merges[r].right}] = static_cast<int>(r);
  auto m = BpeModel::Build(ClipVocabTokens(merges), merges, "test", "test");
  EXPECT_TRUE(m.ok()) << m.status();
  return {std::move(m).value(), ranks};
}

TEST(BpeModelTest, MatchesTheReferenceOnTheClipVocabulary) {
  auto content =
      ReadMaybeGzipFile(testing::SharedDataDir() + "/clip/bpe_simple_vocab_16e6.txt.gz", kMaxVocabFileBytes);
  ASSERT_TRUE(content.ok()) << content.status();
  auto merges = ParseMerges(*content, "clip");
  ASSERT_TRUE(merges.ok()) << merges.status();
  const Table t = Make(*merges);
  std::mt19937 rng(7);
  const std::string letters = "abcdefghijklmnopqrstuvwxyz";
  for (int trial = 0; trial < 300; ++trial) {
    std::string w;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) w += letters[rng() % (trial % 3 == 0 ? 3 : letters.size())];
    ASSERT_EQ(Texts(t.model, w), ReferenceBpe(t.ranks, w)) << w;
  }
  for (const char* w : {"photograph", "aaaaaaaaaaaaaaaaaaaaa", "\xE2\x82\xAC\xE2\x82\xAC", "x"}) {
    EXPECT_EQ(Texts(t.model, w), ReferenceBpe(t.ranks, w)) << w;
  }
}

// A table where a pair made by a merge has a lower rank than that merge (a
// trained vocabulary never has one, a hand-made one can): the reference
// still finishes the round first.
TEST(BpeModelTest, MatchesTheReferenceWhenNewPairsRankLower) {
  const std::string a = ByteSymbol('a'), b = ByteSymbol('b'), a_end = a + "</w>", b_end = b + "</w>";
  const Table t =
      Make({{a + b, a, 0}, {a, b, 0}, {a + b, a + b, 0}, {a, a, 0}, {a, a_end, 0}, {a, b_end, 0}});
  for (const char* w : {"abab", "ababa", "aaaa", "abaaba", "aababab", "ba", "abababababab"}) {
    EXPECT_EQ(Texts(t.model, w), ReferenceBpe(t.ranks, w)) << w;
  }
}

// The reference rescans the word for every merge: O(n^2), seconds for a
// 100 kB word, hours for a caption of a few megabytes.
TEST(BpeModelTest, LongWordsTakeLinearithmicTime) {
  auto content =
      ReadMaybeGzipFile(testing::SharedDataDir() + "/clip/bpe_simple_vocab_16e6.txt.gz", kMaxVocabFileBytes);
  ASSERT_TRUE(content.ok()) << content.status();
  auto merges = ParseMerges(*content, "clip");
  ASSERT_TRUE(merges.ok());
  const Table t = Make(*merges);
  std::mt19937 rng(3);
  std::string w;
  for (int i = 0; i < 2000000; ++i) w += static_cast<char>('a' + rng() % 26);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> ids;
  t.model.EncodeWord(w, &ids);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 30.0);  // about a second here; the rescanning version would not finish
  EXPECT_GT(ids.size(), w.size() / 20);
}

}  // namespace
}  // namespace flyp::text
