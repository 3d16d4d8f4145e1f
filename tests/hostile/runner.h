// The hostile-input runner: every case runs where a crash or a hang cannot
// take the suite with it (a child process, or a call with a deadline against
// a coordinator process), and its outcome is classified:
//   ok        the expected code, and the message names the problem
//   misread   a silent misread: success where an error is expected
//   wrong     another error code, a message that does not name the
//             problem, or a valid input refused
//   crash     the process died of a signal (or the coordinator died)
//   hang      no answer within the case's time limit
// A tally per group is printed at the end ("N cases: 0 crashes, 0 hangs,
// 0 silent misreads" is the bar, docs/security.md).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace flyp::hostile {

enum class Verdict { kOk, kMisread, kWrongError, kCrash, kHang };
const char* VerdictName(Verdict v);

// What one case produced: an exit code (binaries), a StatusCode number
// (library calls, gRPC), with its message; or a crash or hang.
struct Outcome {
  Verdict died = Verdict::kOk;  // kCrash or kHang when the process did not answer
  int code = 0;
  std::string message;
};

// Runs argv (argv[0] is a path) with stdin from /dev/null and stdout and
// stderr captured together, killing it (and its process group) after
// `timeout_s`. code = the exit status; died = kCrash for a signal, kHang
// for the timeout. `env` entries ("NAME=value") are added to the
// environment.
Outcome Spawn(const std::vector<std::string>& argv, double timeout_s,
              const std::vector<std::string>& env = {});

// Compares `got` with the expectation; `detail` says why it is not ok.
Verdict Judge(const Outcome& got, int want_code, const std::string& want_message, std::string* detail);

// Counts of each verdict per group, printed by PrintTally.
class Tally {
 public:
  static Tally& Get();
  void Add(const std::string& group, Verdict v);
  // "hostile inputs: 214 cases: 0 crashes, 0 hangs, 0 silent misreads, 0
  // wrong errors (214 ok)" and a line per group.
  std::string Summary() const;

 private:
  std::map<std::string, std::map<Verdict, int>> counts_;
};

}  // namespace flyp::hostile
