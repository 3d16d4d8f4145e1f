#include "worker/text/commands.h"

#include <climits>
#include <iostream>
#include <memory>

#include "common/exit_codes.h"
#include "common/file_util.h"
#include "common/numbers.h"
#include "worker/text/bpe_trainer.h"
#include "worker/text/tokenizer.h"
#include "worker/text/vocab_files.h"

namespace flyp::text {
namespace {

// train-bpe holds the whole corpus (plain or gzip) in memory while counting
// words; a larger one is refused rather than exhausting the host.
constexpr size_t kMaxCorpusBytes = 1024 * kMiB;

// Prints "error: message"; returns `code`.
int Fail(std::ostream& err, int code, const std::string& message, const char* command) {
  err << "flyp-worker " << command << ": " << message << "\n";
  if (code == kWorkerExitUsage) err << "Run 'flyp-worker " << command << " --help' for usage.\n";
  return code;
}

void PrintIds(const int32_t* ids, size_t n, std::ostream& out) {
  for (size_t i = 0; i < n; ++i) {
    out << (i ? " " : "") << ids[i];
  }
  out << "\n";
}

}  // namespace

int RunTokenize(const TokenizeOptions& o, std::ostream& out, std::ostream& err) {
  if (o.vocab.empty()) return Fail(err, kWorkerExitUsage, "--vocab is required", "tokenize");
  if (o.texts.empty()) return Fail(err, kWorkerExitUsage, "no TEXT given", "tokenize");
  if (o.context != -1 && (o.context < 1 || o.context > (1 << 20))) {
    return Fail(err, kWorkerExitUsage,
                "--context: expected an integer in [1, 1048576], got " + std::to_string(o.context),
                "tokenize");
  }
  const int context = o.context;
  auto tok = Tokenizer::Load(o.vocab);
  if (!tok.ok()) {
    return Fail(err, kWorkerExitBadInput, tok.status().ToString(), "tokenize");
  }
  for (const std::string& text : o.texts) {
    if (context > 0) {
      const auto row = tok->TokenizeBatch({text}, context);
      PrintIds(row.data(), row.size(), out);
    } else {
      const auto ids = tok->EncodeWithMarkers(text);
      PrintIds(ids.data(), ids.size(), out);
    }
  }
  return kWorkerExitOk;
}

int RunTrainBpe(const TrainBpeOptions& o, std::ostream& out, std::ostream& err) {
  for (const auto& [flag, value] : {std::make_pair("--corpus", &o.corpus), std::make_pair("--out", &o.out)}) {
    if (value->empty()) return Fail(err, kWorkerExitUsage, std::string(flag) + " is required", "train-bpe");
  }
  if (o.merges == TrainBpeOptions::kMergesNotGiven)
    return Fail(err, kWorkerExitUsage, "--merges is required", "train-bpe");
  if (o.merges < 0 || o.merges > kMaxClipMerges) {
    return Fail(err, kWorkerExitUsage,
                "--merges: expected an integer in [0, " + std::to_string(kMaxClipMerges) + "], got " +
                    std::to_string(o.merges),
                "train-bpe");
  }
  if (o.min_frequency < 1) {
    return Fail(err, kWorkerExitUsage,
                "--min-frequency: expected an integer >= 1, got " + std::to_string(o.min_frequency),
                "train-bpe");
  }
  const int merges = o.merges, min_frequency = o.min_frequency;
  auto content = ReadMaybeGzipFile(o.corpus, kMaxCorpusBytes);
  if (!content.ok()) {
    return Fail(err, kWorkerExitBadInput, content.status().ToString(), "train-bpe");
  }
  std::vector<std::string> corpus;
  size_t start = 0;
  while (start < content->size()) {
    size_t end = content->find('\n', start);
    if (end == std::string::npos) {
      end = content->size();
    }
    if (end > start) {
      corpus.push_back(content->substr(start, end - start));
    }
    start = end + 1;
  }
  auto learned = LearnBpeMerges(corpus, merges, min_frequency);
  if (!learned.ok()) {
    return Fail(err, kWorkerExitBadInput, o.corpus + ": " + learned.status().ToString(), "train-bpe");
  }
  const Status written = WriteClipVocab(o.out, *learned);
  if (!written.ok()) {
    return Fail(err, kWorkerExitFailure, written.ToString(), "train-bpe");
  }
  out << "learned " << learned->size() << " merges from " << corpus.size() << " captions; wrote " << o.out
      << " (vocabulary " << 512 + learned->size() + 2 << " ids)\n";
  if (static_cast<int>(learned->size()) < merges) {
    out << "note: stopped before " << merges << " merges: no pair occurs " << min_frequency
        << " or more times\n";
  }
  return kWorkerExitOk;
}

Command TokenizeCommand(std::ostream& out, std::ostream& err) {
  return {
      "tokenize", "print CLIP token ids of texts",
      "One line per TEXT: its ids separated by spaces, SOT and EOT included; with --context N, exactly N ids "
      "(zero "
      "padded, or cut with EOT last).",
      [&out, &err](FlagSet& f) {
        auto o = std::make_shared<TokenizeOptions>();
        f.String(
            "vocab", &o->vocab, "VOCAB",
            "'byte', a CLIP merges file (.txt or .txt.gz), or a HuggingFace vocab.json (merges.txt beside "
            "it) or its directory; required");
        f.Int("context", &o->context, "N", "pad or cut every text to N ids");
        f.Args("TEXT", &o->texts, "the texts");
        return [o, &out, &err] { return RunTokenize(*o, out, err); };
      }};
}

Command TrainBpeCommand(std::ostream& out, std::ostream& err) {
  return {"train-bpe", "learn BPE merges from captions (CLIP vocab format)",
          "Learns up to N merges from FILE (one caption per line, plain or gzip; empty lines skipped) and "
          "writes a "
          "CLIP merges file that --vocab FILE loads.",
          [&out, &err](FlagSet& f) {
            auto o = std::make_shared<TrainBpeOptions>();
            f.String("corpus", &o->corpus, "FILE", "captions, one per line (plain or gzip); required");
            f.Int("merges", &o->merges, "N", "merges to learn; required");
            f.Int("min-frequency", &o->min_frequency, "F", "stop when no pair occurs F times (default 2)");
            f.String("out", &o->out, "FILE", "the merges file to write; required");
            return [o, &out, &err] { return RunTrainBpe(*o, out, err); };
          }};
}

namespace {

int RunAlone(const Command& c, const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Program p;
  p.name = "flyp-worker " + c.name;
  p.summary = c.summary;
  p.description = c.description;
  p.setup = c.setup;
  p.usage_exit = kWorkerExitUsage;
  return RunProgram(p, args, out, err);
}

}  // namespace

int RunTokenizeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return RunAlone(TokenizeCommand(out, err), args, out, err);
}

int RunTrainBpeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return RunAlone(TrainBpeCommand(out, err), args, out, err);
}

}  // namespace flyp::text
