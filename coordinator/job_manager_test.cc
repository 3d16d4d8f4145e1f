// The job lifecycle, step by step in virtual time: a FakeClock, a
// FakeLauncher whose worlds end when the test says so, the in-memory
// JobStore, and JobManager::Step() called by the test (launches inline on
// the calling thread) instead of the loop thread. No sleeps (one test, of
// launches on their own threads, waits for them): the whole suite runs in
// milliseconds.
#include "coordinator/job_manager.h"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "common/exit_codes.h"
#include "coordinator/launcher/fake_launcher.h"
#include "coordinator/proto_time.h"
#include "coordinator/store/memory_job_store.h"
#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct JobOpts {
  int world_size = 2;
  int backoff_limit = 2;
  int deadline_s = 0;
  int priority = 0;
};

class JobManagerTest : public ::testing::Test {
 protected:
  JobManagerTest() { manager_ = MakeManager(&launcher_); }

  std::unique_ptr<JobManager> MakeManager(Launcher* launcher, int cpu_slots = 4) {
    JobManagerOptions o;
    o.capacity = {cpu_slots, 0};
    o.artifact_root =
        testing::TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    o.coordinator_address = "127.0.0.1:50051";
    o.grace_ms = 10000;
    o.backoff_base_ms = 1000;
    o.backoff_max_ms = 60000;
    o.inline_launches = true;
    return std::make_unique<JobManager>(o, &store_, launcher, &clock_);
  }

  std::string Submit(const std::string& name, JobOpts j = {}) {
    v1::JobSpec spec;
    spec.set_name(name);
    spec.set_priority(j.priority);
    spec.mutable_resources()->set_world_size(j.world_size);
    spec.mutable_resources()->set_slots_per_rank(1);
    spec.mutable_run_policy()->set_backoff_limit(j.backoff_limit);
    if (j.deadline_s) spec.mutable_run_policy()->mutable_active_deadline()->set_seconds(j.deadline_s);
    auto job = manager_->Submit(spec, "name: " + name + "\n", "alice", "");
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? job->id() : "";
  }

  JobRecord Rec(const std::string& id) {
    auto rec = store_.GetJob(id);
    EXPECT_TRUE(rec.ok()) << rec.status();
    return rec.ok() ? *rec : JobRecord();
  }
  v1::JobState State(const std::string& id) { return Rec(id).job.status().state(); }
  // "STATE Reason" for each transition.
  std::vector<std::string> History(const std::string& id) {
    std::vector<std::string> out;
    const JobRecord rec = Rec(id);
    for (const auto& t : rec.job.status().history())
      out.push_back(v1::JobState_Name(t.state()).substr(10) + " " + t.reason());
    return out;
  }
  std::string LastMessage(const std::string& id) {
    const JobRecord rec = Rec(id);
    const auto& h = rec.job.status().history();
    return h.empty() ? "" : h.rbegin()->message();
  }
  WorldHandle World(const std::string& id) { return WorldHandle::FromText(Rec(id).world); }

  // A report of rank 0 of `attempt`; returns whether the coordinator said stop.
  bool Report(const std::string& id, int attempt, v1::WorkerPhase phase, const std::string& message = "",
              bool permanent = false) {
    v1::ReportStateRequest req;
    req.set_job_id(id);
    req.set_attempt(attempt);
    req.set_phase(phase);
    req.set_message(message);
    req.set_permanent(permanent);
    bool stop = false;
    Status s = manager_->ReportState(req, Rec(id).worker_token, &stop);
    EXPECT_TRUE(s.ok()) << s;
    return stop;
  }
  bool Progress(const std::string& id, int attempt, int64_t step) {
    v1::ReportProgressRequest req;
    req.set_job_id(id);
    req.set_attempt(attempt);
    req.mutable_progress()->set_step(step);
    bool stop = false;
    Status s = manager_->ReportProgress(req, Rec(id).worker_token, &stop);
    EXPECT_TRUE(s.ok()) << s;
    return stop;
  }

  FakeClock clock_;
  MemoryJobStore store_;
  FakeLauncher launcher_;
  std::unique_ptr<JobManager> manager_;
};

TEST_F(JobManagerTest, AdmitsWholeGangsStrictlyInPriorityThenSubmissionOrder) {
  const std::string a = Submit("a", {.world_size = 2});
  const std::string b = Submit("b", {.world_size = 4});
  const std::string c = Submit("c", {.world_size = 2});
  manager_->Step();
  // a fits; b (4 slots) does not fit in the 2 left, and c waits behind it.
  EXPECT_EQ(State(a), v1::JOB_STATE_STARTING);
  EXPECT_EQ(State(b), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(State(c), v1::JOB_STATE_QUEUED);
  ASSERT_EQ(launcher_.launches().size(), 1u);
  const LaunchRequest req = launcher_.launches()[0];
  const JobRecord rec = Rec(a);
  EXPECT_EQ(req.job_id, a);
  EXPECT_EQ(req.attempt, 1);
  EXPECT_EQ(req.world_size, 2);
  EXPECT_EQ(req.artifact_dir, rec.job.artifact_dir());
  EXPECT_EQ(req.spec_path, rec.job.artifact_dir() + "/spec.yaml");
  EXPECT_EQ(req.log_path, rec.job.artifact_dir() + "/logs/world.log");
  EXPECT_EQ(req.coordinator_address, "127.0.0.1:50051");
  EXPECT_EQ(req.worker_token, rec.worker_token);
  EXPECT_EQ(testing::ReadFileOrDie(req.spec_path), "name: a\n");  // written before the launch
  EXPECT_EQ(rec.attempt, 1);
  EXPECT_EQ(rec.world, "fake:1");
  EXPECT_EQ(TimestampToMillis(rec.job.status().start_time()), clock_.NowMillis());

  EXPECT_FALSE(Report(a, 1, v1::WORKER_PHASE_STARTED));
  EXPECT_EQ(State(a), v1::JOB_STATE_RUNNING);
  EXPECT_FALSE(Progress(a, 1, 5));
  EXPECT_EQ(Rec(a).job.status().latest_progress().step(), 5);
  EXPECT_FALSE(Report(a, 1, v1::WORKER_PHASE_CHECKPOINT, "/ckpt/step-5"));
  EXPECT_EQ(Rec(a).last_checkpoint, "/ckpt/step-5");
  manager_->Step();  // nothing changed
  EXPECT_EQ(launcher_.launches().size(), 1u);

  clock_.Advance(seconds(30));
  EXPECT_FALSE(Report(a, 1, v1::WORKER_PHASE_COMPLETED));
  launcher_.Exit(World(a), {0, 0});
  manager_->Step();  // a's exit frees its slots; b is admitted in the same step
  EXPECT_EQ(State(a), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(History(a),
            (std::vector<std::string>{"QUEUED Submitted", "ADMITTED GangAdmitted", "STARTING Launching",
                                      "RUNNING WorkerStarted", "SUCCEEDED Completed"}));
  EXPECT_EQ(Rec(a).world, "");
  EXPECT_EQ(TimestampToMillis(Rec(a).job.status().end_time()), clock_.NowMillis());
  EXPECT_EQ(State(b), v1::JOB_STATE_STARTING);
  EXPECT_EQ(State(c), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(Rec(b).job.status().history(1).message(), "4 CPU slots reserved on localhost (ranks 0-3)");
}

TEST_F(JobManagerTest, HigherPriorityIsAdmittedFirst) {
  const std::string low = Submit("low", {.world_size = 4});
  const std::string high = Submit("high", {.world_size = 4, .priority = 5});
  manager_->Step();
  EXPECT_EQ(State(high), v1::JOB_STATE_STARTING);
  EXPECT_EQ(State(low), v1::JOB_STATE_QUEUED);
}

TEST_F(JobManagerTest, RetryableExitsRestartWithExponentialBackoffUntilTheLimit) {
  const std::string id = Submit("flaky", {.backoff_limit = 2});
  manager_->Step();
  EXPECT_FALSE(Report(id, 1, v1::WORKER_PHASE_STARTED));
  launcher_.Exit(World(id), {1, 0});
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_RESTARTING);
  EXPECT_EQ(LastMessage(id), "world exited: exit code 1; restart 1 of 2 in 1000 ms from the last checkpoint");
  EXPECT_EQ(Rec(id).job.status().restarts(), 1);
  EXPECT_EQ(Rec(id).world, "");

  clock_.Advance(milliseconds(999));
  manager_->Step();
  EXPECT_EQ(launcher_.launches().size(), 1u);            // not yet
  EXPECT_TRUE(Report(id, 1, v1::WORKER_PHASE_STARTED));  // the dead attempt is told to stop
  EXPECT_EQ(State(id), v1::JOB_STATE_RESTARTING);
  clock_.Advance(milliseconds(1));
  manager_->Step();
  ASSERT_EQ(launcher_.launches().size(), 2u);
  EXPECT_EQ(launcher_.launches()[1].attempt, 2);
  EXPECT_EQ(Rec(id).attempt, 2);
  EXPECT_EQ(Rec(id).world, "fake:2");
  EXPECT_TRUE(Progress(id, 1, 3));  // a straggler of attempt 1
  EXPECT_FALSE(Report(id, 2, v1::WORKER_PHASE_STARTED));
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);

  launcher_.Exit(World(id), {1, 0});
  manager_->Step();
  EXPECT_EQ(LastMessage(id), "world exited: exit code 1; restart 2 of 2 in 2000 ms from the last checkpoint");
  clock_.Advance(milliseconds(1999));
  manager_->Step();
  EXPECT_EQ(launcher_.launches().size(), 2u);
  clock_.Advance(milliseconds(1));
  manager_->Step();
  ASSERT_EQ(launcher_.launches().size(), 3u);
  EXPECT_EQ(launcher_.launches()[2].attempt, 3);

  launcher_.Exit(World(id), {0, SIGKILL});  // signals are retryable too, but the limit is reached
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_FAILED);
  EXPECT_EQ(History(id).back(), "FAILED BackoffLimitExceeded");
  EXPECT_NE(LastMessage(id).find("killed by signal 9"), std::string::npos) << LastMessage(id);
  EXPECT_NE(LastMessage(id).find("run_policy.backoff_limit 2 reached"), std::string::npos);
  EXPECT_EQ(Rec(id).job.status().restarts(), 2);
  // Its slots are free again.
  const std::string next = Submit("next", {.world_size = 4});
  manager_->Step();
  EXPECT_EQ(State(next), v1::JOB_STATE_STARTING);
}

TEST_F(JobManagerTest, PermanentFailuresAreNotRetried) {
  const std::string bad_spec = Submit("bad-spec");
  const std::string said_so = Submit("said-so");
  manager_->Step();
  launcher_.Exit(World(bad_spec), {kWorkerExitInvalidSpec, 0});
  EXPECT_FALSE(Report(said_so, 1, v1::WORKER_PHASE_FAILED, "no such dataset", /*permanent=*/true));
  launcher_.Exit(World(said_so), {1, 0});
  manager_->Step();
  EXPECT_EQ(History(bad_spec).back(), "FAILED PermanentFailure");
  EXPECT_EQ(LastMessage(bad_spec), "world exited: exit code 3 (retrying cannot help)");
  EXPECT_EQ(History(said_so).back(), "FAILED PermanentFailure");
  EXPECT_EQ(LastMessage(said_so),
            "world exited: exit code 1; worker said: no such dataset (retrying cannot help)");
  clock_.Advance(seconds(3600));
  manager_->Step();
  EXPECT_EQ(launcher_.launches().size(), 2u);
  EXPECT_EQ(Rec(bad_spec).job.status().restarts(), 0);
}

TEST_F(JobManagerTest, ALaunchThatFailsFailsTheJob) {
  launcher_.FailNextLaunch(FailedPreconditionError("cannot execute '/no/mpirun': No such file"));
  const std::string id = Submit("unlaunchable");
  manager_->Step();
  EXPECT_EQ(History(id).back(), "FAILED LaunchFailed");
  EXPECT_EQ(LastMessage(id), "cannot execute '/no/mpirun': No such file");
  EXPECT_EQ(Rec(id).attempt, 1);  // recorded before the launch: never reused
  const std::string next = Submit("next", {.world_size = 4});
  manager_->Step();
  EXPECT_EQ(State(next), v1::JOB_STATE_STARTING);
}

TEST_F(JobManagerTest, DeadlineStopsTheWorldAndKillsItAfterTheGracePeriod) {
  launcher_.set_exit_on_term(false);  // a world that ignores SIGTERM
  const std::string id = Submit("slow", {.deadline_s = 60});
  manager_->Step();
  EXPECT_FALSE(Report(id, 1, v1::WORKER_PHASE_STARTED));
  clock_.Advance(milliseconds(59999));
  manager_->Step();
  EXPECT_TRUE(launcher_.stops().empty());
  clock_.Advance(milliseconds(1));
  manager_->Step();
  ASSERT_EQ(launcher_.stops().size(), 1u);
  EXPECT_EQ(launcher_.stops()[0].world, WorldHandle::FromText("fake:1"));
  EXPECT_FALSE(launcher_.stops()[0].force);
  EXPECT_TRUE(Progress(id, 1, 10));             // the world is told to stop
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);  // until it is gone

  clock_.Advance(milliseconds(9999));
  manager_->Step();
  EXPECT_EQ(launcher_.stops().size(), 1u);
  clock_.Advance(milliseconds(1));
  manager_->Step();  // grace period over: KILL (the fake world dies of it)
  ASSERT_EQ(launcher_.stops().size(), 2u);
  EXPECT_TRUE(launcher_.stops()[1].force);
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);
  manager_->Step();
  EXPECT_EQ(History(id).back(), "FAILED DeadlineExceeded");
  EXPECT_EQ(LastMessage(id), "run_policy.active_deadline of 60s passed");
  EXPECT_EQ(launcher_.stops().size(), 2u);
}

// A world whose rank 0 never reports STARTED (mpirun waiting on a daemon
// that never called back) is killed start_timeout after the launch, and the
// attempt restarts; a world that reported is left alone however long it runs.
TEST_F(JobManagerTest, AWorldThatNeverStartsIsKilledAndTheAttemptRestarts) {
  const std::string id = Submit("silent");
  manager_->Step();
  ASSERT_EQ(launcher_.launches().size(), 1u);
  clock_.Advance(milliseconds(599999));
  manager_->Step();
  EXPECT_TRUE(launcher_.stops().empty());
  EXPECT_EQ(State(id), v1::JOB_STATE_STARTING);
  clock_.Advance(milliseconds(1));
  manager_->Step();
  ASSERT_EQ(launcher_.stops().size(), 1u);
  EXPECT_EQ(launcher_.stops()[0].world, WorldHandle::FromText("fake:1"));
  EXPECT_TRUE(launcher_.stops()[0].force) << "a hung mpirun is not asked twice";
  manager_->Step();  // the killed world's exit
  EXPECT_EQ(History(id).back(), "RESTARTING StartTimeout");
  EXPECT_NE(LastMessage(id).find("no rank reported started within 600 s of the launch"), std::string::npos)
      << LastMessage(id);
  EXPECT_NE(LastMessage(id).find("restart 1 of 2"), std::string::npos) << LastMessage(id);
  clock_.Advance(milliseconds(1000));  // the first backoff
  manager_->Step();
  ASSERT_EQ(launcher_.launches().size(), 2u);
  EXPECT_EQ(launcher_.launches()[1].attempt, 2);
  EXPECT_FALSE(Report(id, 2, v1::WORKER_PHASE_STARTED));
  clock_.Advance(seconds(3600));
  manager_->Step();
  EXPECT_EQ(launcher_.stops().size(), 1u) << "attempt 2 started: no start timeout";
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);
}

TEST_F(JobManagerTest, ADeadlineDuringBackoffEndsTheJobAtOnce) {
  const std::string id = Submit("flaky", {.backoff_limit = 5, .deadline_s = 10});
  manager_->Step();
  launcher_.Exit(World(id), {1, 0});
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_RESTARTING);
  clock_.Advance(seconds(10));  // deadline and restart due together: the deadline wins
  manager_->Step();
  EXPECT_EQ(History(id).back(), "FAILED DeadlineExceeded");
  EXPECT_EQ(launcher_.launches().size(), 1u);
}

TEST_F(JobManagerTest, CancelDuringLaunchStopsTheWorldOnceTheLaunchReturns) {
  launcher_.HoldLaunches();
  const std::string id = Submit("cancel-me");
  std::thread step([&] { manager_->Step(); });  // blocks in Launch
  ASSERT_TRUE(launcher_.WaitForHeldLaunches(1, seconds(10)));
  // Meanwhile nothing waits for the launch.
  EXPECT_TRUE(manager_->RequestCancel(id, "changed my mind").ok());
  EXPECT_EQ(State(id), v1::JOB_STATE_STARTING);
  EXPECT_EQ(Rec(id).attempt, 1);                         // recorded before the launch
  EXPECT_TRUE(Report(id, 1, v1::WORKER_PHASE_STARTED));  // a world that comes up is told to stop
  EXPECT_EQ(State(id), v1::JOB_STATE_STARTING);
  EXPECT_TRUE(manager_->RequestCancel(id, "again").ok());  // the first reason wins
  launcher_.ReleaseLaunches();
  step.join();
  EXPECT_EQ(Rec(id).world, "fake:1");  // the world is recorded, then stopped
  EXPECT_EQ(State(id), v1::JOB_STATE_STARTING);
  manager_->Step();
  ASSERT_EQ(launcher_.stops().size(), 1u);
  EXPECT_FALSE(launcher_.stops()[0].force);
  manager_->Step();  // the fake world ended on SIGTERM
  EXPECT_EQ(History(id), (std::vector<std::string>{"QUEUED Submitted", "ADMITTED GangAdmitted",
                                                   "STARTING Launching", "CANCELLED UserCancelled"}));
  EXPECT_EQ(LastMessage(id), "changed my mind");
  EXPECT_EQ(Rec(id).world, "");
  EXPECT_EQ(manager_->RequestCancel(id, "").code(), StatusCode::kFailedPrecondition);
}

TEST_F(JobManagerTest, CancelDuringALaunchThatFailsIsStillACancel) {
  launcher_.HoldLaunches();
  launcher_.FailNextLaunch(UnavailableError("api server unreachable"));
  const std::string id = Submit("cancel-me");
  std::thread step([&] { manager_->Step(); });
  ASSERT_TRUE(launcher_.WaitForHeldLaunches(1, seconds(10)));
  EXPECT_TRUE(manager_->RequestCancel(id, "").ok());
  launcher_.ReleaseLaunches();
  step.join();
  EXPECT_EQ(History(id).back(), "CANCELLED UserCancelled");
  EXPECT_EQ(LastMessage(id), "cancelled by the user (the launch failed too)");
}

TEST_F(JobManagerTest, CancelDuringBackoffEndsAtOnceAndNeverRelaunches) {
  const std::string id = Submit("flaky");
  manager_->Step();
  launcher_.Exit(World(id), {1, 0});
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_RESTARTING);
  EXPECT_TRUE(manager_->RequestCancel(id, "").ok());
  EXPECT_EQ(State(id), v1::JOB_STATE_CANCELLED);  // recorded before RequestCancel returned
  clock_.Advance(seconds(3600));
  manager_->Step();
  EXPECT_EQ(launcher_.launches().size(), 1u);
  EXPECT_TRUE(launcher_.stops().empty());  // there was no world to stop
  const std::string next = Submit("next", {.world_size = 4});
  manager_->Step();
  EXPECT_EQ(State(next), v1::JOB_STATE_STARTING);  // the slots were released
}

TEST_F(JobManagerTest, CancelOfAQueuedJobNeedsNoWorld) {
  const std::string big = Submit("big", {.world_size = 4});
  const std::string queued = Submit("queued", {.world_size = 4});
  manager_->Step();
  auto job = manager_->Cancel(queued, "");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->status().state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(History(queued), (std::vector<std::string>{"QUEUED Submitted", "CANCELLED UserCancelled"}));
  launcher_.Exit(World(big), {0, 0});
  manager_->Step();
  manager_->Step();
  EXPECT_EQ(launcher_.launches().size(), 1u);
  EXPECT_EQ(manager_->RequestCancel("job-000404", "").code(), StatusCode::kNotFound);
}

TEST_F(JobManagerTest, WorkerCallsCheckTheTokenWithoutTheStoreForRunningJobs) {
  const std::string id = Submit("w");
  manager_->Step();
  v1::ReportProgressRequest req;
  req.set_job_id(id);
  req.set_attempt(1);
  bool stop = false;
  EXPECT_EQ(manager_->ReportProgress(req, "wrong", &stop).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(manager_->ReportProgress(req, "", &stop).code(), StatusCode::kPermissionDenied);
  // An unknown job answers like a wrong token: existence is not revealed
  // to a caller without the job's token.
  req.set_job_id("job-000404");
  EXPECT_EQ(manager_->ReportProgress(req, "x", &stop).code(), StatusCode::kPermissionDenied);
  v1::ReportStateRequest bad_phase;
  bad_phase.set_job_id(id);
  bad_phase.set_attempt(1);
  bad_phase.set_phase(static_cast<v1::WorkerPhase>(77));
  EXPECT_EQ(manager_->ReportState(bad_phase, Rec(id).worker_token, &stop).code(),
            StatusCode::kInvalidArgument);
  // A finished job: answered from the store, with stop.
  launcher_.Exit(World(id), {0, 0});
  manager_->Step();
  EXPECT_TRUE(Progress(id, 1, 1));
  req.set_job_id(id);
  EXPECT_EQ(manager_->ReportProgress(req, "wrong", &stop).code(), StatusCode::kPermissionDenied);
}

TEST_F(JobManagerTest, SubmitRefusesGangsThatNeverFitAndDeduplicatesKeys) {
  v1::JobSpec spec;
  spec.set_name("huge");
  spec.mutable_resources()->set_world_size(5);
  spec.mutable_resources()->set_slots_per_rank(1);
  auto huge = manager_->Submit(spec, "", "alice", "");
  EXPECT_EQ(huge.status().code(), StatusCode::kFailedPrecondition);
  spec.mutable_resources()->set_world_size(2);
  auto first = manager_->Submit(spec, "", "alice", "key");
  auto again = manager_->Submit(spec, "", "alice", "key");
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->id(), again->id());
  manager_->Step();
  EXPECT_EQ(launcher_.launches().size(), 1u);
}

// A coordinator restart with a world that its launcher cannot adopt (the
// local launcher's case): the orphan is stopped, the job resumes from its
// checkpoint as a new attempt, and queued jobs stay queued.
TEST_F(JobManagerTest, RecoveryStopsTheOrphanAndRestartsFromTheCheckpoint) {
  const std::string running = Submit("running", {.world_size = 4, .backoff_limit = 0});
  const std::string queued = Submit("queued", {.world_size = 4});
  manager_->Step();
  EXPECT_FALSE(Report(running, 1, v1::WORKER_PHASE_STARTED));
  EXPECT_FALSE(Report(running, 1, v1::WORKER_PHASE_CHECKPOINT, "/ckpt/step-7"));
  manager_.reset();  // the coordinator dies; its world runs on

  FakeLauncher fresh;  // the new coordinator's launcher
  manager_ = MakeManager(&fresh);
  ASSERT_TRUE(manager_->Recover().ok());
  EXPECT_EQ(fresh.recovered(), (std::vector<WorldHandle>{WorldHandle::FromText("fake:1")}));
  EXPECT_EQ(fresh.orphans_stopped(), (std::vector<WorldHandle>{WorldHandle::FromText("fake:1")}));
  EXPECT_EQ(History(running).back(), "RESTARTING CoordinatorRestarted");
  EXPECT_EQ(Rec(running).job.status().restarts(), 1);  // counted, though backoff_limit is 0
  EXPECT_EQ(Rec(running).world, "");
  EXPECT_EQ(State(queued), v1::JOB_STATE_QUEUED);
  EXPECT_TRUE(Report(running, 1, v1::WORKER_PHASE_STARTED));  // the old attempt: stop

  manager_->Step();  // the restart is due at once; the queued job still does not fit
  ASSERT_EQ(fresh.launches().size(), 1u);
  EXPECT_EQ(fresh.launches()[0].job_id, running);
  EXPECT_EQ(fresh.launches()[0].attempt, 2);
  EXPECT_EQ(Rec(running).last_checkpoint, "/ckpt/step-7");  // the worker resumes from it
  EXPECT_FALSE(Report(running, 2, v1::WORKER_PHASE_STARTED));
  EXPECT_EQ(State(running), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(State(queued), v1::JOB_STATE_QUEUED);
  fresh.Exit(World(running), {0, 0});
  manager_->Step();
  EXPECT_EQ(State(running), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(State(queued), v1::JOB_STATE_STARTING);
}

// A launcher that can watch a recorded world again (a Slurm job, an
// MPIJob) adopts it: same attempt, no restart, reports keep flowing.
TEST_F(JobManagerTest, RecoveryAdoptsAWorldTheLauncherCanWatch) {
  const std::string id = Submit("long");
  manager_->Step();
  EXPECT_FALSE(Report(id, 1, v1::WORKER_PHASE_STARTED));
  manager_.reset();

  FakeLauncher fresh;
  fresh.set_recovery(Recovery::kAdopted);
  manager_ = MakeManager(&fresh);
  ASSERT_TRUE(manager_->Recover().ok());
  EXPECT_TRUE(fresh.orphans_stopped().empty());
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(History(id).size(), 4u);  // no transition
  EXPECT_FALSE(Progress(id, 1, 9));   // attempt 1 is still the current one
  manager_->Step();
  EXPECT_TRUE(fresh.launches().empty());
  fresh.Exit(WorldHandle::FromText("fake:1"), {0, 0});
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(Rec(id).job.status().restarts(), 0);
}

TEST_F(JobManagerTest, RecoveryWithFewerSlotsStopsWhatNoLongerFitsAndRequeuesIt) {
  const std::string a = Submit("a", {.world_size = 2});
  const std::string b = Submit("b", {.world_size = 2});
  manager_->Step();
  ASSERT_EQ(State(b), v1::JOB_STATE_STARTING);
  manager_.reset();
  FakeLauncher fresh;
  manager_ = MakeManager(&fresh, /*cpu_slots=*/2);  // restarted with half the slots
  ASSERT_TRUE(manager_->Recover().ok());
  EXPECT_EQ(History(a).back(), "RESTARTING CoordinatorRestarted");
  EXPECT_EQ(History(b).back(), "QUEUED CoordinatorRestarted");
  EXPECT_EQ(Rec(b).world, "");
  EXPECT_EQ(fresh.recovered(), (std::vector<WorldHandle>{WorldHandle::FromText("fake:1")}));
  EXPECT_EQ(fresh.orphans_stopped(),
            (std::vector<WorldHandle>{WorldHandle::FromText("fake:1"), WorldHandle::FromText("fake:2")}));
  manager_->Step();
  ASSERT_EQ(fresh.launches().size(), 1u);
  EXPECT_EQ(fresh.launches()[0].job_id, a);
  fresh.Exit(World(a), {0, 0});
  manager_->Step();
  EXPECT_EQ(State(a), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(State(b), v1::JOB_STATE_STARTING);
  EXPECT_EQ(fresh.launches().back().attempt, 2);
}

// Launches run on threads of their own: the loop keeps stepping (polling,
// finishing and admitting other jobs) while one is stuck in Launch.
TEST_F(JobManagerTest, ASlowLaunchDoesNotHoldUpTheLoop) {
  JobManagerOptions o;
  o.capacity = {4, 0};
  o.artifact_root = testing::TempDir() + "/threaded";
  o.grace_ms = 10000;
  manager_ = std::make_unique<JobManager>(o, &store_, &launcher_, &clock_);
  const std::string first = Submit("first");
  manager_->Step();
  auto launched = [&](const std::string& id) {
    for (int i = 0; i < 5000 && Rec(id).world.empty(); ++i) std::this_thread::sleep_for(milliseconds(1));
    return !Rec(id).world.empty();
  };
  ASSERT_TRUE(launched(first));
  launcher_.HoldLaunches();
  const std::string slow = Submit("slow");
  manager_->Step();  // returns with slow's launch held
  ASSERT_TRUE(launcher_.WaitForHeldLaunches(1, seconds(10)));
  launcher_.Exit(World(first), {0, 0});
  manager_->Step();
  EXPECT_EQ(State(first), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(State(slow), v1::JOB_STATE_STARTING);
  EXPECT_EQ(launcher_.held(), 1);
  launcher_.ReleaseLaunches();
  ASSERT_TRUE(launched(slow));
  manager_->Stop();  // joins the launch thread
}

// ------------------------------------------ a launcher that admits gangs

WorldState Pending(const std::string& why) {
  return {WorldState::Phase::kPending, "SlurmPending", "Slurm job pending (" + why + ")"};
}
WorldState Allocated(const std::string& nodes) {
  return {WorldState::Phase::kAllocated, "SlurmRunning", "Slurm job running on " + nodes};
}

class AdmittingLauncherTest : public JobManagerTest {
 protected:
  // Two CPU slots here: far fewer than the jobs ask for, which only the
  // launcher's scheduler (Slurm's) may decide about.
  AdmittingLauncherTest() : slurm_(/*admits_gangs=*/true) {
    manager_ = MakeManager(&slurm_, /*cpu_slots=*/2);
  }
  FakeLauncher slurm_;
};

// The coordinator counts no slots of its own for such a launcher (no double
// counting): every job goes to it at once, stays QUEUED with the launcher's
// pending reason, and is ADMITTED when the launcher allocated it.
TEST_F(AdmittingLauncherTest, EveryJobGoesToTheLauncherAndItsAdmissionIsMirrored) {
  const std::string a = Submit("a", {.world_size = 4});
  const std::string b = Submit("b", {.world_size = 4});
  manager_->Step();
  ASSERT_EQ(slurm_.launches().size(), 2u);
  EXPECT_EQ(State(a), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(Rec(a).world, "fake:1");
  EXPECT_EQ(Rec(b).world, "fake:2");
  EXPECT_EQ(Rec(a).attempt, 1);
  EXPECT_FALSE(Rec(a).job.status().has_start_time()) << "handed to the launcher, not started";

  slurm_.SetState(World(a), Pending("Resources"));
  manager_->Step();
  manager_->Step();  // the same observation records nothing more
  EXPECT_EQ(History(a), (std::vector<std::string>{"QUEUED Submitted", "QUEUED SlurmPending"}));
  EXPECT_EQ(LastMessage(a), "Slurm job pending (Resources)");
  slurm_.SetState(World(a), Pending("Priority"));
  manager_->Step();
  EXPECT_EQ(LastMessage(a), "Slurm job pending (Priority)");

  clock_.Advance(milliseconds(5000));
  slurm_.SetState(World(a), Allocated("h[1-2]"));
  manager_->Step();
  EXPECT_EQ(TimestampToMillis(Rec(a).job.status().start_time()), clock_.NowMillis());
  EXPECT_EQ(History(a),
            (std::vector<std::string>{"QUEUED Submitted", "QUEUED SlurmPending", "QUEUED SlurmPending",
                                      "ADMITTED GangAdmitted", "STARTING WorldAllocated"}));
  EXPECT_EQ(Rec(a).job.status().history(3).message(), "Slurm job running on h[1-2]");
  EXPECT_FALSE(Report(a, 1, v1::WORKER_PHASE_STARTED));
  EXPECT_EQ(State(a), v1::JOB_STATE_RUNNING);

  // Rank 0 may report before the allocation was observed: admitted first.
  EXPECT_FALSE(Report(b, 1, v1::WORKER_PHASE_STARTED));
  EXPECT_EQ(History(b), (std::vector<std::string>{"QUEUED Submitted", "ADMITTED GangAdmitted",
                                                  "STARTING WorldAllocated", "RUNNING WorkerStarted"}));
  slurm_.SetState(World(b), Allocated("h3"));
  manager_->Step();
  EXPECT_EQ(History(b).size(), 4u) << "an allocation seen after rank 0 started records nothing";

  slurm_.Exit(World(a), {0, 0});
  manager_->Step();
  EXPECT_EQ(State(a), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(slurm_.launches().size(), 2u);
}

TEST_F(AdmittingLauncherTest, CancelOfAPendingWorldStopsIt) {
  const std::string id = Submit("pending");
  manager_->Step();
  slurm_.SetState(World(id), Pending("Resources"));
  manager_->Step();
  const WorldHandle world = World(id);
  ASSERT_TRUE(manager_->RequestCancel(id, "").ok());
  manager_->Step();  // TERM = scancel; the world ends
  ASSERT_EQ(slurm_.stops().size(), 1u);
  EXPECT_EQ(slurm_.stops()[0].world, world);
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(History(id).back(), "CANCELLED UserCancelled");
}

// Admission is the launcher's allocation, so time pending there does not
// count toward run_policy.active_deadline.
TEST_F(AdmittingLauncherTest, TheDeadlineCountsFromTheAllocation) {
  const std::string id = Submit("deadline", {.deadline_s = 10});
  manager_->Step();
  slurm_.SetState(World(id), Pending("Resources"));
  clock_.Advance(milliseconds(60000));
  manager_->Step();
  EXPECT_TRUE(slurm_.stops().empty());
  slurm_.SetState(World(id), Allocated("h1"));
  manager_->Step();
  clock_.Advance(milliseconds(9999));
  manager_->Step();
  EXPECT_TRUE(slurm_.stops().empty());
  clock_.Advance(milliseconds(1));
  manager_->Step();
  ASSERT_EQ(slurm_.stops().size(), 1u);
  manager_->Step();
  EXPECT_EQ(History(id).back(), "FAILED DeadlineExceeded");
}

// The start timeout is the coordinator's own mpirun's: a world in a
// launcher's queue may wait there for hours.
TEST_F(AdmittingLauncherTest, APendingWorldHasNoStartTimeout) {
  const std::string id = Submit("queued");
  manager_->Step();
  slurm_.SetState(World(id), Pending("Resources"));
  clock_.Advance(seconds(3600));
  manager_->Step();
  EXPECT_TRUE(slurm_.stops().empty());
  EXPECT_EQ(State(id), v1::JOB_STATE_QUEUED);
}

// A restart's world waits in the launcher's queue too: the job stays
// RESTARTING, the transitions say where its world is.
TEST_F(AdmittingLauncherTest, ARestartWaitsAsRestarting) {
  const std::string id = Submit("flaky");
  manager_->Step();
  EXPECT_FALSE(Report(id, 1, v1::WORKER_PHASE_STARTED));
  slurm_.Exit(World(id), {1, 0});
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_RESTARTING);
  clock_.Advance(milliseconds(1000));
  manager_->Step();
  ASSERT_EQ(slurm_.launches().size(), 2u);
  EXPECT_EQ(slurm_.launches()[1].attempt, 2);
  slurm_.SetState(World(id), Pending("Resources"));
  manager_->Step();
  slurm_.SetState(World(id), Allocated("h2"));
  manager_->Step();
  EXPECT_FALSE(Report(id, 2, v1::WORKER_PHASE_STARTED));
  const std::vector<std::string> h = History(id);
  ASSERT_GE(h.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(h.end() - 4, h.end()),
            (std::vector<std::string>{"RESTARTING RankExited", "RESTARTING SlurmPending",
                                      "RESTARTING SlurmRunning", "RUNNING WorkerStarted"}));
}

// A pending reason that keeps changing records a bounded number of
// transitions per attempt.
TEST_F(AdmittingLauncherTest, ObservationsOfOneAttemptAreBounded) {
  const std::string id = Submit("flapping");
  manager_->Step();
  for (int i = 0; i < 40; ++i) {
    slurm_.SetState(World(id), Pending(i % 2 ? "Priority" : "Resources"));
    manager_->Step();
  }
  EXPECT_EQ(History(id).size(), 1u + 16u);
}

// A coordinator restart while the world is still pending in the launcher:
// the world is recovered (adopted), not submitted again.
TEST_F(AdmittingLauncherTest, RecoveryAdoptsAPendingWorld) {
  const std::string id = Submit("pending");
  manager_->Step();
  slurm_.SetState(World(id), Pending("Resources"));
  manager_->Step();
  manager_.reset();

  FakeLauncher fresh(/*admits_gangs=*/true);
  fresh.set_recovery(Recovery::kAdopted);
  manager_ = MakeManager(&fresh, 2);
  ASSERT_TRUE(manager_->Recover().ok());
  EXPECT_EQ(fresh.recovered(), (std::vector<WorldHandle>{WorldHandle::FromText("fake:1")}));
  EXPECT_EQ(State(id), v1::JOB_STATE_QUEUED);
  manager_->Step();
  EXPECT_TRUE(fresh.launches().empty()) << "submitted again";
  fresh.SetState(WorldHandle::FromText("fake:1"), Allocated("h1"));
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_STARTING);
  EXPECT_EQ(Rec(id).attempt, 1);
}

// When the launcher cannot adopt it, the job is queued again (it never ran).
TEST_F(AdmittingLauncherTest, APendingWorldThatCannotBeAdoptedIsQueuedAgain) {
  const std::string id = Submit("pending");
  manager_->Step();
  manager_.reset();
  FakeLauncher fresh(/*admits_gangs=*/true);  // recovery kGone
  manager_ = MakeManager(&fresh, 2);
  ASSERT_TRUE(manager_->Recover().ok());
  EXPECT_EQ(fresh.orphans_stopped(), (std::vector<WorldHandle>{WorldHandle::FromText("fake:1")}));
  EXPECT_EQ(History(id).back(), "QUEUED CoordinatorRestarted");
  EXPECT_EQ(Rec(id).world, "");
  EXPECT_EQ(Rec(id).job.status().restarts(), 0);
  manager_->Step();
  ASSERT_EQ(fresh.launches().size(), 1u);
  EXPECT_EQ(fresh.launches()[0].attempt, 2);  // attempt numbers are never reused
}

// ----------------------------------------------------------------- hosts

// A pool of `hosts` hosts of one CPU slot each, reached through a fake rsh
// probe: a 2-rank job takes two of them.
class JobManagerHostsTest : public JobManagerTest {
 protected:
  // The manager (the base's member) uses prober_ (ours, destroyed first).
  ~JobManagerHostsTest() override { manager_.reset(); }

  void UseHosts(int hosts, std::vector<int> cpus = {}) {
    PoolConfig pool;
    pool.name = "rack";
    pool.launcher = LauncherKind::kHosts;
    pool.worker_metrics_port_first = 9400;
    pool.worker_metrics_port_last = 9401;
    pool.probe_backoff_s = 5;
    pool.probe_backoff_max_s = 60;
    for (int i = 1; i <= hosts; ++i) {
      HostConfig h;
      h.name = "h" + std::to_string(i);
      h.address = "198.18.0." + std::to_string(10 + i);
      h.cpu_slots = 1;
      h.cpus = cpus;
      pool.hosts.push_back(h);
    }
    JobManagerOptions o;
    o.pools = {pool};
    o.prober = &prober_;
    o.artifact_root =
        testing::TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    o.worker_targets_file = o.artifact_root + "/targets.json";
    o.coordinator_address = "198.18.0.1:50051";
    o.grace_ms = 10000;
    o.backoff_base_ms = 1000;
    o.backoff_max_ms = 60000;
    o.inline_launches = true;
    manager_ = std::make_unique<JobManager>(o, &store_, &launcher_, &clock_);
  }
  std::vector<std::string> LaunchedHosts(size_t launch) {
    std::vector<std::string> out;
    const std::vector<LaunchRequest> launches = launcher_.launches();
    for (const RankHost& r : launches.at(launch).ranks) out.push_back(r.host);
    return out;
  }
  v1::Node Node(const std::string& name) {
    for (const v1::Node& n : manager_->ListNodes())
      if (n.name() == name) return n;
    ADD_FAILURE() << "no node " << name;
    return v1::Node();
  }

  FakeHostProber prober_;
};

TEST_F(JobManagerHostsTest, APlacementReachesTheLauncherAndTheTargets) {
  UseHosts(3);
  const std::string id = Submit("two-hosts");
  manager_->Step();
  ASSERT_EQ(launcher_.launches().size(), 1u);
  const LaunchRequest req = launcher_.launches()[0];
  EXPECT_EQ(req.pool, "rack");
  EXPECT_TRUE(req.pin_cpus);
  ASSERT_EQ(req.ranks.size(), 2u);
  EXPECT_EQ(LaunchedHosts(0), (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(req.ranks[1].address, "198.18.0.12");
  EXPECT_EQ(req.ranks[1].cpus, std::vector<int>{0});
  EXPECT_EQ(req.ranks[0].metrics_port, 9400);
  EXPECT_EQ(req.ranks[1].metrics_port, 9400) << "ports are per host";
  std::vector<std::string> probed = prober_.probed();
  std::sort(probed.begin(), probed.end());  // concurrently
  EXPECT_EQ(probed, (std::vector<std::string>{"h1", "h2"})) << "probed before the launch";
  EXPECT_EQ(Rec(id).job.status().history(1).message(), "2 CPU slots reserved on h1 (rank 0), h2 (rank 1)");
  // The live endpoints, in memory and in the file_sd file.
  const std::string json = manager_->WorkerTargetsJson();
  EXPECT_EQ(json, "[{\"targets\":[\"198.18.0.11:9400\"],\"labels\":{\"flyp_job\":\"" + id +
                      "\",\"rank\":\"0\",\"host\":\"h1\",\"pool\":\"rack\",\"attempt\":\"1\"}},"
                      "{\"targets\":[\"198.18.0.12:9400\"],\"labels\":{\"flyp_job\":\"" +
                      id + "\",\"rank\":\"1\",\"host\":\"h2\",\"pool\":\"rack\",\"attempt\":\"1\"}}]\n");
  EXPECT_EQ(testing::ReadFileOrDie(manager_->options().worker_targets_file), json);
  EXPECT_EQ(Node("h1").cpu_slots_used(), 1);
  EXPECT_EQ(Node("h1").jobs(0), id);
  EXPECT_EQ(Node("h3").cpu_slots_used(), 0);
  launcher_.Exit(World(id), {0, 0});
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(testing::ReadFileOrDie(manager_->options().worker_targets_file), "[]\n");
  EXPECT_EQ(Node("h1").cpu_slots_used(), 0);
}

// The failed world's hosts are probed; the one that does not answer is
// marked down with the reason, and the restart runs on the third host.
TEST_F(JobManagerHostsTest, ALostHostIsMarkedDownAndTheRestartMovesToASpareHost) {
  UseHosts(3);
  const std::string id = Submit("lose-h2");
  manager_->Step();
  EXPECT_FALSE(Report(id, 1, v1::WORKER_PHASE_STARTED));
  prober_.SetReachable("h2", false);
  launcher_.Exit(World(id), {kWorkerExitCollectiveTimeout, 0});
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_RESTARTING);
  const v1::Node h2 = Node("h2");
  EXPECT_EQ(h2.state(), v1::NODE_STATE_DOWN);
  EXPECT_NE(h2.reason().find("no route to host"), std::string::npos) << h2.reason();
  EXPECT_NE(h2.reason().find("found after " + id + " attempt 1 failed (world exited: exit code 75)"),
            std::string::npos)
      << h2.reason();
  EXPECT_EQ(Node("h1").state(), v1::NODE_STATE_UP);
  clock_.Advance(milliseconds(1000));
  manager_->Step();  // the restart finds h2 down: hosts back, queued, placed on h1 + h3
  ASSERT_EQ(launcher_.launches().size(), 2u);
  EXPECT_EQ(LaunchedHosts(1), (std::vector<std::string>{"h1", "h3"}));
  EXPECT_EQ(launcher_.launches()[1].attempt, 2);
  const auto history = History(id);
  EXPECT_EQ(std::vector<std::string>(history.end() - 3, history.end()),
            (std::vector<std::string>{"RESTARTING RankExited", "RESTARTING WaitingForHosts",
                                      "RESTARTING Replaced"}));
  EXPECT_EQ(LastMessage(id), "2 CPU slots reserved on h1 (rank 0), h3 (rank 1)");
  EXPECT_FALSE(Report(id, 2, v1::WORKER_PHASE_STARTED));
  EXPECT_EQ(State(id), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(Rec(id).job.status().restarts(), 1) << "counted toward backoff_limit once";
}

// No spare host: the job waits (RESTARTING) and resumes once the lost host
// answers a re-probe again.
TEST_F(JobManagerHostsTest, WithoutASpareHostTheJobWaitsUntilTheHostIsBack) {
  UseHosts(2);
  const std::string id = Submit("wait-for-h2");
  manager_->Step();
  prober_.SetReachable("h2", false);
  launcher_.Exit(World(id), {1, 0});
  manager_->Step();
  clock_.Advance(milliseconds(1000));
  manager_->Step();
  EXPECT_EQ(State(id), v1::JOB_STATE_RESTARTING);
  EXPECT_EQ(History(id).back(), "RESTARTING WaitingForHosts");
  EXPECT_NE(LastMessage(id).find("h2 is down: "), std::string::npos) << LastMessage(id);
  EXPECT_EQ(launcher_.launches().size(), 1u);
  // Re-probed 5 s after it went down: still gone; then 10 s later it answers.
  clock_.Advance(milliseconds(4000));
  manager_->Step();
  EXPECT_EQ(Node("h2").state(), v1::NODE_STATE_DOWN);
  EXPECT_EQ(launcher_.launches().size(), 1u);
  prober_.SetReachable("h2", true);
  clock_.Advance(milliseconds(9999));
  manager_->Step();
  EXPECT_EQ(Node("h2").state(), v1::NODE_STATE_DOWN) << "not yet due";
  clock_.Advance(milliseconds(1));
  manager_->Step();  // the re-probe answers: h2 up
  EXPECT_EQ(Node("h2").state(), v1::NODE_STATE_UP);
  manager_->Step();  // and the waiting gang fits again
  ASSERT_EQ(launcher_.launches().size(), 2u);
  EXPECT_EQ(LaunchedHosts(1), (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(History(id).back(), "RESTARTING Replaced");
}

// A host that does not answer the probe before a launch is marked down and
// the job goes back to the queue instead of failing.
TEST_F(JobManagerHostsTest, AHostThatFailsThePreLaunchProbeSendsTheJobBackToTheQueue) {
  UseHosts(3);
  prober_.SetReachable("h1", false);
  const std::string id = Submit("probe-first");
  manager_->Step();  // placed on h1 + h2; h1 does not answer
  EXPECT_TRUE(launcher_.launches().empty());
  EXPECT_EQ(History(id), (std::vector<std::string>{"QUEUED Submitted", "ADMITTED GangAdmitted",
                                                   "STARTING Launching", "QUEUED HostUnavailable"}));
  EXPECT_NE(LastMessage(id).find("h1: probe of h1 (198.18.0.11) failed"), std::string::npos)
      << LastMessage(id);
  EXPECT_EQ(Node("h1").state(), v1::NODE_STATE_DOWN);
  manager_->Step();
  ASSERT_EQ(launcher_.launches().size(), 1u);
  EXPECT_EQ(LaunchedHosts(0), (std::vector<std::string>{"h2", "h3"}));
  EXPECT_EQ(launcher_.launches()[0].attempt, 2) << "attempt numbers are never reused";
  EXPECT_EQ(State(id), v1::JOB_STATE_STARTING);
}

// A rank's collective timeout report starts the grace period; a world that
// has not ended by then is killed, and the job restarts (CollectiveTimeout).
TEST_F(JobManagerHostsTest, ACollectiveTimeoutReportKillsAHungWorldAfterTheGracePeriod) {
  UseHosts(2);
  launcher_.set_exit_on_term(false);
  const std::string id = Submit("hung");
  manager_->Step();
  EXPECT_FALSE(Report(id, 1, v1::WORKER_PHASE_STARTED));
  v1::ReportStateRequest req;
  req.set_job_id(id);
  req.set_attempt(1);
  req.set_phase(v1::WORKER_PHASE_FAILED);
  req.set_message("flyp: collective timeout: rank 0 of 2 (mpi) made no progress in all_reduce");
  req.set_collective_timeout(true);
  req.set_rank(0);
  bool stop = true;
  ASSERT_TRUE(manager_->ReportState(req, Rec(id).worker_token, &stop).ok());
  EXPECT_FALSE(stop);
  clock_.Advance(milliseconds(9999));
  manager_->Step();
  EXPECT_TRUE(launcher_.stops().empty()) << "MPI_Abort gets the grace period";
  clock_.Advance(milliseconds(1));
  manager_->Step();
  ASSERT_EQ(launcher_.stops().size(), 1u);
  EXPECT_TRUE(launcher_.stops()[0].force);
  manager_->Step();  // the killed world's exit
  EXPECT_EQ(State(id), v1::JOB_STATE_RESTARTING);
  EXPECT_EQ(History(id).back(), "RESTARTING CollectiveTimeout");
  EXPECT_NE(LastMessage(id).find("worker said: flyp: collective timeout: rank 0 of 2"), std::string::npos)
      << LastMessage(id);
}

// A host's `cpus` say which CPUs its slots are: the launcher pins to those.
TEST_F(JobManagerHostsTest, SlotsBecomeTheHostsDeclaredCpus) {
  UseHosts(2, {5});
  Submit("pinned");
  manager_->Step();
  ASSERT_EQ(launcher_.launches().size(), 1u);
  const std::vector<LaunchRequest> launches = launcher_.launches();  // a copy: keep it alive
  for (const RankHost& r : launches[0].ranks) EXPECT_EQ(r.cpus, std::vector<int>{5}) << r.host;
}

TEST_F(JobManagerHostsTest, UnknownPoolsAndGangsThatCanNeverFitAreRefusedAtSubmit) {
  UseHosts(2);
  v1::JobSpec spec;
  spec.set_name("too-big");
  spec.mutable_resources()->set_world_size(2);
  spec.mutable_resources()->set_slots_per_rank(1);
  spec.mutable_resources()->set_ranks_per_host(2);
  auto r = manager_->Submit(spec, "name: too-big\n", "alice", "");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      r.status().message(),
      "resources.ranks_per_host 2 x resources.slots_per_rank 1 needs 1 host with 2 CPU slots each, but pool "
      "'rack' has 0");
  spec.mutable_resources()->set_ranks_per_host(0);
  spec.mutable_resources()->set_pool("gpu");
  r = manager_->Submit(spec, "name: too-big\n", "alice", "");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "resources.pool: no pool 'gpu' (pools: rack)");
}

}  // namespace
}  // namespace flyp::coord
