// flyp-worker commands of the text component, in the common grammar
// (common/flags.h). Exit codes (common/exit_codes.h): 0 success, 2 usage
// error (message and usage on `err`), 4 bad input (a vocabulary or corpus
// that is missing, unreadable, corrupt or over its budget; message on
// `err`), 1 any other failure (writing the output).
//
//   flyp-worker tokenize --vocab VOCAB [--context N] TEXT...
//     One line per TEXT: its ids separated by spaces, SOT and EOT included;
//     with --context N, exactly N ids (zero padded, or cut with EOT last).
//     VOCAB is anything Tokenizer::Load accepts ("byte", a CLIP merges file,
//     a HuggingFace vocab.json or its directory).
//
//   flyp-worker train-bpe --corpus FILE --merges N [--min-frequency F] --out FILE
//     Learns up to N merges from FILE (one caption per line, plain or gzip;
//     empty lines skipped), F defaults to 2, and writes a CLIP merges file
//     that `--vocab FILE` loads.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "common/flags.h"

namespace flyp::text {

struct TokenizeOptions {
  std::string vocab;
  int context = -1;  // -1: not given (no padding)
  std::vector<std::string> texts;
};
struct TrainBpeOptions {
  static constexpr int kMergesNotGiven = -2147483647 - 1;  // (a negative N is out of range)
  std::string corpus;
  int merges = kMergesNotGiven;  // required
  int min_frequency = 2;
  std::string out;
};

// The commands for flyp-worker's table; they write to `out` / `err`, which
// must outlive them.
Command TokenizeCommand(std::ostream& out, std::ostream& err);
Command TrainBpeCommand(std::ostream& out, std::ostream& err);

// One command on its own: `args` are the arguments after its name.
int RunTokenizeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunTrainBpeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace flyp::text
