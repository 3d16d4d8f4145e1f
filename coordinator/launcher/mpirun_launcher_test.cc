// The mpirun command lines of the local and hosts launchers (exactly what
// each rank gets: its own app context, environment, GPUs, port and CPUs),
// their environment, and LauncherSet's routing. The worlds themselves run in
// tests/coordinator (local) and tests/cluster (hosts, across network
// namespaces).
#include <gtest/gtest.h>

#include <algorithm>

#include "coordinator/launcher/fake_launcher.h"
#include "coordinator/launcher/hosts_launcher.h"
#include "coordinator/launcher/launcher_set.h"
#include "coordinator/launcher/local_launcher.h"

namespace flyp::coord {
namespace {

using Env = std::map<std::string, std::string>;
using Args = std::vector<std::string>;

Args Cat(Args a, const Args& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

LocalLauncherOptions Options() {
  LocalLauncherOptions o;
  o.mpirun = "/usr/bin/mpirun";
  o.worker_binary = "/opt/flyp/flyp-worker";
  return o;
}

LaunchRequest TwoRanks() {
  LaunchRequest req;
  req.job_id = "job-000007";
  req.world_size = 2;
  req.spec_path = "/shared/a/spec.yaml";
  req.pool = "rack";
  req.pin_cpus = true;
  req.slots_per_rank = 2;
  req.ranks = {RankHost{"h1", "198.18.0.11", {0, 1}, {}, 9400},
               RankHost{"h2", "198.18.0.12", {2, 3}, {}, 9401}};
  return req;
}

// The app contexts of an argv (split at ":"), from the first "-np" on.
std::vector<Args> Contexts(const Args& argv) {
  std::vector<Args> out(1);
  for (auto it = std::find(argv.begin(), argv.end(), "-np"); it != argv.end(); ++it) {
    if (*it == ":") {
      out.emplace_back();
    } else {
      out.back().push_back(*it);
    }
  }
  return out;
}

// The options before the first app context.
Args Global(const Args& argv) { return Args(argv.begin(), std::find(argv.begin(), argv.end(), "-np")); }

bool Has(const Args& a, const Args& seq) {
  return std::search(a.begin(), a.end(), seq.begin(), seq.end()) != a.end();
}

const Env kEnv = {{"FLYP_JOB_ID", "job-000007"}, {"OMP_NUM_THREADS", "2"},
                  {"PATH", "/usr/bin"},          {"HOME", "/root"},
                  {"LD_LIBRARY_PATH", "/l"},     {"OPENBLAS_NUM_THREADS", "2"}};
// Everything a remote rank depends on is forwarded; HOME is not.
const Args kForwarded = {
    "-x", "FLYP_JOB_ID", "-x", "LD_LIBRARY_PATH", "-x", "OMP_NUM_THREADS", "-x", "OPENBLAS_NUM_THREADS",
    "-x", "PATH"};

TEST(LocalLauncherArgvTest, OneContextPerRankWithItsOwnPortAndCpus) {
  const Args argv = LocalLauncher(Options()).Argv(TwoRanks(), kEnv);
  EXPECT_EQ(Global(argv), (Args{"/usr/bin/mpirun", "--allow-run-as-root", "--oversubscribe", "--tag-output",
                                "--timestamp-output", "--bind-to", "none"}));
  const std::vector<Args> ctx = Contexts(argv);
  ASSERT_EQ(ctx.size(), 2u);
  EXPECT_EQ(ctx[0], Cat(Cat({"-np", "1"}, kForwarded),
                        {"-x", "FLYP_METRICS_ADDRESS=0.0.0.0:9400", "/usr/bin/taskset", "-c", "0,1",
                         "/opt/flyp/flyp-worker", "--spec", "/shared/a/spec.yaml"}));
  EXPECT_TRUE(Has(ctx[1], {"-x", "FLYP_METRICS_ADDRESS=0.0.0.0:9401", "/usr/bin/taskset", "-c", "2,3"}));
  for (const Args& c : ctx) {
    EXPECT_EQ(std::find(c.begin(), c.end(), "--host"), c.end()) << "the local launcher runs ranks here";
    for (const std::string& a : c) EXPECT_NE(a.rfind("CUDA_VISIBLE_DEVICES", 0), 0u) << "a cpu rank";
  }
}

TEST(LocalLauncherArgvTest, CudaRanksGetTheirOwnDevicesAndNoPinning) {
  LaunchRequest req = TwoRanks();
  req.cuda = true;
  req.pin_cpus = false;
  req.ranks[0].cpus.clear();
  req.ranks[1].cpus.clear();
  req.ranks[0].gpus = {0};
  req.ranks[1].gpus = {1, 3};
  req.ranks[1].metrics_port = 0;  // no port left: no /metrics for this rank
  const std::vector<Args> ctx = Contexts(LocalLauncher(Options()).Argv(req, kEnv));
  ASSERT_EQ(ctx.size(), 2u);
  EXPECT_TRUE(Has(ctx[0], {"-x", "CUDA_VISIBLE_DEVICES=0", "-x", "FLYP_METRICS_ADDRESS=0.0.0.0:9400",
                           "/opt/flyp/flyp-worker"}));
  EXPECT_TRUE(Has(ctx[1], {"-x", "CUDA_VISIBLE_DEVICES=1,3", "/opt/flyp/flyp-worker"}));
  for (const Args& c : ctx) EXPECT_EQ(std::find(c.begin(), c.end(), "/usr/bin/taskset"), c.end());
}

TEST(LocalLauncherArgvTest, WithoutAPlacementOneContextOfAllRanks) {
  LaunchRequest req;
  req.world_size = 3;
  req.spec_path = "/s.yaml";
  const Args argv = LocalLauncher(Options()).Argv(req, kEnv);
  EXPECT_EQ(Contexts(argv), (std::vector<Args>{Cat(Cat({"-np", "3"}, kForwarded),
                                                   {"/opt/flyp/flyp-worker", "--spec", "/s.yaml"})}));
}

TEST(LocalLauncherEnvTest, ThreadsArePinnedAndMetricsPortsComeFromThePlacement) {
  setenv("FLYP_METRICS_PORT", "9400", 1);
  setenv("FLYP_METRICS_ADDRESS", "0.0.0.0:1", 1);
  setenv("OMP_NUM_THREADS", "7", 1);
  LaunchRequest req = TwoRanks();
  req.job_id = "job-000042";
  req.attempt = 3;
  req.coordinator_address = "198.18.0.1:50051";
  req.worker_token = "t0k";
  req.artifact_dir = "/shared/a";
  Env env = LocalLauncher(Options()).LaunchEnvironment(req);
  EXPECT_EQ(env.at("FLYP_JOB_ID"), "job-000042");
  EXPECT_EQ(env.at("FLYP_ATTEMPT"), "3");
  EXPECT_EQ(env.at("FLYP_COORDINATOR"), "198.18.0.1:50051");
  EXPECT_EQ(env.at("FLYP_WORKER_TOKEN"), "t0k");
  EXPECT_EQ(env.at("FLYP_ARTIFACT_DIR"), "/shared/a");
  EXPECT_EQ(env.count("FLYP_METRICS_PORT"), 0u) << "base + local rank would clash between jobs";
  EXPECT_EQ(env.count("FLYP_METRICS_ADDRESS"), 0u) << "per rank only";
  EXPECT_EQ(env.at("OMP_NUM_THREADS"), "2") << "slots_per_rank wins over the coordinator's environment";
  EXPECT_EQ(env.at("OPENBLAS_NUM_THREADS"), "2");
  req.threads_per_rank = 1;
  env = LocalLauncher(Options()).LaunchEnvironment(req);
  EXPECT_EQ(env.at("OMP_NUM_THREADS"), "1");
  EXPECT_EQ(env.at("OPENBLAS_NUM_THREADS"), "1");
  req.threads_per_rank = 0;
  req.cuda = true;  // cuda ranks keep what the operator set
  env = LocalLauncher(Options()).LaunchEnvironment(req);
  EXPECT_EQ(env.at("OMP_NUM_THREADS"), "7");
  EXPECT_EQ(PinnedThreads(req), 0);
  unsetenv("FLYP_METRICS_PORT");
  unsetenv("FLYP_METRICS_ADDRESS");
  unsetenv("OMP_NUM_THREADS");
}

TEST(HostsLauncherArgvTest, RshAgentInterfacesAndAHostPerContext) {
  HostsPoolSettings rack;
  rack.rsh_agent = "ssh -i /k -p 2222";
  rack.oob_interface = "198.18.0.0/24";
  rack.btl_interface = "eth0";
  rack.mca = {{"btl", "tcp,self"}};
  HostsLauncher launcher(Options(), {{"rack", rack}});
  LaunchRequest req = TwoRanks();
  req.ranks.push_back(RankHost{"h1", "198.18.0.11", {2, 3}, {}, 9402});  // a second rank on h1
  req.world_size = 3;
  const Args argv = launcher.Argv(req, kEnv);
  EXPECT_EQ(Global(argv), (Args{"/usr/bin/mpirun",
                                "--allow-run-as-root",
                                "--oversubscribe",
                                "--tag-output",
                                "--timestamp-output",
                                "--bind-to",
                                "none",
                                "--mca",
                                "plm_rsh_agent",
                                "ssh -i /k -p 2222",
                                "--mca",
                                "plm_rsh_no_tree_spawn",
                                "1",
                                "--mca",
                                "oob_tcp_if_include",
                                "198.18.0.0/24",
                                "--mca",
                                "btl_tcp_if_include",
                                "eth0",
                                "--mca",
                                "btl",
                                "tcp,self"}));
  const std::vector<Args> ctx = Contexts(argv);
  ASSERT_EQ(ctx.size(), 3u);
  EXPECT_EQ(ctx[0], Cat(Cat({"-np", "1", "--host", "198.18.0.11:2"}, kForwarded),
                        {"-x", "FLYP_METRICS_ADDRESS=0.0.0.0:9400", "/usr/bin/taskset", "-c", "0,1",
                         "/opt/flyp/flyp-worker", "--spec", "/shared/a/spec.yaml"}));
  EXPECT_TRUE(Has(ctx[1], {"-np", "1", "--host", "198.18.0.12:1"}));
  EXPECT_TRUE(Has(ctx[1], {"/usr/bin/taskset", "-c", "2,3"}));
  EXPECT_TRUE(Has(ctx[2], {"-np", "1", "--host", "198.18.0.11:2"}));
  EXPECT_TRUE(Has(ctx[2], {"/usr/bin/taskset", "-c", "2,3"}));
}

TEST(HostsLauncherTest, RefusesUnknownPoolsAndMissingPlacements) {
  HostsLauncher launcher(Options(), {{"rack", HostsPoolSettings{}}});
  LaunchRequest req = TwoRanks();
  req.pool = "other";
  auto r = launcher.Launch(req);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("no settings for pool 'other'"), std::string::npos) << r.status();
  req.pool = "rack";
  req.ranks.pop_back();
  r = launcher.Launch(req);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("no host for each of its 2 ranks"), std::string::npos) << r.status();
  EXPECT_EQ(launcher.kind(), "hosts");
  EXPECT_EQ(launcher.Poll(WorldHandle::FromText("local:1"))->exit_code, 255);
  EXPECT_EQ(launcher.StopOrphan(WorldHandle::FromText("local:1"), 0).code(), StatusCode::kFailedPrecondition);
}

TEST(LauncherSetTest, LaunchesByPoolAndRoutesHandlesByKind) {
  FakeLauncher a, b;
  LauncherSet set;
  set.AddKind("fake", &a);
  set.AddPool("p1", &a);
  set.AddPool("p2", &b);
  LaunchRequest req;
  req.pool = "p2";
  ASSERT_TRUE(set.Launch(req).ok());
  EXPECT_EQ(a.launches().size(), 0u);
  EXPECT_EQ(b.launches().size(), 1u);
  req.pool = "p1";
  auto world = set.Launch(req);
  ASSERT_TRUE(world.ok());
  EXPECT_EQ(a.launches().size(), 1u);
  set.Stop(*world, true);
  EXPECT_EQ(a.stops().size(), 1u);
  EXPECT_EQ(set.Poll(*world)->signal, 9);
  req.pool = "p3";
  EXPECT_EQ(set.Launch(req).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(set.Poll(WorldHandle::FromText("k8s:x/y"))->exit_code, 255);
  EXPECT_EQ(set.Recover(WorldHandle::FromText("k8s:x/y"), req, 0).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(set.StopOrphan(WorldHandle::FromText("fake:9"), 0).ok());
  EXPECT_EQ(a.orphans_stopped().size(), 1u);
}

}  // namespace
}  // namespace flyp::coord
