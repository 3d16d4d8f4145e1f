// The Kubernetes objects of one job attempt: the Kubeflow MPIJob
// (kubeflow.org/v2beta1, MPI Operator v0.8.x) and the Secret holding its
// worker token. Pure functions of the launcher's options and the launch
// request, so tests (and tests/k8s_schema) can check exactly what is sent.
//
//   - name flyp-<job-id>-a<attempt>; labels app.kubernetes.io/{name,managed-by},
//     flyp.dev/job-id, flyp.dev/attempt on the MPIJob, its pods and Secret;
//   - Launcher: `mpirun --tag-output -np N --bind-to none --map-by slot
//     -x LD_LIBRARY_PATH -x PATH -x FLYP_... -x OMP_NUM_THREADS flyp-worker
//     --spec <spec>`, the MPI Operator's hostfile giving each worker pod
//     slotsPerWorker slots (FLYP_COORDINATOR_CA, FLYP_COORDINATOR_SERVER_NAME
//     too with TLS);
//   - Workers: non-root sshd on port 2222; cpu: one rank per pod; cuda:
//     slots_per_rank ranks (one GPU each) per pod (world_size must be a
//     multiple); cpu/memory requests and limits per rank x ranks per pod
//     (PodPlan); nodeSelector, tolerations, priorityClassName,
//     imagePullSecrets, schedulerName, and runPolicy.schedulingPolicy for a
//     gang queue; the restricted Pod Security Standard's fields on every pod
//     and container; volumes: the job's artifact folder and the data roots
//     (read-only) as subPaths of the shared claim, nothing else of it.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "coordinator/launcher/launcher.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp::coord {

// What every MPIJob of this coordinator shares (coordinator config k8s_*).
struct MpiJobOptions {
  std::string ns = "default";
  std::string image;  // flyp-worker, mpirun, sshd
  std::string image_pull_policy = "IfNotPresent";
  std::string pvc;                      // claim holding data roots and the artifact root
  std::string mount_path;               // where the coordinator mounts it
  std::vector<std::string> data_roots;  // mounted read-only into every rank (must be under mount_path)
  std::string worker_binary = "flyp-worker";
  int worker_metrics_port = 9400;  // rank r of a pod serves on port + r; 0: no worker /metrics
  int64_t grace_s = 10;            // pod termination grace period
  int64_t ttl_s = 86400;           // ttlSecondsAfterFinished
  // Cluster-wide resources.kubernetes defaults: all jobs, then cuda jobs over
  // them; the spec's own block wins (MergeKubernetesSpec).
  v1::KubernetesSpec defaults;
  v1::KubernetesSpec cuda_defaults;
  // TLS of rank 0's reports: the CA bundle (PEM text) the ranks trust, put
  // into the world's Secret and mounted at kCoordinatorCaPath in every pod
  // (FLYP_COORDINATOR_CA); empty: plaintext. The name the ranks expect in
  // the coordinator's certificate (FLYP_COORDINATOR_SERVER_NAME; empty: the
  // host of the coordinator address).
  std::string coordinator_ca_pem;
  std::string coordinator_server_name;
};

// Built-in sizes when neither the spec nor the coordinator gives one.
constexpr int64_t kDefaultCpuMillisPerSlot = 1000;                // cpu: one core per slot
constexpr int64_t kDefaultMemoryBytesPerSlot = int64_t{2} << 30;  // cpu: 2Gi per slot
constexpr int64_t kDefaultCudaCpuMillisPerRank = 4000;            // cuda: 4 cores per GPU rank
constexpr int64_t kDefaultCudaMemoryBytesPerRank = int64_t{16} << 30;
// The launcher pod only runs mpirun.
constexpr const char* kLauncherCpuRequest = "100m";
constexpr const char* kLauncherMemory = "256Mi";
// The image's non-root user (docker/Dockerfile) and its sshd.
constexpr int64_t kPodUser = 1000;
constexpr const char* kSshAuthMountPath = "/home/flyp/.ssh";

// `spec` over `cuda_defaults` (cuda jobs) over `defaults`, field by field:
// scalars from the most specific block that sets them, node selectors merged
// (specific keys win), tolerations and image pull secrets added up.
v1::KubernetesSpec MergeKubernetesSpec(const v1::KubernetesSpec& defaults,
                                       const v1::KubernetesSpec& cuda_defaults, bool cuda,
                                       const v1::KubernetesSpec& spec);

// How a world becomes worker pods.
struct PodPlan {
  int pods = 1;
  int ranks_per_pod = 1;  // MPIJob slotsPerWorker
  int gpus_per_pod = 0;
  // Per rank, resolved (merged spec, else built in); 0: unset.
  int64_t cpu_request_millis = 0, cpu_limit_millis = 0;
  int64_t memory_request_bytes = 0, memory_limit_bytes = 0;
  int omp_threads = 1;  // OMP_NUM_THREADS of each rank
};
// INVALID_ARGUMENT with the reason when the world cannot be laid out
// (cuda world_size not a multiple of slots_per_rank, bad quantities).
StatusOr<PodPlan> PlanPods(const LaunchRequest& req, const v1::KubernetesSpec& merged);

// Kubernetes quantities for `millis` thousandths of a core ("4", "1500m") and
// `bytes` ("32Gi", "1500M", "1234").
std::string FormatCpuMillis(int64_t millis);
std::string FormatBytes(int64_t bytes);

// "flyp-<job id>-a<attempt>", e.g. "flyp-job-000042-a3". INVALID_ARGUMENT
// when that is not a DNS label of at most kMaxMpiJobName characters
// (lower-case letters, digits and '-'; the operator derives pod and service
// names from it: <name>-worker-<i> must stay within 63) or attempt < 1.
constexpr size_t kMaxMpiJobName = 52;
StatusOr<std::string> MpiJobName(const std::string& job_id, int attempt);

// The MPIJob Launch() creates. FAILED_PRECONDITION when the spec, artifact
// folder or a data root is not under opts.mount_path (the ranks could not
// see it); INVALID_ARGUMENT from PlanPods. The worker token is not in it:
// every pod reads FLYP_WORKER_TOKEN from the Secret WorkerTokenSecretName.
StatusOr<Json> BuildMpiJob(const MpiJobOptions& opts, const LaunchRequest& req);

// "<mpijob name>-token": the Secret holding a world's worker token (key
// "token") and, with TLS, the coordinator's CA bundle (key
// kCoordinatorCaKey, mounted read-only at kCoordinatorCaPath in every pod),
// owned by its MPIJob (ownerReferences with the MPIJob's uid when known), so
// Kubernetes deletes it with the MPIJob.
constexpr const char* kCoordinatorCaKey = "coordinator-ca.crt";
constexpr const char* kCoordinatorCaDir = "/etc/flyp/coordinator-ca";
constexpr const char* kCoordinatorCaPath = "/etc/flyp/coordinator-ca/ca.crt";
std::string WorkerTokenSecretName(const std::string& mpijob_name);
Json BuildWorkerTokenSecret(const MpiJobOptions& opts, const LaunchRequest& req,
                            const std::string& mpijob_name, const std::string& mpijob_uid);

// The MPIJob's overall phase from its status.conditions (Succeeded and
// Failed are final; otherwise the newest true one of Created, Running,
// Restarting).
enum class MpiJobPhase { kPending, kCreated, kRunning, kRestarting, kSucceeded, kFailed };
MpiJobPhase ParseMpiJobPhase(const Json& mpijob);
const char* MpiJobPhaseName(MpiJobPhase p);

}  // namespace flyp::coord
