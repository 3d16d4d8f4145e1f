#include "coordinator/launcher/kubernetes_launcher.h"

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

#include "common/env.h"
#include "common/exception_edge.h"
#include "common/logging.h"
#include "common/numbers.h"

namespace flyp::coord {
namespace {

constexpr std::string_view kKind = "k8s";
constexpr const char* kManagedBy = "app.kubernetes.io%2Fmanaged-by%3Dflyp-coordinator";
constexpr const char* kLauncherRole = "%2Ctraining.kubeflow.org%2Fjob-role%3Dlauncher";

std::string MpiJobsPath(const std::string& ns) {
  return "/apis/kubeflow.org/v2beta1/namespaces/" + ns + "/mpijobs";
}
std::string SecretsPath(const std::string& ns) { return "/api/v1/namespaces/" + ns + "/secrets"; }
std::string PodsPath(const std::string& ns) { return "/api/v1/namespaces/" + ns + "/pods"; }

const Json* Path(const Json& j, std::initializer_list<const char*> keys) {
  const Json* cur = &j;
  for (const char* k : keys) {
    cur = cur->Find(k);
    if (!cur) return nullptr;
  }
  return cur;
}

std::string Str(const Json& j, std::initializer_list<const char*> keys) {
  const Json* v = Path(j, keys);
  return v && v->is_string() ? v->as_string() : "";
}

// "2026-01-02T03:04:05Z" for sinceTime (metav1.Time: whole seconds).
std::string Rfc3339Seconds(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string UrlEncodeTime(const std::string& t) {
  std::string out;
  for (char c : t) out += c == ':' ? std::string("%3A") : std::string(1, c);
  return out;
}

bool Before(int64_t s1, int32_t n1, int64_t s2, int32_t n2) { return s1 < s2 || (s1 == s2 && n1 < n2); }

}  // namespace

WorldHandle MpiJobHandle(const std::string& ns, const std::string& name) {
  return WorldHandle::Make(kKind, ns + "/" + name);
}

StatusOr<MpiJobRef> ParseMpiJobHandle(const WorldHandle& world) {
  const std::string_view id = world.id();
  const size_t slash = id.find('/');
  if (world.kind() != kKind || slash == std::string_view::npos || slash == 0 || slash + 1 == id.size()) {
    return InvalidArgumentError("world '" + world.text() + "' is not k8s:<namespace>/<MPIJob name>");
  }
  return MpiJobRef{std::string(id.substr(0, slash)), std::string(id.substr(slash + 1))};
}

bool ParseLogLine(const std::string& line, LogLine* out) {
  // YYYY-MM-DDTHH:MM:SS[.fraction]Z text
  const size_t space = line.find(' ');
  if (space == std::string::npos || space < 20 || line[space - 1] != 'Z') return false;
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return false;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int32_t nanos = 0;
  if (line[19] == '.') {
    int digits = 0;
    for (size_t i = 20; i < space - 1; ++i) {
      if (line[i] < '0' || line[i] > '9' || digits == 9) return false;
      nanos = nanos * 10 + (line[i] - '0');
      ++digits;
    }
    for (; digits < 9; ++digits) nanos *= 10;
  } else if (line[19] != 'Z') {
    return false;
  }
  out->seconds = static_cast<int64_t>(timegm(&tm));
  out->nanos = nanos;
  out->text = line.substr(space + 1);
  return true;
}

KubernetesLauncher::KubernetesLauncher(KubernetesLauncherOptions opts)
    : opts_(std::move(opts)), api_(opts_.api) {
  const std::string& ns = opts_.mpijob.ns;
  mpijob_watcher_ = std::thread([this, ns] {
    CatchAtThread("watching MPIJobs", [&] { WatchLoop(MpiJobsPath(ns), kManagedBy, /*pods=*/false); });
  });
  pod_watcher_ = std::thread([this, ns] {
    CatchAtThread("watching launcher pods",
                  [&] { WatchLoop(PodsPath(ns), std::string(kManagedBy) + kLauncherRole, true); });
  });
  worker_ =
      std::thread([this] { CatchAtThread("the Kubernetes launcher's work loop", [this] { WorkLoop(); }); });
}

KubernetesLauncher::~KubernetesLauncher() {
  stopping_ = true;
  { MutexLock lock(&mu_); }
  wake_.SignalAll();
  for (std::thread* t : {&mpijob_watcher_, &pod_watcher_, &worker_}) {
    if (t->joinable()) t->join();
  }
}

Status KubernetesLauncher::CheckResources(const v1::ResourceSpec& resources) const {
  LaunchRequest req;
  req.world_size = resources.world_size();
  req.cuda = resources.device() == v1::DEVICE_CUDA;
  req.slots_per_rank = resources.slots_per_rank();
  req.threads_per_rank = resources.threads_per_rank();
  req.kubernetes = resources.kubernetes();
  const auto& o = opts_.mpijob;
  return PlanPods(req, MergeKubernetesSpec(o.defaults, o.cuda_defaults, req.cuda, req.kubernetes)).status();
}

StatusOr<WorldHandle> KubernetesLauncher::Launch(const LaunchRequest& req) {
  const std::string& ns = opts_.mpijob.ns;
  FLYP_ASSIGN_OR_RETURN(const std::string name, MpiJobName(req.job_id, req.attempt));
  FLYP_ASSIGN_OR_RETURN(Json mpijob, BuildMpiJob(opts_.mpijob, req));
  const WorldHandle world = MpiJobHandle(ns, name);
  {
    // Known before it exists, so its first events are not missed.
    MutexLock lock(&mu_);
    World& w = worlds_[world];
    w = World();
    w.name = name;
    w.log_path = req.log_path;
  }
  auto forget = [&] {
    MutexLock lock(&mu_);
    worlds_.erase(world);
  };
  auto r = api_.Call("POST", MpiJobsPath(ns), mpijob.Dump());
  if (!r.ok()) {
    forget();
    return r.status();
  }
  std::string uid;
  if (r->status == 409) {
    FLYP_LOG(WARNING) << "MPIJob " << name << " already exists; watching it";
    if (auto got = api_.Call("GET", MpiJobsPath(ns) + "/" + name); got.ok() && got->status == 200) *r = *got;
  } else if (r->status < 200 || r->status >= 300) {
    forget();
    return UnavailableError("kubernetes: cannot create MPIJob " + name + ": " + KubeErrorMessage(*r));
  }
  if (auto body = ParseJson(r->body); body.ok()) uid = Str(*body, {"metadata", "uid"});
  // The worker token's Secret, owned by the MPIJob. Its pods wait for it
  // (the kubelet retries a missing secretKeyRef), so it may follow the
  // MPIJob; without it the world cannot start, so the MPIJob goes again.
  const Json secret = BuildWorkerTokenSecret(opts_.mpijob, req, name, uid);
  auto sr = api_.Call("POST", SecretsPath(ns), secret.Dump());
  if (!sr.ok() || (sr->status != 409 && (sr->status < 200 || sr->status >= 300))) {
    (void)Delete(ns, name, /*force=*/true);
    forget();
    if (!sr.ok()) return sr.status();
    return UnavailableError(
        "kubernetes: cannot create Secret " + WorkerTokenSecretName(name) +
        " for the worker token (the coordinator's Role needs create on secrets): " + KubeErrorMessage(*sr));
  }
  std::ofstream(req.log_path, std::ios::app) << "[coordinator] created MPIJob " << ns << "/" << name << "\n";
  wake_.SignalAll();
  return world;
}

std::optional<WorldExit> KubernetesLauncher::Poll(const WorldHandle& world) {
  MutexLock lock(&mu_);
  auto it = worlds_.find(world);
  if (it == worlds_.end()) return WorldExit{255, 0};
  if (!it->second.exit) return std::nullopt;
  WorldExit e = *it->second.exit;
  worlds_.erase(it);
  return e;
}

MpiJobPhase KubernetesLauncher::Phase(const WorldHandle& world) {
  MutexLock lock(&mu_);
  auto it = worlds_.find(world);
  return it == worlds_.end() ? MpiJobPhase::kPending : it->second.phase;
}

void KubernetesLauncher::Stop(const WorldHandle& world, bool force) {
  {
    MutexLock lock(&mu_);
    auto it = worlds_.find(world);
    if (it == worlds_.end()) return;
    if (force)
      it->second.stop = 2;
    else if (it->second.stop == 0)
      it->second.stop = 1;
  }
  wake_.SignalAll();
}

Status KubernetesLauncher::Delete(const std::string& ns, const std::string& name, bool force) {
  Json opts(
      Json::Object{{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"propagationPolicy", "Foreground"}});
  if (force) opts.Set("gracePeriodSeconds", 0);
  FLYP_ASSIGN_OR_RETURN(KubeReply r, api_.Call("DELETE", MpiJobsPath(ns) + "/" + name, opts.Dump()));
  if (r.status == 404 || (r.status >= 200 && r.status < 300)) return Status::Ok();
  return UnavailableError("kubernetes: cannot delete MPIJob " + name + ": " + KubeErrorMessage(r));
}

Status KubernetesLauncher::StopOrphan(const WorldHandle& world, int64_t grace_ms) {
  MpiJobRef ref;
  if (world.kind() == "local") {
    // Recorded before world handles (schema 2 pgid, migrated to local:<N>):
    // N was job number * 1000 + attempt.
    const std::string_view id = world.id();
    StatusOr<int64_t> n = ParseInt64(id, "world", 1000);
    if (!n.ok()) {
      return FailedPreconditionError("world '" + world.text() +
                                     "' was not started by the kubernetes launcher");
    }
    char buf[64];
    std::snprintf(buf, sizeof(buf), "flyp-job-%06lld-a%lld", static_cast<long long>(*n / 1000),
                  static_cast<long long>(*n % 1000));
    ref = MpiJobRef{opts_.mpijob.ns, buf};
  } else if (world.kind() == kKind) {
    FLYP_ASSIGN_OR_RETURN(ref, ParseMpiJobHandle(world));
  } else {
    return FailedPreconditionError("world '" + world.text() + "' was not started by the kubernetes launcher");
  }
  FLYP_RETURN_IF_ERROR(Delete(ref.ns, ref.name, false));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms + 5000);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = api_.Call("GET", MpiJobsPath(ref.ns) + "/" + ref.name);
    if (r.ok() && r->status == 404) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(opts_.poll_ms, 500)));
  }
  FLYP_RETURN_IF_ERROR(Delete(ref.ns, ref.name, true));
  return Status::Ok();
}

bool KubernetesLauncher::Nap() {
  MutexLock lock(&mu_);
  if (stopping_) return false;
  wake_.WaitFor(&mu_, std::chrono::milliseconds(opts_.poll_ms));
  return !stopping_;
}

void KubernetesLauncher::WatchLoop(const std::string& collection, const std::string& selector, bool pods) {
  const auto cancelled = [this] { return stopping_.load(); };
  while (!stopping_) {
    auto list = api_.Call("GET", collection + "?labelSelector=" + selector);
    std::string rv;
    if (list.ok() && list->status == 200) {
      auto j = ParseJson(list->body);
      const Json* items = j.ok() ? j->Find("items") : nullptr;
      if (items && items->is_array()) {
        rv = Str(*j, {"metadata", "resourceVersion"});
        if (pods) {
          for (const Json& o : items->as_array()) OnPod("ADDED", o);
        } else {
          OnMpiJobList(items->as_array());
        }
      }
    }
    if (rv.empty()) {
      if (list.ok())
        FLYP_LOG(WARNING) << "kubernetes: list " << collection << ": " << KubeErrorMessage(*list);
      else
        FLYP_LOG(WARNING) << list.status();
      if (!Nap()) return;
      continue;
    }
    // Watch from the list's version until the server says it is too old.
    while (!stopping_) {
      bool relist = false;
      auto on_line = [&](const std::string& line) {
        auto ev = ParseJson(line);
        if (!ev.ok() || !ev->is_object()) return true;
        const std::string type = Str(*ev, {"type"});
        const Json* object = ev->Find("object");
        if (!object) return true;
        if (type == "ERROR") {
          // 410 Gone (compacted) or another failure: start over from a list.
          relist = true;
          return false;
        }
        if (std::string v = Str(*object, {"metadata", "resourceVersion"}); !v.empty()) rv = v;
        if (type == "BOOKMARK") return true;
        if (pods)
          OnPod(type, *object);
        else
          OnMpiJob(type, *object);
        return true;
      };
      auto r = api_.Stream(collection + "?watch=true&allowWatchBookmarks=true&timeoutSeconds=" +
                               std::to_string(opts_.watch_timeout_s) + "&labelSelector=" + selector +
                               "&resourceVersion=" + rv,
                           on_line, cancelled);
      if (stopping_) return;
      if (relist) break;
      if (!r.ok() || r->status != 200) {
        if (r.ok())
          FLYP_LOG(WARNING) << "kubernetes: watch " << collection << ": " << KubeErrorMessage(*r);
        else
          FLYP_LOG(WARNING) << r.status();
        if (!Nap()) return;
        break;  // relist: events may have been missed
      }
      // The server ended the watch (timeoutSeconds): resume from rv.
    }
  }
}

void KubernetesLauncher::OnMpiJobList(const std::vector<Json>& items) {
  std::map<std::string, const Json*> by_name;
  for (const Json& o : items) by_name[Str(o, {"metadata", "name"})] = &o;
  {
    MutexLock lock(&mu_);
    for (auto& [handle, w] : worlds_) {
      auto it = by_name.find(w.name);
      if (it == by_name.end()) {
        if (w.seen) w.gone = true;  // deleted while the watch was down
        continue;
      }
      w.seen = true;
      w.phase = ParseMpiJobPhase(*it->second);
    }
  }
  wake_.SignalAll();
}

void KubernetesLauncher::OnMpiJob(const std::string& type, const Json& object) {
  const std::string name = Str(object, {"metadata", "name"});
  const WorldHandle world = MpiJobHandle(opts_.mpijob.ns, name);
  {
    MutexLock lock(&mu_);
    auto it = worlds_.find(world);
    if (it == worlds_.end()) return;  // not ours (or already reported)
    World& w = it->second;
    if (type == "DELETED") {
      w.gone = true;
    } else {
      w.seen = true;
      const MpiJobPhase phase = ParseMpiJobPhase(object);
      if (phase != w.phase) FLYP_LOG(INFO) << "MPIJob " << name << ": " << MpiJobPhaseName(phase);
      w.phase = phase;
    }
  }
  wake_.SignalAll();
}

void KubernetesLauncher::NotePod(const Json& pod, World* w) {
  w->pod = Str(pod, {"metadata", "name"});
  if (const Json* statuses = Path(pod, {"status", "containerStatuses"}); statuses && statuses->is_array()) {
    for (const Json& c : statuses->as_array()) {
      if (const Json* code = Path(c, {"state", "terminated", "exitCode"}); code && code->is_integer())
        w->pod_exit = static_cast<int>(code->as_int64());
      w->pod_started |=
          Path(c, {"state", "running"}) != nullptr || Path(c, {"state", "terminated"}) != nullptr;
    }
  }
}

void KubernetesLauncher::OnPod(const std::string& type, const Json& object) {
  const std::string job = Str(object, {"metadata", "labels", "training.kubeflow.org/job-name"});
  const WorldHandle world = MpiJobHandle(opts_.mpijob.ns, job);
  {
    MutexLock lock(&mu_);
    auto it = worlds_.find(world);
    if (it == worlds_.end() || type == "DELETED") return;
    NotePod(object, &it->second);
  }
  wake_.SignalAll();
}

void KubernetesLauncher::FindLauncherPod(World* w) {
  auto r = api_.Call("GET", PodsPath(opts_.mpijob.ns) + "?labelSelector=" + kManagedBy + kLauncherRole +
                                "%2Ctraining.kubeflow.org%2Fjob-name%3D" + w->name);
  if (!r.ok() || r->status != 200) return;
  auto j = ParseJson(r->body);
  const Json* items = j.ok() ? j->Find("items") : nullptr;
  if (items && items->is_array() && items->size() > 0) NotePod(items->as_array()[0], w);
}

void KubernetesLauncher::SyncLog(World* w) {
  if (w->pod.empty() || !w->pod_started || w->log_path.empty()) return;
  std::string path = PodsPath(opts_.mpijob.ns) + "/" + w->pod + "/log?timestamps=true";
  if (w->log_seconds >= 0) path += "&sinceTime=" + UrlEncodeTime(Rfc3339Seconds(w->log_seconds));
  auto r = api_.Call("GET", path);
  if (!r.ok() || r->status != 200) return;  // not started yet, or gone: the next round
  std::string out;
  int skip = w->log_same;  // lines of the last instant already appended
  size_t start = 0;
  for (size_t nl; (nl = r->body.find('\n', start)) != std::string::npos; start = nl + 1) {
    LogLine line;
    if (!ParseLogLine(r->body.substr(start, nl - start), &line)) continue;
    if (Before(line.seconds, line.nanos, w->log_seconds, w->log_nanos)) continue;
    const bool same = line.seconds == w->log_seconds && line.nanos == w->log_nanos;
    if (same && skip > 0) {
      --skip;
      continue;
    }
    out += line.text + "\n";
    if (same) {
      ++w->log_same;
    } else {
      w->log_seconds = line.seconds;
      w->log_nanos = line.nanos;
      w->log_same = 1;
    }
  }
  if (!out.empty()) std::ofstream(w->log_path, std::ios::app) << out;
}

void KubernetesLauncher::WorkLoop() {
  while (true) {
    std::vector<std::pair<WorldHandle, World>> todo;
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
      for (const auto& [h, w] : worlds_) {
        if (!w.exit) todo.emplace_back(h, w);
      }
    }
    // The API calls run without the lock; results are written back under it.
    for (auto& [handle, w] : todo) {
      if (w.stop == 1 || (w.stop == 2 && !w.force_sent)) {
        Status s = Delete(opts_.mpijob.ns, w.name, w.stop == 2);
        if (!s.ok()) FLYP_LOG(ERROR) << s;
        if (w.stop == 2) w.force_sent = true;
        if (w.stop == 1) w.stop = 3;
      }
      const bool ended = w.gone || w.phase == MpiJobPhase::kSucceeded || w.phase == MpiJobPhase::kFailed;
      if (ended && (w.pod.empty() || (w.phase == MpiJobPhase::kFailed && !w.pod_exit))) {
        // The launcher pod's last event may still be on its way: read it once.
        FindLauncherPod(&w);
      }
      const auto now = std::chrono::steady_clock::now();
      if ((w.phase == MpiJobPhase::kRunning || w.phase == MpiJobPhase::kRestarting || ended) &&
          (ended || now - w.log_synced >= std::chrono::milliseconds(opts_.poll_ms))) {
        SyncLog(&w);  // at the end: the tail, before the exit is reported
        w.log_synced = now;
      }
      std::optional<WorldExit> exit;
      if (w.gone) {
        if (w.stop) {
          exit = WorldExit{0, w.force_sent ? SIGKILL : SIGTERM};
        } else {
          exit = WorldExit{255, 0};
          std::ofstream(w.log_path, std::ios::app) << "[coordinator] MPIJob " << w.name << " disappeared\n";
        }
      } else if (w.phase == MpiJobPhase::kSucceeded && !w.stop) {
        exit = WorldExit{0, 0};
      } else if (w.phase == MpiJobPhase::kFailed && !w.stop) {
        exit = WorldExit{w.pod_exit.value_or(1), 0};  // unknown: retryable
      }
      MutexLock lock(&mu_);
      auto it = worlds_.find(handle);
      if (it == worlds_.end()) continue;
      World& cur = it->second;
      cur.log_seconds = w.log_seconds;
      cur.log_nanos = w.log_nanos;
      cur.log_same = w.log_same;
      cur.log_synced = w.log_synced;
      if (cur.pod.empty()) cur.pod = w.pod;
      cur.pod_started = cur.pod_started || w.pod_started;
      if (!cur.pod_exit) cur.pod_exit = w.pod_exit;
      cur.force_sent = cur.force_sent || w.force_sent;
      if (cur.stop == 1 && w.stop == 3) cur.stop = 3;
      if (exit && !cur.exit) cur.exit = exit;
    }
    MutexLock lock(&mu_);
    if (stopping_) return;
    bool urgent = false;
    for (const auto& [h, w] : worlds_) urgent |= (w.stop == 1) || (w.stop == 2 && !w.force_sent);
    if (!urgent) wake_.WaitFor(&mu_, std::chrono::milliseconds(opts_.poll_ms));
  }
}

}  // namespace flyp::coord
