// Integration: sweeps run by a real coordinator process over real gRPC,
// real SQLite and real mpirun worlds. The grid case trains real tiny
// flyp-worker trials; the others use the fake worker's fake-eval mode
// (fake_worker.cc), whose id_val accuracy is optim.learning_rate + 0.01 *
// epoch, so the test knows which trial is better and when.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "common/numbers.h"
#include "tests/coordinator/harness.h"
#include "tests/testing/test_env.h"
#include "worker/report/report.h"

namespace flyp::testing {
namespace {

std::string CaseDir() {
  return TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

// The fake worker's trials: one rank each, `epochs` evaluations.
std::string FakeEvalSweep(const std::string& mode, int epochs, const std::string& rest) {
  std::ostringstream os;
  os << "name: " << mode << "\n"
     << "base:\n"
     << "  model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}\n"
     << "  data:\n"
     << "    train: {format: fashion_mnist}\n"
     << "    id_val: {format: fashion_mnist, split: train, offset: 50000}\n"
     << "  schedule: {epochs: " << epochs << ", batch_size: 4}\n"
     << "  resources: {world_size: 1}\n"
     << rest;
  return os.str();
}

v1::Sweep SubmitSweep(v1::SweepService::Stub* stub, const std::string& yaml) {
  v1::SubmitSweepRequest req;
  req.set_spec_yaml(yaml);
  v1::SubmitSweepResponse resp;
  grpc::Status s = stub->SubmitSweep(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.sweep();
}

v1::Sweep GetSweep(v1::SweepService::Stub* stub, const std::string& id) {
  v1::GetSweepRequest req;
  req.set_id(id);
  v1::Sweep sweep;
  grpc::Status s = stub->GetSweep(Ctx().get(), req, &sweep);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return sweep;
}

bool Ended(const v1::Sweep& s) {
  const auto st = s.status().state();
  return st == v1::SWEEP_STATE_SUCCEEDED || st == v1::SWEEP_STATE_FAILED || st == v1::SWEEP_STATE_CANCELLED;
}

// Polls until `done` holds for the sweep or `timeout_s` passed.
template <typename Pred>
v1::Sweep WaitForSweep(v1::SweepService::Stub* stub, const std::string& id, Pred done,
                       double timeout_s = 60) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  v1::Sweep sweep;
  while (std::chrono::steady_clock::now() < deadline) {
    sweep = GetSweep(stub, id);
    if (done(sweep)) return sweep;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "sweep " << id << " did not reach the expected condition:\n" << sweep.DebugString();
  return sweep;
}

v1::Sweep WaitForEnd(v1::SweepService::Stub* stub, const std::string& id, double timeout_s = 90) {
  return WaitForSweep(stub, id, Ended, timeout_s);
}

// Every job of the sweep, as ListJobs shows them.
std::vector<v1::Job> SweepJobs(v1::JobService::Stub* stub, const std::string& sweep_id) {
  v1::ListJobsRequest req;
  req.set_sweep_id(sweep_id);
  req.set_page_size(500);
  v1::ListJobsResponse resp;
  grpc::Status s = stub->ListJobs(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return {resp.jobs().begin(), resp.jobs().end()};
}

v1::Job GetJob(v1::JobService::Stub* stub, const std::string& id) {
  v1::GetJobRequest req;
  req.set_id(id);
  v1::Job job;
  grpc::Status s = stub->GetJob(Ctx().get(), req, &job);
  EXPECT_TRUE(s.ok()) << id << ": " << s.error_message();
  return job;
}

std::string Param(const v1::Trial& t, const std::string& path) {
  for (const auto& p : t.parameters()) {
    if (p.path() == path) return p.value();
  }
  ADD_FAILURE() << "trial " << t.index() << " has no parameter " << path;
  return "";
}

double ParamNumber(const v1::Trial& t, const std::string& path) {
  StatusOr<double> v = ParseDouble(Param(t, path), path);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *v : 0;
}

int64_t Millis(const google::protobuf::Timestamp& t) { return t.seconds() * 1000 + t.nanos() / 1000000; }

std::string ReportJson(v1::SweepService::Stub* stub, const std::string& id) {
  v1::GetSweepReportRequest req;
  req.set_id(id);
  req.set_format(v1::SWEEP_REPORT_FORMAT_JSON);
  v1::SweepReport report;
  grpc::Status s = stub->GetSweepReport(Ctx().get(), req, &report);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return report.content();
}

// The indexes of the trials of the chosen configuration of the report's
// only group.
std::vector<int> ChosenTrials(const std::string& report_json) {
  StatusOr<Json> root = ParseJson(report_json);
  EXPECT_TRUE(root.ok()) << root.status() << "\n" << report_json;
  std::vector<int> out;
  if (!root.ok()) return out;
  const Json* groups = root->Find("groups");
  EXPECT_TRUE(groups != nullptr && groups->size() == 1) << report_json;
  if (groups == nullptr || groups->size() != 1) return out;
  for (const Json& c : groups->as_array()[0].Find("configs")->as_array()) {
    if (!c.Find("chosen")->as_bool()) continue;
    for (const Json& t : c.Find("trials")->as_array()) out.push_back(static_cast<int>(t.as_int64()));
  }
  return out;
}

class FakeSweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoordinatorOptions o;
    o.dir = CaseDir();
    o.cpu_slots = 4;
    o.grace_s = 2;
    options_ = o;
    StartCoordinator();
  }
  void StartCoordinator() {
    coordinator_ = std::make_unique<CoordinatorProcess>(options_);
    coordinator_->Start();
    jobs_ = coordinator_->Client();
    sweeps_ = coordinator_->SweepClient();
  }

  CoordinatorOptions options_;
  std::unique_ptr<CoordinatorProcess> coordinator_;
  std::unique_ptr<v1::JobService::Stub> jobs_;
  std::unique_ptr<v1::SweepService::Stub> sweeps_;
};

// Real tiny flyp-worker trials from a checkpoint pretrained for 2 steps
// here (<dir>/data/base/final.safetensors, inside the data root).
class RealSweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = CaseDir();
    std::filesystem::create_directories(dir + "/data");
    std::ofstream(dir + "/pretrain.yaml")
        << "name: base\n"
        << "model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}}\n"
        << "method: {name: pretrain}\n"
        << "data: {train: {format: fashion_mnist, split: train, limit: 128}, templates: {builtin: simple}}\n"
        << "schedule: {epochs: 1, batch_size: 64, warmup_steps: 1}\n"
        << "resources: {world_size: 1, threads_per_rank: 1}\n"
        << "wise_ft: {enabled: false}\n"
        << "output: {dir: " << dir << "/data/base}\n";
    CommandResult pre = RunCommand("FLYP_THREADS=1 " FLYP_WORKER_BIN " --spec " + dir + "/pretrain.yaml");
    ASSERT_EQ(pre.code, 0) << pre.out;
    CoordinatorOptions o;
    o.dir = dir;
    o.cpu_slots = 2;
    o.extra_flags = {"--worker-binary=" FLYP_WORKER_BIN};
    o.env = {"FLYP_THREADS=1", "OMP_WAIT_POLICY=PASSIVE"};
    coordinator_ = std::make_unique<CoordinatorProcess>(o);
    coordinator_->Start();
    jobs_ = coordinator_->Client();
    sweeps_ = coordinator_->SweepClient();
  }

  std::unique_ptr<CoordinatorProcess> coordinator_;
  std::unique_ptr<v1::JobService::Stub> jobs_;
  std::unique_ptr<v1::SweepService::Stub> sweeps_;
};

// A 2x2 grid of real tiny finetuning runs picks, by ID validation
// accuracy, the configuration the trials' own report.json files say is best.
TEST_F(RealSweepTest, GridSweepOfRealTrialsPicksTheBestIdValTrial) {
  auto* jobs = jobs_.get();
  auto* sweeps = sweeps_.get();
  const v1::Sweep submitted = SubmitSweep(sweeps, R"(name: grid
base:
  model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}, checkpoint: base/final.safetensors}
  method: {name: ft}
  data:
    train: {format: fashion_mnist, split: train, limit: 256}
    id_val: {format: fashion_mnist, split: train, offset: 50000, limit: 200}
    templates: {builtin: simple}
  schedule: {epochs: 1, batch_size: 32, warmup_steps: 1}
  resources: {world_size: 1, threads_per_rank: 1}
  wise_ft: {enabled: false}
max_concurrent_trials: 2
search_space:
  optim.learning_rate: [3e-4, 1e-3]
  schedule.seed: [0, 1]
)");
  ASSERT_FALSE(submitted.id().empty());
  const v1::Sweep sweep = WaitForEnd(sweeps, submitted.id(), 240);
  ASSERT_EQ(sweep.status().state(), v1::SWEEP_STATE_SUCCEEDED) << sweep.DebugString();
  ASSERT_EQ(sweep.trials_size(), 4);
  // Each trial's objective is its own report's id_val accuracy. The seed
  // is a replicate (replicate_by's default): a configuration is a learning
  // rate, its objective the mean over its seeds, and the best one (the
  // first on a tie) is chosen.
  std::vector<std::string> rates;                     // in order of appearance
  std::map<std::string, std::vector<int>> trials_of;  // rate -> trial indexes
  std::map<std::string, double> sum_of;               // rate -> sum of id_val
  std::set<std::string> job_ids;
  for (const v1::Trial& t : sweep.trials()) {
    ASSERT_EQ(t.state(), v1::TRIAL_STATE_SUCCEEDED) << t.DebugString();
    job_ids.insert(t.job_id());
    const v1::Job job = GetJob(jobs, t.job_id());
    EXPECT_EQ(job.sweep_id(), sweep.id());
    EXPECT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED);
    EXPECT_DOUBLE_EQ(job.spec().optim().learning_rate(), ParamNumber(t, "optim.learning_rate"));
    EXPECT_EQ(job.spec().schedule().seed(), std::stoll(Param(t, "schedule.seed")));
    auto report = report::ReadReportJson(job.artifact_dir() + "/report.json");
    ASSERT_TRUE(report.ok()) << report.status();
    const report::SplitEval* id_val = nullptr;
    for (const auto& e : report->finetuned) {
      if (e.split == "id_val") id_val = &e;
    }
    ASSERT_NE(id_val, nullptr);
    ASSERT_TRUE(t.has_objective());
    EXPECT_DOUBLE_EQ(t.objective(), id_val->accuracy);
    std::printf("[ grid ] trial %d %s: id_val %.3f\n", t.index(), job.id().c_str(), id_val->accuracy);
    const std::string rate = Param(t, "optim.learning_rate");
    if (!trials_of.count(rate)) rates.push_back(rate);
    trials_of[rate].push_back(t.index());
    sum_of[rate] += id_val->accuracy;
  }
  EXPECT_EQ(job_ids.size(), 4u);
  EXPECT_EQ(SweepJobs(jobs, sweep.id()).size(), 4u);
  ASSERT_EQ(rates.size(), 2u);
  const std::string best = sum_of[rates[1]] / 2 > sum_of[rates[0]] / 2 ? rates[1] : rates[0];
  EXPECT_EQ(ChosenTrials(ReportJson(sweeps, sweep.id())), trials_of[best]) << "best rate " << best;
  for (const char* f : {"report.md", "report.json", "report.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(sweep.artifact_dir() + "/" + f)) << f;
  }
}

// Successive halving on real trials: flyp-worker's epoch-end evaluations
// reach the coordinator as progress points with their epoch, the rung at
// epoch 1 records both trials' values, and the second trial is stopped
// there exactly when its value is below the first's (keep 1 of 2, ties in
// its favour).
TEST_F(RealSweepTest, SuccessiveHalvingJudgesTheWorkersEpochEvaluations) {
  const v1::Sweep submitted = SubmitSweep(sweeps_.get(), R"(name: halving
base:
  model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}, checkpoint: base/final.safetensors}
  method: {name: ft}
  data:
    train: {format: fashion_mnist, split: train, limit: 256}
    id_val: {format: fashion_mnist, split: train, offset: 50000, limit: 200}
    templates: {builtin: simple}
  schedule: {epochs: 3, batch_size: 32, warmup_steps: 1, eval_every_epochs: 1}
  resources: {world_size: 1, threads_per_rank: 1}
  wise_ft: {enabled: false}
max_concurrent_trials: 1
early_stopping: {method: successive_halving, reduction_factor: 2}
search_space:
  optim.learning_rate: [1e-3, 1e-6]
)");
  const v1::Sweep sweep = WaitForEnd(sweeps_.get(), submitted.id(), 240);
  ASSERT_EQ(sweep.status().state(), v1::SWEEP_STATE_SUCCEEDED) << sweep.DebugString();
  ASSERT_EQ(sweep.trials_size(), 2);
  const v1::Trial& first = sweep.trials(0);
  const v1::Trial& second = sweep.trials(1);
  EXPECT_EQ(first.state(), v1::TRIAL_STATE_SUCCEEDED) << first.DebugString();
  ASSERT_GE(first.rungs_size(), 1) << first.DebugString();
  ASSERT_GE(second.rungs_size(), 1) << second.DebugString();
  EXPECT_EQ(first.rungs(0).epoch(), 1);
  EXPECT_EQ(second.rungs(0).epoch(), 1);
  std::printf("[ halving ] rung 0: trial 0 %.3f, trial 1 %.3f\n", first.rungs(0).value(),
              second.rungs(0).value());
  if (second.rungs(0).value() < first.rungs(0).value()) {
    EXPECT_EQ(second.state(), v1::TRIAL_STATE_EARLY_STOPPED) << second.DebugString();
    EXPECT_EQ(GetJob(jobs_.get(), second.job_id()).status().state(), v1::JOB_STATE_CANCELLED);
  } else {
    EXPECT_EQ(second.state(), v1::TRIAL_STATE_SUCCEEDED) << second.DebugString();
  }
  // The value at the rung is the worker's own epoch-1 evaluation (report.json).
  auto report = report::ReadReportJson(GetJob(jobs_.get(), first.job_id()).artifact_dir() + "/report.json");
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_TRUE(report->epochs.count(1)) << "no epoch-1 evaluation in the report";
  bool found = false;
  for (const auto& e : report->epochs.at(1).evaluations) {
    if (e.split == "id_val") {
      found = true;
      EXPECT_DOUBLE_EQ(e.accuracy, first.rungs(0).value());
    }
  }
  EXPECT_TRUE(found);
}

// max_trials trials, never more than max_concurrent_trials jobs alive at
// once (from the jobs' own create and end times), and that many used.
TEST_F(FakeSweepTest, RandomSweepHonoursMaxTrialsAndMaxConcurrentTrials) {
  const v1::Sweep submitted = SubmitSweep(sweeps_.get(), FakeEvalSweep("fake-eval", 2, R"(algorithm: random
max_trials: 5
max_concurrent_trials: 2
seed: 7
search_space:
  optim.learning_rate: {uniform: [0.1, 0.5]}
  schedule.seed: {range: [0, 100]}
)"));
  const v1::Sweep sweep = WaitForEnd(sweeps_.get(), submitted.id());
  ASSERT_EQ(sweep.status().state(), v1::SWEEP_STATE_SUCCEEDED) << sweep.DebugString();
  ASSERT_EQ(sweep.trials_size(), 5);
  std::vector<std::pair<int64_t, int>> events;  // (time ms, +1 created / -1 ended)
  std::set<std::string> assignments;
  for (const v1::Trial& t : sweep.trials()) {
    EXPECT_EQ(t.state(), v1::TRIAL_STATE_SUCCEEDED) << t.DebugString();
    const double lr = ParamNumber(t, "optim.learning_rate");
    EXPECT_GE(lr, 0.1);
    EXPECT_LT(lr, 0.5);
    assignments.insert(Param(t, "optim.learning_rate") + "/" + Param(t, "schedule.seed"));
    const v1::Job job = GetJob(jobs_.get(), t.job_id());
    ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED);
    EXPECT_NEAR(t.objective(), lr + 0.02, 1e-9);
    EXPECT_EQ(job.spec().schedule().seed(), std::stoll(Param(t, "schedule.seed")));
    events.push_back({Millis(job.status().create_time()), +1});
    events.push_back({Millis(job.status().end_time()), -1});
  }
  EXPECT_EQ(assignments.size(), 5u);
  EXPECT_EQ(SweepJobs(jobs_.get(), sweep.id()).size(), 5u);
  std::sort(events.begin(), events.end());  // an end before a creation at the same millisecond
  int alive = 0, most = 0;
  for (const auto& [time, d] : events) most = std::max(most, alive += d);
  EXPECT_EQ(most, 2) << "jobs alive at once";
}

// Successive halving, one trial at a time, best first: at the first rung
// (epoch 1) each later trial is outside the best half of its group's
// values and is stopped there, with the comparison recorded; the best runs
// to the end.
TEST_F(FakeSweepTest, SuccessiveHalvingStopsTheWorstTrialsAtTheRung) {
  const v1::Sweep submitted =
      SubmitSweep(sweeps_.get(), FakeEvalSweep("fake-eval", 8, R"(max_concurrent_trials: 1
early_stopping: {method: successive_halving, reduction_factor: 2}
search_space:
  optim.learning_rate: [0.4, 0.3, 0.2, 0.1]
)"));
  const v1::Sweep sweep = WaitForEnd(sweeps_.get(), submitted.id());
  ASSERT_EQ(sweep.status().state(), v1::SWEEP_STATE_SUCCEEDED) << sweep.DebugString();
  ASSERT_EQ(sweep.trials_size(), 4);
  const v1::Trial& first = sweep.trials(0);
  EXPECT_EQ(first.state(), v1::TRIAL_STATE_SUCCEEDED) << first.DebugString();
  EXPECT_NEAR(first.objective(), 0.48, 1e-9);
  // Rungs at epochs 1, 2, 4, 8 (min_epochs 1, factor 2).
  ASSERT_EQ(first.rungs_size(), 4) << first.DebugString();
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(first.rungs(k).rung(), k);
    EXPECT_EQ(first.rungs(k).epoch(), 1 << k);
    EXPECT_NEAR(first.rungs(k).value(), 0.4 + 0.01 * (1 << k), 1e-9);
  }
  for (int i = 1; i < 4; ++i) {
    const v1::Trial& t = sweep.trials(i);
    EXPECT_EQ(t.state(), v1::TRIAL_STATE_EARLY_STOPPED) << t.DebugString();
    ASSERT_EQ(t.rungs_size(), 1) << t.DebugString();
    EXPECT_EQ(t.rungs(0).epoch(), 1);
    EXPECT_NEAR(t.rungs(0).value(), 0.4 - 0.1 * i + 0.01, 1e-9);
    EXPECT_FALSE(t.message().empty()) << "why it was stopped";
    EXPECT_NE(t.message().find("rung"), std::string::npos) << t.message();
    EXPECT_FALSE(t.has_objective());
    const v1::Job job = GetJob(jobs_.get(), t.job_id());
    EXPECT_EQ(job.status().state(), v1::JOB_STATE_CANCELLED) << job.DebugString();
    EXPECT_EQ(job.status().history().rbegin()->reason(), "EarlyStopped") << job.DebugString();
    EXPECT_FALSE(std::filesystem::exists(job.artifact_dir() + "/report.json")) << "it ran to the end";
    for (const auto& p : ReadPids(job.artifact_dir())) EXPECT_FALSE(ProcessAlive(p[2]));
  }
}

// kill -9 of the coordinator while trials run: after the restart the sweep
// finishes with every trial exactly once (one job per trial, none extra).
TEST_F(FakeSweepTest, Kill9OfTheCoordinatorMidSweepLosesAndDuplicatesNoTrial) {
  const v1::Sweep submitted =
      SubmitSweep(sweeps_.get(), FakeEvalSweep("fake-eval-slow", 2, R"(max_concurrent_trials: 2
search_space:
  optim.learning_rate: [0.1, 0.2, 0.3, 0.4]
)"));
  WaitForSweep(sweeps_.get(), submitted.id(), [](const v1::Sweep& s) {
    int running = 0;
    for (const auto& t : s.trials()) running += t.state() == v1::TRIAL_STATE_RUNNING;
    return running == 2;
  });
  coordinator_->Kill9();
  StartCoordinator();
  const v1::Sweep sweep = WaitForEnd(sweeps_.get(), submitted.id());
  ASSERT_EQ(sweep.status().state(), v1::SWEEP_STATE_SUCCEEDED) << sweep.DebugString();
  ASSERT_EQ(sweep.trials_size(), 4);
  std::set<std::string> trial_jobs;
  for (const v1::Trial& t : sweep.trials()) {
    EXPECT_EQ(t.state(), v1::TRIAL_STATE_SUCCEEDED) << t.DebugString();
    EXPECT_NEAR(t.objective(), ParamNumber(t, "optim.learning_rate") + 0.02, 1e-9);
    trial_jobs.insert(t.job_id());
    EXPECT_DOUBLE_EQ(GetJob(jobs_.get(), t.job_id()).spec().optim().learning_rate(),
                     ParamNumber(t, "optim.learning_rate"));
  }
  EXPECT_EQ(trial_jobs.size(), 4u);
  std::set<std::string> listed;
  for (const v1::Job& j : SweepJobs(jobs_.get(), sweep.id())) listed.insert(j.id());
  EXPECT_EQ(listed, trial_jobs) << "a job per trial and no other";
}

// Cancelling a sweep stops its running trials' worlds before it returns
// and starts no more.
TEST_F(FakeSweepTest, CancellingASweepLeavesNoRunningWorld) {
  const v1::Sweep submitted =
      SubmitSweep(sweeps_.get(), FakeEvalSweep("fake-eval-slow", 60, R"(max_concurrent_trials: 2
search_space:
  optim.learning_rate: [0.1, 0.2, 0.3, 0.4]
)"));
  const v1::Sweep running = WaitForSweep(sweeps_.get(), submitted.id(), [&](const v1::Sweep& s) {
    int n = 0;
    for (const auto& t : s.trials()) {
      n += t.state() == v1::TRIAL_STATE_RUNNING &&
           GetJob(jobs_.get(), t.job_id()).status().state() == v1::JOB_STATE_RUNNING;
    }
    return n == 2;
  });
  std::vector<std::string> artifact_dirs;
  for (const v1::Job& j : SweepJobs(jobs_.get(), submitted.id())) artifact_dirs.push_back(j.artifact_dir());
  ASSERT_EQ(artifact_dirs.size(), 2u);
  v1::CancelSweepRequest req;
  req.set_id(submitted.id());
  req.set_reason("test says stop");
  v1::Sweep cancelled;
  grpc::Status s = sweeps_->CancelSweep(Ctx().get(), req, &cancelled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(cancelled.status().state(), v1::SWEEP_STATE_CANCELLED) << cancelled.DebugString();
  for (const v1::Trial& t : cancelled.trials()) {
    EXPECT_EQ(t.state(), v1::TRIAL_STATE_CANCELLED) << t.DebugString();
    EXPECT_EQ(t.job_id().empty(), t.index() >= 2) << t.DebugString();
  }
  for (const std::string& d : artifact_dirs) {
    const auto pids = ReadPids(d);
    EXPECT_FALSE(pids.empty()) << d;
    for (const auto& p : pids) EXPECT_FALSE(ProcessAlive(p[2])) << "rank " << p[1] << " of " << d;
  }
  for (const v1::Job& j : SweepJobs(jobs_.get(), submitted.id())) {
    EXPECT_EQ(j.status().state(), v1::JOB_STATE_CANCELLED) << j.DebugString();
  }
  // Nothing starts afterwards.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(SweepJobs(jobs_.get(), submitted.id()).size(), 2u);
  // Another user sees neither the sweep nor a way to cancel it.
  v1::GetSweepRequest get;
  get.set_id(submitted.id());
  v1::Sweep other;
  EXPECT_EQ(sweeps_->GetSweep(Ctx("othertoken").get(), get, &other).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// flypctl sweep through the real binary: validate, submit, watch (exit 0 on
// success), get, list, list --sweep (the trials' jobs), report to a file,
// and a cancel of the finished sweep refused.
TEST_F(FakeSweepTest, FlypctlSweepCommands) {
  const std::string ctl =
      "env -u FLYP_SERVER -u FLYP_TOKEN -u FLYP_TOKEN_FILE -u FLYP_TLS_CA -u FLYP_CONTEXT "
      "FLYP_CONFIG=" +
      options_.dir + "/no-config.yaml " FLYP_FLYPCTL_BIN " ";
  const std::string global =
      " --server 127.0.0.1:" + std::to_string(coordinator_->port()) + " --token usertoken";
  const std::string spec = options_.dir + "/sweep.yaml";
  std::ofstream(spec) << FakeEvalSweep("fake-eval", 1, R"(max_concurrent_trials: 2
search_space:
  optim.learning_rate: [0.1, 0.3]
)");
  CommandResult validate = RunCommand(ctl + "sweep validate " + spec);
  ASSERT_EQ(validate.code, 0) << validate.out;
  EXPECT_NE(validate.out.find("# 2 trials"), std::string::npos) << validate.out;
  std::ofstream(options_.dir + "/bad.yaml")
      << FakeEvalSweep("fake-eval", 1, "search_space: {optim.learning_rat: [1]}\n");
  CommandResult bad = RunCommand(ctl + "sweep submit " + options_.dir + "/bad.yaml" + global);
  EXPECT_EQ(bad.code, 3) << bad.out;
  EXPECT_NE(bad.out.find("optim.learning_rat"), std::string::npos) << bad.out;

  CommandResult submit = RunCommand(ctl + "sweep submit " + spec + global);
  ASSERT_EQ(submit.code, 0) << submit.out;
  const std::string id = submit.out.substr(0, submit.out.find('\n'));
  ASSERT_EQ(id.rfind("sweep-", 0), 0u) << submit.out;
  CommandResult watch = RunCommand(ctl + "sweep watch " + id + global);
  EXPECT_EQ(watch.code, 0) << watch.out;
  EXPECT_NE(watch.out.find("SUCCEEDED"), std::string::npos) << watch.out;
  const v1::Sweep sweep = GetSweep(sweeps_.get(), id);
  ASSERT_EQ(sweep.status().state(), v1::SWEEP_STATE_SUCCEEDED) << sweep.DebugString();

  CommandResult get = RunCommand(ctl + "sweep get " + id + global);
  ASSERT_EQ(get.code, 0) << get.out;
  for (const v1::Trial& t : sweep.trials()) EXPECT_NE(get.out.find(t.job_id()), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("optim.learning_rate=0.3"), std::string::npos) << get.out;
  CommandResult list = RunCommand(ctl + "sweep list" + global);
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_NE(list.out.find(id), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("2/2"), std::string::npos) << list.out;
  CommandResult others = RunCommand(
      ctl + "sweep list --server 127.0.0.1:" + std::to_string(coordinator_->port()) + " --token othertoken");
  ASSERT_EQ(others.code, 0) << others.out;
  EXPECT_EQ(others.out.find(id), std::string::npos) << "bob sees alice's sweep:\n" << others.out;
  CommandResult describe = RunCommand(ctl + "describe " + sweep.trials(0).job_id() + global);
  ASSERT_EQ(describe.code, 0) << describe.out;
  EXPECT_NE(describe.out.find("Sweep:       " + id), std::string::npos) << describe.out;
  CommandResult jobs = RunCommand(ctl + "list --sweep " + id + " -o json" + global);
  ASSERT_EQ(jobs.code, 0) << jobs.out;
  for (const v1::Trial& t : sweep.trials())
    EXPECT_NE(jobs.out.find(t.job_id()), std::string::npos) << jobs.out;

  const std::string out = options_.dir + "/report.json";
  CommandResult report = RunCommand(ctl + "sweep report " + id + " --format json --out " + out + global);
  ASSERT_EQ(report.code, 0) << report.out;
  EXPECT_EQ(ChosenTrials(ReadFileOrDie(out)), std::vector<int>{1});  // 0.31 beats 0.11
  CommandResult md = RunCommand(ctl + "sweep report " + id + global);
  ASSERT_EQ(md.code, 0) << md.out;
  EXPECT_NE(md.out.find("optim.learning_rate=0.3"), std::string::npos) << md.out;
  CommandResult cancel = RunCommand(ctl + "sweep cancel " + id + global);
  EXPECT_EQ(cancel.code, 1) << cancel.out;
  EXPECT_NE(cancel.out.find("FAILED_PRECONDITION"), std::string::npos) << cancel.out;
}

}  // namespace
}  // namespace flyp::testing
