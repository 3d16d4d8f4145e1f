// End-to-end tests of flyp-coordinator with real processes: the coordinator
// binary, mpirun worlds of flyp-fake-worker, gRPC over 127.0.0.1, SQLite.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "common/crc32c.h"
#include "tests/coordinator/harness.h"
#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace {

using v1::JobState;

std::string CaseDir() {
  std::string d = TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::create_directories(d);
  return d;
}

std::vector<JobState> States(const v1::Job& job) {
  std::vector<JobState> out;
  for (const auto& t : job.status().history()) out.push_back(t.state());
  return out;
}

TEST(CoordinatorTest, SubmitRunsToSuccess) {
  CoordinatorProcess coord({CaseDir()});
  coord.Start();
  auto stub = coord.Client();
  std::string id = Submit(stub.get(), FakeSpec("fake-ok"));
  ASSERT_EQ(id, "job-000001");

  // WatchJob: the job first, then transitions and progress until the end.
  v1::WatchJobRequest wreq;
  wreq.set_id(id);
  auto ctx = Ctx();
  auto reader = stub->WatchJob(ctx.get(), wreq);
  v1::WatchJobEvent ev;
  ASSERT_TRUE(reader->Read(&ev));
  ASSERT_TRUE(ev.has_job());
  EXPECT_EQ(ev.job().id(), id);
  std::vector<int64_t> steps;
  JobState last = ev.job().status().state();
  while (reader->Read(&ev)) {
    if (ev.has_progress() && ev.progress().step() > 0)
      steps.push_back(ev.progress().step());  // training points
    if (ev.has_transition()) last = ev.transition().state();
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(last, v1::JOB_STATE_SUCCEEDED);
  EXPECT_FALSE(steps.empty());
  EXPECT_EQ(steps.back(), 5);

  v1::Job job = WaitForState(stub.get(), id, {v1::JOB_STATE_SUCCEEDED});
  EXPECT_EQ(States(job),
            (std::vector<JobState>{v1::JOB_STATE_QUEUED, v1::JOB_STATE_ADMITTED, v1::JOB_STATE_STARTING,
                                   v1::JOB_STATE_RUNNING, v1::JOB_STATE_SUCCEEDED}));
  EXPECT_EQ(job.owner(), "alice");
  EXPECT_EQ(job.status().restarts(), 0);
  EXPECT_EQ(job.status().latest_progress().step(), 5);
  EXPECT_DOUBLE_EQ(job.status().latest_progress().loss(), 1.0 / 6);
  EXPECT_TRUE(job.status().has_end_time());
  // Spec paths were resolved against the first data root.
  EXPECT_EQ(job.spec().model().checkpoint(),
            std::filesystem::weakly_canonical(coord.data_root()).string() + "/base.safetensors");
  auto pids = ReadPids(job.artifact_dir());
  ASSERT_EQ(pids.size(), 2u);  // a 2-rank world, one attempt

  // Logs: both ranks, rank filter, tail.
  v1::StreamLogsRequest lreq;
  lreq.set_id(id);
  auto lctx = Ctx();
  auto logs = stub->StreamLogs(lctx.get(), lreq);
  v1::LogLine line;
  std::set<int> ranks;
  bool saw_step5 = false;
  while (logs->Read(&line)) {
    ranks.insert(line.rank());
    if (line.text() == "step 5 loss 0.166667") saw_step5 = (line.rank() == 0);
  }
  EXPECT_TRUE(ranks.count(0) && ranks.count(1));
  EXPECT_TRUE(saw_step5);
  lreq.set_has_rank(true);
  lreq.set_rank(1);
  lreq.set_tail(1);
  auto lctx2 = Ctx();
  logs = stub->StreamLogs(lctx2.get(), lreq);
  int n = 0;
  while (logs->Read(&line)) {
    ++n;
    EXPECT_EQ(line.rank(), 1);
    EXPECT_EQ(line.text(), "rank 1 of 2 attempt 1 mode fake-ok");
  }
  EXPECT_EQ(n, 1);

  // Artifacts and download.
  v1::ListArtifactsRequest areq;
  areq.set_id(id);
  v1::ListArtifactsResponse arts;
  ASSERT_TRUE(stub->ListArtifacts(Ctx().get(), areq, &arts).ok());
  std::map<std::string, std::string> kinds;
  for (const auto& a : arts.artifacts()) kinds[a.path()] = a.kind();
  EXPECT_EQ(kinds["report.json"], "report");
  EXPECT_EQ(kinds["logs/world.log"], "log");
  EXPECT_EQ(kinds.count("spec.yaml"), 1u);
  v1::GetArtifactRequest greq;
  greq.set_id(id);
  greq.set_path("report.json");
  auto gctx = Ctx();
  auto chunks = stub->GetArtifact(gctx.get(), greq);
  v1::ArtifactChunk chunk;
  std::string content;
  bool last_chunk = false;
  uint32_t crc = 0;
  while (chunks->Read(&chunk)) {
    content += chunk.data();
    last_chunk = chunk.last();
    crc = chunk.crc32c();
  }
  EXPECT_TRUE(chunks->Finish().ok());
  EXPECT_NE(content.find("\"job\": \"fake-ok attempt 1\""), std::string::npos) << content;
  // The last chunk carries the CRC32C of the whole file.
  EXPECT_TRUE(last_chunk);
  EXPECT_EQ(crc, Crc32c(content));
  greq.set_path("../../jobs.db");
  auto gctx2 = Ctx();
  chunks = stub->GetArtifact(gctx2.get(), greq);
  while (chunks->Read(&chunk)) {
  }
  EXPECT_EQ(chunks->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // Cancelling a finished job is FAILED_PRECONDITION.
  v1::CancelJobRequest creq;
  creq.set_id(id);
  v1::Job cancelled;
  EXPECT_EQ(stub->CancelJob(Ctx().get(), creq, &cancelled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(CoordinatorTest, CancelStopsTheWorld) {
  CoordinatorProcess coord({CaseDir(), /*cpu_slots=*/2, /*grace_s=*/3});
  coord.Start();
  auto stub = coord.Client();
  std::string id = Submit(stub.get(), FakeSpec("fake-sleep"));
  std::string waiting = Submit(stub.get(), FakeSpec("fake-quick"));  // needs the same 2 slots
  v1::Job job = WaitForState(stub.get(), id, {v1::JOB_STATE_RUNNING});
  EXPECT_EQ(WaitForState(stub.get(), waiting, {v1::JOB_STATE_QUEUED}, 1).status().state(),
            v1::JOB_STATE_QUEUED);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto pids = ReadPids(job.artifact_dir());
  ASSERT_EQ(pids.size(), 2u);
  v1::CancelJobRequest req;
  req.set_id(id);
  req.set_reason("test says stop");
  v1::Job after;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(stub->CancelJob(Ctx().get(), req, &after).ok());
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(after.status().state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(after.status().history().rbegin()->reason(), "UserCancelled");
  EXPECT_EQ(after.status().history().rbegin()->message(), "test says stop");
  EXPECT_LT(took, 3.0 + 1.0);  // within the grace period (plus polling)
  for (const auto& p : pids) EXPECT_FALSE(ProcessAlive(p[2])) << "rank " << p[1] << " pid " << p[2];
  // Its slots were freed: the queued job runs.
  EXPECT_EQ(WaitForState(stub.get(), waiting, {v1::JOB_STATE_SUCCEEDED}).status().state(),
            v1::JOB_STATE_SUCCEEDED);
}

TEST(CoordinatorTest, RankFailureRestarts) {
  CoordinatorProcess coord({CaseDir()});
  coord.Start();
  auto stub = coord.Client();
  std::string id = Submit(stub.get(), FakeSpec("fake-flaky", 2, /*backoff_limit=*/2));
  v1::Job job = WaitForState(stub.get(), id, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED});
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << job.DebugString();
  EXPECT_EQ(job.status().restarts(), 1);
  EXPECT_EQ(States(job),
            (std::vector<JobState>{v1::JOB_STATE_QUEUED, v1::JOB_STATE_ADMITTED, v1::JOB_STATE_STARTING,
                                   v1::JOB_STATE_RUNNING, v1::JOB_STATE_RESTARTING, v1::JOB_STATE_RUNNING,
                                   v1::JOB_STATE_SUCCEEDED}));
  EXPECT_EQ(job.status().history(4).reason(), "RankExited");
  EXPECT_NE(job.status().history(4).message().find("exit code 1"), std::string::npos)
      << job.status().history(4).message();
  auto pids = ReadPids(job.artifact_dir());
  EXPECT_EQ(pids.size(), 4u);  // two attempts of two ranks
}

TEST(CoordinatorTest, PermanentFailureIsNotRetried) {
  CoordinatorProcess coord({CaseDir()});
  coord.Start();
  auto stub = coord.Client();
  std::string id = Submit(stub.get(), FakeSpec("fake-permanent", 2, /*backoff_limit=*/3));
  v1::Job job = WaitForState(stub.get(), id, {v1::JOB_STATE_FAILED, v1::JOB_STATE_SUCCEEDED});
  EXPECT_EQ(job.status().state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job.status().restarts(), 0);
  EXPECT_EQ(job.status().history().rbegin()->reason(), "PermanentFailure");
  EXPECT_NE(job.status().history().rbegin()->message().find("exit code 3"), std::string::npos);
  EXPECT_EQ(ReadPids(job.artifact_dir()).size(), 2u);
}

TEST(CoordinatorTest, CoordinatorKill9Recovers) {
  const std::string dir = CaseDir();
  auto coord = std::make_unique<CoordinatorProcess>(CoordinatorOptions{dir});
  coord->Start();
  auto stub = coord->Client();
  std::string id = Submit(stub.get(), FakeSpec("fake-slow"), "the-key");
  v1::Job job = WaitForState(stub.get(), id, {v1::JOB_STATE_RUNNING});
  // Let it write a checkpoint (every 4 steps of 250 ms).
  for (int i = 0; i < 100 && job.status().latest_progress().step() < 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    job = WaitForState(stub.get(), id, {v1::JOB_STATE_RUNNING});
  }
  ASSERT_GE(job.status().latest_progress().step(), 6);
  auto first_world = ReadPids(job.artifact_dir());
  coord->Kill9();
  coord = std::make_unique<CoordinatorProcess>(CoordinatorOptions{dir});
  coord->Start();
  stub = coord->Client();
  // Resubmitting with the same key after the crash is still no duplicate.
  EXPECT_EQ(Submit(stub.get(), FakeSpec("fake-slow"), "the-key"), id);
  job = WaitForState(stub.get(), id, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED});
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << job.DebugString();
  EXPECT_EQ(job.status().restarts(), 1);
  bool saw_recovery = false;
  for (const auto& t : job.status().history()) saw_recovery |= t.reason() == "CoordinatorRestarted";
  EXPECT_TRUE(saw_recovery);
  for (const auto& p : first_world) EXPECT_FALSE(ProcessAlive(p[2])) << "orphaned rank " << p[1];
  auto pids = ReadPids(job.artifact_dir());
  EXPECT_EQ(pids.size(), 4u);    // the first world and exactly one more
  EXPECT_EQ(pids.back()[0], 2);  // attempt 2
  v1::ListJobsRequest lreq;
  v1::ListJobsResponse list;
  ASSERT_TRUE(stub->ListJobs(Ctx().get(), lreq, &list).ok());
  EXPECT_EQ(list.jobs_size(), 1);
  // The second attempt resumed after the checkpoint: it reported fewer steps.
  EXPECT_NE(ReadFileOrDie(job.artifact_dir() + "/report.json").find("\"job\": \"fake-slow attempt 2\""),
            std::string::npos);
}

TEST(CoordinatorTest, ConcurrentSubmitsNeverOversubscribe) {
  constexpr int kSlots = 4;
  CoordinatorProcess coord({CaseDir(), kSlots});
  coord.Start();
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::map<std::string, std::string> id_by_key;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = coord.Client();
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "k-" + std::to_string(t) + "-" + std::to_string(i);
        int world = 1 + (i % 3);  // 1, 2 or 3 ranks
        std::string id = Submit(stub.get(), FakeSpec("fake-quick", world, 0, i % 5), key);
        std::lock_guard<std::mutex> lock(mu);
        id_by_key[key] = id;
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> ids;
  for (const auto& [k, id] : id_by_key) ids.insert(id);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
  auto stub = coord.Client();
  // A retry with a used key returns the stored job.
  EXPECT_EQ(Submit(stub.get(), FakeSpec("fake-quick", 1), "k-3-7"), id_by_key["k-3-7"]);

  // Let the scheduler run worlds for a while, then cancel what is left.
  std::this_thread::sleep_for(std::chrono::seconds(8));
  std::vector<std::thread> cancellers;
  for (int t = 0; t < 4; ++t) {
    cancellers.emplace_back([&, t] {
      auto s = coord.Client();
      int i = 0;
      for (const auto& id : ids) {
        if (i++ % 4 != t) continue;
        v1::CancelJobRequest req;
        req.set_id(id);
        v1::Job job;
        grpc::Status st = s->CancelJob(Ctx().get(), req, &job);
        EXPECT_TRUE(st.ok() || st.error_code() == grpc::StatusCode::FAILED_PRECONDITION)
            << st.error_message();
      }
    });
  }
  for (auto& th : cancellers) th.join();

  // Replay every job's history: the units held between admission and the end
  // never exceed the slots.
  std::vector<v1::Job> jobs;
  v1::ListJobsRequest lreq;
  lreq.set_page_size(70);  // exercises paging
  for (;;) {
    v1::ListJobsResponse resp;
    ASSERT_TRUE(stub->ListJobs(Ctx().get(), lreq, &resp).ok());
    for (const auto& j : resp.jobs()) jobs.push_back(j);
    if (resp.next_page_token().empty()) break;
    lreq.set_page_token(resp.next_page_token());
  }
  ASSERT_EQ(jobs.size(), static_cast<size_t>(kThreads * kPerThread));
  std::multimap<std::pair<int64_t, int>, int> events;  // (time ms, order: release first) -> delta
  int admitted = 0, succeeded = 0;
  for (const auto& j : jobs) {
    int units = j.spec().resources().world_size();
    int64_t admit = -1;
    for (const auto& t : j.status().history()) {
      int64_t ms = t.time().seconds() * 1000 + t.time().nanos() / 1000000;
      if (t.state() == v1::JOB_STATE_ADMITTED) {
        admit = ms;
        events.emplace(std::make_pair(ms, 1), units);
        ++admitted;
      }
      if ((t.state() == v1::JOB_STATE_SUCCEEDED || t.state() == v1::JOB_STATE_FAILED ||
           t.state() == v1::JOB_STATE_CANCELLED) &&
          admit >= 0) {
        events.emplace(std::make_pair(ms, 0), -units);
      }
      succeeded += t.state() == v1::JOB_STATE_SUCCEEDED;
    }
    EXPECT_TRUE(j.status().state() == v1::JOB_STATE_SUCCEEDED ||
                j.status().state() == v1::JOB_STATE_CANCELLED)
        << j.id() << " " << v1::JobState_Name(j.status().state());
  }
  int used = 0, peak = 0;
  for (const auto& [when, delta] : events) {
    used += delta;
    peak = std::max(peak, used);
    ASSERT_LE(used, kSlots) << "oversubscribed at " << when.first;
  }
  EXPECT_EQ(used, 0);
  EXPECT_GE(admitted, 3);  // some worlds really ran
  EXPECT_GE(succeeded, 3);
  EXPECT_GE(peak, 2);
}

TEST(CoordinatorTest, RefusesBadRequests) {
  CoordinatorProcess coord({CaseDir(), 4});
  coord.Start();
  auto stub = coord.Client();
  v1::SubmitJobRequest req;
  v1::SubmitJobResponse resp;
  // Invalid spec: every problem with its field path.
  req.set_spec_yaml(FakeSpec("x") + "schedule: {epochs: 0}\noptim: {learning_rat: 1}\n");
  grpc::Status s = stub->SubmitJob(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("optim.learning_rat: unknown field"), std::string::npos)
      << s.error_message();
  req.set_spec_yaml(FakeSpec("x", 0));
  s = stub->SubmitJob(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("resources.world_size: must be >= 1 (got 0)"), std::string::npos)
      << s.error_message();
  // Unauthenticated: no token, unknown token.
  req.set_spec_yaml(FakeSpec("fake-quick", 1));
  EXPECT_EQ(stub->SubmitJob(Ctx("").get(), req, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(stub->SubmitJob(Ctx("forged").get(), req, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::ListJobsRequest lreq;
  v1::ListJobsResponse lresp;
  EXPECT_EQ(stub->ListJobs(Ctx("").get(), lreq, &lresp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // Spec paths escaping the data roots.
  std::string escaping = FakeSpec("fake-quick", 1);
  escaping.replace(escaping.find("checkpoint: base.safetensors"), 28, "checkpoint: ../../../etc/passwd");
  req.set_spec_yaml(escaping);
  s = stub->SubmitJob(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      s.error_message().rfind("model.checkpoint: path '../../../etc/passwd' is outside the data roots", 0),
      0u)
      << s.error_message();
  // A gang that can never fit.
  req.set_spec_yaml(FakeSpec("fake-quick", 5));
  s = stub->SubmitJob(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("needs 5 CPU slots"), std::string::npos) << s.error_message();
  // The spec message form gets defaults like YAML does.
  v1::SubmitJobRequest mreq;
  auto* spec = mreq.mutable_spec();
  spec->set_name("fake-quick");
  spec->mutable_model()->set_preset("tiny");
  spec->mutable_model()->set_vocab("byte");
  spec->mutable_model()->set_checkpoint("base.safetensors");
  spec->mutable_data()->mutable_train()->set_format(v1::DATA_FORMAT_FASHION_MNIST);
  spec->mutable_data()->mutable_id_val()->set_format(v1::DATA_FORMAT_FASHION_MNIST);
  spec->mutable_schedule()->set_batch_size(4);
  s = stub->SubmitJob(Ctx().get(), mreq, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.job().spec().resources().world_size(), 1);
  EXPECT_EQ(resp.job().status().history(0).reason(), "Submitted");
  v1::GetJobRequest greq;
  greq.set_id("job-424242");
  v1::Job job;
  EXPECT_EQ(stub->GetJob(Ctx().get(), greq, &job).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace flyp::testing
