#include "coordinator/launcher/mpijob.h"

#include <algorithm>
#include <set>

#include "common/env.h"
#include "common/file_util.h"
#include "common/spec/kube_fields.h"

namespace flyp::coord {
namespace {

constexpr const char* kLauncherMemoryLimit = "512Mi";
constexpr int kSshPort = 2222;

std::string Trimmed(std::string d) {
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d;
}

// `path` relative to `dir` (path must be under it).
std::string Relative(const std::string& path, const std::string& dir) {
  std::string rel = Trimmed(path).substr(Trimmed(dir).size() + 1);
  return rel;
}

Json Obj(Json::Object o) { return Json(std::move(o)); }
Json Arr(Json::Array a) { return Json(std::move(a)); }

// The labels of everything one world creates (MPIJob, its pods, its Secret).
Json WorldLabels(const LaunchRequest& req) {
  return Obj({{"app.kubernetes.io/name", "flyp"},
              {"app.kubernetes.io/managed-by", "flyp-coordinator"},
              {"flyp.dev/job-id", req.job_id},
              {"flyp.dev/attempt", std::to_string(req.attempt)}});
}

Json EnvVarJson(const std::string& name, const std::string& value) {
  return Obj({{"name", name}, {"value", value}});
}

// The env entry that reads `key` of Secret `secret` (the value never appears
// in the MPIJob object).
Json EnvFromSecretJson(const std::string& name, const std::string& secret, const std::string& key) {
  return Obj({{"name", name}, {"valueFrom", Obj({{"secretKeyRef", Obj({{"name", secret}, {"key", key}})}})}});
}

// What the restricted Pod Security Standard asks of every pod and container.
Json PodSecurityContext() {
  return Obj({{"runAsNonRoot", true},
              {"runAsUser", kPodUser},
              {"runAsGroup", kPodUser},
              {"fsGroup", kPodUser},
              {"fsGroupChangePolicy", "OnRootMismatch"},
              {"seccompProfile", Obj({{"type", "RuntimeDefault"}})}});
}
Json ContainerSecurityContext() {
  return Obj({{"allowPrivilegeEscalation", false},
              {"runAsNonRoot", true},
              {"capabilities", Obj({{"drop", Arr({"ALL"})}})}});
}

StatusOr<int64_t> Quantity(const std::string& field, const std::string& text, bool memory) {
  auto v = memory ? kube::ParseMemoryBytes(text) : kube::ParseCpuMillis(text);
  if (!v.ok())
    return InvalidArgumentError("resources.kubernetes." + field + ": " + std::string(v.status().message()));
  return *v;
}

}  // namespace

v1::KubernetesSpec MergeKubernetesSpec(const v1::KubernetesSpec& defaults,
                                       const v1::KubernetesSpec& cuda_defaults, bool cuda,
                                       const v1::KubernetesSpec& spec) {
  std::vector<const v1::KubernetesSpec*> layers = {&defaults};
  if (cuda) layers.push_back(&cuda_defaults);
  layers.push_back(&spec);
  v1::KubernetesSpec out;
  std::set<std::string> secrets;
  for (const v1::KubernetesSpec* k : layers) {
    for (const auto& [key, value] : k->node_selector()) (*out.mutable_node_selector())[key] = value;
    for (const auto& t : k->tolerations()) *out.add_tolerations() = t;
    for (const auto& s : k->image_pull_secrets()) {
      if (secrets.insert(s).second) out.add_image_pull_secrets(s);
    }
    if (k->has_priority_class()) out.set_priority_class(k->priority_class());
    if (k->has_scheduler_name()) out.set_scheduler_name(k->scheduler_name());
    if (k->has_scheduling_queue()) out.set_scheduling_queue(k->scheduling_queue());
    if (k->has_cpu_request()) out.set_cpu_request(k->cpu_request());
    if (k->has_memory_request()) out.set_memory_request(k->memory_request());
    if (k->has_cpu_limit()) out.set_cpu_limit(k->cpu_limit());
    if (k->has_memory_limit()) out.set_memory_limit(k->memory_limit());
  }
  return out;
}

StatusOr<PodPlan> PlanPods(const LaunchRequest& req, const v1::KubernetesSpec& k) {
  PodPlan p;
  const int slots = std::max(1, req.slots_per_rank);
  if (req.world_size < 1) return InvalidArgumentError("resources.world_size must be >= 1");
  if (req.cuda) {
    if (req.world_size % slots != 0) {
      return InvalidArgumentError(
          "resources.world_size " + std::to_string(req.world_size) +
          " is not a multiple of resources.slots_per_rank " + std::to_string(slots) +
          ": on Kubernetes a cuda worker pod holds slots_per_rank GPUs and runs one rank on each");
    }
    p.ranks_per_pod = slots;
    p.pods = req.world_size / slots;
    p.gpus_per_pod = slots;
  } else {
    p.ranks_per_pod = 1;
    p.pods = req.world_size;
  }
  const int64_t cpu_default = req.cuda ? kDefaultCudaCpuMillisPerRank : kDefaultCpuMillisPerSlot * slots;
  const int64_t mem_default = req.cuda ? kDefaultCudaMemoryBytesPerRank : kDefaultMemoryBytesPerSlot * slots;
  if (k.has_cpu_limit()) {
    FLYP_ASSIGN_OR_RETURN(p.cpu_limit_millis, Quantity("cpu_limit", k.cpu_limit(), false));
  }
  if (k.has_memory_limit()) {
    FLYP_ASSIGN_OR_RETURN(p.memory_limit_bytes, Quantity("memory_limit", k.memory_limit(), true));
  }
  // As the API server does: a limit without a request is also the request.
  if (k.has_cpu_request()) {
    FLYP_ASSIGN_OR_RETURN(p.cpu_request_millis, Quantity("cpu_request", k.cpu_request(), false));
  } else {
    p.cpu_request_millis = p.cpu_limit_millis > 0 ? p.cpu_limit_millis : cpu_default;
  }
  if (k.has_memory_request()) {
    FLYP_ASSIGN_OR_RETURN(p.memory_request_bytes, Quantity("memory_request", k.memory_request(), true));
  } else {
    p.memory_request_bytes = p.memory_limit_bytes > 0 ? p.memory_limit_bytes : mem_default;
  }
  // A rank that outgrows its memory is killed, not the node.
  if (p.memory_limit_bytes == 0) p.memory_limit_bytes = p.memory_request_bytes;
  if (p.cpu_limit_millis > 0 && p.cpu_request_millis > p.cpu_limit_millis)
    return InvalidArgumentError("resources.kubernetes.cpu_request exceeds cpu_limit");
  if (p.memory_request_bytes > p.memory_limit_bytes)
    return InvalidArgumentError("resources.kubernetes.memory_request exceeds memory_limit");
  p.omp_threads = req.threads_per_rank > 0
                      ? req.threads_per_rank
                      : static_cast<int>(std::max<int64_t>(1, p.cpu_request_millis / 1000));
  return p;
}

std::string FormatCpuMillis(int64_t millis) {
  if (millis % 1000 == 0) return std::to_string(millis / 1000);
  return std::to_string(millis) + "m";
}

std::string FormatBytes(int64_t bytes) {
  static const std::pair<const char*, int> kBinary[] = {{"Ei", 60}, {"Pi", 50}, {"Ti", 40},
                                                        {"Gi", 30}, {"Mi", 20}, {"Ki", 10}};
  for (const auto& [suffix, shift] : kBinary) {
    const int64_t unit = int64_t{1} << shift;
    if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
  }
  static const std::pair<const char*, int64_t> kDecimal[] = {
      {"E", 1000000000000000000}, {"P", 1000000000000000}, {"T", 1000000000000},
      {"G", 1000000000},          {"M", 1000000},          {"k", 1000}};
  for (const auto& [suffix, unit] : kDecimal) {
    if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes / unit) + suffix;
  }
  return std::to_string(bytes);
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

StatusOr<Json> BuildMpiJob(const MpiJobOptions& o, const LaunchRequest& req) {
  FLYP_ASSIGN_OR_RETURN(std::string name, MpiJobName(req.job_id, req.attempt));
  auto refuse = [&](const std::string& what) {
    return FailedPreconditionError("kubernetes launcher: " + what);
  };
  if (!PathIsBelow(req.artifact_dir, o.mount_path)) {
    return refuse("artifact dir '" + req.artifact_dir + "' is not under the shared volume mount '" +
                  o.mount_path + "' (set artifact-root inside k8s-mount-path)");
  }
  if (!PathIsBelow(req.spec_path, req.artifact_dir)) {
    return refuse("spec '" + req.spec_path + "' is not inside the artifact dir '" + req.artifact_dir + "'");
  }
  for (const std::string& root : o.data_roots) {
    if (!PathIsBelow(root, o.mount_path)) {
      return refuse("data root '" + root + "' is not a folder under the shared volume mount '" +
                    o.mount_path + "' (ranks mount each data root read-only from it)");
    }
    if (PathIsBelow(req.artifact_dir, root)) {
      return refuse("artifact dir '" + req.artifact_dir + "' is inside data root '" + root +
                    "' (ranks mount data roots read-only)");
    }
  }
  const v1::KubernetesSpec k = MergeKubernetesSpec(o.defaults, o.cuda_defaults, req.cuda, req.kubernetes);
  FLYP_ASSIGN_OR_RETURN(PodPlan plan, PlanPods(req, k));
  const Json labels = WorldLabels(req);

  // Environment of the launcher; mpirun -x forwards it to every rank. The
  // worker token comes from the world's Secret, so reading the MPIJob does
  // not reveal it.
  std::vector<std::pair<std::string, std::string>> env = {
      {env::kJobId.name, req.job_id},
      {env::kCoordinator.name, req.coordinator_address},
      {env::kArtifactDir.name, req.artifact_dir},
      {env::kAttempt.name, std::to_string(req.attempt)},
      {env::kMetricsPort.name, std::to_string(o.worker_metrics_port)},
      // flyp-worker sizes LibTorch's pool from FLYP_THREADS (else from the
      // node's cores, which a container does not limit); OpenMP and OpenBLAS
      // read OMP_NUM_THREADS.
      {env::kThreads.name, std::to_string(plan.omp_threads)},
      {"OMP_NUM_THREADS", std::to_string(plan.omp_threads)},
  };
  // The ranks open inputs only below these (common/confine.h); the pods
  // mount them at the same paths.
  if (!req.data_roots.empty()) env.emplace_back(env::kDataRoots.name, JoinDataRoots(req.data_roots));
  if (!o.coordinator_ca_pem.empty()) env.emplace_back(env::kCoordinatorCa.name, kCoordinatorCaPath);
  if (!o.coordinator_server_name.empty())
    env.emplace_back(env::kCoordinatorName.name, o.coordinator_server_name);
  Json env_json = Json::MakeArray();
  for (const auto& [key, value] : env) env_json.Append(EnvVarJson(key, value));
  env_json.Append(EnvFromSecretJson(env::kWorkerToken.name, WorkerTokenSecretName(name), "token"));
  // As the MPI Operator documents for OpenMPI: the operator's hostfile gives
  // each worker pod slotsPerWorker slots, --map-by slot fills them in order,
  // --bind-to none leaves placement to the pod's cgroup, and -x exports the
  // image's library and binary paths (CUDA LibTorch, NCCL) to ranks started
  // over ssh, which would otherwise get sshd's default environment.
  Json command = Arr({"mpirun", "--tag-output", "-np", std::to_string(req.world_size), "--bind-to", "none",
                      "--map-by", "slot", "-x", "LD_LIBRARY_PATH", "-x", "PATH"});
  for (const auto& [key, value] : env) {
    command.Append("-x");
    command.Append(key);
  }
  command.Append("-x");
  command.Append(env::kWorkerToken.name);
  command.Append(o.worker_binary);
  command.Append("--spec");
  command.Append(req.spec_path);

  // The shared claim, as subPaths: this job's artifact folder (read-write)
  // and every data root (read-only). Never the whole volume, so no rank sees
  // another job's folder.
  Json mounts = Arr({Obj({{"name", "flyp-data"},
                          {"mountPath", Trimmed(req.artifact_dir)},
                          {"subPath", Relative(req.artifact_dir, o.mount_path)}})});
  for (const std::string& root : o.data_roots) {
    mounts.Append(Obj({{"name", "flyp-data"},
                       {"mountPath", Trimmed(root)},
                       {"subPath", Relative(root, o.mount_path)},
                       {"readOnly", true}}));
  }
  mounts.Append(Obj({{"name", "dshm"}, {"mountPath", "/dev/shm"}}));
  Json volumes = Arr({Obj({{"name", "flyp-data"}, {"persistentVolumeClaim", Obj({{"claimName", o.pvc}})}}),
                      Obj({{"name", "dshm"}, {"emptyDir", Obj({{"medium", "Memory"}})}})});
  if (!o.coordinator_ca_pem.empty()) {
    // Every pod: rank 0 may run in any worker pod, and mpirun forwards the path.
    mounts.Append(Obj({{"name", "coordinator-ca"}, {"mountPath", kCoordinatorCaDir}, {"readOnly", true}}));
    volumes.Append(
        Obj({{"name", "coordinator-ca"},
             {"secret", Obj({{"secretName", WorkerTokenSecretName(name)},
                             {"items", Arr({Obj({{"key", kCoordinatorCaKey}, {"path", "ca.crt"}})})}})}}));
  }

  Json launcher_container =
      Obj({{"name", "launcher"},
           {"image", o.image},
           {"imagePullPolicy", o.image_pull_policy},
           {"command", command},
           {"env", env_json},
           {"workingDir", Trimmed(req.artifact_dir)},
           {"resources", Obj({{"requests", Obj({{"cpu", kLauncherCpuRequest}, {"memory", kLauncherMemory}})},
                              {"limits", Obj({{"memory", kLauncherMemoryLimit}})}})},
           {"securityContext", ContainerSecurityContext()},
           {"volumeMounts", mounts}});

  const int per_pod = plan.ranks_per_pod;
  Json requests = Obj({{"cpu", FormatCpuMillis(plan.cpu_request_millis * per_pod)},
                       {"memory", FormatBytes(plan.memory_request_bytes * per_pod)}});
  Json limits = Obj({{"memory", FormatBytes(plan.memory_limit_bytes * per_pod)}});
  if (plan.cpu_limit_millis > 0) limits.Set("cpu", FormatCpuMillis(plan.cpu_limit_millis * per_pod));
  if (plan.gpus_per_pod > 0) {
    requests.Set("nvidia.com/gpu", plan.gpus_per_pod);
    limits.Set("nvidia.com/gpu", plan.gpus_per_pod);
  }
  Json ports = Arr({Obj({{"name", "ssh"}, {"containerPort", kSshPort}})});
  if (o.worker_metrics_port > 0) {
    // flyp-worker serves on FLYP_METRICS_PORT + local rank.
    for (int r = 0; r < per_pod; ++r) {
      ports.Append(Obj({{"name", r == 0 ? std::string("metrics") : "metrics-" + std::to_string(r)},
                        {"containerPort", o.worker_metrics_port + r}}));
    }
  }
  Json worker_container = Obj({{"name", "worker"},
                               {"image", o.image},
                               {"imagePullPolicy", o.image_pull_policy},
                               {"command", Arr({"/usr/sbin/sshd"})},
                               {"args", Arr({"-De", "-f", "/home/flyp/.sshd_config"})},
                               {"env", env_json},  // also on the pods, for tools run inside them
                               {"ports", ports},
                               {"resources", Obj({{"requests", requests}, {"limits", limits}})},
                               {"securityContext", ContainerSecurityContext()},
                               {"volumeMounts", mounts}});
  Json worker_meta = Obj({{"labels", labels}});
  if (o.worker_metrics_port > 0) {
    worker_meta.Set("annotations", Obj({{"prometheus.io/scrape", "true"},
                                        {"prometheus.io/port", std::to_string(o.worker_metrics_port)}}));
  }
  auto pod_spec = [&](Json container) {
    Json spec = Obj({{"containers", Arr({std::move(container)})},
                     {"volumes", volumes},
                     {"securityContext", PodSecurityContext()},
                     {"terminationGracePeriodSeconds", o.grace_s}});
    if (k.node_selector_size() > 0) {
      Json sel = Json::MakeObject();
      std::vector<std::pair<std::string, std::string>> sorted(k.node_selector().begin(),
                                                              k.node_selector().end());
      std::sort(sorted.begin(), sorted.end());
      for (const auto& [key, value] : sorted) sel.Set(key, value);
      spec.Set("nodeSelector", sel);
    }
    if (k.tolerations_size() > 0) {
      Json tol = Json::MakeArray();
      for (const v1::Toleration& t : k.tolerations()) {
        Json j = Json::MakeObject();
        if (!t.key().empty()) j.Set("key", t.key());
        j.Set("operator", t.operator_() == v1::TOLERATION_OPERATOR_EXISTS ? "Exists" : "Equal");
        if (!t.value().empty()) j.Set("value", t.value());
        if (t.effect() != v1::TAINT_EFFECT_UNSPECIFIED) j.Set("effect", kube::TaintEffectName(t.effect()));
        if (t.has_toleration_seconds()) j.Set("tolerationSeconds", t.toleration_seconds());
        tol.Append(std::move(j));
      }
      spec.Set("tolerations", tol);
    }
    if (k.has_priority_class()) spec.Set("priorityClassName", k.priority_class());
    if (k.has_scheduler_name()) spec.Set("schedulerName", k.scheduler_name());
    if (k.image_pull_secrets_size() > 0) {
      Json secrets = Json::MakeArray();
      for (const std::string& s : k.image_pull_secrets()) secrets.Append(Obj({{"name", s}}));
      spec.Set("imagePullSecrets", secrets);
    }
    return spec;
  };
  Json launcher_replica = Obj(
      {{"replicas", 1},
       {"restartPolicy", "Never"},
       {"template", Obj({{"metadata", Obj({{"labels", labels}})}, {"spec", pod_spec(launcher_container)}})}});
  Json worker_replica =
      Obj({{"replicas", plan.pods},
           {"restartPolicy", "Never"},
           {"template", Obj({{"metadata", worker_meta}, {"spec", pod_spec(worker_container)}})}});
  // The coordinator retries failed worlds itself (backoff, checkpoints).
  Json run_policy =
      Obj({{"cleanPodPolicy", "Running"}, {"backoffLimit", 0}, {"ttlSecondsAfterFinished", o.ttl_s}});
  if (k.has_scheduling_queue()) {
    // Gang scheduling (operator started with --gang-scheduling): the
    // operator makes the PodGroup (minMember = pods + 1) from this.
    Json policy = Obj({{"queue", k.scheduling_queue()}});
    if (k.has_priority_class()) policy.Set("priorityClass", k.priority_class());
    run_policy.Set("schedulingPolicy", policy);
  }
  return Obj({{"apiVersion", "kubeflow.org/v2beta1"},
              {"kind", "MPIJob"},
              {"metadata", Obj({{"name", name}, {"namespace", o.ns}, {"labels", labels}})},
              {"spec", Obj({{"slotsPerWorker", per_pod},
                            {"mpiImplementation", "OpenMPI"},
                            {"launcherCreationPolicy", "WaitForWorkersReady"},
                            {"sshAuthMountPath", kSshAuthMountPath},
                            {"runPolicy", run_policy},
                            {"mpiReplicaSpecs",
                             Obj({{"Launcher", launcher_replica}, {"Worker", worker_replica}})}})}});
}

std::string WorkerTokenSecretName(const std::string& mpijob_name) { return mpijob_name + "-token"; }

Json BuildWorkerTokenSecret(const MpiJobOptions& o, const LaunchRequest& req, const std::string& mpijob_name,
                            const std::string& mpijob_uid) {
  Json meta =
      Obj({{"name", WorkerTokenSecretName(mpijob_name)}, {"namespace", o.ns}, {"labels", WorldLabels(req)}});
  if (!mpijob_uid.empty()) {
    // Garbage-collected with its MPIJob (deleted by the coordinator, or by
    // ttlSecondsAfterFinished).
    meta.Set("ownerReferences", Arr({Obj({{"apiVersion", "kubeflow.org/v2beta1"},
                                          {"kind", "MPIJob"},
                                          {"name", mpijob_name},
                                          {"uid", mpijob_uid}})}));
  }
  Json data = Obj({{"token", req.worker_token}});
  if (!o.coordinator_ca_pem.empty()) data.Set(kCoordinatorCaKey, o.coordinator_ca_pem);
  return Obj({{"apiVersion", "v1"},
              {"kind", "Secret"},
              {"metadata", meta},
              {"type", "Opaque"},
              {"stringData", std::move(data)}});
}

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
  const Json* status = mpijob.Find("status");
  const Json* conds = status ? status->Find("conditions") : nullptr;
  if (!conds || !conds->is_array()) return MpiJobPhase::kPending;
  MpiJobPhase phase = MpiJobPhase::kPending;
  bool succeeded = false, failed = false;
  for (const Json& c : conds->as_array()) {
    const Json* type = c.Find("type");
    const Json* st = c.Find("status");
    if (!type || !type->is_string() || !st || !st->is_string() || st->as_string() != "True") continue;
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

}  // namespace flyp::coord
