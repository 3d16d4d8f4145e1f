#include "coordinator/launcher/local_launcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "common/env.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/numbers.h"

extern char** environ;

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

void SetEnv(std::map<std::string, std::string>* env, const EnvVar& var, const std::string& value) {
  (*env)[var.name] = value;
}

constexpr std::string_view kKind = "local";

// The mpirun pid of a "local:<pid>" handle; 0 for any other handle.
int PidOf(const WorldHandle& world) {
  if (world.kind() != kKind) return 0;
  StatusOr<int32_t> pid = ParseInt32(world.id(), "world", 1);
  return pid.ok() ? *pid : 0;
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

std::vector<std::string> LocalLauncher::Argv(const LaunchRequest& req) const {
  std::vector<std::string> argv = {
      opts_.mpirun, "--allow-run-as-root",         "--oversubscribe", "--tag-output",
      "-np",        std::to_string(req.world_size)};
  for (const EnvVar* v :
       {&env::kJobId, &env::kCoordinator, &env::kWorkerToken, &env::kArtifactDir, &env::kAttempt}) {
    argv.push_back("-x");
    argv.push_back(v->name);
  }
  if (!req.data_roots.empty()) {
    argv.push_back("-x");
    argv.push_back(env::kDataRoots.name);
  }
  for (const auto& [var, value] : {std::make_pair(&env::kCoordinatorCa, &opts_.coordinator_ca),
                                   std::make_pair(&env::kCoordinatorName, &opts_.coordinator_server_name)}) {
    if (value->empty()) continue;
    argv.push_back("-x");
    argv.push_back(var->name);
  }
  argv.insert(argv.end(), opts_.extra_mpirun_args.begin(), opts_.extra_mpirun_args.end());
  argv.push_back(opts_.worker_binary);
  argv.push_back("--spec");
  argv.push_back(req.spec_path);
  return argv;
}

StatusOr<WorldHandle> LocalLauncher::Launch(const LaunchRequest& req) {
  // Everything the child needs is built before fork(): after it only
  // async-signal-safe calls are allowed (the coordinator is multi-threaded).
  std::vector<std::string> args = Argv(req);
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq) env[std::string(*e, static_cast<size_t>(eq - *e))] = eq + 1;
  }
  SetEnv(&env, env::kJobId, req.job_id);
  SetEnv(&env, env::kCoordinator, req.coordinator_address);
  SetEnv(&env, env::kWorkerToken, req.worker_token);
  SetEnv(&env, env::kArtifactDir, req.artifact_dir);
  SetEnv(&env, env::kAttempt, std::to_string(req.attempt));
  // Never the coordinator's own: the ranks are confined to this job's roots.
  env.erase(env::kDataRoots.name);
  if (!req.data_roots.empty()) SetEnv(&env, env::kDataRoots, JoinDataRoots(req.data_roots));
  // The coordinator's own environment must not leak a CA into a plaintext world.
  env.erase(env::kCoordinatorCa.name);
  env.erase(env::kCoordinatorName.name);
  if (!opts_.coordinator_ca.empty()) SetEnv(&env, env::kCoordinatorCa, opts_.coordinator_ca);
  if (!opts_.coordinator_server_name.empty())
    SetEnv(&env, env::kCoordinatorName, opts_.coordinator_server_name);
  if (req.threads_per_rank > 0) env["OMP_NUM_THREADS"] = std::to_string(req.threads_per_rank);
  // Ranks share the host's cores with each other and with their loader
  // threads; OpenMP's default spin-wait then burns most of the CPU (measured:
  // 75% of a rank's samples in libgomp's barrier). Sleep instead, unless the
  // operator chose otherwise.
  env.emplace("OMP_WAIT_POLICY", "PASSIVE");
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
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
  return WorldHandle::Make(kKind, std::to_string(pid));
}

std::optional<WorldExit> LocalLauncher::Poll(const WorldHandle& world) {
  const int pid = PidOf(world);
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
  const int pid = PidOf(world);
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
  if (world.kind() != kKind) {
    return FailedPreconditionError("world '" + world.text() + "' was not started by the local launcher");
  }
  const int pid = PidOf(world);
  if (pid == 0) return InvalidArgumentError("world '" + world.text() + "': not local:<pid>");
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
