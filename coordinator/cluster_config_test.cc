// The `cluster` section of the coordinator's configuration: what it parses
// to, every kind of mistake named with its path, the flat flags as the
// default pool, and the docs' example parsing as documented.
#include "coordinator/cluster_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "coordinator/config.h"
#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

StatusOr<CoordinatorConfig> Parse(const std::string& yaml) {
  const std::string path = testing::TempDir() + "/cluster.yaml";
  std::ofstream(path) << yaml;
  return ParseCoordinatorConfig({"--config", path});
}

std::string Error(const std::string& yaml) {
  auto c = Parse(yaml);
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : c.status().message();
}

constexpr const char* kRack = R"(
cluster:
  pools:
  - name: rack1
    launcher: hosts
    rsh_agent: ssh -o BatchMode=yes -i /etc/flyp/id_ed25519
    oob_interface: 10.1.0.0/16
    btl_interface: eth1
    mca: {btl: "self,vader,tcp", btl_tcp_links: 2}
    shared_storage: [/srv/flyp]
    binding: none
    worker_metrics_ports: 9400-9463
    probe_timeout_s: 3
    probe_backoff_s: 2
    probe_backoff_max_s: 120
    hosts:
    - {name: gpu1, address: 10.1.0.11, cpu_slots: 32, gpus: [0, 1, 2, 3], labels: {rack: r1, gpu: a100}}
    - {name: gpu2, address: gpu2.example, cpus: [0-3, 8], gpus: [0, 1]}
  - name: here
    launcher: local
    hosts: [{name: coordinator, address: 127.0.0.1, cpu_slots: 4}]
)";

TEST(ClusterConfigTest, PoolsHostsAndSettingsParse) {
  auto c = Parse(kRack);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->cluster.pools.size(), 2u);
  const PoolConfig& p = c->cluster.pools[0];
  EXPECT_EQ(p.name, "rack1");
  EXPECT_EQ(p.launcher, LauncherKind::kHosts);
  EXPECT_EQ(p.rsh_agent, "ssh -o BatchMode=yes -i /etc/flyp/id_ed25519");
  EXPECT_EQ(p.oob_interface, "10.1.0.0/16");
  EXPECT_EQ(p.btl_interface, "eth1");
  EXPECT_EQ(p.mca, (std::vector<std::pair<std::string, std::string>>{{"btl", "self,vader,tcp"},
                                                                     {"btl_tcp_links", "2"}}));
  EXPECT_EQ(p.shared_storage, std::vector<std::string>{"/srv/flyp"});
  EXPECT_EQ(p.binding, CpuBinding::kNone);
  EXPECT_EQ(p.worker_metrics_port_first, 9400);
  EXPECT_EQ(p.worker_metrics_port_last, 9463);
  EXPECT_DOUBLE_EQ(p.probe_timeout_s, 3);
  EXPECT_DOUBLE_EQ(p.probe_backoff_s, 2);
  EXPECT_DOUBLE_EQ(p.probe_backoff_max_s, 120);
  ASSERT_EQ(p.hosts.size(), 2u);
  EXPECT_EQ(p.hosts[0].name, "gpu1");
  EXPECT_EQ(p.hosts[0].address, "10.1.0.11");
  EXPECT_EQ(p.hosts[0].cpu_slots, 32);
  EXPECT_EQ(p.hosts[0].gpus, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(p.hosts[0].labels.at("gpu"), "a100");
  EXPECT_EQ(p.hosts[1].address, "gpu2.example");
  EXPECT_EQ(p.hosts[1].cpus, (std::vector<int>{0, 1, 2, 3, 8}));
  EXPECT_EQ(p.hosts[1].cpu_slots, 5) << "one slot per listed CPU";
  EXPECT_TRUE(p.hosts[0].cpus.empty());
  EXPECT_EQ(c->cluster.pools[1].launcher, LauncherKind::kLocal);
  const std::vector<PoolConfig> pools = EffectivePools(*c, {4, 5}, 0);
  ASSERT_EQ(pools.size(), 2u) << "the cluster section wins";
  EXPECT_TRUE(pools[0].hosts[0].cpus.empty()) << "a remote host's slot i is its CPU i";
  EXPECT_EQ(pools[1].hosts[0].cpus, (std::vector<int>{4, 5})) << "the local host's slots are our CPUs";
}

TEST(ClusterConfigTest, MistakesAreNamedWithTheirPath) {
  const std::string origin = testing::TempDir() + "/cluster.yaml: ";
  EXPECT_EQ(Error("cluster: {pools: [{name: a, launcher: hosts, rsh_agnet: ssh}]}\n"),
            origin + "cluster.pools[0].rsh_agnet: unknown key; did you mean rsh_agent?\n");
  EXPECT_EQ(Error("cluster: {pools: [{name: a, launcher: slurmm}]}\n"),
            origin +
                "cluster.pools[0].launcher: unknown launcher 'slurmm' (expected one of: local, hosts, "
                "kubernetes, slurm)\n");
  EXPECT_EQ(Error("cluster: {pools: [{name: a, launcher: slurm}]}\n"),
            origin +
                "cluster.pools[0].launcher: slurm is not a pool launcher: run a coordinator with --launcher "
                "slurm (and no cluster section) for a Slurm cluster\n");
  EXPECT_EQ(Error("cluster: {pools: [{name: a}]}\n"),
            origin + "cluster.pools[0].launcher: required (local, hosts or kubernetes)\n");
  EXPECT_EQ(
      Error("cluster: {pools: [{name: a, launcher: local, rsh_agent: ssh, hosts: [{name: h, address: x, "
            "cpu_slots: 1}]}]}\n"),
      origin + "cluster.pools[0].rsh_agent: unknown key\n")
      << "settings of another launcher kind are refused";
  EXPECT_EQ(
      Error("cluster: {pools: [{name: a, launcher: hosts, shared_storage: [/s], hosts: [{name: h, "
            "address: x, cpu_slots: two, gpus: [0, -1]}]}]}\n"),
      origin + "cluster.pools[0].hosts[0].cpu_slots: expected an integer, got 'two'\n" + origin +
          "cluster.pools[0].hosts[0].gpus[1]: expected an integer in [0, 65536], got '-1' (a CUDA device "
          "index)\n");
  EXPECT_EQ(
      Error("cluster: {pools: [{name: a, launcher: hosts, shared_storage: [/s], hosts: [{name: h, "
            "address: x, cpus: [3-1, 0, 0]}]}]}\n"),
      origin +
          "cluster.pools[0].hosts[0].cpus[0]: expected a CPU number or a range A-B of CPUs 0..1023 (got "
          "'3-1')\n");
  EXPECT_EQ(Error("cluster: {pools: [{name: a, launcher: hosts, shared_storage: [/s], hosts: [{name: h, "
                  "address: x, cpus: [0, 0]}]}]}\n"),
            "cluster.pools[0].hosts[0].cpus: a CPU is listed twice\n");
  EXPECT_EQ(Error("cluster: {pools: [{name: a, launcher: hosts, shared_storage: [/s], worker_metrics_ports: "
                  "9500-9400, hosts: [{name: h, address: x, cpu_slots: 1}]}]}\n"),
            origin +
                "cluster.pools[0].worker_metrics_ports: '9500-9400': expected FIRST-LAST with 1 <= FIRST <= "
                "LAST <= 65535\n");
  // Problems of the pools as a whole (after parsing).
  EXPECT_EQ(
      Error("cluster:\n  pools:\n  - {name: a, launcher: hosts, hosts: [{name: h1, address: x, cpu_slots: "
            "1}, {name: h1, address: 'a b', cpu_slots: 0}]}\n  - {name: a, launcher: local, hosts: []}\n"),
      "cluster.pools[0].shared_storage: required: the directories every host mounts at the same path (they "
      "must hold artifact_root and every data root; see docs/cluster.md)\n"
      "cluster.pools[0].hosts[1].name: host 'h1' is defined twice\n"
      "cluster.pools[0].hosts[1].address: required: an IPv4 address or a DNS name (got 'a b')\n"
      "cluster.pools[0].hosts[1]: declares no cpu_slots and no gpus\n"
      "cluster.pools[1].name: pool 'a' is defined twice\n"
      "cluster.pools[1].hosts: a local pool has exactly one host, this machine (got 0)\n");
  // The flat capacity flags belong to the default pool.
  const std::string path = testing::TempDir() + "/cluster.yaml";
  std::ofstream(path) << kRack;
  EXPECT_EQ(ParseCoordinatorConfig({"--config", path, "--cpu-slots", "3"}).status().message(),
            "cpu-slots: set each host's cpu_slots in the cluster section\n");
  EXPECT_EQ(ParseCoordinatorConfig({"--launcher", "hosts"}).status().message(),
            "launcher: hosts needs a cluster section listing the hosts (see docs/cluster.md)\n");
  EXPECT_EQ(ParseCoordinatorConfig({"--worker-metrics-ports", "9400"}).status().code(), StatusCode::kOk);
  EXPECT_EQ(ParseCoordinatorConfig({"--worker-metrics-ports", "x-9"}).status().message(),
            "worker-metrics-ports: 'x-9': expected FIRST-LAST with 1 <= FIRST <= LAST <= 65535\n");
}

TEST(ClusterConfigTest, FlatFlagsMakeTheDefaultPool) {
  auto c = ParseCoordinatorConfig({"--gpus", "2", "--worker-metrics-ports", "9500-9510"});
  ASSERT_TRUE(c.ok()) << c.status();
  const std::vector<int> eight = {0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<PoolConfig> pools = EffectivePools(*c, eight, 0);
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(pools[0].name, "default");
  EXPECT_EQ(pools[0].launcher, LauncherKind::kLocal);
  ASSERT_EQ(pools[0].hosts.size(), 1u);
  EXPECT_EQ(pools[0].hosts[0].name, "localhost");
  EXPECT_EQ(pools[0].hosts[0].cpu_slots, 8) << "cpu-slots 0: the cores";
  EXPECT_EQ(pools[0].hosts[0].cpus, eight) << "local slots are the coordinator's CPUs";
  EXPECT_EQ(pools[0].hosts[0].gpus, (std::vector<int>{0, 1}));
  EXPECT_EQ(pools[0].worker_metrics_port_first, 9500);
  EXPECT_EQ(pools[0].worker_metrics_port_last, 9510);
  // FLYP_METRICS_PORT in the coordinator's environment: the old way to turn
  // worker metrics on becomes the first of 64 ports.
  c = ParseCoordinatorConfig({"--cpu-slots", "3"});
  ASSERT_TRUE(c.ok());
  pools = EffectivePools(*c, eight, 9400);
  EXPECT_EQ(pools[0].hosts[0].cpu_slots, 3);
  EXPECT_EQ(pools[0].worker_metrics_port_first, 9400);
  EXPECT_EQ(pools[0].worker_metrics_port_last, 9463);
  EXPECT_EQ(EffectivePools(*c, eight, 0)[0].worker_metrics_port_first, 0) << "off by default";
}

// The bare-metal example in docs/cluster.md is a valid configuration.
TEST(ClusterConfigTest, TheDocsExampleParses) {
  const std::string doc = testing::ReadFileOrDie(testing::SourceDir() + "/docs/cluster.md");
  const std::string begin = "```yaml\n# coordinator.yaml\n";
  const size_t at = doc.find(begin);
  ASSERT_NE(at, std::string::npos) << "docs/cluster.md has no coordinator.yaml example";
  const size_t end = doc.find("```", at + begin.size());
  auto c = Parse(doc.substr(at + 8, end - at - 8));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->cluster.pools.empty());
}

// The artifact root and data roots of a hosts pool must be its shared
// storage or below it; a trailing '/' on either side, "." and ".." change
// nothing, a sibling with the same prefix is outside, and other launchers'
// pools are not checked.
TEST(ClusterConfigTest, SharedStorageHoldsTheArtifactAndDataRoots) {
  PoolConfig hosts;
  hosts.name = "rack";
  hosts.launcher = LauncherKind::kHosts;
  hosts.shared_storage = {"/srv/flyp/", "/data"};
  PoolConfig local;
  local.name = "here";
  local.launcher = LauncherKind::kLocal;
  local.shared_storage = {};
  const std::vector<PoolConfig> pools = {hosts, local};
  EXPECT_TRUE(CheckSharedStorage(pools, "/srv/flyp/artifacts", {"/data", "/data/sets/"}).ok());
  EXPECT_TRUE(CheckSharedStorage(pools, "/srv/flyp", {}).ok());  // the shared folder itself
  EXPECT_TRUE(CheckSharedStorage(pools, "/srv/other/../flyp/a", {"/data/./x"}).ok());
  Status s = CheckSharedStorage(pools, "/srv/flypx/artifacts", {"/data", "/elsewhere"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      s.message(),
      "pool rack: artifact-root '/srv/flypx/artifacts' is not inside its shared_storage (the hosts would "
      "not see it at that path)\n"
      "pool rack: data-root '/elsewhere' is not inside its shared_storage (the hosts would not see it at "
      "that path)\n");
  EXPECT_TRUE(CheckSharedStorage({local}, "/anywhere", {"/else"}).ok());
}

}  // namespace
}  // namespace flyp::coord
