#include "tests/hostile/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>

extern char** environ;

namespace flyp::hostile {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kMisread:
      return "misread";
    case Verdict::kWrongError:
      return "wrong";
    case Verdict::kCrash:
      return "crash";
    case Verdict::kHang:
      return "hang";
  }
  return "?";
}

Outcome Spawn(const std::vector<std::string>& argv, double timeout_s, const std::vector<std::string>& env) {
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<std::string> env_strings = env;  // first wins in getenv
  for (char** e = environ; *e; ++e) env_strings.push_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {Verdict::kCrash, -1, "pipe failed"};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execve(cargv[0], cargv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  Outcome out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  bool timed_out = false;
  char buf[65536];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;  // the child closed its end: it is exiting
    if (out.message.size() < (4u << 20)) out.message.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  // Output closed but the process may linger (a grandchild holds the pipe):
  // give it the rest of the budget, then kill it.
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    ::usleep(10000);
  }
  if (timed_out) {
    out.died = Verdict::kHang;
  } else if (WIFSIGNALED(status)) {
    out.died = Verdict::kCrash;
    out.code = -WTERMSIG(status);
  } else {
    out.code = WEXITSTATUS(status);
  }
  return out;
}

Verdict Judge(const Outcome& got, int want_code, const std::string& want_message, std::string* detail) {
  if (got.died != Verdict::kOk) {
    *detail = std::string(VerdictName(got.died)) + " (code " + std::to_string(got.code) +
              "); output: " + got.message.substr(0, 2000);
    return got.died;
  }
  if (got.code != want_code) {
    *detail = "code " + std::to_string(got.code) + ", expected " + std::to_string(want_code) +
              "; message: " + got.message.substr(0, 2000);
    // Success where an error was expected is the silent misread.
    return got.code == 0 ? Verdict::kMisread : Verdict::kWrongError;
  }
  if (got.message.find(want_message) == std::string::npos) {
    *detail = "message does not contain '" + want_message + "': " + got.message.substr(0, 2000);
    return Verdict::kWrongError;
  }
  return Verdict::kOk;
}

Tally& Tally::Get() {
  static Tally* t = new Tally();
  return *t;
}

void Tally::Add(const std::string& group, Verdict v) { ++counts_[group][v]; }

std::string Tally::Summary() const {
  std::map<Verdict, int> all;
  std::ostringstream per_group;
  int total = 0;
  for (const auto& [group, counts] : counts_) {
    int n = 0;
    for (const auto& [v, c] : counts) {
      all[v] += c;
      n += c;
    }
    total += n;
    per_group << "  " << group << ": " << n << " cases, "
              << (counts.count(Verdict::kOk) ? counts.at(Verdict::kOk) : 0) << " ok\n";
  }
  auto count = [&](Verdict v) { return all.count(v) ? all.at(v) : 0; };
  std::ostringstream os;
  os << "hostile inputs: " << total << " cases: " << count(Verdict::kCrash) << " crashes, "
     << count(Verdict::kHang) << " hangs, " << count(Verdict::kMisread) << " silent misreads, "
     << count(Verdict::kWrongError) << " wrong errors (" << count(Verdict::kOk) << " ok)\n"
     << per_group.str();
  return os.str();
}

}  // namespace flyp::hostile
