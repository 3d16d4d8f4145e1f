#include "worker/text/commands.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/testing/test_env.h"
#include "worker/text/tokenizer.h"

namespace flyp::text {
namespace {

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result Tokenize(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = RunTokenizeCommand(args, out, err);
  return {code, out.str(), err.str()};
}

Result TrainBpe(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = RunTrainBpeCommand(args, out, err);
  return {code, out.str(), err.str()};
}

std::string ClipPath() { return flyp::testing::SharedDataDir() + "/clip/bpe_simple_vocab_16e6.txt.gz"; }

TEST(TokenizeCommand, PrintsIdsPerText) {
  const Result r = Tokenize({"--vocab", ClipPath(), "a dog", "a photo of a cat"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "49406 320 1929 49407\n49406 320 1125 539 320 2368 49407\n");
  const Result padded = Tokenize({"--vocab=" + ClipPath(), "--context", "6", "a dog", "a photo of a cat"});
  EXPECT_EQ(padded.code, 0) << padded.err;
  EXPECT_EQ(padded.out, "49406 320 1929 49407 0 0\n49406 320 1125 539 320 49407\n");
  const Result byte = Tokenize({"--vocab", "byte", "--", "--ab"});
  EXPECT_EQ(byte.code, 0) << byte.err;
  EXPECT_EQ(byte.out, "512 12 268 64 321 513\n");  // "-" "-</w>" "a" "b</w>"; - is 45-33
}

TEST(TokenizeCommand, Errors) {
  EXPECT_EQ(Tokenize({"a dog"}).code, 2);                                   // no --vocab
  EXPECT_EQ(Tokenize({"--vocab", "byte"}).code, 2);                         // no text
  EXPECT_EQ(Tokenize({"--vocab", "byte", "--context", "x", "a"}).code, 2);  // bad number
  EXPECT_EQ(Tokenize({"--vocab", "byte", "--context", "0", "a"}).code, 2);
  EXPECT_EQ(Tokenize({"--bogus", "1", "a"}).code, 2);
  EXPECT_EQ(Tokenize({"--vocab"}).code, 2);
  const Result missing = Tokenize({"--vocab", "/nonexistent/v.txt", "a"});
  EXPECT_EQ(missing.code, 4);  // bad input
  EXPECT_NE(missing.err.find("/nonexistent/v.txt"), std::string::npos) << missing.err;
  const Result help = Tokenize({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("Usage:\n  flyp-worker tokenize [flags] [TEXT...]"), std::string::npos);
}

TEST(TrainBpeCommand, WritesLoadableVocab) {
  const std::string dir = flyp::testing::TempDir();
  std::ofstream(dir + "/corpus.txt") << "low low low low low\n\nlower lower\n"
                                     << "newest newest newest newest newest newest\n"
                                     << "widest widest widest\n";
  const std::string vocab = dir + "/vocab.txt";
  const Result r = TrainBpe({"--corpus", dir + "/corpus.txt", "--merges", "3", "--out", vocab});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("learned 3 merges from 4 captions"), std::string::npos) << r.out;
  EXPECT_EQ(flyp::testing::ReadFileOrDie(vocab), "#version: 0.2\ne s\nes t</w>\nl o\n");
  auto tok = Tokenizer::Load(vocab);
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(tok->vocab_size(), 517);
  // The CLI tokenizes with it too.
  const Result ids = Tokenize({"--vocab", vocab, "est"});
  EXPECT_EQ(ids.out, "515 513 516\n");  // SOT=515, "est</w>" = merge 2, EOT=516

  const Result capped =
      TrainBpe({"--corpus", dir + "/corpus.txt", "--merges", "100", "--min-frequency", "3", "--out", vocab});
  EXPECT_EQ(capped.code, 0) << capped.err;
  EXPECT_NE(capped.out.find("learned 10 merges"), std::string::npos) << capped.out;
  EXPECT_NE(capped.out.find("stopped before 100"), std::string::npos) << capped.out;
}

TEST(TrainBpeCommand, Errors) {
  const std::string dir = flyp::testing::TempDir();
  EXPECT_EQ(TrainBpe({"--merges", "3", "--out", dir + "/v"}).code, 2);
  EXPECT_EQ(TrainBpe({"--corpus", "c", "--merges", "-1", "--out", dir + "/v"}).code, 2);
  EXPECT_EQ(TrainBpe({"--corpus", "c", "--merges", "3", "--out", dir + "/v", "extra"}).code, 2);
  EXPECT_EQ(TrainBpe({"--corpus", "c", "--merges", "3", "--min-frequency", "0", "--out", "v"}).code, 2);
  const Result missing = TrainBpe({"--corpus", "/nonexistent/c.txt", "--merges", "3", "--out", dir + "/v"});
  EXPECT_EQ(missing.code, 4);
  EXPECT_NE(missing.err.find("/nonexistent/c.txt"), std::string::npos) << missing.err;
  std::ofstream(dir + "/blank.txt") << "\n\n";
  const Result empty = TrainBpe({"--corpus", dir + "/blank.txt", "--merges", "3", "--out", dir + "/v"});
  EXPECT_EQ(empty.code, 4);
  EXPECT_NE(empty.err.find("no words"), std::string::npos) << empty.err;
}

}  // namespace
}  // namespace flyp::text
