// Integration: what the local launcher gives each rank of concurrent jobs on
// one host — a real coordinator, real mpirun worlds of the fake worker,
// which records the environment, CPUs and port it got and holds that port
// as a worker serving /metrics does. On a host declaring 2 GPUs two CUDA
// jobs see disjoint CUDA_VISIBLE_DEVICES; two CPU jobs run pinned to
// disjoint cores with their BLAS threads pinned; every rank's /metrics port
// is its own, bindable, and listed in the Prometheus file_sd file and on
// /targets.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "tests/coordinator/harness.h"
#include "tests/observability/http.h"
#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace {

using std::chrono::steady_clock;

// NAME=value lines of a fake worker's env.<attempt>.<rank> file; empty until written.
std::map<std::string, std::string> RankEnv(const std::string& artifact_dir, int attempt, int rank) {
  std::map<std::string, std::string> out;
  std::ifstream in(artifact_dir + "/env." + std::to_string(attempt) + "." + std::to_string(rank));
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out.count("metrics_port") ? out : std::map<std::string, std::string>();
}

std::map<std::string, std::string> WaitForRankEnv(const std::string& dir, int attempt, int rank) {
  for (auto deadline = steady_clock::now() + std::chrono::seconds(30); steady_clock::now() < deadline;) {
    auto env = RankEnv(dir, attempt, rank);
    if (!env.empty()) return env;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "rank " << rank << " of " << dir << " never recorded its environment";
  return {};
}

bool Bindable(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  close(fd);
  return ok;
}

// The first of `n` consecutive ports that are free now.
int FreePortRange(int n) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int base = FreePort();
    bool all = base + n < 65535;
    for (int p = base; all && p < base + n; ++p) all = Bindable(p);
    if (all) return base;
  }
  ADD_FAILURE() << "no " << n << " free consecutive ports";
  return 0;
}

std::set<int> Cpus(const std::string& list) {  // "0-2,5" -> {0,1,2,5}
  std::set<int> out;
  std::istringstream in(list);
  for (std::string part; std::getline(in, part, ',');) {
    const size_t dash = part.find('-');
    const int lo = std::stoi(part.substr(0, dash));
    const int hi = dash == std::string::npos ? lo : std::stoi(part.substr(dash + 1));
    for (int c = lo; c <= hi; ++c) out.insert(c);
  }
  return out;
}

std::string SleepSpec(const std::string& device) {
  return "name: fake-sleep\n"
         "model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}\n"
         "data:\n"
         "  train: {format: fashion_mnist}\n"
         "  id_val: {format: fashion_mnist, split: train, offset: 50000}\n"
         "schedule: {batch_size: 4}\n"
         "resources: {world_size: 1, device: " +
         device + "}\n";
}

TEST(PlacementTest, ConcurrentJobsOnOneHostGetDisjointGpusCoresAndMetricsPorts) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs 2 CPUs to pin two jobs apart";
  const int ports = FreePortRange(4);
  const int metrics_port = FreePort();
  CoordinatorOptions o;
  o.dir = TempDir() + "/placement";
  o.cpu_slots = 2;
  o.extra_flags = {"--gpus=2",
                   "--worker-metrics-ports=" + std::to_string(ports) + "-" + std::to_string(ports + 3),
                   "--metrics-listen=127.0.0.1:" + std::to_string(metrics_port)};
  CoordinatorProcess coordinator(o);
  coordinator.Start();
  ASSERT_FALSE(HasFailure());
  auto stub = coordinator.Client();
  std::vector<std::string> gpu_jobs = {Submit(stub.get(), SleepSpec("cuda")),
                                       Submit(stub.get(), SleepSpec("cuda"))};
  std::vector<std::string> cpu_jobs = {Submit(stub.get(), SleepSpec("cpu")),
                                       Submit(stub.get(), SleepSpec("cpu"))};
  // Both GPUs are taken: a third CUDA job waits.
  const std::string third = Submit(stub.get(), SleepSpec("cuda"));
  std::map<std::string, std::map<std::string, std::string>> env;
  std::map<std::string, std::string> dirs;
  for (const std::string& id : gpu_jobs) {
    v1::Job job = WaitForState(stub.get(), id, {v1::JOB_STATE_RUNNING}, 30);
    dirs[id] = job.artifact_dir();
    env[id] = WaitForRankEnv(job.artifact_dir(), 1, 0);
  }
  for (const std::string& id : cpu_jobs) {
    v1::Job job = WaitForState(stub.get(), id, {v1::JOB_STATE_RUNNING}, 30);
    dirs[id] = job.artifact_dir();
    env[id] = WaitForRankEnv(job.artifact_dir(), 1, 0);
  }
  ASSERT_FALSE(HasFailure());
  // GPUs: one each, never the same.
  EXPECT_EQ((std::set<std::string>{env[gpu_jobs[0]]["CUDA_VISIBLE_DEVICES"],
                                   env[gpu_jobs[1]]["CUDA_VISIBLE_DEVICES"]}),
            (std::set<std::string>{"0", "1"}));
  for (const std::string& id : cpu_jobs) EXPECT_EQ(env[id]["CUDA_VISIBLE_DEVICES"], "<unset>") << id;
  // Cores: each CPU rank runs on exactly the one core of its slot, the two
  // jobs on different cores; BLAS and OpenMP threads pinned to the slot count.
  const std::set<int> a = Cpus(env[cpu_jobs[0]]["Cpus_allowed_list"]),
                      b = Cpus(env[cpu_jobs[1]]["Cpus_allowed_list"]);
  EXPECT_EQ(a.size(), 1u) << env[cpu_jobs[0]]["Cpus_allowed_list"];
  EXPECT_EQ(b.size(), 1u) << env[cpu_jobs[1]]["Cpus_allowed_list"];
  for (int c : a) EXPECT_EQ(b.count(c), 0u) << "both CPU jobs run on core " << c;
  for (const std::string& id : cpu_jobs) {
    EXPECT_EQ(env[id]["OMP_NUM_THREADS"], "1") << id;
    EXPECT_EQ(env[id]["OPENBLAS_NUM_THREADS"], "1") << id;
    EXPECT_EQ(env[id]["OMP_WAIT_POLICY"], "PASSIVE") << id;
  }
  // Ports: four ranks, four different ports from the range, each bound by its rank.
  std::set<std::string> addresses;
  for (auto& [id, e] : env) {
    EXPECT_EQ(e["metrics_port"], "ok") << id << " could not bind " << e["FLYP_METRICS_ADDRESS"];
    addresses.insert(e["FLYP_METRICS_ADDRESS"]);
  }
  std::set<std::string> expected;
  for (int p = ports; p < ports + 4; ++p) expected.insert("0.0.0.0:" + std::to_string(p));
  EXPECT_EQ(addresses, expected);
  // Every endpoint in the file_sd file and on /targets, labelled with its job.
  auto targets_of = [](const std::string& json) {
    std::map<std::string, std::string> out;  // target -> job
    auto parsed = ParseJson(json);
    EXPECT_TRUE(parsed.ok()) << parsed.status() << json;
    if (!parsed.ok()) return out;
    for (const Json& group : parsed->as_array()) {
      out[group.Find("targets")->as_array().at(0).as_string()] =
          group.Find("labels")->Find("flyp_job")->as_string();
    }
    return out;
  };
  std::map<std::string, std::string> want;
  for (auto& [id, e] : env) want["127.0.0.1:" + e["FLYP_METRICS_ADDRESS"].substr(8)] = id;
  EXPECT_EQ(targets_of(ReadFileOrDie(o.dir + "/artifacts/worker-targets.json")), want);
  auto http = HttpGet(metrics_port, "/targets");
  ASSERT_TRUE(http.ok()) << http.status();
  EXPECT_EQ(http->status, 200);
  EXPECT_EQ(targets_of(http->body), want);

  v1::GetJobRequest get;
  get.set_id(third);
  v1::Job waiting;
  ASSERT_TRUE(stub->GetJob(Ctx().get(), get, &waiting).ok());
  EXPECT_EQ(waiting.status().state(), v1::JOB_STATE_QUEUED) << "both GPUs are held";
  // Cancelling one CUDA job hands its GPU to the waiting one.
  v1::CancelJobRequest cancel;
  cancel.set_id(gpu_jobs[0]);
  v1::Job cancelled;
  ASSERT_TRUE(stub->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  v1::Job next = WaitForState(stub.get(), third, {v1::JOB_STATE_RUNNING}, 30);
  EXPECT_EQ(WaitForRankEnv(next.artifact_dir(), 1, 0)["CUDA_VISIBLE_DEVICES"],
            env[gpu_jobs[0]]["CUDA_VISIBLE_DEVICES"]);
  for (const std::string& id : {gpu_jobs[1], cpu_jobs[0], cpu_jobs[1], third}) {
    cancel.set_id(id);
    ASSERT_TRUE(stub->CancelJob(Ctx().get(), cancel, &cancelled).ok()) << id;
  }
  // The file follows the jobs' final states (written right after them).
  size_t left = 1;
  for (auto deadline = steady_clock::now() + std::chrono::seconds(5);
       left > 0 && steady_clock::now() < deadline;) {
    left = targets_of(ReadFileOrDie(o.dir + "/artifacts/worker-targets.json")).size();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(left, 0u);
}

}  // namespace
}  // namespace flyp::testing
