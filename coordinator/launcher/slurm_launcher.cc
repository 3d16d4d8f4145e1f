#include "coordinator/launcher/slurm_launcher.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/env.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/numbers.h"

namespace flyp::coord {
namespace {

constexpr std::string_view kKind = "slurm";
// Job ids per squeue call (its command line stays short).
constexpr size_t kIdsPerQuery = 200;
// Polls squeue may omit a job before it counts as gone (a job is listed
// from the moment sbatch returns until MinJobAge after it ended).
constexpr int kMissingPollsToForget = 2;
// The .exit file holds a number.
constexpr size_t kMaxExitFileBytes = 64;

// States of a job that is waiting to run; every other state that is not
// final counts as allocated (RUNNING, COMPLETING, CONFIGURING, ...).
const std::set<std::string>& PendingStates() {
  static const std::set<std::string> s = {"PENDING",       "REQUEUED",  "REQUEUE_FED", "REQUEUE_HOLD",
                                          "RESV_DEL_HOLD", "SUSPENDED", "STOPPED",     "SPECIAL_EXIT"};
  return s;
}

void AppendLog(const std::string& path, const std::string& line) {
  std::ofstream(path, std::ios::app) << "[coordinator] " << line << "\n";
}

std::string JobName(const LaunchRequest& req) {
  return "flyp-" + req.job_id + "-a" + std::to_string(req.attempt);
}

struct Geometry {
  int ntasks = 1;
  int cpus_per_task = 1;
  int gpus_per_task = 0;
  int nodes = 0;  // 0: Slurm packs the tasks
  int ntasks_per_node = 0;
};

StatusOr<Geometry> GeometryOf(const LaunchRequest& req) {
  if (req.world_size < 1) {
    return InvalidArgumentError("slurm launcher: world_size " + std::to_string(req.world_size) +
                                " is not >= 1");
  }
  if (req.ranks_per_host < 0) {
    return InvalidArgumentError("slurm launcher: ranks_per_host " + std::to_string(req.ranks_per_host) +
                                " is not >= 0");
  }
  Geometry g;
  g.ntasks = req.world_size;
  const int slots = std::max(1, req.slots_per_rank);
  // A CUDA rank's slots are GPUs; its CPUs are its threads.
  g.cpus_per_task = req.cuda ? std::max(1, req.threads_per_rank) : slots;
  g.gpus_per_task = req.cuda ? slots : 0;
  if (req.ranks_per_host > 0) {
    g.ntasks_per_node = req.ranks_per_host;
    g.nodes = (req.world_size + req.ranks_per_host - 1) / req.ranks_per_host;
  }
  return g;
}

// The srun options that give the step the allocation's geometry (srun does
// not inherit --cpus-per-task from sbatch since Slurm 22.05).
std::vector<std::string> StepOptions(const Geometry& g) {
  std::vector<std::string> o = {"--ntasks=" + std::to_string(g.ntasks),
                                "--cpus-per-task=" + std::to_string(g.cpus_per_task)};
  if (g.ntasks_per_node > 0) o.push_back("--ntasks-per-node=" + std::to_string(g.ntasks_per_node));
  if (g.gpus_per_task > 0) o.push_back("--gpus-per-task=" + std::to_string(g.gpus_per_task));
  return o;
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

WorldHandle SlurmHandle(const std::string& slurm_job_id) { return WorldHandle::Make(kKind, slurm_job_id); }

StatusOr<std::string> SlurmJobId(const WorldHandle& world) {
  if (world.kind() != kKind) {
    return InvalidArgumentError("world '" + world.text() + "' is not slurm:<job id>");
  }
  StatusOr<int64_t> id = ParseInt64(world.id(), "slurm job id", 1);
  if (!id.ok()) return InvalidArgumentError("world '" + world.text() + "': " + id.status().message());
  return std::string(world.id());
}

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string SlurmDir(const LaunchRequest& req) { return req.artifact_dir + "/slurm"; }

StatusOr<std::string> SlurmBatchScript(const SlurmLauncherOptions& opts, const LaunchRequest& req) {
  FLYP_ASSIGN_OR_RETURN(const Geometry g, GeometryOf(req));
  std::ostringstream s;
  s << "#!/bin/sh\n"
    << "# flyp-coordinator: job " << req.job_id << ", attempt " << req.attempt << ".\n"
    << "# Written for this attempt (the next one writes its own). The ranks get\n"
    << "# their settings (FLYP_*, OMP_*, ...) from the environment (sbatch\n"
    << "# --export=ALL); nothing secret is in this file.\n"
    << "exit_file=" << ShellQuote(SlurmDir(req) + "/") << "\"$SLURM_JOB_ID\"" << ShellQuote(".exit") << "\n"
    << "srun " << ShellQuote("--mpi=" + opts.mpi) << " --kill-on-bad-exit=1 --label";
  for (const std::string& o : StepOptions(g)) s << " " << o;
  s << " " << ShellQuote(opts.worker_binary) << " --spec " << ShellQuote(req.spec_path) << "\n"
    << "rc=$?\n"
    << "# How the world ended, for a coordinator that asks after Slurm forgot the job.\n"
    << "printf '%s\\n' \"$rc\" > \"$exit_file.tmp\" && mv -f \"$exit_file.tmp\" \"$exit_file\"\n"
    << "exit \"$rc\"\n";
  return s.str();
}

StatusOr<std::vector<std::string>> SbatchArgv(const SlurmLauncherOptions& opts, const LaunchRequest& req,
                                              const std::string& script_path) {
  FLYP_ASSIGN_OR_RETURN(const Geometry g, GeometryOf(req));
  std::vector<std::string> argv = {
      opts.bin_dir.empty() ? "sbatch" : opts.bin_dir + "/sbatch",
      "--parsable",
      "--job-name=" + JobName(req),
      "--chdir=" + req.artifact_dir,
      "--output=" + req.log_path,
      "--open-mode=append",
      "--no-requeue",  // the coordinator retries from the checkpoint itself
      "--export=ALL",
      "--ntasks=" + std::to_string(g.ntasks),
      "--cpus-per-task=" + std::to_string(g.cpus_per_task),
  };
  if (g.nodes > 0) {
    argv.push_back("--nodes=" + std::to_string(g.nodes));
    argv.push_back("--ntasks-per-node=" + std::to_string(g.ntasks_per_node));
  }
  if (g.gpus_per_task > 0) argv.push_back("--gpus-per-task=" + std::to_string(g.gpus_per_task));
  if (req.time_limit_ms > 0) {
    const int64_t minutes = (req.time_limit_ms + 59999) / 60000;
    argv.push_back("--time=" + std::to_string(minutes));
  }
  if (!opts.partition.empty()) argv.push_back("--partition=" + opts.partition);
  if (!opts.account.empty()) argv.push_back("--account=" + opts.account);
  if (!opts.qos.empty()) argv.push_back("--qos=" + opts.qos);
  argv.push_back(script_path);
  return argv;
}

StatusOr<std::string> ParseSbatchOutput(const std::string& out) {
  std::string first = out.substr(0, out.find('\n'));
  first = first.substr(0, first.find(';'));
  StatusOr<int64_t> id = ParseInt64(first, "", 1);
  if (!id.ok())
    return InvalidArgumentError("sbatch --parsable printed '" + QuoteForError(out) + "', not a job id");
  return std::to_string(*id);
}

StatusOr<std::map<std::string, SlurmJobRow>> ParseSqueueOutput(const std::string& out) {
  std::map<std::string, SlurmJobRow> rows;
  std::istringstream in(out);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    std::vector<std::string> f;
    size_t start = 0;
    for (size_t bar; (bar = line.find('|', start)) != std::string::npos; start = bar + 1)
      f.push_back(line.substr(start, bar - start));
    f.push_back(line.substr(start));
    if (f.size() != 4 || f[0].empty() || f[1].empty()) {
      return InvalidArgumentError("squeue output line " + std::to_string(n) +
                                  ": expected id|state|reason|nodes, got '" + QuoteForError(line) + "'");
    }
    rows[f[0]] = SlurmJobRow{f[0], f[1], f[2], f[3]};
  }
  return rows;
}

bool IsFinalSlurmState(const std::string& state) {
  static const std::set<std::string> kFinal = {"BOOT_FAIL", "CANCELLED", "COMPLETED",     "DEADLINE",
                                               "FAILED",    "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
                                               "TIMEOUT",   "REVOKED"};
  // squeue may add a qualifier ("CANCELLED by 0").
  return kFinal.count(state.substr(0, state.find(' '))) > 0;
}

WorldState SlurmWorldState(const SlurmJobRow& row) {
  WorldState s;
  const std::string job = "Slurm job " + row.id;
  if (PendingStates().count(row.state)) {
    s.phase = WorldState::Phase::kPending;
    s.reason = "SlurmPending";
    s.message = job + " " + row.state;
    if (!row.reason.empty() && row.reason != "None") s.message += " (" + row.reason + ")";
  } else {
    s.phase = WorldState::Phase::kAllocated;
    s.reason = "SlurmRunning";
    s.message = job + " " + row.state + (row.nodes.empty() ? "" : " on " + row.nodes);
  }
  return s;
}

WorldExit SlurmWorldExit(const std::string& job_id, const SlurmJobRow* row,
                         const std::optional<std::string>& exit_file, bool forced) {
  const std::string state = row ? row->state.substr(0, row->state.find(' ')) : "";
  const std::string detail =
      "Slurm job " + job_id + " " +
      (row ? row->state + (row->reason.empty() || row->reason == "None" ? "" : " (" + row->reason + ")")
           : "no longer known to Slurm");
  if (exit_file) {
    std::string text = *exit_file;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (StatusOr<int32_t> code = ParseInt32(text, "", 0, 255); code.ok()) return WorldExit(*code, 0, detail);
  }
  if (state == "COMPLETED") return WorldExit(0, 0, detail);
  if (state == "FAILED") return WorldExit(1, 0, detail);
  if (state == "CANCELLED") return WorldExit(0, forced ? SIGKILL : SIGTERM, detail);
  if (!row) return WorldExit(255, 0, detail);
  return WorldExit(0, SIGKILL, detail);  // TIMEOUT, NODE_FAIL, PREEMPTED, OUT_OF_MEMORY, ...
}

SlurmLauncher::SlurmLauncher(SlurmLauncherOptions opts) : opts_(std::move(opts)) {
  poller_ = std::thread([this] { PollLoop(); });
}

SlurmLauncher::~SlurmLauncher() {
  {
    MutexLock lock(&mu_);
    stop_thread_ = true;
  }
  wake_.SignalAll();
  if (poller_.joinable()) poller_.join();
}

std::string SlurmLauncher::Program(const std::string& name) const {
  return opts_.bin_dir.empty() ? name : opts_.bin_dir + "/" + name;
}

StatusOr<ProcessResult> SlurmLauncher::Run(std::vector<std::string> argv,
                                           std::optional<std::vector<std::string>> env) const {
  ProcessOptions p;
  p.argv = std::move(argv);
  p.env = std::move(env);
  p.timeout = std::chrono::milliseconds(opts_.command_timeout_ms);
  StatusOr<ProcessResult> r = RunProcess(p);
  if (!r.ok()) {
    return FailedPreconditionError("slurm launcher: " + r.status().message() +
                                   " (is Slurm's client installed? set slurm-bin-dir)");
  }
  if (r->timed_out) {
    return UnavailableError("slurm launcher: " + p.argv[0] + " did not answer within " +
                            std::to_string(opts_.command_timeout_ms / 1000) + " s");
  }
  return r;
}

StatusOr<std::map<std::string, SlurmJobRow>> SlurmLauncher::Query(const std::vector<std::string>& ids) const {
  std::map<std::string, SlurmJobRow> rows;
  for (size_t i = 0; i < ids.size(); i += kIdsPerQuery) {
    std::string list;
    for (size_t k = i; k < ids.size() && k < i + kIdsPerQuery; ++k)
      list += (list.empty() ? "" : ",") + ids[k];
    FLYP_ASSIGN_OR_RETURN(ProcessResult r,
                          Run({Program("squeue"), "-h", "-t", "all", "-j", list, "-o", "%i|%T|%r|%N"}));
    if (!r.ok()) {
      // Every id unknown (purged after MinJobAge) is an error to squeue, but
      // an answer to us.
      if (r.err.find("Invalid job id") != std::string::npos) continue;
      return UnavailableError("squeue: " + r.Describe());
    }
    FLYP_ASSIGN_OR_RETURN(auto part, ParseSqueueOutput(r.out));
    rows.merge(part);
  }
  return rows;
}

Status SlurmLauncher::Cancel(const std::string& job_id, bool force) const {
  if (force) {
    FLYP_ASSIGN_OR_RETURN(ProcessResult k, Run({Program("scancel"), "--full", "--signal=KILL", job_id}));
    if (!k.ok()) FLYP_LOG(WARNING) << "scancel --signal=KILL " << job_id << ": " << k.Describe();
  }
  FLYP_ASSIGN_OR_RETURN(ProcessResult r, Run({Program("scancel"), job_id}));
  if (!r.ok() && r.err.find("Invalid job id") == std::string::npos &&
      r.err.find("already completing or completed") == std::string::npos) {
    return UnavailableError("scancel " + job_id + ": " + r.Describe());
  }
  return Status::Ok();
}

std::vector<std::pair<std::string, int>> StaleAttempts(const std::string& squeue_out,
                                                       const LaunchRequest& req) {
  std::vector<std::pair<std::string, int>> out;
  const std::string prefix = "flyp-" + req.job_id + "-a";
  std::istringstream in(squeue_out);
  for (std::string line; std::getline(in, line);) {
    const size_t a = line.find('|');
    const size_t b = a == std::string::npos ? a : line.find('|', a + 1);
    if (b == std::string::npos) continue;
    const std::string id = line.substr(0, a), name = line.substr(a + 1, b - a - 1), dir = line.substr(b + 1);
    if (!StartsWith(name, prefix) || dir != req.artifact_dir) continue;
    StatusOr<int32_t> attempt = ParseInt32(std::string_view(name).substr(prefix.size()), "attempt", 1);
    if (attempt.ok() && *attempt < req.attempt) out.emplace_back(id, *attempt);
  }
  return out;
}

void SlurmLauncher::CancelStaleAttempts(const LaunchRequest& req) const {
  StatusOr<ProcessResult> r =
      Run({Program("squeue"), "-h", "-u", std::to_string(getuid()), "-o", "%i|%j|%Z"});
  if (!r.ok() || !r->ok()) return;  // best effort: the submission decides
  for (const auto& [id, attempt] : StaleAttempts(r->out, req)) {
    FLYP_LOG(WARNING) << req.job_id << ": cancelling Slurm job " << id << " of unrecorded attempt "
                      << attempt;
    AppendLog(req.log_path, "cancelling Slurm job " + id + " of attempt " + std::to_string(attempt) +
                                ", submitted while the coordinator died");
    Status s = Cancel(id, /*force=*/true);
    if (!s.ok()) FLYP_LOG(WARNING) << s;
  }
}

StatusOr<WorldHandle> SlurmLauncher::Launch(const LaunchRequest& req) {
  FLYP_ASSIGN_OR_RETURN(const std::string script, SlurmBatchScript(opts_, req));
  const std::string dir = SlurmDir(req);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return UnavailableError("slurm launcher: cannot create '" + dir + "': " + ec.message());
  const std::string script_path = dir + "/attempt-" + std::to_string(req.attempt) + ".sh";
  FLYP_RETURN_IF_ERROR(WriteFileAtomic(script_path, script, 0755));
  FLYP_ASSIGN_OR_RETURN(std::vector<std::string> argv, SbatchArgv(opts_, req, script_path));
  CancelStaleAttempts(req);

  std::map<std::string, std::string> base = ProcessEnvironment();
  for (auto it = base.begin(); it != base.end();) {
    // A coordinator running inside an allocation must not hand its own job's
    // identity to the new one.
    it = StartsWith(it->first, "SLURM_") && it->first != "SLURM_CONF" ? base.erase(it) : std::next(it);
  }
  std::map<std::string, std::string> env =
      WorkerEnvironment(req, opts_.coordinator_ca, opts_.coordinator_server_name, std::move(base));
  // A rank's CPUs are its task's, not the node's.
  const std::string cpus =
      std::to_string(req.cuda ? std::max(1, req.threads_per_rank) : std::max(1, req.slots_per_rank));
  env.emplace("OMP_NUM_THREADS", cpus);
  env.emplace(env::kThreads.name, cpus);

  FLYP_ASSIGN_OR_RETURN(ProcessResult r, Run(argv, EnvironmentStrings(env)));
  if (!r.ok()) {
    const std::string why = "sbatch refused attempt " + std::to_string(req.attempt) + ": " + r.Describe();
    AppendLog(req.log_path, why);
    if (r.err.find("Unable to contact slurm controller") != std::string::npos ||
        r.err.find("Socket timed out") != std::string::npos) {
      return UnavailableError(why);
    }
    return FailedPreconditionError(why);
  }
  FLYP_ASSIGN_OR_RETURN(const std::string job_id, ParseSbatchOutput(r.out));
  const WorldHandle world = SlurmHandle(job_id);
  AppendLog(req.log_path, "submitted attempt " + std::to_string(req.attempt) + " as Slurm job " + job_id +
                              " (" + script_path + ")");
  Watch(world, job_id, req);
  return world;
}

void SlurmLauncher::Watch(const WorldHandle& world, const std::string& job_id, const LaunchRequest& req) {
  {
    MutexLock lock(&mu_);
    World& w = worlds_[world];
    w = World();
    w.job_id = job_id;
    w.log_path = req.log_path;
    w.exit_path = SlurmDir(req) + "/" + job_id + ".exit";
  }
  Wake();
}

std::optional<WorldExit> SlurmLauncher::Poll(const WorldHandle& world) {
  MutexLock lock(&mu_);
  auto it = worlds_.find(world);
  if (it == worlds_.end()) return WorldExit(255, 0, "not a world of this launcher");
  if (!it->second.exit) return std::nullopt;
  WorldExit e = *it->second.exit;
  worlds_.erase(it);
  return e;
}

WorldState SlurmLauncher::Observe(const WorldHandle& world) {
  MutexLock lock(&mu_);
  auto it = worlds_.find(world);
  if (it == worlds_.end() || !it->second.row || it->second.exit) return WorldState();
  return SlurmWorldState(*it->second.row);
}

void SlurmLauncher::Stop(const WorldHandle& world, bool force) {
  {
    MutexLock lock(&mu_);
    auto it = worlds_.find(world);
    if (it == worlds_.end()) return;
    it->second.stop = std::max(it->second.stop, force ? 2 : 1);
  }
  Wake();
}

StatusOr<Recovery> SlurmLauncher::Recover(const WorldHandle& world, const LaunchRequest& req,
                                          int64_t grace_ms) {
  if (world.kind() != kKind) {
    return FailedPreconditionError("world '" + world.text() + "' was not started by the slurm launcher");
  }
  FLYP_ASSIGN_OR_RETURN(const std::string job_id, SlurmJobId(world));
  AppendLog(req.log_path, "watching Slurm job " + job_id + " of attempt " + std::to_string(req.attempt) +
                              " again after a coordinator restart");
  Watch(world, job_id, req);
  return Recovery::kAdopted;
}

Status SlurmLauncher::StopOrphan(const WorldHandle& world, int64_t grace_ms) {
  if (world.kind() != kKind) {
    return FailedPreconditionError("world '" + world.text() + "' was not started by the slurm launcher");
  }
  FLYP_ASSIGN_OR_RETURN(const std::string job_id, SlurmJobId(world));
  auto active = [&]() -> StatusOr<bool> {
    FLYP_ASSIGN_OR_RETURN(auto rows, Query({job_id}));
    auto it = rows.find(job_id);
    return it != rows.end() && !IsFinalSlurmState(it->second.state);
  };
  FLYP_RETURN_IF_ERROR(Cancel(job_id, false));
  for (bool forced : {false, true}) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(forced ? 5000 : grace_ms + 5000);
    for (;;) {
      FLYP_ASSIGN_OR_RETURN(bool still, active());
      if (!still) return Status::Ok();
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (!forced) FLYP_RETURN_IF_ERROR(Cancel(job_id, true));
  }
  return UnavailableError("Slurm job " + job_id + " is still active after scancel --signal=KILL");
}

void SlurmLauncher::PollOnce() {
  struct Todo {
    WorldHandle world;
    World w;
  };
  std::vector<Todo> todo;
  {
    MutexLock lock(&mu_);
    for (const auto& [h, w] : worlds_)
      if (!w.exit) todo.push_back({h, w});
  }
  if (todo.empty()) return;
  // Stops first: the query below then already sees them.
  for (Todo& t : todo) {
    const bool force = t.w.stop == 2 && !t.w.force_sent;
    if ((t.w.stop == 1 && !t.w.cancel_sent) || force) {
      Status s = Cancel(t.w.job_id, force);
      if (!s.ok()) {
        FLYP_LOG(WARNING) << s;
        continue;  // retried on the next poll
      }
      t.w.cancel_sent = true;
      t.w.force_sent = t.w.force_sent || force;
      AppendLog(t.w.log_path, std::string(force ? "killed" : "cancelled") + " Slurm job " + t.w.job_id);
    }
  }
  std::vector<std::string> ids;
  for (const Todo& t : todo) ids.push_back(t.w.job_id);
  StatusOr<std::map<std::string, SlurmJobRow>> rows = Query(ids);
  if (!rows.ok()) FLYP_LOG(WARNING) << rows.status() << " (will ask again)";
  for (Todo& t : todo) {
    if (!rows.ok()) break;
    auto it = rows->find(t.w.job_id);
    const bool listed = it != rows->end();
    if (listed) {
      t.w.missing = 0;
      if (!t.w.row || t.w.row->state != it->second.state)
        FLYP_LOG(INFO) << "Slurm job " << t.w.job_id << ": " << it->second.state;
      t.w.row = it->second;
    } else {
      ++t.w.missing;
    }
    if ((listed && IsFinalSlurmState(it->second.state)) ||
        (!listed && t.w.missing >= kMissingPollsToForget)) {
      std::optional<std::string> exit_file;
      if (StatusOr<std::string> f = ReadFileToString(t.w.exit_path, kMaxExitFileBytes); f.ok())
        exit_file = *f;
      t.w.exit = SlurmWorldExit(t.w.job_id, listed ? &it->second : nullptr, exit_file, t.w.force_sent);
      AppendLog(t.w.log_path, "world ended: " + t.w.exit->ToString());
    }
  }
  MutexLock lock(&mu_);
  for (const Todo& t : todo) {
    auto it = worlds_.find(t.world);
    if (it == worlds_.end()) continue;
    World& cur = it->second;
    cur.cancel_sent = cur.cancel_sent || t.w.cancel_sent;
    cur.force_sent = cur.force_sent || t.w.force_sent;
    if (rows.ok()) {
      cur.row = t.w.row;
      cur.missing = t.w.missing;
      if (t.w.exit && !cur.exit) cur.exit = t.w.exit;
    }
  }
}

void SlurmLauncher::PollLoop() {
  mu_.Lock();
  while (!stop_thread_) {
    wake_pending_ = false;
    mu_.Unlock();  // Slurm's commands run without the lock
    PollOnce();
    mu_.Lock();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.poll_ms);
    while (!stop_thread_ && !wake_pending_ && wake_.WaitUntil(&mu_, deadline)) {
    }
  }
  mu_.Unlock();
}

void SlurmLauncher::Wake() {
  {
    MutexLock lock(&mu_);
    wake_pending_ = true;
  }
  wake_.SignalAll();
}

}  // namespace flyp::coord
