#include "coordinator/launcher/kubernetes_launcher.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>

#include "common/env.h"
#include "common/exception_edge.h"
#include "common/logging.h"
#include "common/numbers.h"

namespace flyp::coord {
namespace {

constexpr std::string_view kKind = "k8s";

std::string MpiJobsPath(const std::string& ns) {
  return "/apis/kubeflow.org/v2beta1/namespaces/" + ns + "/mpijobs";
}

bool UnderDir(const std::string& path, const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return path.size() > d.size() && path.compare(0, d.size(), d) == 0 && path[d.size()] == '/';
}

Json EnvVarJson(const std::string& name, const std::string& value) {
  return Json(Json::Object{{"name", name}, {"value", value}});
}

// The labels of everything one world creates (MPIJob, its pods, its Secret).
Json WorldLabels(const LaunchRequest& req) {
  return Json(Json::Object{{"app.kubernetes.io/name", "flyp"},
                           {"app.kubernetes.io/managed-by", "flyp-coordinator"},
                           {"flyp.dev/job-id", req.job_id},
                           {"flyp.dev/attempt", std::to_string(req.attempt)}});
}

std::string SecretsPath(const std::string& ns) { return "/api/v1/namespaces/" + ns + "/secrets"; }

// The env entry that reads `key` of Secret `secret` (the value never
// appears in the MPIJob object).
Json EnvFromSecretJson(const std::string& name, const std::string& secret, const std::string& key) {
  return Json(Json::Object{
      {"name", name},
      {"valueFrom",
       Json(Json::Object{{"secretKeyRef", Json(Json::Object{{"name", secret}, {"key", key}})}})}});
}

// "a=b,c=d" label selector, URL-encoded.
std::string Selector(const std::string& name) {
  return "training.kubeflow.org%2Fjob-name%3D" + name + "%2Ctraining.kubeflow.org%2Fjob-role%3Dlauncher";
}

const Json* Path(const Json& j, std::initializer_list<const char*> keys) {
  const Json* cur = &j;
  for (const char* k : keys) {
    cur = cur->Find(k);
    if (!cur) return nullptr;
  }
  return cur;
}

}  // namespace

const char* MpiJobPhaseName(MpiJobPhase p) {
  switch (p) {
    case MpiJobPhase::kPending:
      return "Pending";
    case MpiJobPhase::kCreated:
      return "Created";
    case MpiJobPhase::kRunning:
      return "Running";
    case MpiJobPhase::kRestarting:
      return "Restarting";
    case MpiJobPhase::kSucceeded:
      return "Succeeded";
    case MpiJobPhase::kFailed:
      return "Failed";
  }
  return "?";
}

MpiJobPhase ParseMpiJobPhase(const Json& mpijob) {
  const Json* conds = Path(mpijob, {"status", "conditions"});
  if (!conds || !conds->is_array()) return MpiJobPhase::kPending;
  MpiJobPhase phase = MpiJobPhase::kPending;
  bool succeeded = false, failed = false;
  for (const Json& c : conds->as_array()) {
    const Json* type = c.Find("type");
    const Json* status = c.Find("status");
    if (!type || !type->is_string() || !status || !status->is_string() || status->as_string() != "True")
      continue;
    const std::string& t = type->as_string();
    if (t == "Succeeded")
      succeeded = true;
    else if (t == "Failed")
      failed = true;
    else if (t == "Running")
      phase = MpiJobPhase::kRunning;
    else if (t == "Restarting")
      phase = MpiJobPhase::kRestarting;
    else if (t == "Created" && phase == MpiJobPhase::kPending)
      phase = MpiJobPhase::kCreated;
  }
  if (failed) return MpiJobPhase::kFailed;
  if (succeeded) return MpiJobPhase::kSucceeded;
  return phase;
}

StatusOr<std::string> MpiJobName(const std::string& job_id, int attempt) {
  if (attempt < 1) {
    return InvalidArgumentError("kubernetes launcher: attempt " + std::to_string(attempt) + " is not >= 1");
  }
  const std::string name = "flyp-" + job_id + "-a" + std::to_string(attempt);
  const bool dns_label = !job_id.empty() && name.size() <= kMaxMpiJobName &&
                         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
  if (!dns_label) {
    return InvalidArgumentError("kubernetes launcher: MPIJob name '" + name + "' for job '" + job_id +
                                "' is not a DNS label of at most " + std::to_string(kMaxMpiJobName) +
                                " characters (a-z, 0-9, '-')");
  }
  return name;
}

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

StatusOr<Json> BuildMpiJob(const KubernetesLauncherOptions& o, const LaunchRequest& req) {
  FLYP_ASSIGN_OR_RETURN(std::string name, MpiJobName(req.job_id, req.attempt));
  for (const auto& [what, path] :
       {std::make_pair("spec", req.spec_path), std::make_pair("artifact dir", req.artifact_dir)}) {
    if (!UnderDir(path, o.mount_path)) {
      return FailedPreconditionError(std::string("kubernetes launcher: ") + what + " '" + path +
                                     "' is not under the shared volume mount '" + o.mount_path +
                                     "' (set artifact-root inside k8s-mount-path)");
    }
  }
  const std::string attempt = std::to_string(req.attempt);
  const Json labels = WorldLabels(req);
  // Environment of the launcher; mpirun -x forwards it to every rank. The
  // worker token comes from the world's Secret (WorkerTokenSecretName), so
  // reading the MPIJob does not reveal it.
  std::vector<std::pair<std::string, std::string>> env = {
      {env::kJobId.name, req.job_id},
      {env::kCoordinator.name, req.coordinator_address},
      {env::kArtifactDir.name, req.artifact_dir},
      {env::kAttempt.name, attempt},
      {env::kMetricsPort.name, std::to_string(o.worker_metrics_port)},
  };
  if (!req.data_roots.empty()) env.emplace_back(env::kDataRoots.name, JoinDataRoots(req.data_roots));
  if (!o.coordinator_ca_pem.empty()) env.emplace_back(env::kCoordinatorCa.name, kCoordinatorCaPath);
  if (!o.coordinator_server_name.empty())
    env.emplace_back(env::kCoordinatorName.name, o.coordinator_server_name);
  if (req.threads_per_rank > 0) env.emplace_back("OMP_NUM_THREADS", std::to_string(req.threads_per_rank));
  Json env_json = Json::MakeArray();
  Json command(Json::Array{"mpirun", "--tag-output", "-np", std::to_string(req.world_size)});
  for (const auto& [k, v] : env) {
    env_json.Append(EnvVarJson(k, v));
    command.Append("-x");
    command.Append(k);
  }
  env_json.Append(EnvFromSecretJson(env::kWorkerToken.name, WorkerTokenSecretName(name), "token"));
  command.Append("-x");
  command.Append(env::kWorkerToken.name);
  command.Append(o.worker_binary);
  command.Append("--spec");
  command.Append(req.spec_path);

  Json volume_mounts(Json::Array{Json(Json::Object{{"name", "flyp-data"}, {"mountPath", o.mount_path}}),
                                 Json(Json::Object{{"name", "dshm"}, {"mountPath", "/dev/shm"}})});
  Json volumes(Json::Array{
      Json(Json::Object{{"name", "flyp-data"},
                        {"persistentVolumeClaim", Json(Json::Object{{"claimName", o.pvc}})}}),
      Json(Json::Object{{"name", "dshm"}, {"emptyDir", Json(Json::Object{{"medium", "Memory"}})}})});
  if (!o.coordinator_ca_pem.empty()) {
    // Every pod: rank 0 may run in any worker pod, and mpirun forwards the path.
    volume_mounts.Append(
        Json(Json::Object{{"name", "coordinator-ca"}, {"mountPath", kCoordinatorCaDir}, {"readOnly", true}}));
    volumes.Append(Json(Json::Object{
        {"name", "coordinator-ca"},
        {"secret", Json(Json::Object{{"secretName", WorkerTokenSecretName(name)},
                                     {"items", Json(Json::Array{Json(Json::Object{
                                                   {"key", kCoordinatorCaKey}, {"path", "ca.crt"}})})}})}}));
  }

  Json launcher_container(Json::Object{{"name", "launcher"},
                                       {"image", o.image},
                                       {"imagePullPolicy", o.image_pull_policy},
                                       {"command", command},
                                       {"env", env_json},
                                       {"workingDir", req.artifact_dir},
                                       {"volumeMounts", volume_mounts}});
  launcher_container.Set(
      "resources",
      Json(Json::Object{{"requests", Json(Json::Object{{"cpu", "100m"}, {"memory", "256Mi"}})}}));

  const int units = std::max(1, req.slots_per_rank);
  Json resources;
  if (req.cuda) {
    resources.Set("limits", Json(Json::Object{{"nvidia.com/gpu", units}}));
  } else {
    resources.Set("requests", Json(Json::Object{{"cpu", std::to_string(units)}}));
  }
  Json worker_env = env_json;  // also on the pods, for tools run inside them
  Json worker_container(Json::Object{{"name", "worker"},
                                     {"image", o.image},
                                     {"imagePullPolicy", o.image_pull_policy},
                                     {"command", Json(Json::Array{"/usr/sbin/sshd"})},
                                     {"args", Json(Json::Array{"-De", "-f", "/home/flyp/.sshd_config"})},
                                     {"env", worker_env},
                                     {"resources", resources},
                                     {"volumeMounts", volume_mounts}});
  if (o.worker_metrics_port > 0) {
    worker_container.Set(
        "ports",
        Json(Json::Array{Json(Json::Object{{"name", "metrics"}, {"containerPort", o.worker_metrics_port}})}));
  }
  Json worker_meta(Json::Object{{"labels", labels}});
  if (o.worker_metrics_port > 0) {
    worker_meta.Set("annotations",
                    Json(Json::Object{{"prometheus.io/scrape", "true"},
                                      {"prometheus.io/port", std::to_string(o.worker_metrics_port)}}));
  }
  auto pod_spec = [&](Json container) {
    return Json(Json::Object{{"containers", Json(Json::Array{std::move(container)})},
                             {"volumes", volumes},
                             {"terminationGracePeriodSeconds", o.grace_s}});
  };
  Json launcher_replica(
      Json::Object{{"replicas", 1},
                   {"restartPolicy", "Never"},
                   {"template", Json(Json::Object{{"metadata", Json(Json::Object{{"labels", labels}})},
                                                  {"spec", pod_spec(launcher_container)}})}});
  Json worker_replica(Json::Object{
      {"replicas", req.world_size},
      {"restartPolicy", "Never"},
      {"template", Json(Json::Object{{"metadata", worker_meta}, {"spec", pod_spec(worker_container)}})}});
  return Json(Json::Object{
      {"apiVersion", "kubeflow.org/v2beta1"},
      {"kind", "MPIJob"},
      {"metadata", Json(Json::Object{{"name", name}, {"namespace", o.ns}, {"labels", labels}})},
      {"spec", Json(Json::Object{{"slotsPerWorker", 1},
                                 {"mpiImplementation", "OpenMPI"},
                                 // The image's non-root user (docker/Dockerfile) runs sshd and mpirun.
                                 {"sshAuthMountPath", "/home/flyp/.ssh"},
                                 // The coordinator retries failed worlds itself (backoff, checkpoints).
                                 {"runPolicy", Json(Json::Object{{"cleanPodPolicy", "Running"},
                                                                 {"backoffLimit", 0},
                                                                 {"ttlSecondsAfterFinished", 86400}})},
                                 {"mpiReplicaSpecs", Json(Json::Object{{"Launcher", launcher_replica},
                                                                       {"Worker", worker_replica}})}})}});
}

std::string WorkerTokenSecretName(const std::string& mpijob_name) { return mpijob_name + "-token"; }

Json BuildWorkerTokenSecret(const KubernetesLauncherOptions& o, const LaunchRequest& req,
                            const std::string& mpijob_name, const std::string& mpijob_uid) {
  Json meta(Json::Object{
      {"name", WorkerTokenSecretName(mpijob_name)}, {"namespace", o.ns}, {"labels", WorldLabels(req)}});
  if (!mpijob_uid.empty()) {
    // Garbage-collected with its MPIJob (deleted by the coordinator, or by
    // ttlSecondsAfterFinished).
    meta.Set("ownerReferences", Json(Json::Array{Json(Json::Object{{"apiVersion", "kubeflow.org/v2beta1"},
                                                                   {"kind", "MPIJob"},
                                                                   {"name", mpijob_name},
                                                                   {"uid", mpijob_uid}})}));
  }
  Json data(Json::Object{{"token", req.worker_token}});
  if (!o.coordinator_ca_pem.empty()) data.Set(kCoordinatorCaKey, o.coordinator_ca_pem);
  return Json(Json::Object{{"apiVersion", "v1"},
                           {"kind", "Secret"},
                           {"metadata", meta},
                           {"type", "Opaque"},
                           {"stringData", std::move(data)}});
}

KubernetesLauncher::KubernetesLauncher(KubernetesLauncherOptions opts)
    : opts_(std::move(opts)), api_(opts_.api) {
  poller_ = std::thread([this] { PollLoop(); });
}

KubernetesLauncher::~KubernetesLauncher() {
  {
    MutexLock lock(&mu_);
    stop_thread_ = true;
  }
  wake_.SignalAll();
  if (poller_.joinable()) poller_.join();
}

StatusOr<WorldHandle> KubernetesLauncher::Launch(const LaunchRequest& req) {
  FLYP_ASSIGN_OR_RETURN(const std::string name, MpiJobName(req.job_id, req.attempt));
  FLYP_ASSIGN_OR_RETURN(Json mpijob, BuildMpiJob(opts_, req));
  const WorldHandle world = MpiJobHandle(opts_.ns, name);
  FLYP_ASSIGN_OR_RETURN(KubeReply r, api_.Call("POST", MpiJobsPath(opts_.ns), mpijob.Dump()));
  std::string uid;
  if (r.status == 409) {
    FLYP_LOG(WARNING) << "MPIJob " << name << " already exists; watching it";
    if (auto got = api_.Call("GET", MpiJobsPath(opts_.ns) + "/" + name); got.ok() && got->status == 200)
      r = *got;
  } else if (r.status < 200 || r.status >= 300) {
    return UnavailableError("kubernetes: cannot create MPIJob " + name + ": " + KubeErrorMessage(r));
  }
  if (auto body = ParseJson(r.body); body.ok()) {
    if (const Json* u = Path(*body, {"metadata", "uid"}); u != nullptr && u->is_string())
      uid = u->as_string();
  }
  // The worker token's Secret, owned by the MPIJob. Its pods wait for it
  // (the kubelet retries a missing secretKeyRef), so it may follow the
  // MPIJob; without it the world cannot start, so the MPIJob goes again.
  const Json secret = BuildWorkerTokenSecret(opts_, req, name, uid);
  FLYP_ASSIGN_OR_RETURN(KubeReply sr, api_.Call("POST", SecretsPath(opts_.ns), secret.Dump()));
  if (sr.status != 409 && (sr.status < 200 || sr.status >= 300)) {
    (void)Delete(opts_.ns, name, /*force=*/true);
    return UnavailableError(
        "kubernetes: cannot create Secret " + WorkerTokenSecretName(name) +
        " for the worker token (the coordinator's Role needs create on secrets): " + KubeErrorMessage(sr));
  }
  std::ofstream(req.log_path, std::ios::app)
      << "[coordinator] created MPIJob " << opts_.ns << "/" << name << "\n";
  {
    MutexLock lock(&mu_);
    World& w = worlds_[world];
    w = World();
    w.ns = opts_.ns;
    w.name = name;
    w.log_path = req.log_path;
  }
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
    ref = MpiJobRef{opts_.ns, buf};
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

std::string KubernetesLauncher::LauncherPod(const std::string& ns, const std::string& name, Json* pod) {
  auto r = api_.Call("GET", "/api/v1/namespaces/" + ns + "/pods?labelSelector=" + Selector(name));
  if (!r.ok() || r->status != 200) return "";
  auto j = ParseJson(r->body);
  if (!j.ok()) return "";
  const Json* items = j->Find("items");
  if (!items || !items->is_array() || items->size() == 0) return "";
  *pod = items->as_array()[0];
  const Json* n = Path(*pod, {"metadata", "name"});
  return n && n->is_string() ? n->as_string() : "";
}

void KubernetesLauncher::SyncLog(const std::string& pod, World* w) {
  if (pod.empty() || w->log_path.empty()) return;
  auto r = api_.Call("GET", "/api/v1/namespaces/" + w->ns + "/pods/" + pod + "/log");
  if (!r.ok() || r->status != 200 || r->body.size() <= w->log_bytes) return;
  std::ofstream(w->log_path, std::ios::app) << r->body.substr(w->log_bytes);
  w->log_bytes = r->body.size();
}

void KubernetesLauncher::PollOne(const WorldHandle& world, World w) {
  if (w.stop == 1 || (w.stop == 2 && !w.force_sent)) {
    Status s = Delete(w.ns, w.name, w.stop == 2);
    if (!s.ok()) FLYP_LOG(ERROR) << s;
    if (w.stop == 2) w.force_sent = true;
    if (w.stop == 1) w.stop = 3;
  }
  auto r = api_.Call("GET", MpiJobsPath(w.ns) + "/" + w.name);
  if (!r.ok()) {
    FLYP_LOG(WARNING) << r.status();
    return;
  }
  Json pod;
  std::string pod_name;
  if (r->status == 404) {
    if (w.stop) {
      w.exit = WorldExit{0, w.force_sent ? SIGKILL : SIGTERM};
    } else {
      w.exit = WorldExit{255, 0};
      std::ofstream(w.log_path, std::ios::app) << "[coordinator] MPIJob " << w.name << " disappeared\n";
    }
  } else if (r->status == 200) {
    auto j = ParseJson(r->body);
    MpiJobPhase phase = j.ok() ? ParseMpiJobPhase(*j) : MpiJobPhase::kPending;
    if (phase != w.phase) FLYP_LOG(INFO) << "MPIJob " << w.name << ": " << MpiJobPhaseName(phase);
    w.phase = phase;
    if (phase != MpiJobPhase::kPending && phase != MpiJobPhase::kCreated) {
      pod_name = LauncherPod(w.ns, w.name, &pod);
      SyncLog(pod_name, &w);
    }
    if (phase == MpiJobPhase::kSucceeded && !w.stop) {
      w.exit = WorldExit{0, 0};
    } else if (phase == MpiJobPhase::kFailed && !w.stop) {
      int code = 1;  // unknown: retryable
      const Json* statuses = Path(pod, {"status", "containerStatuses"});
      if (statuses && statuses->is_array() && statuses->size() > 0) {
        const Json* c = Path(statuses->as_array()[0], {"state", "terminated", "exitCode"});
        if (c && c->is_integer()) code = static_cast<int>(c->as_int64());
      }
      w.exit = WorldExit{code, 0};
    }
  } else {
    FLYP_LOG(WARNING) << "kubernetes: GET MPIJob " << w.name << ": " << KubeErrorMessage(*r);
  }
  MutexLock lock(&mu_);
  auto it = worlds_.find(world);
  if (it == worlds_.end()) return;
  World& cur = it->second;
  cur.phase = w.phase;
  cur.log_bytes = w.log_bytes;
  cur.force_sent = cur.force_sent || w.force_sent;
  if (cur.stop == 1 && w.stop == 3) cur.stop = 3;
  if (w.exit && !cur.exit) cur.exit = w.exit;
}

void KubernetesLauncher::PollLoop() {
  mu_.Lock();
  while (!stop_thread_) {
    std::vector<std::pair<WorldHandle, World>> todo;
    for (const auto& [id, w] : worlds_) {
      if (!w.exit) todo.emplace_back(id, w);
    }
    mu_.Unlock();  // the API calls run without the lock
    for (auto& [id, w] : todo) CatchAtThread("polling an MPIJob", [&, &id = id, &w = w] { PollOne(id, w); });
    mu_.Lock();
    bool urgent = false;
    for (const auto& [id, w] : worlds_) urgent |= (w.stop == 1) || (w.stop == 2 && !w.force_sent);
    if (!urgent) wake_.WaitFor(&mu_, std::chrono::milliseconds(opts_.poll_ms));
  }
  mu_.Unlock();
}

}  // namespace flyp::coord
