#include "coordinator/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <map>

#include "common/file_util.h"
#include "common/metrics.h"
#include "common/numbers.h"
#include "common/spec/kube_fields.h"
#include "common/spec/spec_yaml.h"
#include "coordinator/cluster_config.h"

namespace flyp::coord {
namespace {

using Setter = std::function<Status(CoordinatorConfig*, const std::string&)>;

Status SetInt(const std::string& name, const std::string& v, int* out) {
  FLYP_ASSIGN_OR_RETURN(*out, ParseInt32(v, name));
  return Status::Ok();
}

Status SetDouble(const std::string& name, const std::string& v, double* out) {
  FLYP_ASSIGN_OR_RETURN(*out, ParseDouble(v, name));
  return Status::Ok();
}

constexpr std::pair<LauncherKind, const char*> kLauncherKinds[] = {
    {LauncherKind::kLocal, "local"},
    {LauncherKind::kHosts, "hosts"},
    {LauncherKind::kKubernetes, "kubernetes"},
    {LauncherKind::kSlurm, "slurm"},
};

// A resources.kubernetes block as YAML (a mapping; inline "{...}" from a
// flag), checked as a spec's is.
Status ParseKubernetesDefaults(const std::string& name, const std::string& yaml, v1::KubernetesSpec* out) {
  std::vector<FieldError> errors;
  v1::KubernetesSpec k;
  if (YamlToMessage(yaml, &k, &errors)) kube::ValidateKubernetesSpec(k, name, &errors);
  if (!errors.empty()) {
    std::string text;
    for (const FieldError& e : errors) {
      const std::string path = e.path.rfind(name, 0) == 0 || e.path.empty() ? e.path : name + "." + e.path;
      text += (text.empty() ? "" : "; ") + (path.empty() ? name : path) + ": " + e.message;
    }
    return InvalidArgumentError(text);
  }
  *out = std::move(k);
  return Status::Ok();
}

struct Option {
  const char* name;
  const char* help;
  Setter set;
};

#define FLYP_STR(field)                            \
  [](CoordinatorConfig* c, const std::string& v) { \
    c->field = v;                                  \
    return Status::Ok();                           \
  }
#define FLYP_INT(field, key) \
  [](CoordinatorConfig* c, const std::string& v) { return SetInt(key, v, &c->field); }
#define FLYP_DBL(field, key) \
  [](CoordinatorConfig* c, const std::string& v) { return SetDouble(key, v, &c->field); }

const std::vector<Option>& Options() {
  static const std::vector<Option> options = {
      {"listen", "host:port to serve on (default 0.0.0.0:50051; port 0 picks one)", FLYP_STR(listen)},
      {"advertise-address", "address workers dial back (default 127.0.0.1:<port>)",
       FLYP_STR(advertise_address)},
      {"data-root", "directory spec paths may point into (repeatable)",
       [](CoordinatorConfig* c, const std::string& v) {
         c->data_roots.push_back(v);
         return Status::Ok();
       }},
      {"artifact-root", "where job folders are created (default ./flyp-artifacts)", FLYP_STR(artifact_root)},
      {"db", "SQLite job store file (default ./flyp-coordinator.db)", FLYP_STR(db_path)},
      {"cpu-slots", "CPU slots to schedule (default: number of cores)", FLYP_INT(cpu_slots, "cpu-slots")},
      {"gpus", "GPUs to schedule (default 0)", FLYP_INT(gpus, "gpus")},
      {"worker-metrics-ports", "FIRST-LAST ports for the ranks' /metrics (default: off)",
       FLYP_STR(worker_metrics_ports)},
      {"worker-targets-file",
       "Prometheus file_sd JSON of the ranks' /metrics (default <artifact-root>/worker-targets.json)",
       FLYP_STR(worker_targets_file)},
      {"token-file",
       "bearer tokens, 'TOKEN NAME [admin|user]' per line (default role user; default: no auth)",
       FLYP_STR(token_file)},
      {"tls-cert", "PEM certificate chain; with --tls-key enables TLS", FLYP_STR(tls_cert)},
      {"tls-key", "PEM private key", FLYP_STR(tls_key)},
      {"worker-tls-ca", "PEM CA bundle ranks use to verify this coordinator (required with --tls-cert)",
       FLYP_STR(worker_tls_ca)},
      {"worker-tls-server-name", "name ranks expect in --tls-cert (default: the advertise-address host)",
       FLYP_STR(worker_tls_server_name)},
      {"launcher",
       "local | kubernetes (MPIJob through the Kubernetes API) | slurm (sbatch; default local); hosts pools: "
       "cluster section",
       [](CoordinatorConfig* c, const std::string& v) -> Status {
         FLYP_ASSIGN_OR_RETURN(c->launcher, ParseLauncherKind(v));
         return Status::Ok();
       }},
      {"worker-binary", "flyp-worker path (default: next to this binary)", FLYP_STR(worker_binary)},
      {"mpirun", "mpirun path (default: the one found at build time)", FLYP_STR(mpirun)},
      {"grace-period-s", "seconds between SIGTERM and SIGKILL (default 10)",
       FLYP_DBL(grace_period_s, "grace-period-s")},
      {"start-timeout-s",
       "seconds a world launched by mpirun (local and hosts pools) has until rank 0 reports started, "
       "or it is killed and the attempt restarts (default 600; 0: no limit)",
       FLYP_DBL(start_timeout_s, "start-timeout-s")},
      {"backoff-base-s", "first restart delay in seconds, doubled per restart (default 1)",
       FLYP_DBL(backoff_base_s, "backoff-base-s")},
      {"backoff-max-s", "longest restart delay in seconds (default 60)",
       FLYP_DBL(backoff_max_s, "backoff-max-s")},
      {"max-receive-mib", "largest accepted request in MiB (default 16)",
       FLYP_INT(max_receive_mib, "max-receive-mib")},
      {"port-file", "write the bound port to this file once serving (for scripts)", FLYP_STR(port_file)},
      {"metrics-listen", "host:port of Prometheus /metrics (default 0.0.0.0:9464; 'off' disables)",
       FLYP_STR(metrics_listen)},
      {"k8s-namespace", "kubernetes: namespace of the MPIJobs (default: the pod's own)",
       FLYP_STR(k8s_namespace)},
      {"k8s-image", "kubernetes: worker image (required)", FLYP_STR(k8s_image)},
      {"k8s-pvc", "kubernetes: PVC with data and artifacts (default flyp-data)", FLYP_STR(k8s_pvc)},
      {"k8s-mount-path", "kubernetes: where ranks mount the PVC (default /var/lib/flyp)",
       FLYP_STR(k8s_mount_path)},
      {"k8s-api-server",
       "kubernetes: API URL (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)",
       FLYP_STR(k8s_api_server)},
      {"k8s-token-file", "kubernetes: service-account token file", FLYP_STR(k8s_token_file)},
      {"k8s-ca-file", "kubernetes: API server CA bundle", FLYP_STR(k8s_ca_file)},
      {"k8s-worker-metrics-port", "kubernetes: FLYP_METRICS_PORT of the ranks (default 9400; 0 off)",
       FLYP_INT(k8s_worker_metrics_port, "k8s-worker-metrics-port")},
      {"k8s-poll-s", "kubernetes: log-following interval; wait before a failed watch relists (default 2)",
       FLYP_DBL(k8s_poll_s, "k8s-poll-s")},
      {"k8s-defaults", "kubernetes: resources.kubernetes defaults of every job (a YAML mapping)",
       [](CoordinatorConfig* c, const std::string& v) {
         return ParseKubernetesDefaults("k8s-defaults", v, &c->k8s_defaults);
       }},
      {"k8s-cuda-defaults", "kubernetes: resources.kubernetes defaults of cuda jobs, over k8s-defaults",
       [](CoordinatorConfig* c, const std::string& v) {
         return ParseKubernetesDefaults("k8s-cuda-defaults", v, &c->k8s_cuda_defaults);
       }},
      {"slurm-partition", "slurm: sbatch --partition (default: the cluster's)", FLYP_STR(slurm_partition)},
      {"slurm-account", "slurm: sbatch --account (default: the user's)", FLYP_STR(slurm_account)},
      {"slurm-qos", "slurm: sbatch --qos (default: Slurm's)", FLYP_STR(slurm_qos)},
      {"slurm-bin-dir", "slurm: folder of sbatch, squeue, scancel (default: PATH)", FLYP_STR(slurm_bin_dir)},
      {"slurm-mpi", "slurm: srun --mpi of the world (default pmix)", FLYP_STR(slurm_mpi)},
      {"slurm-poll-s", "slurm: squeue interval in seconds (default 2)",
       FLYP_DBL(slurm_poll_s, "slurm-poll-s")},
  };
  return options;
}

const Option* Find(const std::string& name) {
  for (const Option& o : Options()) {
    if (name == o.name) return &o;
  }
  return nullptr;
}

}  // namespace

const char* LauncherKindName(LauncherKind kind) {
  for (const auto& [k, name] : kLauncherKinds)
    if (k == kind) return name;
  return "?";
}

StatusOr<LauncherKind> ParseLauncherKind(const std::string& name) {
  std::string known;
  for (const auto& [k, n] : kLauncherKinds) {
    if (name == n) return k;
    known += (known.empty() ? "" : ", ") + std::string(n);
  }
  return InvalidArgumentError("launcher: unknown launcher '" + name + "' (expected one of: " + known + ")");
}

namespace {

// The value a flag's help shows, from the option's name.
std::string ValueName(const std::string& name) {
  auto ends = [&](const char* suffix) {
    const std::string s(suffix);
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (name == "listen" || ends("-listen") || ends("-address")) return "HOST:PORT";
  if (ends("-s")) return "SECONDS";
  if (ends("-port") || ends("-slots") || name == "gpus" || ends("-mib")) return "N";
  if (ends("-root") || ends("-path")) return "DIR";
  if (ends("-file") || name == "db" || ends("-binary") || name == "mpirun" || ends("-cert") || ends("-key") ||
      ends("-ca")) {
    return "FILE";
  }
  return "VALUE";
}

}  // namespace

void DeclareCoordinatorFlags(FlagSet& flags, GivenFlags* given) {
  flags.String("config", &given->config_file, "FILE",
               "YAML file with the options below (keys use '_' for '-')");
  for (const Option& o : Options()) {
    const std::string name = o.name;
    flags.Custom(
        name, ValueName(name), o.help,
        [given, name](const std::string& v) {
          given->values.emplace_back(name, v);
          return Status::Ok();
        },
        /*repeatable=*/name == "data-root");
  }
}

Status ApplyConfigYaml(const std::string& yaml, const std::string& origin, CoordinatorConfig* config) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(origin + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return InvalidArgumentError(origin + ": expected a mapping of options");
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    if (key == "cluster") {
      FLYP_RETURN_IF_ERROR(ParseClusterSection(kv.second, origin, &config->cluster));
      continue;
    }
    std::string name = key;
    for (char& ch : name)
      if (ch == '_') ch = '-';
    if (name == "db-path") name = "db";
    if (name == "data-roots") name = "data-root";
    const Option* o = Find(name);
    if (!o) return InvalidArgumentError(origin + ": " + key + ": unknown option");
    std::vector<std::string> values;
    if (kv.second.IsSequence()) {
      if (name != "data-root") return InvalidArgumentError(origin + ": " + key + ": expected a single value");
      for (const auto& v : kv.second) values.push_back(v.as<std::string>());
    } else if (kv.second.IsScalar()) {
      values.push_back(kv.second.as<std::string>());
    } else if (kv.second.IsMap() && (name == "k8s-defaults" || name == "k8s-cuda-defaults")) {
      values.push_back(YAML::Dump(kv.second));
    } else {
      return InvalidArgumentError(origin + ": " + key + ": expected a value");
    }
    for (const auto& v : values) FLYP_RETURN_IF_ERROR(o->set(config, v).WithContext(origin));
  }
  return Status::Ok();
}

StatusOr<CoordinatorConfig> ConfigFromFlags(const GivenFlags& given) {
  CoordinatorConfig config;
  if (!given.config_file.empty()) {
    StatusOr<std::string> yaml = ReadFileToString(given.config_file, kMaxConfigFileBytes);
    if (!yaml.ok()) return yaml.status().WithContext("--config");
    FLYP_RETURN_IF_ERROR(ApplyConfigYaml(*yaml, given.config_file, &config));
  }
  bool flag_roots = false;
  for (const auto& [name, value] : given.values) {
    const Option* o = Find(name);
    if (!o) return InvalidArgumentError("--" + name + ": unknown flag");
    if (name == "data-root" && !flag_roots) {  // flags replace the file's roots
      config.data_roots.clear();
      flag_roots = true;
    }
    FLYP_RETURN_IF_ERROR(o->set(&config, value).WithContext("--" + name));
  }
  FLYP_RETURN_IF_ERROR(ValidateCoordinatorConfig(config));
  return config;
}

StatusOr<CoordinatorConfig> ParseCoordinatorConfig(const std::vector<std::string>& args) {
  FlagSet flags;
  GivenFlags given;
  DeclareCoordinatorFlags(flags, &given);
  FLYP_RETURN_IF_ERROR(ParseFlagSet(flags, args));
  return ConfigFromFlags(given);
}

Status ValidateCoordinatorConfig(const CoordinatorConfig& c) {
  std::string errors;
  if (c.tls_cert.empty() != c.tls_key.empty()) errors += "tls-cert, tls-key: give both or neither\n";
  if (!c.tls_cert.empty() && c.worker_tls_ca.empty()) {
    errors +=
        "worker-tls-ca: required with tls-cert (ranks report to the coordinator over TLS and need the CA "
        "that signed tls-cert)\n";
  }
  if (c.tls_cert.empty() && !c.worker_tls_ca.empty()) {
    errors += "worker-tls-ca: set without tls-cert (the coordinator serves plaintext)\n";
  }
  if (c.worker_tls_ca.empty() && !c.worker_tls_server_name.empty()) {
    errors += "worker-tls-server-name: needs worker-tls-ca\n";
  }
  std::string host;
  int port = 0;
  if (Status s = ParseHostPort(c.listen, &host, &port); !s.ok()) {
    errors += "listen: " + s.message() + "\n";
  }
  if (!c.advertise_address.empty()) {
    if (Status s = ParseHostPort(c.advertise_address, &host, &port); !s.ok() || host.empty() || port == 0) {
      errors += "advertise-address: '" + c.advertise_address + "' must be host:port with a port 1..65535\n";
    }
  }
  if (!c.metrics_listen.empty() && c.metrics_listen != "off") {
    if (Status s = ParseHostPort(c.metrics_listen, &host, &port); !s.ok()) {
      errors += "metrics-listen: " + s.message() + " (or 'off')\n";
    }
  }
  if (c.cpu_slots < 0) errors += "cpu-slots: must be >= 0\n";
  if (c.gpus < 0) errors += "gpus: must be >= 0\n";
  if (c.grace_period_s < 0) errors += "grace-period-s: must be >= 0\n";
  if (c.start_timeout_s < 0) errors += "start-timeout-s: must be >= 0 (0: no limit)\n";
  if (c.backoff_base_s < 0 || c.backoff_max_s < c.backoff_base_s) {
    errors += "backoff-base-s, backoff-max-s: need 0 <= base <= max\n";
  }
  bool kubernetes = c.launcher == LauncherKind::kKubernetes;
  if (c.cluster.pools.empty()) {
    if (c.launcher == LauncherKind::kHosts) {
      errors += "launcher: hosts needs a cluster section listing the hosts (see docs/cluster.md)\n";
    }
    int first = 0, last = 0;
    if (!c.worker_metrics_ports.empty()) {
      if (Status s = ParsePortRange(c.worker_metrics_ports, "worker-metrics-ports", &first, &last); !s.ok())
        errors += s.message() + "\n";
    }
  } else {
    // The flat capacity flags describe the default pool, which a cluster section replaces.
    if (c.launcher != LauncherKind::kLocal)
      errors += "launcher: set each pool's launcher in the cluster section\n";
    if (c.cpu_slots != 0) errors += "cpu-slots: set each host's cpu_slots in the cluster section\n";
    if (c.gpus != 0) errors += "gpus: set each host's gpus in the cluster section\n";
    if (!c.worker_metrics_ports.empty())
      errors += "worker-metrics-ports: set each pool's worker_metrics_ports in the cluster section\n";
    ValidateCluster(c.cluster, &errors);
    for (const PoolConfig& p : c.cluster.pools) kubernetes |= p.launcher == LauncherKind::kKubernetes;
  }
  if (kubernetes && c.k8s_image.empty()) errors += "k8s-image: required with launcher kubernetes\n";
  if (c.k8s_poll_s <= 0) errors += "k8s-poll-s: must be > 0\n";
  if (c.launcher == LauncherKind::kKubernetes) {
    // Ranks mount their artifact folder and each data root as subPaths of
    // the shared claim (coordinator/launcher/mpijob.h).
    if (!PathIsBelow(c.artifact_root, c.k8s_mount_path))
      errors += "artifact-root: must be a folder under k8s-mount-path '" + c.k8s_mount_path + "' (got '" +
                c.artifact_root + "')\n";
    for (const std::string& r : c.data_roots) {
      if (!PathIsBelow(r, c.k8s_mount_path))
        errors +=
            "data-root: must be a folder under k8s-mount-path '" + c.k8s_mount_path + "' (got '" + r + "')\n";
    }
  }
  if (c.slurm_poll_s <= 0) errors += "slurm-poll-s: must be > 0\n";
  if (c.slurm_mpi.empty()) errors += "slurm-mpi: must name srun's MPI plugin (e.g. pmix)\n";
  if (c.k8s_worker_metrics_port < 0 || c.k8s_worker_metrics_port > 65535) {
    errors += "k8s-worker-metrics-port: must be 0..65535\n";
  }
  if (c.max_receive_mib < 1) errors += "max-receive-mib: must be >= 1\n";
  if (!errors.empty()) return InvalidArgumentError(errors);
  return Status::Ok();
}

Status ParsePortRange(const std::string& text, const std::string& what, int* first, int* last) {
  const std::string prefix = what.empty() ? "" : what + ": ";
  const size_t dash = text.find('-');
  StatusOr<int32_t> a = ParseInt32(std::string_view(text).substr(0, dash), "", 1, 65535);
  StatusOr<int32_t> b = dash == std::string::npos ? a : ParseInt32(text.substr(dash + 1), "", 1, 65535);
  if (!a.ok() || !b.ok() || *b < *a) {
    return InvalidArgumentError(prefix + "'" + QuoteForError(text) +
                                "': expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535");
  }
  *first = *a;
  *last = *b;
  return Status::Ok();
}

std::vector<PoolConfig> EffectivePools(const CoordinatorConfig& c, const std::vector<int>& local_cpus,
                                       int metrics_port_env) {
  const int cores = std::max<int>(1, static_cast<int>(local_cpus.size()));
  if (!c.cluster.pools.empty()) {
    std::vector<PoolConfig> pools = c.cluster.pools;
    for (PoolConfig& p : pools) {
      if (p.launcher != LauncherKind::kLocal) continue;
      for (HostConfig& h : p.hosts)
        if (h.cpus.empty()) h.cpus = local_cpus;
    }
    return pools;
  }
  PoolConfig pool;
  pool.name = "default";
  pool.launcher = c.launcher;
  if (c.launcher == LauncherKind::kSlurm) return {pool};  // Slurm's nodes are Slurm's to place on
  HostConfig h;
  h.name = c.launcher == LauncherKind::kKubernetes ? "kubernetes" : "localhost";
  h.address = c.launcher == LauncherKind::kKubernetes ? "kubernetes" : "127.0.0.1";
  h.cpu_slots = c.cpu_slots > 0 ? c.cpu_slots : cores;
  if (c.launcher == LauncherKind::kLocal) h.cpus = local_cpus;
  for (int g = 0; g < c.gpus; ++g) h.gpus.push_back(g);
  pool.hosts.push_back(std::move(h));
  if (!c.worker_metrics_ports.empty()) {
    // Validated already (ValidateCoordinatorConfig); a bad range leaves metrics off.
    (void)ParsePortRange(c.worker_metrics_ports, "", &pool.worker_metrics_port_first,
                         &pool.worker_metrics_port_last);
  } else if (metrics_port_env > 0 && metrics_port_env <= 65535) {
    // Compatibility: FLYP_METRICS_PORT in the coordinator's environment used
    // to make rank r serve that port + its local rank.
    pool.worker_metrics_port_first = metrics_port_env;
    pool.worker_metrics_port_last = std::min(65535, metrics_port_env + 63);
  }
  return {pool};
}

}  // namespace flyp::coord
