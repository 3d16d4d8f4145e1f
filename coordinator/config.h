// Coordinator configuration: a typed struct with defaults, filled from an
// optional YAML file and then command-line flags (flags win). Keys of the YAML
// file are the flag names with '-' written as '_'. One table of options
// (config.cc) is both: adding an option is one line there.
#pragma once

#include <string>
#include <vector>

#include "common/flags.h"
#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp::coord {

// Which Launcher runs the worlds (coordinator/launcher/).
enum class LauncherKind {
  kLocal,       // "local": mpirun on this host (LocalLauncher)
  kKubernetes,  // "kubernetes": a Kubeflow MPIJob per attempt (KubernetesLauncher)
};
// The name flags and YAML use: "local", "kubernetes".
const char* LauncherKindName(LauncherKind kind);
// The kind of `name`; INVALID_ARGUMENT naming the value and the known kinds.
StatusOr<LauncherKind> ParseLauncherKind(const std::string& name);

struct CoordinatorConfig {
  std::string listen = "0.0.0.0:50051";  // host:port; port 0 picks a free one
  // What workers dial back (FLYP_COORDINATOR); empty: 127.0.0.1:<bound port>.
  std::string advertise_address;
  std::vector<std::string> data_roots;  // spec paths must lie inside one of these
  std::string artifact_root = "./flyp-artifacts";
  std::string db_path = "./flyp-coordinator.db";
  int cpu_slots = 0;  // 0: the number of CPU cores
  int gpus = 0;
  std::string token_file;  // empty: no authentication (a warning is logged)
  std::string tls_cert;    // PEM; with tls_key enables TLS
  std::string tls_key;
  // TLS of the workers' reports (rank 0 -> WorkerService): the CA bundle
  // the ranks trust (FLYP_COORDINATOR_CA; required with tls_cert) and the
  // name they expect in tls_cert (FLYP_COORDINATOR_SERVER_NAME; empty: the
  // host of advertise_address).
  std::string worker_tls_ca;
  std::string worker_tls_server_name;
  LauncherKind launcher = LauncherKind::kLocal;
  std::string worker_binary;   // empty: flyp-worker next to the coordinator binary
  std::string mpirun;          // empty: the mpirun found at build time
  double grace_period_s = 10;  // SIGTERM -> SIGKILL when stopping a world
  double backoff_base_s = 1;   // first restart delay, doubled per restart
  double backoff_max_s = 60;
  int max_receive_mib = 16;  // largest accepted request message
  std::string port_file;     // when set, the bound port is written here once serving
  // Prometheus /metrics (coordinator/metrics.h); empty or "off": no endpoint.
  std::string metrics_listen = "0.0.0.0:9464";
  // launcher: kubernetes (coordinator/launcher/kubernetes_launcher.h).
  std::string k8s_namespace;          // empty: the pod's own namespace (service account), else "default"
  std::string k8s_image;              // worker image (required with launcher kubernetes)
  std::string k8s_pvc = "flyp-data";  // claim mounted in every rank at k8s_mount_path
  std::string k8s_mount_path = "/var/lib/flyp";
  std::string k8s_api_server;  // empty: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
  std::string k8s_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string k8s_ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  int k8s_worker_metrics_port = 9400;  // FLYP_METRICS_PORT of the ranks; 0: off
  double k8s_poll_s = 2;               // log-following interval; wait before a failed watch relists
  // Cluster-wide resources.kubernetes defaults (same fields and YAML form as
  // a spec's): for every job, and for cuda jobs over them; a spec's own
  // block wins field by field (docs/kubernetes.md).
  v1::KubernetesSpec k8s_defaults;
  v1::KubernetesSpec k8s_cuda_defaults;
};

// The flags as given on a command line, in order, and --config.
struct GivenFlags {
  std::string config_file;
  std::vector<std::pair<std::string, std::string>> values;  // (option name, value)
};
// Declares --config FILE and every option as a flag of `flags` (the common
// grammar, common/flags.h: --name=value or --name value; --data-root may
// repeat), recording what is given into *given.
void DeclareCoordinatorFlags(FlagSet& flags, GivenFlags* given);
// The configuration: --config's YAML first, then the flags (flags win; the
// flags' --data-root replace the file's), validated. INVALID_ARGUMENT
// naming the flag, key or file line.
StatusOr<CoordinatorConfig> ConfigFromFlags(const GivenFlags& given);
// Both steps for argv (without argv[0]).
StatusOr<CoordinatorConfig> ParseCoordinatorConfig(const std::vector<std::string>& args);
// Applies YAML text over `config`.
Status ApplyConfigYaml(const std::string& yaml, const std::string& origin, CoordinatorConfig* config);
// Checks values (TLS settings that belong together, address syntax,
// positive sizes, what the launcher needs). Pure: files and directories are
// checked when the server starts (CoordinatorServer::Start).
Status ValidateCoordinatorConfig(const CoordinatorConfig& c);

}  // namespace flyp::coord
