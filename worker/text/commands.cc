#include "worker/text/commands.h"

#include <climits>
#include <iostream>
#include <map>

#include "common/exit_codes.h"
#include "common/file_util.h"
#include "common/numbers.h"
#include "worker/text/bpe_trainer.h"
#include "worker/text/tokenizer.h"
#include "worker/text/vocab_files.h"

namespace flyp::text {
namespace {

constexpr char kTokenizeUsage[] =
    "usage: flyp-worker tokenize --vocab VOCAB [--context N] TEXT...\n"
    "  VOCAB: 'byte', a CLIP merges file (.txt or .txt.gz), or a HuggingFace\n"
    "         vocab.json (merges.txt beside it) or its directory\n";
// train-bpe holds the whole corpus (plain or gzip) in memory while counting
// words; a larger one is refused rather than exhausting the host.
constexpr size_t kMaxCorpusBytes = 1024 * kMiB;

constexpr char kTrainBpeUsage[] =
    "usage: flyp-worker train-bpe --corpus FILE --merges N [--min-frequency F] --out FILE\n";

// "--name value" / "--name=value" options (all take a value) and positionals.
struct ParsedArgs {
  std::map<std::string, std::string> options;
  std::vector<std::string> positional;
  bool help = false;
};

bool ParseArgs(const std::vector<std::string>& args, const std::vector<std::string>& known,
               ParsedArgs* parsed, std::ostream& err) {
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positional || a.size() < 2 || a.compare(0, 2, "--") != 0) {
      parsed->positional.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    if (a == "--help") {
      parsed->help = true;
      continue;
    }
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    bool is_known = false;
    for (const auto& k : known) {
      is_known |= k == name;
    }
    if (!is_known) {
      err << "error: unknown option --" << name << "\n";
      return false;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        err << "error: option --" << name << " needs a value\n";
        return false;
      }
      value = args[++i];
    }
    parsed->options[name] = value;
  }
  return true;
}

// Parses a decimal int in [lo, hi]; prints an error naming the option.
bool ParseInt(const std::string& name, const std::string& text, int lo, int hi, int* out, std::ostream& err) {
  StatusOr<int32_t> v = ParseInt32(text, "--" + name, lo, hi);
  if (!v.ok()) {
    err << "error: " << v.status().message() << "\n";
    return false;
  }
  *out = *v;
  return true;
}

// Prints "error: message" (and the usage text, if any); returns `code`.
int Fail(std::ostream& err, int code, const std::string& message, const char* usage = nullptr) {
  if (!message.empty()) {
    err << "error: " << message << "\n";
  }
  if (usage != nullptr) {
    err << usage;
  }
  return code;
}

void PrintIds(const int32_t* ids, size_t n, std::ostream& out) {
  for (size_t i = 0; i < n; ++i) {
    out << (i ? " " : "") << ids[i];
  }
  out << "\n";
}

}  // namespace

int RunTokenizeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ParsedArgs p;
  if (!ParseArgs(args, {"vocab", "context"}, &p, err)) {
    return Fail(err, kWorkerExitUsage, "", kTokenizeUsage);
  }
  if (p.help) {
    return Fail(out, kWorkerExitOk, "", kTokenizeUsage);
  }
  if (!p.options.count("vocab")) {
    return Fail(err, kWorkerExitUsage, "--vocab is required", kTokenizeUsage);
  }
  if (p.positional.empty()) {
    return Fail(err, kWorkerExitUsage, "no TEXT given", kTokenizeUsage);
  }
  int context = 0;
  if (p.options.count("context") && !ParseInt("context", p.options["context"], 1, 1 << 20, &context, err)) {
    return kWorkerExitUsage;
  }
  auto tok = Tokenizer::Load(p.options["vocab"]);
  if (!tok.ok()) {
    return Fail(err, kWorkerExitBadInput, tok.status().ToString());
  }
  for (const std::string& text : p.positional) {
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

int RunTrainBpeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ParsedArgs p;
  if (!ParseArgs(args, {"corpus", "merges", "min-frequency", "out"}, &p, err)) {
    return Fail(err, kWorkerExitUsage, "", kTrainBpeUsage);
  }
  if (p.help) {
    return Fail(out, kWorkerExitOk, "", kTrainBpeUsage);
  }
  for (const char* required : {"corpus", "merges", "out"}) {
    if (!p.options.count(required)) {
      return Fail(err, kWorkerExitUsage, std::string("--") + required + " is required", kTrainBpeUsage);
    }
  }
  if (!p.positional.empty()) {
    return Fail(err, kWorkerExitUsage, "unexpected argument '" + p.positional[0] + "'", kTrainBpeUsage);
  }
  int merges = 0, min_frequency = 2;
  if (!ParseInt("merges", p.options["merges"], 0, kMaxClipMerges, &merges, err)) {
    return kWorkerExitUsage;
  }
  if (p.options.count("min-frequency") &&
      !ParseInt("min-frequency", p.options["min-frequency"], 1, INT_MAX, &min_frequency, err)) {
    return kWorkerExitUsage;
  }
  auto content = ReadMaybeGzipFile(p.options["corpus"], kMaxCorpusBytes);
  if (!content.ok()) {
    return Fail(err, kWorkerExitBadInput, content.status().ToString());
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
    return Fail(err, kWorkerExitBadInput, p.options["corpus"] + ": " + learned.status().ToString());
  }
  const Status written = WriteClipVocab(p.options["out"], *learned);
  if (!written.ok()) {
    return Fail(err, kWorkerExitFailure, written.ToString());
  }
  out << "learned " << learned->size() << " merges from " << corpus.size() << " captions; wrote "
      << p.options["out"] << " (vocabulary " << 512 + learned->size() + 2 << " ids)\n";
  if (static_cast<int>(learned->size()) < merges) {
    out << "note: stopped before " << merges << " merges: no pair occurs " << min_frequency
        << " or more times\n";
  }
  return kWorkerExitOk;
}

int RunTokenizeCommand(const std::vector<std::string>& args) {
  return RunTokenizeCommand(args, std::cout, std::cerr);
}

int RunTrainBpeCommand(const std::vector<std::string>& args) {
  return RunTrainBpeCommand(args, std::cout, std::cerr);
}

}  // namespace flyp::text
