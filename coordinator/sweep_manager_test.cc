// Sweeps step by step in virtual time: a FakeClock, a FakeLauncher whose
// worlds end when the test says so, the in-memory job and sweep stores, a
// JobManager and the SweepManager both driven by the test's Step() calls.
// The "workers" are the test: it reports as rank 0 does (STARTED,
// evaluations at epoch ends, COMPLETED) and writes each trial's report.json
// in the worker's format.
#include "coordinator/sweep_manager.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/spec/job_spec.h"
#include "coordinator/launcher/fake_launcher.h"
#include "coordinator/proto_time.h"
#include "coordinator/store/memory_job_store.h"
#include "coordinator/store/memory_sweep_store.h"
#include "tests/testing/test_env.h"
#include "worker/report/report.h"

namespace flyp::coord {
namespace {

using report::SplitEval;

SplitEval E(const char* split, bool ood, double accuracy) {
  SplitEval e;
  e.split = split;
  e.is_ood = ood;
  e.accuracy = accuracy;
  return e;
}

const char kBase[] = R"(name: sw
base:
  model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}
  method: {name: ft}
  data:
    train: {format: fashion_mnist}
    id_val: {format: fashion_mnist, split: train, offset: 50000, limit: 100}
  schedule: {epochs: 4, batch_size: 8}
  resources: {world_size: 1}
)";

class SweepManagerTest : public ::testing::Test {
 protected:
  SweepManagerTest() {
    root_ = testing::TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    JobManagerOptions jo;
    jo.capacity = {8, 0};
    jo.artifact_root = root_ + "/jobs";
    jo.coordinator_address = "127.0.0.1:50051";
    jo.inline_launches = true;
    jobs_ = std::make_unique<JobManager>(jo, &job_store_, &launcher_, &clock_);
    sweeps_ = MakeSweeps();
  }

  std::unique_ptr<SweepManager> MakeSweeps() {
    SweepManagerOptions so;
    so.artifact_root = root_ + "/sweeps";
    so.metrics = &metrics_;
    return std::make_unique<SweepManager>(so, &sweep_store_, jobs_.get(), &clock_);
  }

  std::string SubmitSweep(const std::string& rest, const std::string& owner = "alice",
                          const std::string& key = "") {
    SweepLoad load = LoadSweepSpecYaml(std::string(kBase) + rest);
    EXPECT_TRUE(load.ok()) << load.ErrorText();
    auto s = sweeps_->Submit(load, owner, key);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->id() : "";
  }

  // A pass of both managers: worlds that ended are recorded, the sweeps see
  // it and submit more trials, whose jobs are admitted and launched.
  void Tick() {
    sweeps_->Step();
    jobs_->Step();
    sweeps_->Step();
    jobs_->Step();
  }

  v1::Sweep Sweep(const std::string& id) {
    auto rec = sweep_store_.GetSweep(id);
    EXPECT_TRUE(rec.ok()) << rec.status();
    return rec.ok() ? rec->sweep : v1::Sweep();
  }
  JobRecord Job(const std::string& id) {
    auto rec = job_store_.GetJob(id);
    EXPECT_TRUE(rec.ok()) << rec.status();
    return rec.ok() ? *rec : JobRecord();
  }
  std::vector<v1::TrialState> States(const std::string& sweep) {
    std::vector<v1::TrialState> out;
    const v1::Sweep s = Sweep(sweep);
    for (const auto& t : s.trials()) out.push_back(t.state());
    return out;
  }
  std::vector<JobRecord> SweepJobs(const std::string& sweep) {
    ListQuery q;
    q.sweep_id = sweep;
    q.limit = 1000;
    auto jobs = job_store_.ListJobs(q);
    EXPECT_TRUE(jobs.ok());
    return jobs.ok() ? *jobs : std::vector<JobRecord>();
  }
  std::string TrialJob(const std::string& sweep, int i) { return Sweep(sweep).trials(i).job_id(); }

  // Rank 0 of the trial's job: STARTED.
  void Start(const std::string& job) { Report(job, v1::WORKER_PHASE_STARTED); }
  // The evaluation at the end of `epoch`.
  void Eval(const std::string& job, int epoch, double id_val) {
    v1::ReportProgressRequest req;
    req.set_job_id(job);
    req.set_attempt(Job(job).attempt);
    req.mutable_progress()->set_epoch(epoch);
    (*req.mutable_progress()->mutable_eval_accuracy())["id_val"] = id_val;
    bool stop = false;
    ASSERT_TRUE(jobs_->ReportProgress(req, Job(job).worker_token, &stop).ok());
  }
  // report.json (finetuned id_val, id_test, one OOD split; a WiSE-FT sweep),
  // COMPLETED, exit 0.
  void Complete(const std::string& job, double id_val, bool write_report = true) {
    if (write_report) {
      report::RunReport r;
      r.job = Job(job).job.spec().name();
      r.method = "ft";
      r.zeroshot = {E("id_val", false, 0.5), E("id_test", false, 0.5), E("rotated", true, 0.3)};
      r.finetuned = {E("id_val", false, id_val), E("id_test", false, id_val - 0.01), E("rotated", true, 0.2)};
      r.wise_ft = {{0, r.zeroshot}, {1, r.finetuned}};
      ASSERT_TRUE(report::SelectWiseFtAlpha(&r).ok());
      ASSERT_TRUE(report::WriteReport(r, Job(job).job.artifact_dir()).ok());
    }
    Report(job, v1::WORKER_PHASE_COMPLETED);
    launcher_.Exit(WorldHandle::FromText(Job(job).world), {0, 0});
  }
  void Report(const std::string& job, v1::WorkerPhase phase) {
    v1::ReportStateRequest req;
    req.set_job_id(job);
    req.set_attempt(Job(job).attempt);
    req.set_phase(phase);
    bool stop = false;
    ASSERT_TRUE(jobs_->ReportState(req, Job(job).worker_token, &stop).ok());
  }
  double Gauge(const std::string& family, const std::string& state) {
    const std::string text = metrics_.Render();
    const std::string key = family + "{state=\"" + state + "\"} ";
    const size_t at = text.find(key);
    return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
  }

  std::string root_;
  FakeClock clock_;
  MemoryJobStore job_store_;
  MemorySweepStore sweep_store_;
  FakeLauncher launcher_;
  CoordinatorMetrics metrics_;
  std::unique_ptr<JobManager> jobs_;
  std::unique_ptr<SweepManager> sweeps_;
};

using S = v1::TrialState;
constexpr S kPending = v1::TRIAL_STATE_PENDING, kRunning = v1::TRIAL_STATE_RUNNING,
            kSucceeded = v1::TRIAL_STATE_SUCCEEDED, kFailed = v1::TRIAL_STATE_FAILED,
            kCancelled = v1::TRIAL_STATE_CANCELLED, kStopped = v1::TRIAL_STATE_EARLY_STOPPED;

TEST_F(SweepManagerTest, AGridRunsEveryTrialAsAJobAtMostMaxConcurrentAtATime) {
  const std::string id = SubmitSweep(R"(max_concurrent_trials: 2
search_space:
  optim.learning_rate: [1e-4, 1e-3]
  optim.weight_decay: [0, 0.1]
)");
  EXPECT_EQ(States(id), (std::vector<S>{kPending, kPending, kPending, kPending}));
  EXPECT_EQ(Gauge("flyp_sweeps", "running"), 1);
  EXPECT_EQ(Gauge("flyp_sweep_trials", "pending"), 4);
  Tick();
  EXPECT_EQ(States(id), (std::vector<S>{kRunning, kRunning, kPending, kPending}));
  ASSERT_EQ(SweepJobs(id).size(), 2u);
  const JobRecord j0 = Job(TrialJob(id, 0));
  EXPECT_EQ(j0.job.sweep_id(), id);
  EXPECT_EQ(j0.job.owner(), "alice");
  EXPECT_EQ(j0.job.spec().name(), "sw-t0");
  // The trial's key, scoped to its owner as every idempotency key is.
  EXPECT_EQ(j0.idempotency_key, "5:alice:" + id + "/t0");
  EXPECT_EQ(OwnerScopedKey("alice", id + "/t0"), j0.idempotency_key);
  EXPECT_EQ(OwnerScopedKey("alice", ""), "");
  EXPECT_DOUBLE_EQ(j0.job.spec().optim().learning_rate(), 1e-4);
  EXPECT_DOUBLE_EQ(Job(TrialJob(id, 1)).job.spec().optim().weight_decay(), 0.1);
  EXPECT_EQ(j0.job.status().state(), v1::JOB_STATE_STARTING);  // an ordinary job: admitted and launched
  EXPECT_EQ(Gauge("flyp_sweep_trials", "running"), 2);

  // Objectives: trial 3 (lr 1e-3, wd 0.1) is the best.
  const std::vector<double> objective = {0.60, 0.62, 0.58, 0.70};
  for (int round = 0; round < 2; ++round) {
    for (int i = 2 * round; i < 2 * round + 2; ++i) {
      Start(TrialJob(id, i));
      Complete(TrialJob(id, i), objective[i]);
    }
    Tick();
    if (round == 0) {
      EXPECT_EQ(States(id), (std::vector<S>{kSucceeded, kSucceeded, kRunning, kRunning}));
      EXPECT_EQ(SweepJobs(id).size(), 4u);
    }
  }
  const v1::Sweep done = Sweep(id);
  EXPECT_EQ(done.status().state(), v1::SWEEP_STATE_SUCCEEDED) << done.DebugString();
  EXPECT_EQ(done.status().history().rbegin()->reason(), "Completed");
  EXPECT_EQ(done.status().history().rbegin()->message(),
            "4 succeeded, 0 failed, 0 early-stopped, 0 cancelled");
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(done.trials(i).state(), kSucceeded);
    EXPECT_DOUBLE_EQ(done.trials(i).objective(), objective[i]);
    EXPECT_EQ(done.trials(i).reason(), "Completed");
  }
  // A trial's job is created only after another's end was recorded.
  EXPECT_GE(TimestampToMillis(Job(TrialJob(id, 2)).job.status().create_time()),
            TimestampToMillis(Job(TrialJob(id, 0)).job.status().end_time()));
  // The report, written before the sweep ended, chose trial 3.
  const std::string json = testing::ReadFileOrDie(done.artifact_dir() + "/report.json");
  EXPECT_NE(json.find("\"config\": \"optim.learning_rate=1e-3, optim.weight_decay=0.1\",\n"
                      "          \"trials\": [\n            3\n          ]"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"chosen\": true"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(done.artifact_dir() + "/report.md"));
  EXPECT_TRUE(std::filesystem::exists(done.artifact_dir() + "/report.svg"));
  EXPECT_EQ(Gauge("flyp_sweeps", "running"), 0);
  EXPECT_EQ(Gauge("flyp_sweeps", "succeeded"), 1);
  EXPECT_EQ(Gauge("flyp_sweep_trials", "succeeded"), 4);
  EXPECT_EQ(Gauge("flyp_sweep_trials", "pending"), 0);
}

TEST_F(SweepManagerTest, ConcurrencyIsCountedOverJobsThatHaveNotEnded) {
  const std::string id =
      SubmitSweep("max_concurrent_trials: 2\nsearch_space: {optim.learning_rate: [1, 2, 3, 4, 5]}\n");
  Tick();
  for (int step = 0; step < 20 && Sweep(id).status().state() == v1::SWEEP_STATE_RUNNING; ++step) {
    int running = 0;
    for (const JobRecord& j : SweepJobs(id)) running += !IsTerminal(j.job.status().state());
    EXPECT_LE(running, 2);
    // Finish the oldest running trial only.
    for (const JobRecord& j : SweepJobs(id)) {
      if (IsTerminal(j.job.status().state())) continue;
      Start(j.job.id());
      Complete(j.job.id(), 0.5);
      break;
    }
    clock_.Advance(std::chrono::seconds(1));
    Tick();
  }
  EXPECT_EQ(Sweep(id).status().state(), v1::SWEEP_STATE_SUCCEEDED);
  EXPECT_EQ(SweepJobs(id).size(), 5u);
}

TEST_F(SweepManagerTest, SuccessiveHalvingStopsTheWorstAtEachRungAndSaysWhy) {
  // Epochs 4, eta 2: rungs at epochs 1 and 2. One group; all four run at once.
  const std::string id = SubmitSweep(R"(max_concurrent_trials: 4
early_stopping: {method: successive_halving, reduction_factor: 2}
search_space: {optim.learning_rate: [1, 2, 3, 4]}
)");
  Tick();
  for (int i = 0; i < 4; ++i) Start(TrialJob(id, i));
  // Rung 0, in this order: 0.50 (1 recorded: continue), 0.40 (2nd of 2, keep
  // 1: stop), 0.70 (1st of 3, keep 2: continue), 0.45 (3rd of 4, keep 2: stop).
  Eval(TrialJob(id, 0), 1, 0.50);
  sweeps_->Step();
  Eval(TrialJob(id, 1), 1, 0.40);
  sweeps_->Step();
  Eval(TrialJob(id, 2), 1, 0.70);
  sweeps_->Step();
  Eval(TrialJob(id, 3), 1, 0.45);
  sweeps_->Step();
  EXPECT_EQ(States(id), (std::vector<S>{kRunning, kStopped, kRunning, kStopped}));
  const v1::Sweep mid = Sweep(id);
  EXPECT_EQ(mid.trials(1).reason(), "EarlyStopped");
  EXPECT_EQ(mid.trials(1).message(),
            "successive halving at rung 0 (epoch 1): id_val 40.0% ranks 2 of 2 in its group; only the best 1 "
            "continue (cutoff 50.0%)");
  EXPECT_EQ(mid.trials(3).message(),
            "successive halving at rung 0 (epoch 1): id_val 45.0% ranks 3 of 4 in its group; only the best 2 "
            "continue (cutoff 50.0%)");
  ASSERT_EQ(mid.trials(3).rungs_size(), 1);
  EXPECT_EQ(mid.trials(3).rungs(0).epoch(), 1);
  EXPECT_DOUBLE_EQ(mid.trials(3).rungs(0).value(), 0.45);
  // Their jobs are stopped like a cancel, with the reason.
  jobs_->Step();
  EXPECT_EQ(launcher_.stops().size(), 2u);
  jobs_->Step();
  for (int i : {1, 3}) {
    const JobRecord j = Job(TrialJob(id, i));
    EXPECT_EQ(j.job.status().state(), v1::JOB_STATE_CANCELLED);
    EXPECT_EQ(j.job.status().history().rbegin()->reason(), "EarlyStopped");
    EXPECT_EQ(j.job.status().history().rbegin()->message(), mid.trials(i).message());
  }
  // Rung 1 (epoch 2): 0.60 first (continue), then 0.65 (1st of 2: continue).
  Eval(TrialJob(id, 0), 2, 0.60);
  sweeps_->Step();
  Eval(TrialJob(id, 2), 2, 0.65);
  sweeps_->Step();
  // Epoch 3 is no rung.
  Eval(TrialJob(id, 0), 3, 0.1);
  sweeps_->Step();
  EXPECT_EQ(States(id), (std::vector<S>{kRunning, kStopped, kRunning, kStopped}));
  Complete(TrialJob(id, 0), 0.61);
  Complete(TrialJob(id, 2), 0.66);
  Tick();
  const v1::Sweep done = Sweep(id);
  EXPECT_EQ(done.status().state(), v1::SWEEP_STATE_SUCCEEDED);
  EXPECT_EQ(done.status().history().rbegin()->message(),
            "2 succeeded, 0 failed, 2 early-stopped, 0 cancelled");
  EXPECT_EQ(Gauge("flyp_sweep_trials", "early_stopped"), 2);
  EXPECT_EQ(done.trials(0).rungs_size(), 2);
  // The report chooses among the finished trials only.
  const std::string md = testing::ReadFileOrDie(done.artifact_dir() + "/report.md");
  EXPECT_NE(md.find("| optim.learning_rate=3 | 1/1 | 66.0 | chosen |"), std::string::npos) << md;
  EXPECT_NE(md.find("| optim.learning_rate=2 | 0/1 | - |  |"), std::string::npos) << md;
}

TEST_F(SweepManagerTest, RungsAreComparedWithinAGroupOnly) {
  const std::string id = SubmitSweep(R"(max_concurrent_trials: 4
group_by: [method.name]
early_stopping: {method: successive_halving, reduction_factor: 2}
search_space:
  method.name: [ft, l2sp]
  optim.learning_rate: [1, 2]
)");
  Tick();
  for (int i = 0; i < 4; ++i) Start(TrialJob(id, i));
  // l2sp trials (2, 3) are far below ft's, but each group judges its own.
  Eval(TrialJob(id, 0), 1, 0.9);
  Eval(TrialJob(id, 2), 1, 0.2);
  sweeps_->Step();
  Eval(TrialJob(id, 1), 1, 0.8);
  Eval(TrialJob(id, 3), 1, 0.3);
  sweeps_->Step();
  EXPECT_EQ(States(id), (std::vector<S>{kRunning, kStopped, kRunning, kRunning}));
  EXPECT_NE(Sweep(id).trials(1).message().find("(method.name=ft)"), std::string::npos);
}

TEST_F(SweepManagerTest, CancellingStopsRunningTrialsAndStartsNoOther) {
  const std::string id =
      SubmitSweep("max_concurrent_trials: 2\nsearch_space: {optim.learning_rate: [1, 2, 3, 4]}\n");
  Tick();
  Start(TrialJob(id, 0));
  ASSERT_TRUE(sweeps_->RequestCancel(id, "enough").ok());
  // Recorded before anything is stopped.
  v1::Sweep asked = Sweep(id);
  EXPECT_TRUE(asked.status().cancel_requested());
  EXPECT_EQ(asked.status().history().rbegin()->reason(), "CancelRequested");
  sweeps_->Step();
  EXPECT_EQ(States(id), (std::vector<S>{kRunning, kRunning, kCancelled, kCancelled}));
  jobs_->Step();  // TERM to both worlds; the fake worlds end on TERM
  jobs_->Step();
  sweeps_->Step();
  const v1::Sweep done = Sweep(id);
  EXPECT_EQ(States(id), (std::vector<S>{kCancelled, kCancelled, kCancelled, kCancelled}));
  EXPECT_EQ(done.trials(0).reason(), "SweepCancelled");
  EXPECT_EQ(done.status().state(), v1::SWEEP_STATE_CANCELLED);
  EXPECT_EQ(done.status().history().rbegin()->reason(), "UserCancelled");
  EXPECT_EQ(done.status().history().rbegin()->message(),
            "enough (0 succeeded, 0 failed, 0 early-stopped, 4 cancelled)");
  EXPECT_EQ(SweepJobs(id).size(), 2u) << "the pending trials never got jobs";
  for (const JobRecord& j : SweepJobs(id)) {
    EXPECT_EQ(j.job.status().state(), v1::JOB_STATE_CANCELLED);
    EXPECT_EQ(j.job.status().history().rbegin()->reason(), "SweepCancelled");
  }
  EXPECT_TRUE(launcher_.live().empty());
  EXPECT_EQ(sweeps_->RequestCancel(id, "again").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sweeps_->RequestCancel("sweep-000404", "").code(), StatusCode::kNotFound);
}

TEST_F(SweepManagerTest, FailedTrialsAndUnreadableReportsAreRecorded) {
  const std::string id =
      SubmitSweep("max_concurrent_trials: 3\nsearch_space: {optim.learning_rate: [1, 2, 3]}\n");
  Tick();
  for (int i = 0; i < 3; ++i) Start(TrialJob(id, i));
  Complete(TrialJob(id, 0), 0, /*write_report=*/false);
  {
    v1::ReportStateRequest req;
    req.set_job_id(TrialJob(id, 1));
    req.set_attempt(1);
    req.set_phase(v1::WORKER_PHASE_FAILED);
    req.set_message("bad data");
    req.set_permanent(true);
    bool stop = false;
    ASSERT_TRUE(jobs_->ReportState(req, Job(TrialJob(id, 1)).worker_token, &stop).ok());
    launcher_.Exit(WorldHandle::FromText(Job(TrialJob(id, 1)).world), {4, 0});
  }
  Complete(TrialJob(id, 2), 0.5);
  Tick();
  const v1::Sweep done = Sweep(id);
  EXPECT_EQ(States(id), (std::vector<S>{kFailed, kFailed, kSucceeded}));
  EXPECT_EQ(done.trials(0).reason(), "ReportUnreadable");
  EXPECT_NE(done.trials(0).message().find("report.json"), std::string::npos) << done.trials(0).message();
  EXPECT_EQ(done.trials(1).reason(), "JobFailed");
  EXPECT_NE(done.trials(1).message().find("PermanentFailure"), std::string::npos) << done.trials(1).message();
  EXPECT_EQ(done.status().state(), v1::SWEEP_STATE_SUCCEEDED);

  // Nothing succeeds: the sweep fails.
  const std::string none = SubmitSweep("search_space: {optim.learning_rate: [1]}\n");
  Tick();
  Start(TrialJob(none, 0));
  Complete(TrialJob(none, 0), 0, /*write_report=*/false);
  Tick();
  EXPECT_EQ(Sweep(none).status().state(), v1::SWEEP_STATE_FAILED);
  EXPECT_EQ(Sweep(none).status().history().rbegin()->reason(), "NoTrialSucceeded");
}

TEST_F(SweepManagerTest, ARestartedManagerLosesAndDuplicatesNoTrial) {
  const std::string id =
      SubmitSweep("max_concurrent_trials: 2\nsearch_space: {optim.learning_rate: [1, 2, 3, 4]}\n");
  Tick();
  const std::string j0 = TrialJob(id, 0), j1 = TrialJob(id, 1);
  // The manager dies; a new one takes over from the stores.
  sweeps_.reset();
  sweeps_ = MakeSweeps();
  ASSERT_TRUE(sweeps_->Recover().ok());
  Tick();
  EXPECT_EQ(SweepJobs(id).size(), 2u);
  EXPECT_EQ(TrialJob(id, 0), j0);

  // A crash between "trial 2 STARTING" and its job: the job was created
  // (with the trial's key) but the trial never learned its id.
  Start(j0);
  Complete(j0, 0.5);
  jobs_->Step();
  TrialUpdate starting;
  starting.state = v1::TRIAL_STATE_STARTING;
  ASSERT_TRUE(sweep_store_.UpdateTrial(id, 2, starting).ok());
  auto spec = sweep_store_.GetTrialSpec(id, 2);
  ASSERT_TRUE(spec.ok());
  auto orphan = jobs_->Submit(*spec, JobSpecToYaml(*spec), "alice", TrialJobKey(id, 2), id);
  ASSERT_TRUE(orphan.ok());
  // ... and one between "trial 3 STARTING" and the submission.
  ASSERT_TRUE(sweep_store_.UpdateTrial(id, 3, starting).ok());
  sweeps_.reset();
  sweeps_ = MakeSweeps();
  ASSERT_TRUE(sweeps_->Recover().ok());
  Tick();
  const v1::Sweep now = Sweep(id);
  EXPECT_EQ(now.trials(2).job_id(), orphan->id()) << "the existing job is found by its key";
  EXPECT_EQ(now.trials(2).state(), kRunning);
  EXPECT_EQ(now.trials(3).state(), kRunning);
  ASSERT_EQ(SweepJobs(id).size(), 4u);
  std::set<std::string> names;
  for (const JobRecord& j : SweepJobs(id)) names.insert(j.job.spec().name());
  EXPECT_EQ(names, (std::set<std::string>{"sw-t0", "sw-t1", "sw-t2", "sw-t3"}));
  for (int i = 1; i < 4; ++i) {
    Start(TrialJob(id, i));
    Complete(TrialJob(id, i), 0.5);
  }
  Tick();
  EXPECT_EQ(Sweep(id).status().state(), v1::SWEEP_STATE_SUCCEEDED);
  EXPECT_EQ(SweepJobs(id).size(), 4u);
}

TEST_F(SweepManagerTest, ACancelRecordedBeforeACrashIsCarriedOut) {
  const std::string id = SubmitSweep("search_space: {optim.learning_rate: [1, 2]}\n");
  Tick();
  ASSERT_TRUE(sweeps_->RequestCancel(id, "stop it").ok());
  sweeps_.reset();  // before any Step acted on it
  sweeps_ = MakeSweeps();
  ASSERT_TRUE(sweeps_->Recover().ok());
  Tick();
  jobs_->Step();
  jobs_->Step();
  sweeps_->Step();
  const v1::Sweep done = Sweep(id);
  EXPECT_EQ(done.status().state(), v1::SWEEP_STATE_CANCELLED);
  EXPECT_EQ(done.status().history().rbegin()->message(),
            "stop it (0 succeeded, 0 failed, 0 early-stopped, 2 cancelled)");
  EXPECT_EQ(SweepJobs(id).size(), 1u);
}

TEST_F(SweepManagerTest, IdempotencyKeysArePerOwner) {
  const std::string a = SubmitSweep("search_space: {optim.learning_rate: [1]}\n", "alice", "k");
  const std::string again = SubmitSweep("search_space: {optim.learning_rate: [1, 2]}\n", "alice", "k");
  const std::string bob = SubmitSweep("search_space: {optim.learning_rate: [1]}\n", "bob", "k");
  EXPECT_EQ(a, again);
  EXPECT_EQ(Sweep(again).trials_size(), 1);
  EXPECT_NE(a, bob);
  EXPECT_EQ(Sweep(bob).owner(), "bob");
}

}  // namespace
}  // namespace flyp::coord
