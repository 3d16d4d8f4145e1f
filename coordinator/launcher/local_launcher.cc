#include "coordinator/launcher/local_launcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "common/env.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/numbers.h"

namespace flyp::coord {
namespace {

// ppid and state of a process from /proc/<pid>/stat; false when gone.
bool ReadStat(int pid, int* ppid, char* state) {
  StatusOr<std::string> line =
      ReadFileToString("/proc/" + std::to_string(pid) + "/stat", kMaxConfigFileBytes);
  if (!line.ok()) return false;
  // "pid (comm) S ppid ...": comm may contain spaces and parentheses.
  const size_t close = line->rfind(')');
  if (close == std::string::npos || close + 4 > line->size() || (*line)[close + 1] != ' ') return false;
  const size_t ppid_end = line->find(' ', close + 4);
  if ((*line)[close + 3] != ' ' || ppid_end == std::string::npos) return false;
  StatusOr<int32_t> parent =
      ParseInt32(std::string_view(*line).substr(close + 4, ppid_end - close - 4), "ppid");
  if (!parent.ok()) return false;
  *state = (*line)[close + 2];
  *ppid = *parent;
  return true;
}

// Alive and not a zombie.
bool Alive(int pid) {
  int ppid;
  char state;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  return ReadStat(pid, &ppid, &state) && state != 'Z' && state != 'X';
}

std::string CommandName(int pid) {
  StatusOr<std::string> cmdline =
      ReadFileToString("/proc/" + std::to_string(pid) + "/cmdline", kMaxConfigFileBytes);
  const std::string argv0 = cmdline.ok() ? cmdline->substr(0, cmdline->find('\0')) : std::string();
  size_t slash = argv0.rfind('/');
  return slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
}

// The mpirun pid of a "<kind>:<pid>" handle; 0 for any other handle.
int PidOf(const WorldHandle& world, std::string_view kind) {
  if (world.kind() != kind) return 0;
  StatusOr<int32_t> pid = ParseInt32(world.id(), "world", 1);
  return pid.ok() ? *pid : 0;
}

// Variables every rank needs, wherever it runs (mpirun -x NAME).
bool Forwarded(const std::string& name) {
  for (const char* prefix : {"FLYP_", "OMP_", "OPENBLAS_"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return name == "LD_LIBRARY_PATH" || name == "PATH";
}

std::string JoinInts(const std::vector<int>& v) {
  std::string out;
  for (int x : v) out += (out.empty() ? "" : ",") + std::to_string(x);
  return out;
}

}  // namespace

std::vector<int> ProcessDescendants(int root) {
  std::multimap<int, int> children;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      StatusOr<int32_t> pid = ParseInt32(e->d_name, "pid", 1);
      if (!pid.ok()) continue;  // not a process directory
      int ppid;
      char state;
      if (ReadStat(*pid, &ppid, &state) && state != 'Z') children.emplace(ppid, *pid);
    }
    closedir(d);
  }
  std::vector<int> out;
  std::vector<int> todo{root};
  while (!todo.empty()) {
    int p = todo.back();
    todo.pop_back();
    auto [lo, hi] = children.equal_range(p);
    for (auto it = lo; it != hi; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return out;
}

int PinnedThreads(const LaunchRequest& req) {
  if (req.threads_per_rank > 0) return req.threads_per_rank;
  return req.cuda ? 0 : std::max(1, req.slots_per_rank);
}

std::map<std::string, std::string> LocalLauncher::LaunchEnvironment(const LaunchRequest& req) const {
  std::map<std::string, std::string> env =
      WorkerEnvironment(req, opts_.coordinator_ca, opts_.coordinator_server_name, ProcessEnvironment());
  // /metrics ports come from the placement (FLYP_METRICS_ADDRESS per rank):
  // a base port + local rank would collide between two jobs on one host.
  env.erase(env::kMetricsPort.name);
  env.erase(env::kMetricsAddress.name);
  // The same thread count on every host: OpenBLAS sizes its blocking by its
  // thread count, so a rank left to choose changes the numbers.
  if (const int threads = PinnedThreads(req); threads > 0) {
    env["OMP_NUM_THREADS"] = std::to_string(threads);
    env["OPENBLAS_NUM_THREADS"] = std::to_string(threads);
  }
  return env;
}

void LocalLauncher::AppendWorldArgs(const LaunchRequest&, std::vector<std::string>*) const {}

void LocalLauncher::AppendRankArgs(const LaunchRequest&, int, std::vector<std::string>*) const {}

std::vector<std::string> LocalLauncher::Argv(const LaunchRequest& req,
                                             const std::map<std::string, std::string>& env) const {
  // --tag-output and --timestamp-output: every chunk a rank writes says
  // which rank and when (coordinator/service/log_lines.h reads them).
  std::vector<std::string> argv = {opts_.mpirun,   "--allow-run-as-root", "--oversubscribe",
                                   "--tag-output", "--timestamp-output",  "--bind-to",
                                   "none"};
  AppendWorldArgs(req, &argv);
  argv.insert(argv.end(), opts_.extra_mpirun_args.begin(), opts_.extra_mpirun_args.end());
  std::vector<std::string> forwarded;
  for (const auto& [name, value] : env)
    if (Forwarded(name)) forwarded.push_back(name);
  auto worker = [&](const std::vector<int>& cpus) {
    if (req.pin_cpus && !cpus.empty()) {
      argv.push_back(opts_.taskset);
      argv.push_back("-c");
      argv.push_back(JoinInts(cpus));
    }
    argv.push_back(opts_.worker_binary);
    argv.push_back("--spec");
    argv.push_back(req.spec_path);
  };
  if (req.ranks.empty()) {
    argv.push_back("-np");
    argv.push_back(std::to_string(req.world_size));
    for (const std::string& name : forwarded) {
      argv.push_back("-x");
      argv.push_back(name);
    }
    worker({});
    return argv;
  }
  for (size_t r = 0; r < req.ranks.size(); ++r) {
    const RankHost& rank = req.ranks[r];
    if (r > 0) argv.push_back(":");
    argv.push_back("-np");
    argv.push_back("1");
    AppendRankArgs(req, static_cast<int>(r), &argv);
    for (const std::string& name : forwarded) {
      argv.push_back("-x");
      argv.push_back(name);
    }
    if (req.cuda) {
      argv.push_back("-x");
      argv.push_back("CUDA_VISIBLE_DEVICES=" + JoinInts(rank.gpus));
    }
    if (rank.metrics_port > 0) {
      argv.push_back("-x");
      argv.push_back(std::string(env::kMetricsAddress.name) +
                     "=0.0.0.0:" + std::to_string(rank.metrics_port));
    }
    worker(rank.cpus);
  }
  return argv;
}

StatusOr<WorldHandle> LocalLauncher::Launch(const LaunchRequest& req) {
  // Everything the child needs is built before fork(): after it only
  // async-signal-safe calls are allowed (the coordinator is multi-threaded).
  const std::map<std::string, std::string> env = LaunchEnvironment(req);
  std::vector<std::string> args = Argv(req, env);
  std::vector<std::string> env_strings = EnvironmentStrings(env);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int log_fd = open(req.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return UnavailableError("cannot open log file '" + req.log_path + "': " + std::strerror(errno));
  }
  // Exec failures are reported through a close-on-exec pipe: EOF means exec worked.
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    close(log_fd);
    return InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  const char* dir = req.artifact_dir.c_str();
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    close(pipefd[0]);
    close(pipefd[1]);
    return UnavailableError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (chdir(dir) != 0) { /* stay where we are; the worker uses absolute paths */
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);  // SIG_IGN would survive execve
    execve(argv[0], argv.data(), envp.data());
    int err = errno;
    ssize_t ignored = write(pipefd[1], &err, sizeof(err));
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent: no race with an early Stop()
  close(log_fd);
  close(pipefd[1]);
  int child_err = 0;
  ssize_t n;
  do {
    n = read(pipefd[0], &child_err, sizeof(child_err));
  } while (n < 0 && errno == EINTR);
  close(pipefd[0]);
  if (n == sizeof(child_err)) {
    waitpid(pid, nullptr, 0);
    return FailedPreconditionError("cannot execute '" + args[0] + "': " + std::strerror(child_err));
  }
  {
    MutexLock lock(&mu_);
    children_.insert(pid);
  }
  return WorldHandle::Make(kind_, std::to_string(pid));
}

std::optional<WorldExit> LocalLauncher::Poll(const WorldHandle& world) {
  const int pid = PidOf(world, kind_);
  {
    MutexLock lock(&mu_);
    if (pid == 0 || children_.count(pid) == 0) return WorldExit{255, 0};  // not a world of ours
  }
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == 0) return std::nullopt;
  WorldExit exit;
  if (r < 0) {
    exit.exit_code = 255;  // not our child any more (should not happen)
  } else if (WIFEXITED(status)) {
    exit.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit.signal = WTERMSIG(status);
  }
  // Ranks that outlived mpirun (it was killed) must not linger.
  for (int d : ProcessDescendants(pid)) kill(d, SIGKILL);
  MutexLock lock(&mu_);
  children_.erase(pid);
  return exit;
}

void LocalLauncher::Stop(const WorldHandle& world, bool force) {
  const int pid = PidOf(world, kind_);
  {
    MutexLock lock(&mu_);
    if (pid == 0 || children_.count(pid) == 0) return;  // reaped already, or not ours
  }
  if (!force) {
    kill(-pid, SIGTERM);
    return;
  }
  // Collect the tree first: once mpirun dies its ranks are re-parented.
  std::vector<int> tree = ProcessDescendants(pid);
  kill(-pid, SIGKILL);
  for (int p : tree) kill(p, SIGKILL);
}

Status LocalLauncher::StopOrphan(const WorldHandle& world, int64_t grace_ms) {
  if (world.kind() != kind_) {
    return FailedPreconditionError("world '" + world.text() + "' was not started by the " + kind_ +
                                   " launcher");
  }
  const int pid = PidOf(world, kind_);
  if (pid == 0) return InvalidArgumentError("world '" + world.text() + "': not " + kind_ + ":<pid>");
  if (pid <= 1 || !Alive(pid)) return Status::Ok();
  // The pid may have been reused by an unrelated process since the store
  // recorded it: only an MPI launcher is ours to kill.
  std::string name = CommandName(pid);
  std::string ours = opts_.mpirun.substr(opts_.mpirun.rfind('/') + 1);
  if (name != ours && name != "mpirun" && name != "mpiexec" && name != "orterun" && name != "prterun") {
    FLYP_LOG(WARNING) << "recorded world " << pid << " is now '" << name
                      << "', not an MPI launcher: left alone";
    return Status::Ok();
  }
  std::vector<int> tree = ProcessDescendants(pid);
  FLYP_LOG(INFO) << "stopping orphaned world " << pid << " (" << tree.size() << " descendants)";
  kill(-pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  auto any_alive = [&] {
    if (Alive(pid)) return true;
    for (int p : tree)
      if (Alive(p)) return true;
    return false;
  };
  while (any_alive() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!any_alive()) return Status::Ok();
  kill(-pid, SIGKILL);
  for (int p : tree) kill(p, SIGKILL);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (any_alive() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (any_alive()) return InternalError("orphaned world " + world.text() + " survived SIGKILL");
  return Status::Ok();
}

}  // namespace flyp::coord
