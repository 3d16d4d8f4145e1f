// flyp-worker sub-commands of the text component. `args` are the arguments
// after the command name. Return value is the process exit code
// (common/exit_codes.h): 0 success, 2 usage error (message and usage on
// `err`), 4 bad input (a vocabulary or corpus that is missing, unreadable,
// corrupt or over its budget; message on `err`), 1 any other failure
// (writing the output).
// The one-argument forms write to std::cout / std::cerr.
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

namespace flyp::text {

int RunTokenizeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunTokenizeCommand(const std::vector<std::string>& args);

int RunTrainBpeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunTrainBpeCommand(const std::vector<std::string>& args);

}  // namespace flyp::text
