#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace flyp {

std::string ProcessOutcome::Describe() const {
  std::string what;
  if (timed_out) {
    what = "no answer within the timeout";
  } else if (signal != 0) {
    what = std::string("killed by signal ") + std::to_string(signal) + " (" + strsignal(signal) + ")";
  } else {
    what = "exit code " + std::to_string(exit_code);
  }
  std::string out = output;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out.empty() ? what : what + ": " + out;
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      if (!cur.empty()) words.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) words.push_back(cur);
  return words;
}

StatusOr<ProcessOutcome> RunProcess(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                                    size_t max_output) {
  if (args.empty()) return InvalidArgumentError("RunProcess: empty argv");
  // Built before fork(): the child only makes async-signal-safe calls.
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return UnavailableError(std::string("pipe: ") + std::strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    return UnavailableError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv.data());
    const char* why = strerror(errno);
    ssize_t ignored = write(2, argv[0], strlen(argv[0]));
    ignored = write(2, ": ", 2);
    ignored = write(2, why, strlen(why));
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);
  close(out[1]);
  ProcessOutcome r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[1024];
  int status = 0;
  bool reaped = false, eof = false;
  auto drain = [&](int wait_ms) {
    pollfd fd{out[0], POLLIN, 0};
    const int ready = poll(&fd, 1, wait_ms);
    if (ready <= 0) return;
    const ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) {
      eof = n == 0 || errno != EINTR;
      return;
    }
    const size_t room = max_output > r.output.size() ? max_output - r.output.size() : 0;
    r.output.append(buf, std::min(room, static_cast<size_t>(n)));
  };
  // Until the program exits (a child it left behind may keep the pipe open:
  // its exit, not EOF, ends the wait) or the deadline passes.
  while (!reaped) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      reaped = true;
      break;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    if (eof) {
      std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(10)));
    } else {
      drain(static_cast<int>(std::min<int64_t>(left.count(), 50)));
    }
  }
  if (r.timed_out) {
    kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  } else {
    for (int i = 0; i < 100 && !eof; ++i) drain(0);  // what it wrote just before exiting
    kill(-pid, SIGKILL);                             // anything it left behind in its group
  }
  close(out[0]);
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

}  // namespace flyp
