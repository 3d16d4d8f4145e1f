// Integration: the coordinator's lifecycle paths with the real flyp-worker
// instead of the fake one (coordinator_integration_test): a bad input is a
// permanent failure reported by the worker itself, a cancel stops every
// rank, a killed rank restarts the world, which resumes from its checkpoint.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/coordinator/harness.h"
#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace {

class RealWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoordinatorOptions o;
    o.dir = TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    o.cpu_slots = 2;
    o.grace_s = 3;
    o.extra_flags = {"--worker-binary=" FLYP_WORKER_BIN};
    o.env = {"FLYP_THREADS=1", "OMP_WAIT_POLICY=PASSIVE"};
    coordinator_ = std::make_unique<CoordinatorProcess>(o);
    coordinator_->Start();
    stub_ = coordinator_->Client();
  }
  std::string Log(const v1::Job& job) { return ReadFileOrDie(job.artifact_dir() + "/logs/world.log"); }

  std::unique_ptr<CoordinatorProcess> coordinator_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

TEST_F(RealWorkerTest, ABadInputIsAPermanentFailureReportedByTheWorker) {
  // Passes submission (the folder exists inside a data root) but holds no
  // class sub-folders: only the worker can tell.
  std::filesystem::create_directories(coordinator_->data_root() + "/no-classes");
  std::string spec = PretrainSpec("bad-input", 2, "run_policy: {backoff_limit: 3}\n");
  spec.replace(spec.find("{format: fashion_mnist, split: train, limit: 128}"),
               std::string("{format: fashion_mnist, split: train, limit: 128}").size(),
               "{format: image_folder, path: no-classes}");
  const std::string id = Submit(stub_.get(), spec);
  ASSERT_FALSE(id.empty());
  v1::Job job = WaitForState(stub_.get(), id, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 60);
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_FAILED) << Log(job);
  EXPECT_EQ(job.status().restarts(), 0);
  const auto& last = *job.status().history().rbegin();
  EXPECT_EQ(last.reason(), "PermanentFailure") << job.DebugString();
  EXPECT_NE(last.message().find("has no class sub-folders"), std::string::npos) << job.DebugString();
}

TEST_F(RealWorkerTest, CancelStopsEveryRank) {
  const std::string id = Submit(stub_.get(), PretrainSpec("cancel-me", 2000));
  v1::Job job = WaitForState(stub_.get(), id, {v1::JOB_STATE_RUNNING}, 60);
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_RUNNING);
  std::map<int, int> procs = JobProcesses(job);
  std::set<int> ranks;
  for (const auto& [pid, rank] : procs) ranks.insert(rank);
  EXPECT_EQ(ranks, (std::set<int>{-1, 0, 1})) << "mpirun and two ranks";
  v1::CancelJobRequest req;
  req.set_id(id);
  req.set_reason("test says stop");
  v1::Job after;
  grpc::Status s = stub_->CancelJob(Ctx().get(), req, &after);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(after.status().state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(after.status().history().rbegin()->reason(), "UserCancelled");
  EXPECT_TRUE(JobProcesses(job).empty()) << "processes of " << id << " outlived the cancel";
}

// A rank killed mid-training takes the world down; the next attempt resumes
// from the last checkpoint (the worker says so) and the job succeeds.
TEST_F(RealWorkerTest, AKilledRankRestartsTheWorldFromItsCheckpoint) {
  const std::string id = Submit(
      stub_.get(), PretrainSpec("killed-rank", 30, "run_policy: {checkpoint_every: 10, backoff_limit: 2}\n"));
  // Past the first checkpoint (step 10), then rank 1 dies.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  v1::Job job;
  while (std::chrono::steady_clock::now() < deadline) {
    v1::GetJobRequest req;
    req.set_id(id);
    if (stub_->GetJob(Ctx().get(), req, &job).ok() && job.status().latest_progress().step() >= 12) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(job.status().latest_progress().step(), 12) << job.DebugString();
  int victim = 0;
  for (const auto& [pid, rank] : JobProcesses(job)) {
    if (rank == 1) victim = pid;
  }
  ASSERT_GT(victim, 0);
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  job = WaitForState(stub_.get(), id, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 90);
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << Log(job);
  EXPECT_EQ(job.status().restarts(), 1);
  std::vector<v1::JobState> states;
  for (const auto& t : job.status().history()) states.push_back(t.state());
  EXPECT_NE(std::find(states.begin(), states.end(), v1::JOB_STATE_RESTARTING), states.end());
  const std::string log = Log(job);
  const size_t resumed = log.find("resuming pretrain at step ");
  ASSERT_NE(resumed, std::string::npos) << log;
  const int64_t from = std::atoll(log.c_str() + resumed + std::string("resuming pretrain at step ").size());
  EXPECT_GE(from, 10);
  EXPECT_EQ(from % 10, 0) << "resumed from a checkpoint step";
  EXPECT_EQ(job.status().latest_progress().step(), 30);
}

}  // namespace
}  // namespace flyp::testing
