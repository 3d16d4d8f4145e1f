// KubernetesLauncher: each job attempt is a Kubeflow MPIJob
// (kubeflow.org/v2beta1, MPI Operator v2) created through the in-cluster
// Kubernetes API:
//   - name flyp-<job-id>-a<attempt>, labels flyp.dev/job-id, flyp.dev/attempt;
//   - Launcher replica: `mpirun --tag-output -np N -x FLYP_... flyp-worker --spec <spec>`
//     with FLYP_JOB_ID, FLYP_COORDINATOR, FLYP_WORKER_TOKEN, FLYP_ARTIFACT_DIR,
//     FLYP_ATTEMPT, FLYP_METRICS_PORT (and FLYP_COORDINATOR_CA,
//     FLYP_COORDINATOR_SERVER_NAME with TLS) in its environment (forwarded to
//     the ranks);
//   - Worker replicas (N, one rank each): sshd, as the MPI Operator expects,
//     with `nvidia.com/gpu: slots_per_rank` for cuda jobs (cpu requests otherwise),
//     Prometheus scrape annotations, and the shared PVC mounted at the same
//     path as in the coordinator (spec and artifact folder live on it).
// A background thread polls every MPIJob; its conditions map to world exits:
// Succeeded -> exit 0, Failed -> the launcher pod's exit code (so worker exit
// codes 3/4 stay permanent failures), deleted -> killed by SIGTERM/SIGKILL.
// The launcher pod's log is copied into the job's log file as it grows.
// Stop deletes the MPIJob (foreground propagation).
//
// World handles are "k8s:<namespace>/<MPIJob name>", so a restarted
// coordinator finds an orphaned MPIJob from the stored handle alone.
// Recover() deletes it (the default of Launcher) and the job restarts from
// its checkpoint; adopting it instead would only need the poller to watch it
// again. Handles "local:<N>" are what a coordinator before schema 3 of the
// store recorded for MPIJobs (N = job number * 1000 + attempt); StopOrphan()
// still finds those, for an upgrade with jobs running.
//
// Thread safety: all methods may be called from any thread. Launch() blocks
// on the API server (2-4 calls); the others only touch memory: the poller
// thread does the API calls of Poll() and Stop().
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/json.h"
#include "common/mutex.h"
#include "coordinator/launcher/kube_api.h"
#include "coordinator/launcher/launcher.h"

namespace flyp::coord {

struct KubernetesLauncherOptions {
  KubeApiOptions api;
  std::string ns = "default";
  std::string image;  // worker image (flyp-worker, mpirun, sshd)
  std::string image_pull_policy = "IfNotPresent";
  std::string pvc;         // claim holding data roots and the artifact root
  std::string mount_path;  // where the coordinator mounts it too
  std::string worker_binary = "flyp-worker";
  int worker_metrics_port = 9400;  // 0: no worker /metrics
  // TLS of rank 0's reports: the CA bundle (PEM text) the ranks trust, put
  // into the world's Secret and mounted at kCoordinatorCaPath in every pod
  // (FLYP_COORDINATOR_CA); empty: plaintext. The name the ranks expect in
  // the coordinator's certificate (FLYP_COORDINATOR_SERVER_NAME; empty: the
  // host of the coordinator address).
  std::string coordinator_ca_pem;
  std::string coordinator_server_name;
  int64_t poll_ms = 2000;
  int64_t grace_s = 10;  // pod termination grace period on a normal Stop
};

// The MPIJob's overall phase from its status.conditions (the newest true one
// among Created, Running, Restarting, Succeeded, Failed wins; Succeeded and
// Failed are final).
enum class MpiJobPhase { kPending, kCreated, kRunning, kRestarting, kSucceeded, kFailed };
MpiJobPhase ParseMpiJobPhase(const Json& mpijob);
const char* MpiJobPhaseName(MpiJobPhase p);

// "flyp-<job id>-a<attempt>", e.g. "flyp-job-000042-a3". INVALID_ARGUMENT
// when that is not a DNS label of at most kMaxMpiJobName characters
// (lower-case letters, digits and '-'; the operator derives pod and service
// names from it) or attempt < 1.
constexpr size_t kMaxMpiJobName = 52;
StatusOr<std::string> MpiJobName(const std::string& job_id, int attempt);
// "k8s:<ns>/<name>" and back; INVALID_ARGUMENT for any other handle.
WorldHandle MpiJobHandle(const std::string& ns, const std::string& name);
struct MpiJobRef {
  std::string ns, name;
};
StatusOr<MpiJobRef> ParseMpiJobHandle(const WorldHandle& world);

// The MPIJob object Launch() creates. FAILED_PRECONDITION when the spec or
// artifact folder is not under opts.mount_path (ranks could not see it).
// The worker token is not in it: every rank reads FLYP_WORKER_TOKEN from
// the Secret WorkerTokenSecretName(name).
StatusOr<Json> BuildMpiJob(const KubernetesLauncherOptions& opts, const LaunchRequest& req);

// "<mpijob name>-token": the Secret holding a world's worker token (key
// "token") and, with TLS, the coordinator's CA bundle (key
// kCoordinatorCaKey, mounted read-only at kCoordinatorCaPath in every pod),
// created by Launch() right after the MPIJob and owned by it
// (ownerReferences with the MPIJob's uid when known), so Kubernetes deletes
// it with the MPIJob.
constexpr const char* kCoordinatorCaKey = "coordinator-ca.crt";
constexpr const char* kCoordinatorCaDir = "/etc/flyp/coordinator-ca";
constexpr const char* kCoordinatorCaPath = "/etc/flyp/coordinator-ca/ca.crt";
std::string WorkerTokenSecretName(const std::string& mpijob_name);
Json BuildWorkerTokenSecret(const KubernetesLauncherOptions& opts, const LaunchRequest& req,
                            const std::string& mpijob_name, const std::string& mpijob_uid);

class KubernetesLauncher : public Launcher {
 public:
  explicit KubernetesLauncher(KubernetesLauncherOptions opts);
  ~KubernetesLauncher() override;

  StatusOr<WorldHandle> Launch(const LaunchRequest& req) override;
  std::optional<WorldExit> Poll(const WorldHandle& world) override;
  void Stop(const WorldHandle& world, bool force) override;
  Status StopOrphan(const WorldHandle& world, int64_t grace_ms) override;

  // Last phase seen by the poller (kPending before the first poll).
  MpiJobPhase Phase(const WorldHandle& world);

 private:
  struct World {
    std::string ns, name;
    std::string log_path;
    MpiJobPhase phase = MpiJobPhase::kPending;
    int stop = 0;  // 0 running, 1 delete requested, 2 forced, 3 delete sent
    bool force_sent = false;
    std::optional<WorldExit> exit;
    size_t log_bytes = 0;  // launcher log bytes already appended to log_path
  };

  void PollLoop() FLYP_EXCLUDES(mu_);
  // `w`: a copy taken under mu_; the API calls run without it and the
  // results are written back under it.
  void PollOne(const WorldHandle& world, World w) FLYP_EXCLUDES(mu_);
  Status Delete(const std::string& ns, const std::string& name, bool force);
  std::string LauncherPod(const std::string& ns, const std::string& name, Json* pod);
  void SyncLog(const std::string& pod, World* w);

  const KubernetesLauncherOptions opts_;
  const KubeApi api_;
  Mutex mu_;
  CondVar wake_;  // the poller: a world was added or asked to stop, or shutdown
  std::map<WorldHandle, World> worlds_ FLYP_GUARDED_BY(mu_);
  bool stop_thread_ FLYP_GUARDED_BY(mu_) = false;
  std::thread poller_;
};

}  // namespace flyp::coord
