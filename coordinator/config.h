// Coordinator configuration: a typed struct with defaults, filled from an
// optional YAML file and then command-line flags (flags win). Keys of the YAML
// file are the flag names with '-' written as '_', plus the `cluster`
// section (pools of hosts; coordinator/cluster_config.h parses it), which
// has no flags. One table of options (config.cc) is both: adding an option
// is one line there.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/flags.h"
#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp::coord {

// Which Launcher runs the worlds (coordinator/launcher/).
enum class LauncherKind {
  kLocal,       // "local": mpirun on this host (LocalLauncher)
  kHosts,       // "hosts": mpirun over an rsh agent (ssh) onto a pool's hosts (HostsLauncher)
  kKubernetes,  // "kubernetes": a Kubeflow MPIJob per attempt (KubernetesLauncher)
  kSlurm,       // "slurm": an sbatch job per attempt (SlurmLauncher)
};
// The name flags and YAML use: "local", "hosts", "kubernetes", "slurm".
const char* LauncherKindName(LauncherKind kind);
// The kind of `name`; INVALID_ARGUMENT naming the value and the known kinds.
StatusOr<LauncherKind> ParseLauncherKind(const std::string& name);

// How a rank's CPU slots become CPUs (a pool's `binding`).
enum class CpuBinding {
  // "cores" (default): slot i of a host is its CPU i (or the i-th of the
  // host's `cpus`); each rank runs pinned to the CPUs of its own slots, so
  // concurrent jobs on a host never share a core. mpirun itself binds
  // nothing (--bind-to none).
  kCores,
  // "none": no pinning (--bind-to none); the kernel moves threads freely.
  kNone,
};

// One host of a pool (cluster.pools[].hosts[]).
struct HostConfig {
  std::string name;     // unique in the cluster; flypctl nodes and metrics use it
  std::string address;  // what mpirun and the rsh agent dial (IP address or DNS name)
  int cpu_slots = 0;    // CPU slots: the host's CPUs 0 .. cpu_slots-1, or its `cpus`
  // The CPUs its slots are, in order (slot i is cpus[i % size]); empty:
  // CPU i. Keeps cores for the system, or tells hosts that share a machine
  // apart. cpu_slots defaults to its length.
  std::vector<int> cpus;
  std::vector<int> gpus;                      // CUDA device indices ranks may be given
  std::map<std::string, std::string> labels;  // shown by flypctl nodes
};

// A pool: hosts run by one launcher kind (cluster.pools[]). A job runs in
// one pool (resources.pool, or the first that can ever fit it).
struct PoolConfig {
  std::string name;
  LauncherKind launcher = LauncherKind::kLocal;
  // local: exactly one host (this machine; its address is what Prometheus
  // dials for the ranks' /metrics). hosts: one or more. kubernetes: one
  // virtual host holding the pool's capacity (the cluster places the pods).
  std::vector<HostConfig> hosts;
  CpuBinding binding = CpuBinding::kCores;
  // Ports the ranks' /metrics may use on each host, first..last; a placement
  // gives every rank a port no other rank on its host holds. 0: no worker
  // metrics.
  int worker_metrics_port_first = 0;
  int worker_metrics_port_last = 0;
  // launcher hosts:
  // The command mpirun (plm_rsh_agent) and the health probe log in with:
  // whitespace-separated words, then the host's address and the command.
  std::string rsh_agent = "ssh -o BatchMode=yes";
  std::string oob_interface;  // oob_tcp_if_include: interface names or CIDRs; empty: Open MPI's choice
  std::string btl_interface;  // btl_tcp_if_include; empty: Open MPI's choice
  std::vector<std::pair<std::string, std::string>> mca;  // further --mca NAME VALUE, in order
  // Directories every host mounts at the same path: the artifact root and
  // every data root must lie inside one of them (checked at start).
  std::vector<std::string> shared_storage;
  double probe_timeout_s = 5;        // `<rsh agent> <address> true` must answer within this
  double probe_backoff_s = 5;        // a down host is probed again after this, doubled each time
  double probe_backoff_max_s = 300;  // ... up to this
};

struct ClusterConfig {
  // Empty: one pool "default" from the flat flags (launcher, cpu-slots,
  // gpus, worker-metrics-ports) with one host, this machine.
  std::vector<PoolConfig> pools;
};

struct CoordinatorConfig {
  std::string listen = "0.0.0.0:50051";  // host:port; port 0 picks a free one
  // What workers dial back (FLYP_COORDINATOR); empty: 127.0.0.1:<bound port>.
  std::string advertise_address;
  std::vector<std::string> data_roots;  // spec paths must lie inside one of these
  std::string artifact_root = "./flyp-artifacts";
  std::string db_path = "./flyp-coordinator.db";
  int cpu_slots = 0;  // 0: the number of CPU cores
  int gpus = 0;
  // The default pool's worker /metrics ports, "FIRST-LAST" (e.g.
  // "9400-9463"); empty: FLYP_METRICS_PORT of the coordinator's environment
  // as the first of 64 ports, else off.
  std::string worker_metrics_ports;
  // Prometheus file_sd JSON of the live ranks' /metrics endpoints, rewritten
  // atomically on every change; empty: <artifact_root>/worker-targets.json.
  std::string worker_targets_file;
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
  std::string worker_binary;     // empty: flyp-worker next to the coordinator binary
  std::string mpirun;            // empty: the mpirun found at build time
  double grace_period_s = 10;    // SIGTERM -> SIGKILL when stopping a world
  double start_timeout_s = 600;  // launch -> rank 0's STARTED report, or the world is killed (0: none)
  double backoff_base_s = 1;     // first restart delay, doubled per restart
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
  // launcher: slurm (coordinator/launcher/slurm_launcher.h). Slurm admits
  // the gangs: cpu_slots and gpus are not used.
  std::string slurm_partition;     // sbatch --partition; empty: the cluster's default
  std::string slurm_account;       // sbatch --account; empty: the user's default
  std::string slurm_qos;           // sbatch --qos; empty: the default
  std::string slurm_bin_dir;       // where sbatch, squeue, scancel are; empty: PATH
  std::string slurm_mpi = "pmix";  // srun --mpi of the world step
  double slurm_poll_s = 2;         // squeue interval
  ClusterConfig cluster;           // YAML only
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
// positive sizes, what the launcher needs, the cluster section). Pure: files
// and directories are checked when the server starts (CoordinatorServer::Start).
Status ValidateCoordinatorConfig(const CoordinatorConfig& c);

// "FIRST-LAST" -> the two ports; INVALID_ARGUMENT naming `what` unless
// 1 <= FIRST <= LAST <= 65535.
Status ParsePortRange(const std::string& text, const std::string& what, int* first, int* last);

// The pools the coordinator runs: cluster.pools, or the default pool built
// from the flat flags. `local_cpus` are the CPUs the coordinator may use:
// cpu-slots 0 means one slot each, and the slots of a local host without
// `cpus` are these (wrapping when there are more slots than CPUs);
// `metrics_port_env` is FLYP_METRICS_PORT of the coordinator's environment,
// 0 when unset.
std::vector<PoolConfig> EffectivePools(const CoordinatorConfig& c, const std::vector<int>& local_cpus,
                                       int metrics_port_env);

}  // namespace flyp::coord
