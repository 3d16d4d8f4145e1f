#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace flyp {
namespace {

// Closes what it holds on destruction (the error paths below are many).
struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

bool MakePipe(Fd* read_end, Fd* write_end) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return false;
  read_end->fd = p[0];
  write_end->fd = p[1];
  return true;
}

// Appends what `fd` has to *out (up to `max` bytes kept); false at EOF.
bool Drain(int fd, std::string* out, size_t max) {
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  if (out->size() < max) out->append(buf, std::min(static_cast<size_t>(n), max - out->size()));
  return true;
}

std::string EnvValue(const std::vector<std::string>& env, const std::string& name) {
  for (const std::string& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      return e.substr(name.size() + 1);
  }
  return "";
}

}  // namespace

std::string ProcessResult::Describe() const {
  std::string what;
  if (timed_out) {
    what = "killed after its timeout";
  } else if (signal != 0) {
    what = "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  } else {
    what = "exit code " + std::to_string(exit_code);
  }
  std::string text = err.empty() ? out : err;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (const size_t nl = text.find('\n'); nl != std::string::npos) text = text.substr(0, nl) + " ...";
  return text.empty() ? what : what + ": " + text;
}

StatusOr<std::string> FindProgram(const std::string& name, const std::string& path_list) {
  if (name.find('/') != std::string::npos) return name;
  size_t start = 0;
  while (start <= path_list.size()) {
    size_t end = path_list.find(':', start);
    if (end == std::string::npos) end = path_list.size();
    std::string dir = path_list.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return NotFoundError("program '" + name + "' is not in PATH (" + path_list + ")");
}

StatusOr<ProcessResult> RunProcess(const ProcessOptions& options) {
  if (options.argv.empty()) return InvalidArgumentError("RunProcess: empty argv");
  // Everything the child needs is built before fork(): after it only
  // async-signal-safe calls are allowed (the caller may be multi-threaded).
  std::vector<std::string> env_strings;
  if (options.env) {
    env_strings = *options.env;
  } else {
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  }
  StatusOr<std::string> path = FindProgram(options.argv[0], EnvValue(env_strings, "PATH"));
  if (!path.ok()) return FailedPreconditionError(path.status().message());
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const char* exe = path->c_str();
  const char* dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();

  Fd out_r, out_w, err_r, err_w, exec_r, exec_w;
  if (!MakePipe(&out_r, &out_w) || !MakePipe(&err_r, &err_w) || !MakePipe(&exec_r, &exec_w)) {
    return UnavailableError(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t pid = fork();
  if (pid < 0) return UnavailableError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out_w.fd, 1);
    dup2(err_w.fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);  // SIG_IGN would survive execve
    int err = 0;
    if (dir != nullptr && chdir(dir) != 0) {
      err = errno;
    } else {
      execve(exe, argv.data(), envp.data());
      err = errno;
    }
    ssize_t ignored = write(exec_w.fd, &err, sizeof(err));
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent: no race with an early kill
  out_w.Close();
  err_w.Close();
  exec_w.Close();
  int child_err = 0;
  ssize_t n;
  do {
    n = read(exec_r.fd, &child_err, sizeof(child_err));
  } while (n < 0 && errno == EINTR);
  if (n == sizeof(child_err)) {
    waitpid(pid, nullptr, 0);
    return FailedPreconditionError("cannot execute '" + options.argv[0] + "'" +
                                   (dir != nullptr ? " in '" + options.working_dir + "'" : "") + ": " +
                                   std::strerror(child_err));
  }

  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    pollfd fds[2];
    nfds_t count = 0;
    if (out_open) fds[count++] = {out_r.fd, POLLIN, 0};
    if (err_open) fds[count++] = {err_r.fd, POLLIN, 0};
    const int ready = poll(fds, count, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t i = 0; i < count && ready > 0; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == out_r.fd) {
        out_open = Drain(out_r.fd, &result.out, options.max_output_bytes);
      } else {
        err_open = Drain(err_r.fd, &result.err, options.max_output_bytes);
      }
    }
  }
  // The streams are closed; the program may still be running (it closed
  // them itself). Killing happens before the reap, while the group id is
  // still ours.
  int status = 0;
  pid_t r = 0;
  for (;;) {
    r = waitpid(pid, &status, result.timed_out ? 0 : WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (r == 0 && std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
    } else if (r == 0) {
      usleep(5000);
    }
  }
  if (r == pid && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (r == pid && WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
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

}  // namespace flyp
