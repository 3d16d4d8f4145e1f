// The hostile-input cases, as a table. A library case runs in a child
// process (the test binary re-executed with --hostile-case=GROUP/NAME) and
// reports a StatusCode number and its message; the binary cases run
// flypctl / flyp-worker and report the exit code and the output.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tests/hostile/runner.h"

namespace flyp::hostile {

struct LibraryCase {
  std::string group;  // "spec", "checkpoint", "dataset", "tokenizer"
  std::string name;
  // Runs in the child: the outcome's code is a StatusCode number.
  std::function<Outcome()> run;
  int want_code;             // 0 for inputs that must be accepted
  std::string want_message;  // must appear in the message ("" for accepted inputs)
  double timeout_s = 30;
};

// Writes every input file the cases read under `dir` (the parent, once).
void MakeInputs(const std::string& dir);
// The cases over the inputs in `dir` (pure: the child builds the same table).
std::vector<LibraryCase> LibraryCases(const std::string& dir);

}  // namespace flyp::hostile
