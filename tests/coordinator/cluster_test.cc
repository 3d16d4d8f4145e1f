// Integration across real network hosts: Linux network namespaces on a
// bridge (tests/testing/netns_hosts.h), a real sshd in each, a real
// coordinator whose `hosts` pool reaches them over ssh, real mpirun worlds
// of the real flyp-worker over TCP.
//
//  - A 2-rank FLYP job on 2 hosts succeeds; its final checkpoint equals the
//    same spec's run on 1 host (max relative difference <= 1e-6, bit
//    identical expected); the gradients crossed host 2's veth; the ranks'
//    /metrics are in the file_sd targets at their hosts' addresses.
//  - Host 2's link is cut mid-job: the rank on host 1 exits within
//    collective_timeout + a small bound, the coordinator ends the attempt
//    within collective_timeout + grace + a small bound (mpirun alone would
//    hang on the lost daemon for many minutes), host 2 is marked down with
//    the reason, and the job resumes from its checkpoint on host 3 and
//    succeeds; with no spare host it waits and resumes when host 2 is back.
//
// Needs root (namespaces, sshd); skips saying why otherwise. The measured
// times are printed (docs/cluster.md quotes them).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "common/file_util.h"
#include "common/json.h"
#include "flyp/v1/cluster.grpc.pb.h"
#include "tests/coordinator/harness.h"
#include "tests/observability/http.h"
#include "tests/testing/netns_hosts.h"
#include "tests/testing/test_env.h"
#include "worker/model/safetensors.h"

namespace flyp::testing {
namespace {

using std::chrono::steady_clock;

constexpr int kCollectiveTimeoutS = 4;
constexpr double kGraceS = 2;

double Since(steady_clock::time_point t) {
  return std::chrono::duration<double>(steady_clock::now() - t).count();
}

// The pretrained tiny CLIP FLYP starts from (one process, a few steps).
std::string PretrainBase(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/pretrain.yaml")
      << "name: base\n"
      << "model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}}\n"
      << "method: {name: pretrain}\n"
      << "data: {train: {format: fashion_mnist, split: train, limit: 128}, templates: {builtin: simple}}\n"
      << "schedule: {epochs: 1, batch_size: 64, warmup_steps: 1}\n"
      << "wise_ft: {enabled: false}\n"
      << "output: {dir: " << dir << "/out}\n";
  CommandResult r = RunCommand("FLYP_THREADS=1 " FLYP_WORKER_BIN " --spec " + dir + "/pretrain.yaml");
  EXPECT_EQ(r.code, 0) << r.out;
  return dir + "/out/final.safetensors";
}

std::string FlypSpec(const std::string& name, const std::string& checkpoint, int steps, int ranks_per_host,
                     int checkpoint_every) {
  std::ostringstream os;
  os << "name: " << name << "\n"
     << "model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}, checkpoint: "
     << checkpoint << "}\n"
     << "method: {name: flyp}\n"
     << "data:\n"
     << "  train: {format: fashion_mnist, split: train, limit: " << 64 * steps << "}\n"
     << "  id_val: {name: id_val, format: fashion_mnist, split: train, offset: 50000, limit: 128}\n"
     << "  templates: {builtin: simple}\n"
     << "schedule: {epochs: 1, batch_size: 64, warmup_steps: 2, log_every_steps: 1}\n"
     << "resources: {world_size: 2, ranks_per_host: " << ranks_per_host << "}\n"
     << "run_policy: {checkpoint_every: " << checkpoint_every
     << ", backoff_limit: 3, collective_timeout: " << kCollectiveTimeoutS << "s}\n"
     << "wise_ft: {enabled: false}\n";
  return os.str();
}

// Largest |a - b| / max|a| over the tensors of two checkpoints; the number
// of tensors that are bit identical in *same.
double MaxRelativeDifference(const std::string& a, const std::string& b, int* same, int* total) {
  auto ta = model::ReadSafetensors(a);
  auto tb = model::ReadSafetensors(b);
  EXPECT_TRUE(ta.ok()) << ta.status();
  EXPECT_TRUE(tb.ok()) << tb.status();
  if (!ta.ok() || !tb.ok()) return 1e9;
  EXPECT_EQ(ta->size(), tb->size());
  std::map<std::string, torch::Tensor> other(tb->begin(), tb->end());
  double worst = 0;
  *same = 0;
  *total = static_cast<int>(ta->size());
  for (const auto& [name, t] : *ta) {
    auto it = other.find(name);
    if (it == other.end()) {
      ADD_FAILURE() << name << " is missing from " << b;
      return 1e9;
    }
    const torch::Tensor x = t.to(torch::kDouble);
    const torch::Tensor y = it->second.to(torch::kDouble);
    if (torch::equal(t, it->second)) ++*same;
    const double scale = std::max(x.abs().max().item<double>(), 1e-12);
    worst = std::max(worst, (x - y).abs().max().item<double>() / scale);
  }
  return worst;
}

// Live flyp-worker processes of `job` in host i's namespace.
std::vector<int> RanksOn(const NetnsHosts& hosts, int i, const std::string& job) {
  std::vector<int> out;
  for (int pid : hosts.Pids(i)) {
    std::ifstream env("/proc/" + std::to_string(pid) + "/environ");
    std::string var;
    bool ours = false;
    while (std::getline(env, var, '\0')) ours |= var == "FLYP_JOB_ID=" + job;
    std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
    std::string argv0;
    std::getline(cmd, argv0, '\0');
    if (ours && argv0.find("flyp-worker") != std::string::npos && ProcessAlive(pid)) out.push_back(pid);
  }
  return out;
}

class ClusterTest : public ::testing::Test {
 protected:
  // `count` hosts of 2 CPU slots each; host k's slots are the machine's
  // CPUs in an order of its own (hosts share this machine's cores: a rank
  // alone on each host gets a core to itself).
  //
  // hang_daemon_on >= 0: the first Open MPI daemon launched on that host
  // never starts (its ssh hangs until mpirun is gone), so mpirun waits for
  // it; probes and every other launch go through the real ssh.
  void StartCluster(int count, int hang_daemon_on = -1, int start_timeout_s = 30) {
    std::string why;
    hosts_ = NetnsHosts::Create(count, &why);
    if (!hosts_) GTEST_SKIP() << why;
    const std::string dir = TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir);
    std::string error;
    ASSERT_TRUE(hosts_->StartSshd(dir + "/ssh", 2222, &error)) << error;
    std::string rsh_agent = hosts_->RshAgent();
    if (hang_daemon_on >= 0) {
      rsh_agent = dir + "/hang-once-ssh";
      std::ofstream(rsh_agent)
          << "#!/bin/bash\n"
          << "if [[ \"$*\" == *orted* && \"$*\" == *" << hosts_->host(hang_daemon_on).address
          << "* ]] && mkdir " << dir << "/hung 2>/dev/null; then\n"
          << "  for i in $(seq 600); do kill -0 $PPID 2>/dev/null || exit 1; sleep 0.2; done\n"
          << "  exit 1\nfi\n"
          << "exec " << hosts_->RshAgent() << " \"$@\"\n";
      std::filesystem::permissions(rsh_agent, std::filesystem::perms::owner_all);
    }
    const int ncpu = std::max(1u, std::thread::hardware_concurrency());
    std::ostringstream yaml;
    yaml << "cluster:\n  pools:\n  - name: rack\n    launcher: hosts\n"
         << "    rsh_agent: " << rsh_agent << "\n"
         << "    oob_interface: " << hosts_->subnet() << "\n"
         << "    btl_interface: " << hosts_->subnet() << "\n"
         << "    mca: {btl: 'tcp,self'}\n"
         << "    shared_storage: [" << dir << ", /usr/share/datasets]\n"
         << "    worker_metrics_ports: 9400-9403\n"
         << "    probe_timeout_s: 2\n    probe_backoff_s: 1\n    probe_backoff_max_s: 2\n"
         << "    hosts:\n";
    for (int i = 0; i < count; ++i) {
      yaml << "    - {name: " << hosts_->host(i).name << ", address: " << hosts_->host(i).address
           << ", cpus: [" << (i % ncpu) << ", " << ((i + 1) % ncpu) << "]}\n";
    }
    std::ofstream(dir + "/coordinator.yaml") << yaml.str();
    const int port = FreePort();
    CoordinatorOptions o;
    o.dir = dir + "/coord";
    o.cpu_slots = 0;  // the cluster section has the slots
    o.grace_s = kGraceS;
    o.extra_flags = {"--config=" + dir + "/coordinator.yaml", "--listen=0.0.0.0:" + std::to_string(port),
                     "--advertise-address=" + hosts_->bridge_address() + ":" + std::to_string(port),
                     "--worker-binary=" FLYP_WORKER_BIN,
                     // A world whose daemons never call back is retried within the tests' waits.
                     "--start-timeout-s=" + std::to_string(start_timeout_s)};
    o.env = {"FLYP_THREADS=1", "OMP_WAIT_POLICY=PASSIVE"};
    coordinator_ = std::make_unique<CoordinatorProcess>(o);
    coordinator_->Start();
    ASSERT_FALSE(HasFailure());
    stub_ = coordinator_->Client();
    checkpoint_ = PretrainBase(coordinator_->data_root() + "/base");
    dir_ = dir;
  }
  void TearDown() override {
    // A failed test shows what the coordinator decided: the job's history
    // says what state it is in, the coordinator's log says why.
    if (HasFailure() && !dir_.empty()) {
      StatusOr<std::string> read = ReadFileToString(dir_ + "/coord/coordinator.log", 1024 * kMiB);
      const std::string log = read.ok() ? *read : read.status().ToString();
      const size_t keep = 20000;
      std::cout << "coordinator.log (last " << std::min(keep, log.size()) << " bytes):\n"
                << log.substr(log.size() > keep ? log.size() - keep : 0) << "\n";
    }
    coordinator_.reset();  // before the hosts: it stops nothing, but its worlds' daemons die with the hosts
    hosts_.reset();
  }

  std::map<std::string, v1::Node> Nodes() {
    auto stub = v1::ClusterService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(coordinator_->port()), grpc::InsecureChannelCredentials()));
    v1::ListNodesResponse resp;
    grpc::Status s = stub->ListNodes(Ctx().get(), v1::ListNodesRequest(), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::map<std::string, v1::Node> out;
    for (const v1::Node& n : resp.nodes()) out[n.name()] = n;
    return out;
  }
  v1::Job Get(const std::string& id) {
    v1::GetJobRequest req;
    req.set_id(id);
    v1::Job job;
    EXPECT_TRUE(stub_->GetJob(Ctx().get(), req, &job).ok());
    return job;
  }
  // Polls until the job has reported step >= `step` (or failed the test).
  void WaitForStep(const std::string& id, int64_t step, double timeout_s) {
    for (auto start = steady_clock::now(); Since(start) < timeout_s;) {
      if (Get(id).status().latest_progress().step() >= step) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << id << " never reached step " << step << ": " << Get(id).DebugString();
  }
  std::string Log(const v1::Job& job) { return ReadFileOrDie(job.artifact_dir() + "/logs/world.log"); }
  // The step the world of the last attempt resumed from (-1: none).
  int64_t ResumedFrom(const v1::Job& job) {
    const std::string log = Log(job);
    const std::string marker = "resuming flyp at step ";
    const size_t at = log.rfind(marker);
    return at == std::string::npos ? -1 : std::atoll(log.c_str() + at + marker.size());
  }

  std::unique_ptr<NetnsHosts> hosts_;
  std::unique_ptr<CoordinatorProcess> coordinator_;
  std::unique_ptr<v1::JobService::Stub> stub_;
  std::string checkpoint_;
  std::string dir_;
};

TEST_F(ClusterTest, TwoRanksOnTwoHostsTrainExactlyAsOnOneHost) {
  StartCluster(2);
  if (IsSkipped() || HasFailure()) return;
  // One host: both ranks on h1 (the tightest fit; config order on the tie).
  const uint64_t h2_before_one = hosts_->LinkBytes(1);
  const std::string one = Submit(stub_.get(), FlypSpec("one-host", checkpoint_, 20, 2, 100));
  v1::Job one_job = WaitForState(stub_.get(), one, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 120);
  ASSERT_EQ(one_job.status().state(), v1::JOB_STATE_SUCCEEDED) << Log(one_job);
  EXPECT_EQ(one_job.status().history(1).message(), "2 CPU slots reserved on h1 (ranks 0-1)");
  const uint64_t h2_one = hosts_->LinkBytes(1) - h2_before_one;

  // Two hosts: one rank each; the gradients cross the veth.
  const uint64_t h2_before_two = hosts_->LinkBytes(1);
  const std::string two = Submit(stub_.get(), FlypSpec("two-hosts", checkpoint_, 20, 1, 100));
  // While it runs: each rank's /metrics at its host's address, from the file_sd targets.
  WaitForStep(two, 1, 90);
  const std::string targets = ReadFileOrDie(coordinator_->data_root() + "/../artifacts/worker-targets.json");
  for (int i = 0; i < 2; ++i) {
    const std::string target = hosts_->host(i).address + ":9400";
    EXPECT_NE(targets.find("\"" + target + "\""), std::string::npos) << targets;
    auto scrape = HttpRequest(hosts_->host(i).address, 9400, "GET", "/metrics");
    ASSERT_TRUE(scrape.ok()) << scrape.status();
    EXPECT_NE(
        scrape->body.find("flyp_train_step_total{job=\"" + two + "\",rank=\"" + std::to_string(i) + "\"}"),
        std::string::npos)
        << scrape->body.substr(0, 400);
  }
  v1::Job two_job = WaitForState(stub_.get(), two, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 120);
  ASSERT_EQ(two_job.status().state(), v1::JOB_STATE_SUCCEEDED) << Log(two_job);
  EXPECT_EQ(two_job.status().history(1).message(), "2 CPU slots reserved on h1 (rank 0), h2 (rank 1)");
  const uint64_t h2_two = hosts_->LinkBytes(1) - h2_before_two;
  std::cout << "[cluster] host 2's veth: " << h2_one << " bytes during the 1-host run, " << h2_two
            << " bytes during the 2-host run (20 steps)\n";
  EXPECT_GT(h2_two, 20u * 1000 * 1000) << "20 steps of gradient all-reduce must cross host 2's link";
  EXPECT_GT(h2_two, 20 * h2_one) << "the 1-host run only probed host 2";

  int same = 0, total = 0;
  const double rel = MaxRelativeDifference(one_job.artifact_dir() + "/final.safetensors",
                                           two_job.artifact_dir() + "/final.safetensors", &same, &total);
  std::cout << "[cluster] final checkpoints: max relative difference " << rel << ", " << same << " of "
            << total << " tensors bit identical\n";
  EXPECT_LE(rel, 1e-6);
  EXPECT_EQ(same, total) << "bit-identical expected: same ranks, same thread counts, same reduction order";
}

// Cut host 2's link mid-job (a pulled cable: its processes live on, packets
// vanish). Returns the job, having checked the timings and host 2's state.
v1::Job CutHost2(ClusterTest* t, NetnsHosts* hosts, const std::string& id, int64_t cut_at_step,
                 std::function<v1::Job(const std::string&)> get) {
  const std::vector<int> rank_on_h1 = RanksOn(*hosts, 0, id);
  EXPECT_EQ(rank_on_h1.size(), 1u);
  const auto cut = steady_clock::now();
  EXPECT_TRUE(hosts->SetLink(1, false));
  double rank_exit_s = -1, attempt_end_s = -1;
  while (Since(cut) < 60 && (rank_exit_s < 0 || attempt_end_s < 0)) {
    if (rank_exit_s < 0 && !rank_on_h1.empty() && !ProcessAlive(rank_on_h1[0])) rank_exit_s = Since(cut);
    if (attempt_end_s < 0 && get(id).status().state() != v1::JOB_STATE_RUNNING) attempt_end_s = Since(cut);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::cout << "[cluster] link of host 2 cut at step >= " << cut_at_step
            << ": the rank on host 1 exited after " << rank_exit_s << " s, the attempt ended after "
            << attempt_end_s << " s (collective_timeout " << kCollectiveTimeoutS << " s, grace " << kGraceS
            << " s)\n";
  EXPECT_GE(rank_exit_s, 0) << "the rank on host 1 never exited";
  EXPECT_LE(rank_exit_s, kCollectiveTimeoutS + 4.0);
  EXPECT_GE(attempt_end_s, 0) << "the attempt never ended";
  EXPECT_LE(attempt_end_s, kCollectiveTimeoutS + kGraceS + 4.0);
  (void)t;
  return get(id);
}

TEST_F(ClusterTest, ALostHostEndsTheAttemptPromptlyAndTheJobResumesOnASpareHost) {
  StartCluster(3);
  if (IsSkipped() || HasFailure()) return;
  const std::string id = Submit(stub_.get(), FlypSpec("lose-h2", checkpoint_, 60, 1, 10));
  WaitForStep(id, 12, 120);
  ASSERT_EQ(Get(id).status().history(1).message(), "2 CPU slots reserved on h1 (rank 0), h2 (rank 1)");
  v1::Job job = CutHost2(this, hosts_.get(), id, 12, [this](const std::string& j) { return Get(j); });
  EXPECT_EQ(job.status().state(), v1::JOB_STATE_RESTARTING);
  // The probe after the failure finds host 2 gone and says why.
  for (auto start = steady_clock::now(); Since(start) < 20 && Nodes()["h2"].state() != v1::NODE_STATE_DOWN;)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const v1::Node h2 = Nodes()["h2"];
  EXPECT_EQ(h2.state(), v1::NODE_STATE_DOWN);
  EXPECT_NE(h2.reason().find("no answer within 2000 ms"), std::string::npos) << h2.reason();
  EXPECT_NE(h2.reason().find("found after " + id + " attempt 1 failed"), std::string::npos) << h2.reason();
  // The restart runs on h1 + h3 from the last checkpoint, and succeeds.
  job = WaitForState(stub_.get(), id, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 180);
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << Log(job);
  std::vector<std::string> reasons;
  for (const auto& t : job.status().history()) reasons.push_back(t.reason());
  EXPECT_NE(std::find(reasons.begin(), reasons.end(), "CollectiveTimeout"), reasons.end())
      << job.DebugString();
  bool on_h3 = false;
  for (const auto& t : job.status().history())
    on_h3 |= t.message() == "2 CPU slots reserved on h1 (rank 0), h3 (rank 1)";
  EXPECT_TRUE(on_h3) << job.DebugString();
  const int64_t from = ResumedFrom(job);
  EXPECT_GE(from, 10) << Log(job);
  EXPECT_EQ(from % 10, 0) << "resumed from a checkpoint";
  // One restart for the lost host; a relaunch whose mpirun hung (its
  // daemons never called back) adds a StartTimeout restart, said here so a
  // recurring hang is seen.
  const int64_t hung = std::count(reasons.begin(), reasons.end(), "StartTimeout");
  if (hung) std::cout << "[cluster] " << hung << " relaunch(es) ended by the start timeout\n";
  EXPECT_EQ(job.status().restarts(), 1 + hung) << job.DebugString();
  EXPECT_NE(Log(job).find("step 60/60 "), std::string::npos) << "trained to the end";
  // The isolated rank on host 2 ended itself too (its watchdog), no rank lingers.
  for (auto start = steady_clock::now(); Since(start) < 15 && !RanksOn(*hosts_, 1, id).empty();)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(RanksOn(*hosts_, 1, id).empty()) << "a rank of " << id << " lingers on the cut-off host";
  EXPECT_TRUE(hosts_->SetLink(1, true));
}

TEST_F(ClusterTest, WithoutASpareHostTheJobWaitsAndResumesWhenTheHostIsBack) {
  StartCluster(2);
  if (IsSkipped() || HasFailure()) return;
  const std::string id = Submit(stub_.get(), FlypSpec("wait-for-h2", checkpoint_, 50, 1, 10));
  WaitForStep(id, 12, 120);
  v1::Job job = CutHost2(this, hosts_.get(), id, 12, [this](const std::string& j) { return Get(j); });
  // No spare host: the job waits for hosts, holding none.
  for (auto start = steady_clock::now();
       Since(start) < 20 && Get(id).status().history().rbegin()->reason() != "WaitingForHosts";)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  job = Get(id);
  EXPECT_EQ(job.status().state(), v1::JOB_STATE_RESTARTING);
  EXPECT_EQ(job.status().history().rbegin()->reason(), "WaitingForHosts") << job.DebugString();
  EXPECT_NE(job.status().history().rbegin()->message().find("h2 is down: "), std::string::npos);
  EXPECT_EQ(Nodes()["h1"].cpu_slots_used(), 0) << "a waiting gang holds no slots";
  std::this_thread::sleep_for(std::chrono::seconds(3));  // re-probes keep failing: still waiting
  EXPECT_EQ(Get(id).status().state(), v1::JOB_STATE_RESTARTING);
  // Host 2 comes back: a re-probe finds it, the gang fits again and resumes.
  const auto back = steady_clock::now();
  ASSERT_TRUE(hosts_->SetLink(1, true));
  job = WaitForState(stub_.get(), id, {v1::JOB_STATE_RUNNING}, 60);
  std::cout << "[cluster] host 2 back: the job ran again after " << Since(back) << " s\n";
  job = WaitForState(stub_.get(), id, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 180);
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << Log(job);
  EXPECT_EQ(Nodes()["h2"].state(), v1::NODE_STATE_UP);
  const int64_t from = ResumedFrom(job);
  EXPECT_GE(from, 10) << Log(job);
  EXPECT_EQ(from % 10, 0);
  EXPECT_NE(Log(job).find("step 50/50 "), std::string::npos) << "trained to the end";
}

// mpirun waits without end for a daemon that never calls back (here: its
// ssh to host 2 hangs). The coordinator kills the world --start-timeout-s
// after the launch, says why, and the restart trains the job to the end.
TEST_F(ClusterTest, AWorldWhoseDaemonNeverStartsIsKilledAndTheJobRestarts) {
  constexpr int kStartTimeoutS = 8;
  StartCluster(2, /*hang_daemon_on=*/1, kStartTimeoutS);
  if (IsSkipped() || HasFailure()) return;
  const std::string id = Submit(stub_.get(), FlypSpec("hung-daemon", checkpoint_, 20, 1, 10));
  const v1::Job job = WaitForState(stub_.get(), id, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 180);
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << job.DebugString();
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/hung")) << "the daemon launch never went through the agent";
  const v1::StateTransition* launched = nullptr;
  const v1::StateTransition* killed = nullptr;
  for (const auto& t : job.status().history()) {
    if (t.reason() == "Launching" && !launched) launched = &t;
    if (t.reason() == "StartTimeout") killed = &t;
  }
  ASSERT_NE(launched, nullptr) << job.DebugString();
  ASSERT_NE(killed, nullptr) << job.DebugString();
  EXPECT_NE(killed->message().find("no rank reported started within " + std::to_string(kStartTimeoutS) +
                                   " s of the launch"),
            std::string::npos)
      << killed->message();
  const double waited_s = (killed->time().seconds() - launched->time().seconds()) +
                          (killed->time().nanos() - launched->time().nanos()) / 1e9;
  std::cout << "[cluster] the hung world was killed " << waited_s << " s after its launch (start timeout "
            << kStartTimeoutS << " s)\n";
  EXPECT_GE(waited_s, kStartTimeoutS);
  EXPECT_LE(waited_s, kStartTimeoutS + 10.0);
  EXPECT_EQ(job.status().restarts(), 1);
  EXPECT_EQ(ResumedFrom(job), -1) << "attempt 1 never trained: nothing to resume";
  EXPECT_NE(Log(job).find("step 20/20 "), std::string::npos) << "trained to the end";
  EXPECT_EQ(Nodes()["h2"].state(), v1::NODE_STATE_UP) << "the host answered its probe: it stays up";
}

// A power cut: every process of host 2 (its rank, its Open MPI daemon, its
// sshd) is killed at once. The survivor sees its peer's sockets reset; the
// attempt ends, host 2 is marked down (its sshd refuses the probe) and the
// job resumes on host 3.
TEST_F(ClusterTest, APowerCutEndsTheAttemptAndTheJobResumesOnASpareHost) {
  StartCluster(3);
  if (IsSkipped() || HasFailure()) return;
  const std::string id = Submit(stub_.get(), FlypSpec("power-cut-h2", checkpoint_, 40, 1, 10));
  WaitForStep(id, 12, 120);
  const std::vector<int> rank_on_h1 = RanksOn(*hosts_, 0, id);
  ASSERT_EQ(rank_on_h1.size(), 1u);
  const auto cut = steady_clock::now();
  hosts_->KillAll(1);
  double rank_exit_s = -1, attempt_end_s = -1;
  while (Since(cut) < 60 && (rank_exit_s < 0 || attempt_end_s < 0)) {
    if (rank_exit_s < 0 && !ProcessAlive(rank_on_h1[0])) rank_exit_s = Since(cut);
    if (attempt_end_s < 0 && Get(id).status().state() != v1::JOB_STATE_RUNNING) attempt_end_s = Since(cut);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::cout << "[cluster] power cut of host 2: the rank on host 1 exited after " << rank_exit_s
            << " s, the attempt ended after " << attempt_end_s << " s\n";
  EXPECT_GE(rank_exit_s, 0);
  EXPECT_LE(rank_exit_s, kCollectiveTimeoutS + 4.0);
  EXPECT_GE(attempt_end_s, 0);
  EXPECT_LE(attempt_end_s, kCollectiveTimeoutS + kGraceS + 4.0);
  v1::Job job = WaitForState(stub_.get(), id, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 180);
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << Log(job);
  const v1::Node h2 = Nodes()["h2"];
  EXPECT_EQ(h2.state(), v1::NODE_STATE_DOWN);
  EXPECT_NE(h2.reason().find("probe `"), std::string::npos) << h2.reason();
  bool on_h3 = false;
  for (const auto& t : job.status().history())
    on_h3 |= t.message() == "2 CPU slots reserved on h1 (rank 0), h3 (rank 1)";
  EXPECT_TRUE(on_h3) << job.DebugString();
  EXPECT_GE(ResumedFrom(job), 10) << Log(job);
  EXPECT_NE(Log(job).find("step 40/40 "), std::string::npos);
}

}  // namespace
}  // namespace flyp::testing
