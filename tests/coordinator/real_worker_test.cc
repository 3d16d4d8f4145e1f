// Integration: the coordinator's lifecycle paths with the real flyp-worker
// instead of the fake one (coordinator_integration_test): a bad input is a
// permanent failure reported by the worker itself, a cancel stops every
// rank, a killed rank restarts the world, which resumes from its checkpoint;
// a finished FLYP job shows its result in flypctl get and left TensorBoard
// scalars that read back as the run's numbers.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "tests/coordinator/harness.h"
#include "tests/testing/test_env.h"
#include "worker/report/report.h"
#include "worker/report/tensorboard.h"

namespace flyp::testing {
namespace {

// Live processes whose environment has FLYP_JOB_ID=<job>, with their
// OMPI_COMM_WORLD_RANK (-1: mpirun itself), from /proc.
std::map<int, int> JobProcesses(const std::string& job) {
  std::map<int, int> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::ifstream in("/proc/" + std::to_string(pid) + "/environ");
    std::string var;
    bool ours = false;
    int rank = -1;
    while (std::getline(in, var, '\0')) {
      if (var == "FLYP_JOB_ID=" + job) ours = true;
      if (var.rfind("OMPI_COMM_WORLD_RANK=", 0) == 0) rank = std::atoi(var.c_str() + 21);
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const size_t close = line.rfind(')');
    const bool zombie = close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
    if (ours && !zombie) out[static_cast<int>(pid)] = rank;
  }
  closedir(d);
  return out;
}

std::string PretrainSpec(const std::string& name, int steps, const std::string& extra = "") {
  std::ostringstream os;
  os << "name: " << name << "\n"
     << "model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}}\n"
     << "method: {name: pretrain}\n"
     << "data: {train: {format: fashion_mnist, split: train, limit: " << 64 * steps
     << "}, templates: {builtin: simple}}\n"
     << "schedule: {epochs: 1, batch_size: 64, warmup_steps: 1, log_every_steps: 1}\n"
     << "resources: {world_size: 2, threads_per_rank: 1}\n"
     << "wise_ft: {enabled: false}\n"
     << extra;
  return os.str();
}

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
  std::map<int, int> procs = JobProcesses(id);
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
  EXPECT_TRUE(JobProcesses(id).empty()) << "processes of " << id << " outlived the cancel";
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
  for (const auto& [pid, rank] : JobProcesses(id)) {
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

// The demo's pipeline in miniature: a tiny CLIP pretrained for two steps,
// then FLYP-finetuned on 2 ranks with ID and OOD evaluation and a WiSE-FT
// sweep, through the real coordinator.
TEST_F(RealWorkerTest, AFinishedFlypJobShowsItsResultAndItsTensorBoardScalars) {
  const std::string base = coordinator_->data_root() + "/base";
  std::filesystem::create_directories(base);
  std::ofstream(base + "/pretrain.yaml") << PretrainSpec("base", 2, "output: {dir: " + base + "/out}\n");
  CommandResult pre = RunCommand(
      "env FLYP_THREADS=1 OMP_WAIT_POLICY=PASSIVE mpirun --allow-run-as-root --oversubscribe "
      "-np 2 " FLYP_WORKER_BIN " --spec " +
      base + "/pretrain.yaml");
  ASSERT_EQ(pre.code, 0) << pre.out;
  std::ostringstream spec;
  spec << "name: flyp-demo\n"
       << "model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}, checkpoint: "
          "base/out/final.safetensors}\n"
       << "method: {name: flyp}\n"
       << "data:\n"
       << "  train: {format: fashion_mnist, split: train, limit: 640}\n"
       << "  id_val: {name: id_val, format: fashion_mnist, split: train, offset: 50000, limit: 128}\n"
       << "  id_test: {name: id_test, format: fashion_mnist, split: test, limit: 128}\n"
       << "  ood: [{name: ood_invert, format: fashion_mnist, split: test, offset: 128, limit: 128, "
          "shifts: [{kind: invert}]}]\n"
       << "  templates: {builtin: simple}\n"
       << "schedule: {epochs: 1, batch_size: 64, warmup_steps: 2, log_every_steps: 5}\n"
       << "resources: {world_size: 2, threads_per_rank: 1}\n"
       << "wise_ft: {enabled: true, alphas: [0, 0.5, 1]}\n";
  const std::string id = Submit(stub_.get(), spec.str());
  ASSERT_FALSE(id.empty());
  v1::Job job = WaitForState(stub_.get(), id, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 100);
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << Log(job);
  const std::string dir = job.artifact_dir();
  auto report = report::ReadReportJson(dir + "/report.json");
  ASSERT_TRUE(report.ok()) << report.status();
  const std::optional<report::Headline> h = report::HeadlineOf(*report);
  ASSERT_TRUE(h.has_value());

  // flypctl get: the last step and its loss (kept through every evaluation
  // after it), and the chosen model's ID and OOD accuracy.
  const v1::ProgressPoint& p = job.status().latest_progress();
  EXPECT_EQ(p.step(), 10);
  EXPECT_EQ(p.result().model(), h->model);
  CommandResult get = RunCommand(std::string(FLYP_FLYPCTL_BIN) + " get " + id + " --server 127.0.0.1:" +
                                 std::to_string(coordinator_->port()) + " --token usertoken");
  ASSERT_EQ(get.code, 0) << get.out;
  char loss[32];
  std::snprintf(loss, sizeof(loss), "%.4f", *report->final_train_loss);
  EXPECT_NE(get.out.find("10/10"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find(loss), std::string::npos) << loss << "\n" << get.out;
  const std::string result = "ID " + report::FormatPercent(h->id_accuracy) + " % \u00b7 OOD " +
                             report::FormatPercent(*h->avg_ood) + " % \u00b7 WiSE-FT alpha=";
  EXPECT_NE(get.out.find(result), std::string::npos) << result << "\n" << get.out;

  // TensorBoard: one event file whose scalars are the run's numbers.
  std::string events_file;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) events_file = e.path().string();
  }
  ASSERT_FALSE(events_file.empty());
  auto scalars = report::ReadTensorBoardScalars(events_file);
  ASSERT_TRUE(scalars.ok()) << scalars.status();
  std::map<std::string, std::map<int64_t, double>> tb;  // tag -> step -> value
  for (const auto& s : *scalars) tb[s.tag][s.step] = s.value;
  // The logged steps' losses as events.jsonl has them.
  std::map<int64_t, double> jsonl_loss;
  std::istringstream lines(ReadFileOrDie(dir + "/events.jsonl"));
  int stages = 0;
  for (std::string line; std::getline(lines, line);) {
    auto j = ParseJson(line);
    ASSERT_TRUE(j.ok()) << line;
    if (j->Find("type")->as_string() == "progress")
      jsonl_loss[j->Find("step")->as_int64()] = j->Find("loss")->as_double();
    if (j->Find("type")->as_string() == "stage") ++stages;
  }
  EXPECT_GT(stages, 0);
  ASSERT_EQ(jsonl_loss.size(), 2u);  // steps 5 and 10
  for (const auto& [step, value] : jsonl_loss) {
    ASSERT_EQ(tb["train/loss"].count(step), 1u) << step;
    EXPECT_FLOAT_EQ(static_cast<float>(tb["train/loss"][step]), static_cast<float>(value)) << step;
    EXPECT_EQ(tb["train/learning_rate"].count(step), 1u);
    EXPECT_GT(tb["train/logit_scale"][step], 1.0);
    EXPECT_GT(tb["train/samples_per_second"][step], 0.0);
  }
  for (const auto& e : report->zeroshot) {
    EXPECT_FLOAT_EQ(static_cast<float>(tb["eval/zeroshot/" + e.split][0]), static_cast<float>(e.accuracy))
        << e.split;
  }
  for (const auto& e : report->finetuned) {
    EXPECT_FLOAT_EQ(static_cast<float>(tb["eval/final/" + e.split][10]), static_cast<float>(e.accuracy))
        << e.split;
  }
  ASSERT_EQ(report->wise_ft.size(), 3u);
  for (const auto& point : report->wise_ft) {
    const int64_t step = std::llround(100 * point.alpha);
    for (const auto& e : point.evaluations) {
      EXPECT_FLOAT_EQ(static_cast<float>(tb["wiseft/" + e.split][step]), static_cast<float>(e.accuracy))
          << e.split << " alpha " << point.alpha;
    }
  }
  // The report's plots: training curves, the bars, the sweep.
  for (const char* plot : {"training.svg", "evaluation.svg", "wiseft.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + plot)) << plot;
  }
}

}  // namespace
}  // namespace flyp::testing
