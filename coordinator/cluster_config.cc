#include "coordinator/cluster_config.h"

#include <sched.h>

#include <filesystem>
#include <functional>
#include <set>

#include "common/file_util.h"
#include "common/numbers.h"
#include "common/spec/spec_yaml.h"

namespace flyp::coord {
namespace {

// Budgets of the section (an operator's file, still bounded).
constexpr size_t kMaxPools = 64;
constexpr size_t kMaxHosts = 4096;  // in the whole cluster
constexpr size_t kMaxGpusPerHost = 64;
constexpr size_t kMaxCpusPerHost = 4096;
constexpr size_t kMaxLabelsPerHost = 32;
constexpr size_t kMaxMcaSettings = 64;

// Collects "origin: path: what" lines.
class Parser {
 public:
  explicit Parser(std::string origin) : origin_(std::move(origin)) {}

  void Err(const std::string& path, const std::string& what) {
    errors_ += origin_ + ": " + path + ": " + what + "\n";
  }
  const std::string& errors() const { return errors_; }

  // The map's keys must be among `known`; each unknown one is an error with a
  // did-you-mean. False when `node` is not a map.
  bool CheckKeys(const YAML::Node& node, const std::string& path, const std::vector<std::string>& known) {
    if (!node.IsMap()) {
      Err(path, "expected a mapping");
      return false;
    }
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      bool ok = false;
      for (const auto& k : known) ok |= k == key;
      if (ok) continue;
      const std::string guess = ClosestMatch(key, known);
      Err(path + "." + key, guess.empty() ? "unknown key" : "unknown key; did you mean " + guess + "?");
    }
    return true;
  }

  bool Scalar(const YAML::Node& node, const std::string& path, std::string* out) {
    if (!node.IsScalar()) {
      Err(path, "expected a single value");
      return false;
    }
    *out = node.Scalar();
    return true;
  }
  void String(const YAML::Node& node, const std::string& path, std::string* out) { Scalar(node, path, out); }
  void Int(const YAML::Node& node, const std::string& path, int* out, int min, int max) {
    std::string text;
    if (!Scalar(node, path, &text)) return;
    StatusOr<int32_t> v = ParseInt32(text, "", min, max);
    if (v.ok()) {
      *out = *v;
    } else {
      Err(path, v.status().message());
    }
  }
  void Double(const YAML::Node& node, const std::string& path, double* out, double min) {
    std::string text;
    if (!Scalar(node, path, &text)) return;
    StatusOr<double> v = ParseDouble(text, "", min);
    if (v.ok()) {
      *out = *v;
    } else {
      Err(path, v.status().message());
    }
  }
  // A list of scalars; at most `max` items.
  std::vector<std::string> List(const YAML::Node& node, const std::string& path, size_t max) {
    std::vector<std::string> out;
    if (!node.IsSequence()) {
      Err(path, "expected a list");
      return out;
    }
    if (node.size() > max) {
      Err(path, "at most " + std::to_string(max) + " items (got " + std::to_string(node.size()) + ")");
      return out;
    }
    for (size_t i = 0; i < node.size(); ++i) {
      std::string v;
      if (Scalar(node[i], path + "[" + std::to_string(i) + "]", &v)) out.push_back(v);
    }
    return out;
  }
  // A map of scalars, in document order; at most `max` entries.
  std::vector<std::pair<std::string, std::string>> Map(const YAML::Node& node, const std::string& path,
                                                       size_t max) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!node.IsMap()) {
      Err(path, "expected a mapping");
      return out;
    }
    if (node.size() > max) {
      Err(path, "at most " + std::to_string(max) + " entries (got " + std::to_string(node.size()) + ")");
      return out;
    }
    for (const auto& kv : node) {
      std::string v;
      if (Scalar(kv.second, path + "." + kv.first.Scalar(), &v)) out.emplace_back(kv.first.Scalar(), v);
    }
    return out;
  }

 private:
  std::string origin_;
  std::string errors_;
};

const std::vector<std::string> kPoolKeysCommon = {"name", "launcher", "worker_metrics_ports"};
const std::vector<std::string> kPoolKeysPlaced = {"hosts", "binding"};
const std::vector<std::string> kPoolKeysHosts = {
    "rsh_agent",      "oob_interface",   "btl_interface",   "mca",
    "shared_storage", "probe_timeout_s", "probe_backoff_s", "probe_backoff_max_s"};
const std::vector<std::string> kPoolKeysKubernetes = {"cpu_slots", "gpus"};
const std::vector<std::string> kHostKeys = {"name", "address", "cpu_slots", "cpus", "gpus", "labels"};

std::vector<std::string> Concat(std::initializer_list<const std::vector<std::string>*> parts) {
  std::vector<std::string> out;
  for (const auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

void ParseHost(Parser& p, const YAML::Node& node, const std::string& path, HostConfig* h) {
  if (!p.CheckKeys(node, path, kHostKeys)) return;
  if (node["name"]) p.String(node["name"], path + ".name", &h->name);
  if (node["address"]) p.String(node["address"], path + ".address", &h->address);
  if (node["cpus"]) {
    // Numbers or "A-B" ranges.
    std::vector<std::string> items = p.List(node["cpus"], path + ".cpus", kMaxCpusPerHost);
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string& item = items[i];
      const size_t dash = item.find('-', 1);
      StatusOr<int32_t> lo = ParseInt32(item.substr(0, dash), "", 0, CPU_SETSIZE - 1);
      StatusOr<int32_t> hi =
          dash == std::string::npos ? lo : ParseInt32(item.substr(dash + 1), "", 0, CPU_SETSIZE - 1);
      if (!lo.ok() || !hi.ok() || *hi < *lo ||
          h->cpus.size() + static_cast<size_t>(*hi - *lo) >= kMaxCpusPerHost) {
        p.Err(path + ".cpus[" + std::to_string(i) + "]", "expected a CPU number or a range A-B of CPUs 0.." +
                                                             std::to_string(CPU_SETSIZE - 1) + " (got '" +
                                                             QuoteForError(item) + "')");
        continue;
      }
      for (int c = *lo; c <= *hi; ++c) h->cpus.push_back(c);
    }
    h->cpu_slots = static_cast<int>(h->cpus.size());
  }
  if (node["cpu_slots"]) p.Int(node["cpu_slots"], path + ".cpu_slots", &h->cpu_slots, 0, 1 << 20);
  if (node["gpus"]) {
    std::vector<std::string> gpus = p.List(node["gpus"], path + ".gpus", kMaxGpusPerHost);
    for (size_t i = 0; i < gpus.size(); ++i) {
      StatusOr<int32_t> g = ParseInt32(gpus[i], "", 0, 1 << 16);
      if (g.ok()) {
        h->gpus.push_back(*g);
      } else {
        p.Err(path + ".gpus[" + std::to_string(i) + "]", g.status().message() + " (a CUDA device index)");
      }
    }
  }
  if (node["labels"]) {
    for (auto& [k, v] : p.Map(node["labels"], path + ".labels", kMaxLabelsPerHost)) h->labels[k] = v;
  }
}

void ParsePool(Parser& p, const YAML::Node& node, const std::string& path, PoolConfig* pool) {
  if (!node.IsMap()) {
    p.Err(path, "expected a mapping");
    return;
  }
  if (node["launcher"]) {
    std::string kind;
    if (p.Scalar(node["launcher"], path + ".launcher", &kind)) {
      StatusOr<LauncherKind> k = ParseLauncherKind(kind);
      if (k.ok() && *k == LauncherKind::kSlurm) {
        // Slurm places gangs on its own nodes; mixing it with pools the
        // coordinator places on would split one queue between two schedulers.
        p.Err(
            path + ".launcher",
            "slurm is not a pool launcher: run a coordinator with --launcher slurm (and no cluster section) "
            "for a Slurm cluster");
        return;
      }
      if (k.ok()) {
        pool->launcher = *k;
      } else {
        p.Err(path + ".launcher", k.status().message().substr(std::string("launcher: ").size()));
        return;
      }
    }
  } else {
    p.Err(path + ".launcher", "required (local, hosts or kubernetes)");
    return;
  }
  const bool hosts = pool->launcher == LauncherKind::kHosts;
  const bool k8s = pool->launcher == LauncherKind::kKubernetes;
  std::vector<std::string> known = kPoolKeysCommon;
  if (!k8s) known = Concat({&known, &kPoolKeysPlaced});
  if (hosts) known = Concat({&known, &kPoolKeysHosts});
  if (k8s) known = Concat({&known, &kPoolKeysKubernetes});
  p.CheckKeys(node, path, known);
  if (node["name"]) p.String(node["name"], path + ".name", &pool->name);
  if (node["worker_metrics_ports"]) {
    std::string text;
    if (p.Scalar(node["worker_metrics_ports"], path + ".worker_metrics_ports", &text)) {
      Status s = ParsePortRange(text, "", &pool->worker_metrics_port_first, &pool->worker_metrics_port_last);
      if (!s.ok()) p.Err(path + ".worker_metrics_ports", s.message());
    }
  }
  if (!k8s && node["hosts"]) {
    if (!node["hosts"].IsSequence()) {
      p.Err(path + ".hosts", "expected a list of hosts");
    } else if (node["hosts"].size() > kMaxHosts) {
      p.Err(path + ".hosts", "at most " + std::to_string(kMaxHosts) + " hosts");
    } else {
      for (size_t i = 0; i < node["hosts"].size(); ++i) {
        HostConfig h;
        ParseHost(p, node["hosts"][i], path + ".hosts[" + std::to_string(i) + "]", &h);
        pool->hosts.push_back(std::move(h));
      }
    }
  }
  if (!k8s && node["binding"]) {
    std::string b;
    if (p.Scalar(node["binding"], path + ".binding", &b)) {
      if (b == "cores") {
        pool->binding = CpuBinding::kCores;
      } else if (b == "none") {
        pool->binding = CpuBinding::kNone;
      } else {
        p.Err(path + ".binding", "unknown binding '" + QuoteForError(b) + "' (expected cores or none)");
      }
    }
  }
  if (hosts) {
    if (node["rsh_agent"]) p.String(node["rsh_agent"], path + ".rsh_agent", &pool->rsh_agent);
    if (node["oob_interface"]) p.String(node["oob_interface"], path + ".oob_interface", &pool->oob_interface);
    if (node["btl_interface"]) p.String(node["btl_interface"], path + ".btl_interface", &pool->btl_interface);
    if (node["mca"]) pool->mca = p.Map(node["mca"], path + ".mca", kMaxMcaSettings);
    if (node["shared_storage"])
      pool->shared_storage = p.List(node["shared_storage"], path + ".shared_storage", kMaxMcaSettings);
    if (node["probe_timeout_s"])
      p.Double(node["probe_timeout_s"], path + ".probe_timeout_s", &pool->probe_timeout_s, 0);
    if (node["probe_backoff_s"])
      p.Double(node["probe_backoff_s"], path + ".probe_backoff_s", &pool->probe_backoff_s, 0);
    if (node["probe_backoff_max_s"])
      p.Double(node["probe_backoff_max_s"], path + ".probe_backoff_max_s", &pool->probe_backoff_max_s, 0);
  }
  if (k8s) {
    // One virtual host with the pool's capacity: the cluster places the pods.
    HostConfig h;
    h.name = pool->name.empty() ? "kubernetes" : pool->name;
    h.address = "kubernetes";
    if (node["cpu_slots"]) p.Int(node["cpu_slots"], path + ".cpu_slots", &h.cpu_slots, 0, 1 << 20);
    int gpus = 0;
    if (node["gpus"]) p.Int(node["gpus"], path + ".gpus", &gpus, 0, 1 << 16);
    for (int g = 0; g < gpus; ++g) h.gpus.push_back(g);
    pool->hosts.push_back(std::move(h));
  }
}

bool IsName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

}  // namespace

Status ParseClusterSection(const YAML::Node& node, const std::string& origin, ClusterConfig* out) {
  Parser p(origin);
  ClusterConfig c;
  if (node.IsNull()) {
    *out = c;
    return Status::Ok();
  }
  if (p.CheckKeys(node, "cluster", {"pools"}) && node["pools"]) {
    const YAML::Node pools = node["pools"];
    if (!pools.IsSequence()) {
      p.Err("cluster.pools", "expected a list of pools");
    } else if (pools.size() > kMaxPools) {
      p.Err("cluster.pools", "at most " + std::to_string(kMaxPools) + " pools");
    } else {
      for (size_t i = 0; i < pools.size(); ++i) {
        PoolConfig pool;
        ParsePool(p, pools[i], "cluster.pools[" + std::to_string(i) + "]", &pool);
        c.pools.push_back(std::move(pool));
      }
    }
  }
  if (!p.errors().empty()) return InvalidArgumentError(p.errors());
  *out = std::move(c);
  return Status::Ok();
}

void ValidateCluster(const ClusterConfig& cluster, std::string* errors) {
  auto err = [&](const std::string& path, const std::string& what) { *errors += path + ": " + what + "\n"; };
  std::set<std::string> pool_names, host_names;
  int local_pools = 0;
  size_t hosts_total = 0;
  for (size_t i = 0; i < cluster.pools.size(); ++i) {
    const PoolConfig& pool = cluster.pools[i];
    const std::string path = "cluster.pools[" + std::to_string(i) + "]";
    if (!IsName(pool.name)) {
      err(path + ".name",
          "required: 1-63 letters, digits, '-', '_' or '.' (got '" + QuoteForError(pool.name) + "')");
    } else if (!pool_names.insert(pool.name).second) {
      err(path + ".name", "pool '" + pool.name + "' is defined twice");
    }
    if (pool.launcher == LauncherKind::kLocal && ++local_pools > 1)
      err(path + ".launcher", "only one pool may be local (it is this machine)");
    if (pool.launcher == LauncherKind::kLocal && pool.hosts.size() != 1)
      err(path + ".hosts",
          "a local pool has exactly one host, this machine (got " + std::to_string(pool.hosts.size()) + ")");
    if (pool.launcher == LauncherKind::kHosts) {
      if (pool.hosts.empty()) err(path + ".hosts", "a hosts pool needs at least one host");
      if (pool.rsh_agent.find_first_not_of(" \t") == std::string::npos)
        err(path + ".rsh_agent", "must name a command (default: ssh -o BatchMode=yes)");
      if (pool.shared_storage.empty()) {
        err(path + ".shared_storage",
            "required: the directories every host mounts at the same path (they must hold artifact_root "
            "and every data root; see docs/cluster.md)");
      }
      for (size_t k = 0; k < pool.shared_storage.size(); ++k) {
        if (pool.shared_storage[k].empty() || pool.shared_storage[k][0] != '/')
          err(path + ".shared_storage[" + std::to_string(k) + "]", "must be an absolute path");
      }
      if (pool.probe_timeout_s <= 0) err(path + ".probe_timeout_s", "must be > 0");
      if (pool.probe_backoff_s <= 0 || pool.probe_backoff_max_s < pool.probe_backoff_s)
        err(path + ".probe_backoff_s", "need 0 < probe_backoff_s <= probe_backoff_max_s");
    }
    hosts_total += pool.hosts.size();
    for (size_t k = 0; k < pool.hosts.size(); ++k) {
      const HostConfig& h = pool.hosts[k];
      const std::string hp = path + ".hosts[" + std::to_string(k) + "]";
      if (pool.launcher == LauncherKind::kKubernetes) {
        if (h.cpu_slots == 0 && h.gpus.empty()) err(path + ".cpu_slots", "a kubernetes pool needs capacity");
        continue;
      }
      if (!IsName(h.name)) {
        err(hp + ".name",
            "required: 1-63 letters, digits, '-', '_' or '.' (got '" + QuoteForError(h.name) + "')");
      } else if (!host_names.insert(h.name).second) {
        err(hp + ".name", "host '" + h.name + "' is defined twice");
      }
      if (h.address.empty() || h.address.find_first_of(" \t,:'\"") != std::string::npos)
        err(hp + ".address",
            "required: an IPv4 address or a DNS name (got '" + QuoteForError(h.address) + "')");
      if (h.cpu_slots == 0 && h.gpus.empty()) err(hp, "declares no cpu_slots and no gpus");
      std::set<int> cpus(h.cpus.begin(), h.cpus.end());
      if (cpus.size() != h.cpus.size()) err(hp + ".cpus", "a CPU is listed twice");
      std::set<int> seen;
      for (int g : h.gpus) {
        if (!seen.insert(g).second) err(hp + ".gpus", "device " + std::to_string(g) + " listed twice");
      }
    }
  }
  if (hosts_total > kMaxHosts) err("cluster.pools", "at most " + std::to_string(kMaxHosts) + " hosts");
}

namespace {

// `path` as weakly_canonical gives it, without a trailing '/' (but "/").
std::string CanonicalDir(const std::string& path) {
  std::string s = std::filesystem::weakly_canonical(path).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

Status CheckSharedStorage(const std::vector<PoolConfig>& pools, const std::string& artifact_root,
                          const std::vector<std::string>& data_roots) {
  std::string errors;
  for (const PoolConfig& pool : pools) {
    if (pool.launcher != LauncherKind::kHosts) continue;
    std::vector<std::pair<std::string, std::string>> need = {{"artifact-root", artifact_root}};
    for (const std::string& r : data_roots) need.emplace_back("data-root", r);
    for (const auto& [what, path] : need) {
      const std::string p = CanonicalDir(path);
      bool ok = false;
      for (const std::string& shared : pool.shared_storage) {
        const std::string d = CanonicalDir(shared);
        ok |= p == d || PathIsBelow(p, d);
      }
      if (!ok) {
        errors += "pool " + pool.name + ": " + what + " '" + path +
                  "' is not inside its shared_storage (the hosts would not see it at that path)\n";
      }
    }
  }
  if (!errors.empty()) return InvalidArgumentError(errors);
  return Status::Ok();
}

}  // namespace flyp::coord
