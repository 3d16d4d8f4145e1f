// Integration: the coordinator's slurm launcher against a real Slurm cluster
// — slurmctld and munged here, a slurmd in each of two network-namespace
// hosts (tests/testing/slurm_cluster.h) — running the real flyp-worker as a
// 2-rank world across the two nodes (srun --mpi=pmix, MPI over TCP across
// the bridge). Slurm admits the gangs; the coordinator mirrors its queue:
//  - a job waits PENDING in Slurm (the nodes are busy) while QUEUED with
//    Slurm's reason (also in `flypctl get`), then runs across both nodes as
//    ONE world (the worker recognises srun's world) and SUCCEEDS;
//  - a cancel scancels the Slurm job (pending or running) and every rank; a
//    gang larger than the cluster fails at submission with sbatch's reason;
//  - a coordinator killed with -9 while the Slurm job runs adopts it after
//    its restart: same Slurm job, attempt 1, no restart.
// Skips, saying why, without root or without Slurm's packages.
#include "tests/testing/slurm_cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "tests/coordinator/harness.h"
#include "tests/testing/netns_hosts.h"
#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace {

// "STATE Reason" for each transition; a run of equal ones (Slurm's pending
// reason changing from None to Resources) counts once.
std::vector<std::string> History(const v1::Job& job) {
  std::vector<std::string> out;
  for (const auto& t : job.status().history()) {
    std::string s = v1::JobState_Name(t.state()).substr(10) + " " + t.reason();
    if (out.empty() || out.back() != s) out.push_back(std::move(s));
  }
  return out;
}

// The message of the last transition, or "".
std::string LastMessage(const v1::Job& job) {
  return job.status().history().empty() ? "" : job.status().history().rbegin()->message();
}

class SlurmClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    hosts_ = NetnsHosts::Create(2, &why);
    if (!hosts_) GTEST_SKIP() << why;
    auto slurm = SlurmCluster::Start(hosts_.get(), TempDir());
    if (slurm.status().code() == StatusCode::kFailedPrecondition) GTEST_SKIP() << slurm.status().message();
    ASSERT_TRUE(slurm.ok()) << slurm.status();
    slurm_ = std::move(slurm).value();

    const std::string bridge = hosts_->bridge_address();
    const std::string listen = bridge + ":" + std::to_string(FreeTcpPort());
    CoordinatorOptions o;
    o.dir = TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    o.cpu_slots = 1;  // fewer than a job's 2 ranks: Slurm admits, not the coordinator
    o.grace_s = 3;
    o.client_host = bridge;
    // The ranks on h1 and h2 reach the coordinator on the bridge (a fixed
    // port: a restarted coordinator must be where the ranks were told).
    o.extra_flags = {"--launcher=slurm", "--worker-binary=" FLYP_WORKER_BIN, "--slurm-poll-s=0.3",
                     "--listen=" + listen, "--advertise-address=" + listen};
    o.env = {slurm_->EnvEntry(), "OMPI_MCA_btl=tcp,self", "OMPI_MCA_btl_tcp_if_include=" + hosts_->subnet(),
             "FLYP_THREADS=1", "OMP_WAIT_POLICY=PASSIVE"};
    coordinator_ = std::make_unique<CoordinatorProcess>(o);
    coordinator_->Start();
    stub_ = coordinator_->Client();
  }

  v1::Job Get(const std::string& id) {
    v1::GetJobRequest req;
    req.set_id(id);
    v1::Job job;
    grpc::Status s = stub_->GetJob(Ctx().get(), req, &job);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return job;
  }
  // Polls until `done(job)` or `timeout_s`.
  template <class Pred>
  v1::Job WaitFor(const std::string& id, Pred done, double timeout_s, const char* what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    v1::Job job;
    while (std::chrono::steady_clock::now() < deadline) {
      job = Get(id);
      if (done(job)) return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << id << ": " << what << " did not happen within " << timeout_s << " s:\n"
                  << job.DebugString() << Log(job) << slurm_->Logs();
    return job;
  }
  // The Slurm job of an attempt, from squeue (its name is flyp-<job>-a<N>).
  std::string SlurmJobOf(const std::string& id, int attempt = 1) {
    CommandResult r =
        slurm_->Command("squeue -h -t all -n flyp-" + id + "-a" + std::to_string(attempt) + " -o %i");
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  int SlurmJobsNamed(const std::string& prefix) {
    CommandResult r = slurm_->Command("squeue -h -t all -o %j");
    int n = 0;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0;
    return n;
  }
  std::string Log(const v1::Job& job) {
    std::ifstream in(job.artifact_dir() + "/logs/world.log");
    return "\n--- world.log\n" +
           std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  bool WaitSlurmState(const std::string& slurm_id, const std::string& state, double timeout_s = 30) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      if (slurm_->JobState(slurm_id) == state) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // A Slurm job that occupies both nodes until it is cancelled.
  std::string FillTheNodes() {
    CommandResult r = slurm_->Command("sbatch --parsable -N2 -n2 -o /dev/null --wrap 'sleep 600'");
    EXPECT_EQ(r.code, 0) << r.out;
    std::string id = r.out.substr(0, r.out.find_first_of(";\n"));
    EXPECT_TRUE(WaitSlurmState(id, "RUNNING")) << slurm_->Logs();
    return id;
  }

  // Destroyed in reverse: the coordinator, then Slurm, then the hosts.
  std::unique_ptr<NetnsHosts> hosts_;
  std::unique_ptr<SlurmCluster> slurm_;
  std::unique_ptr<CoordinatorProcess> coordinator_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

TEST_F(SlurmClusterTest, AJobWaitsPendingInSlurmThenRunsAsOneWorldAcrossTwoNodes) {
  const std::string filler = FillTheNodes();
  const uint64_t bytes_h1 = hosts_->LinkBytes(0), bytes_h2 = hosts_->LinkBytes(1);
  const std::string id = Submit(stub_.get(), PretrainSpec("across-nodes", 6));
  ASSERT_FALSE(id.empty());

  // PENDING in Slurm (its nodes are taken): QUEUED here, with Slurm's reason.
  v1::Job job = WaitFor(
      id, [](const v1::Job& j) { return LastMessage(j).find("(Resources)") != std::string::npos; }, 30,
      "the pending reason");
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_QUEUED) << job.DebugString();
  EXPECT_EQ(History(job), (std::vector<std::string>{"QUEUED Submitted", "QUEUED SlurmPending"}));
  EXPECT_FALSE(job.status().has_start_time()) << "nothing started yet";
  const std::string slurm_id = SlurmJobOf(id);
  ASSERT_FALSE(slurm_id.empty()) << Log(job);
  EXPECT_EQ(slurm_->JobState(slurm_id), "PENDING");
  EXPECT_EQ(LastMessage(job), "Slurm job " + slurm_id + " PENDING (Resources)");
  // What a user sees.
  CommandResult get = RunCommand(std::string(FLYP_FLYPCTL_BIN) + " get " + id + " -o yaml --server " +
                                 coordinator_->address() + " --token usertoken");
  EXPECT_EQ(get.code, 0) << get.out;
  EXPECT_NE(get.out.find("SlurmPending"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("PENDING (Resources)"), std::string::npos) << get.out;

  // The nodes free up: Slurm starts the job, the coordinator admits it.
  ASSERT_EQ(slurm_->Command("scancel " + filler).code, 0);
  job = WaitFor(
      id, [](const v1::Job& j) { return j.status().state() >= v1::JOB_STATE_SUCCEEDED; }, 90, "the end");
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << job.DebugString() << Log(job);
  EXPECT_EQ(History(job), (std::vector<std::string>{"QUEUED Submitted", "QUEUED SlurmPending",
                                                    "ADMITTED GangAdmitted", "STARTING WorldAllocated",
                                                    "RUNNING WorkerStarted", "SUCCEEDED Completed"}))
      << job.DebugString();
  for (const auto& t : job.status().history()) {
    if (t.state() == v1::JOB_STATE_ADMITTED) {
      EXPECT_EQ(t.message(), "Slurm job " + slurm_id + " RUNNING on h[1-2]");
    }
  }
  EXPECT_EQ(job.status().restarts(), 0);
  EXPECT_EQ(job.status().latest_progress().step(), 6);
  EXPECT_EQ(slurm_->JobState(slurm_id), "COMPLETED");

  // One world of 2 ranks, one per node — not two worlds of 1.
  const std::string log = Log(job);
  EXPECT_NE(log.find("0: "), std::string::npos) << log;
  EXPECT_NE(log.find("1: "), std::string::npos) << log;
  EXPECT_NE(log.find("2 rank(s) on mpi"), std::string::npos) << log;
  EXPECT_EQ(log.find("rank(s) on single"), std::string::npos) << log;
  // flypctl logs tells the ranks apart by srun's labels.
  CommandResult rank1 = RunCommand(std::string(FLYP_FLYPCTL_BIN) + " logs " + id + " --rank 1 --server " +
                                   coordinator_->address() + " --token usertoken");
  EXPECT_EQ(rank1.code, 0) << rank1.out;
  EXPECT_NE(rank1.out.find("rank=1"), std::string::npos) << rank1.out;
  EXPECT_EQ(rank1.out.find("rank=0"), std::string::npos) << rank1.out;
  auto report = ParseJson(ReadFileOrDie(job.artifact_dir() + "/report.json"));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->Find("world_size")->as_int64(), 2);
  // The gradients crossed both links (the tiny model's all-reduces).
  EXPECT_GT(hosts_->LinkBytes(0) - bytes_h1, 1u << 20);
  EXPECT_GT(hosts_->LinkBytes(1) - bytes_h2, 1u << 20);
  // The batch script of the attempt is in the artifact folder, without the token.
  const std::string script = ReadFileOrDie(job.artifact_dir() + "/slurm/attempt-1.sh");
  EXPECT_NE(script.find("srun '--mpi=pmix'"), std::string::npos) << script;
  EXPECT_EQ(ReadFileOrDie(job.artifact_dir() + "/slurm/" + slurm_id + ".exit"), "0\n");
}

TEST_F(SlurmClusterTest, CancelScancelsThePendingAndTheRunningSlurmJob) {
  const std::string running = Submit(stub_.get(), PretrainSpec("cancel-running", 3000));
  v1::Job job = WaitFor(
      running, [](const v1::Job& j) { return j.status().state() == v1::JOB_STATE_RUNNING; }, 60, "RUNNING");
  const std::string running_slurm = SlurmJobOf(running);
  EXPECT_EQ(slurm_->JobState(running_slurm), "RUNNING");
  // Its processes (the batch script, srun, the ranks) run on both hosts.
  const std::map<int, int> procs = JobProcesses(job);
  for (int host = 0; host < 2; ++host) {
    const std::vector<int> there = hosts_->Pids(host);
    int n = 0;
    for (const auto& [pid, rank] : procs) n += std::count(there.begin(), there.end(), pid);
    EXPECT_GE(n, 1) << "no process of " << running << " on " << hosts_->host(host).name;
  }

  // Both nodes are taken: the second job waits in Slurm.
  const std::string pending = Submit(stub_.get(), PretrainSpec("cancel-pending", 10));
  WaitFor(
      pending, [](const v1::Job& j) { return LastMessage(j).find("(Resources)") != std::string::npos; }, 30,
      "the pending reason");
  const std::string pending_slurm = SlurmJobOf(pending);
  EXPECT_EQ(slurm_->JobState(pending_slurm), "PENDING");

  for (const auto& [id, slurm_id] :
       {std::make_pair(pending, pending_slurm), std::make_pair(running, running_slurm)}) {
    v1::CancelJobRequest req;
    req.set_id(id);
    req.set_reason("test says stop");
    v1::Job after;
    grpc::Status s = stub_->CancelJob(Ctx().get(), req, &after);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(after.status().state(), v1::JOB_STATE_CANCELLED) << after.DebugString() << Log(after);
    EXPECT_EQ(after.status().history().rbegin()->reason(), "UserCancelled");
    // scancel semantics: the Slurm job is over, never to run.
    EXPECT_EQ(slurm_->JobState(slurm_id), "CANCELLED") << id;
  }
  // No rank outlives it on any host (Slurm's KillWait is 2 s).
  for (int i = 0; i < 100 && !JobProcesses(job).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(JobProcesses(job).empty());
  EXPECT_EQ(SlurmJobsNamed("flyp-" + pending), 1);

  // A gang no node set can ever hold (3 ranks, 2 one-CPU nodes): Slurm
  // refuses it at submission, and the job fails naming Slurm's reason.
  std::string spec = PretrainSpec("too-big", 3);
  spec.replace(spec.find("world_size: 2"), 13, "world_size: 3");
  spec.replace(spec.find("batch_size: 64"), 14, "batch_size: 66");
  const std::string too_big = Submit(stub_.get(), spec);
  job = WaitFor(
      too_big, [](const v1::Job& j) { return j.status().state() >= v1::JOB_STATE_SUCCEEDED; }, 30, "the end");
  EXPECT_EQ(job.status().state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job.status().history().rbegin()->reason(), "LaunchFailed");
  EXPECT_NE(LastMessage(job).find("sbatch refused attempt 1"), std::string::npos) << LastMessage(job);
  EXPECT_NE(LastMessage(job).find("More processors requested than permitted"), std::string::npos)
      << LastMessage(job);
}

TEST_F(SlurmClusterTest, ACoordinatorKilledWithMinus9AdoptsItsRunningSlurmJob) {
  // Long enough that rank 0's reports reach the new coordinator (gRPC
  // retries the connection with a backoff of a few seconds).
  constexpr int kSteps = 200;
  const std::string id =
      Submit(stub_.get(), PretrainSpec("adopted", kSteps, "run_policy: {checkpoint_every: 50}\n"));
  v1::Job job = WaitFor(
      id, [](const v1::Job& j) { return j.status().latest_progress().step() >= 3; }, 60, "step 3");
  const std::string slurm_id = SlurmJobOf(id);
  ASSERT_EQ(slurm_->JobState(slurm_id), "RUNNING");

  coordinator_->Kill9();
  EXPECT_EQ(slurm_->JobState(slurm_id), "RUNNING") << "the world outlives the coordinator";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  coordinator_->Start();
  stub_ = coordinator_->Client();

  job = WaitFor(
      id, [](const v1::Job& j) { return j.status().state() >= v1::JOB_STATE_SUCCEEDED; }, 90, "the end");
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << job.DebugString() << Log(job);
  // Adopted, not restarted: one Slurm job, attempt 1, no restart.
  EXPECT_EQ(job.status().restarts(), 0);
  for (const std::string& h : History(job)) EXPECT_EQ(h.find("RESTARTING"), std::string::npos) << h;
  EXPECT_EQ(SlurmJobsNamed("flyp-" + id + "-a"), 1);
  EXPECT_EQ(SlurmJobOf(id, 1), slurm_id);
  EXPECT_EQ(slurm_->JobState(slurm_id), "COMPLETED");
  EXPECT_EQ(job.status().latest_progress().step(), kSteps) << "the reports of the adopted world went on";
  const std::string log = Log(job);
  EXPECT_NE(log.find("watching Slurm job " + slurm_id + " of attempt 1 again"), std::string::npos) << log;
  EXPECT_EQ(log.find("resuming"), std::string::npos) << "one uninterrupted attempt:" << log;
}

}  // namespace
}  // namespace flyp::testing
