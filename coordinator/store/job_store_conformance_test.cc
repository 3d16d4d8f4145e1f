// The JobStore contract (job_store.h), run against every implementation:
// SqliteJobStore on a temporary file and MemoryJobStore. A fake that passes
// these behaves like the real store for everything above it.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "coordinator/proto_time.h"
#include "coordinator/store/memory_job_store.h"
#include "coordinator/store/sqlite_job_store.h"
#include "coordinator/store/store_test_util.h"
#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

using store_testing::MakeJob;
using store_testing::T;

struct StoreKind {
  const char* name;
  std::function<std::unique_ptr<JobStore>(const std::string& test)> open;
};

class JobStoreConformance : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : test)
      if (c == '/') c = '-';  // "CreateGetAndIds/Sqlite"
    store_ = GetParam().open(test);
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<JobStore> store_;
};

TEST_P(JobStoreConformance, CreateGetAndIds) {
  bool created = false;
  auto a = store_->CreateJob(MakeJob("first"), &created);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(created);
  EXPECT_EQ(a->job.id(), "job-000001");
  EXPECT_EQ(a->job.artifact_dir(), "/art/job-000001");
  EXPECT_EQ(a->job.owner(), "alice");
  EXPECT_EQ(a->job.spec().resources().world_size(), 2);
  EXPECT_EQ(a->spec_yaml, "name: first\n");
  EXPECT_EQ(a->worker_token, "secret");
  EXPECT_EQ(a->attempt, 0);
  EXPECT_EQ(a->world, "");
  EXPECT_EQ(a->job.status().state(), v1::JOB_STATE_QUEUED);
  ASSERT_EQ(a->job.status().history_size(), 1);
  EXPECT_EQ(a->job.status().history(0).reason(), "Submitted");
  EXPECT_EQ(TimestampToMillis(a->job.status().history(0).time()), 1000);
  EXPECT_EQ(TimestampToMillis(a->job.status().create_time()), 1000);
  EXPECT_FALSE(a->job.status().has_start_time());
  EXPECT_FALSE(a->job.status().has_latest_progress());
  auto b = store_->CreateJob(MakeJob("second"), &created);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->job.id(), "job-000002");
  EXPECT_GT(b->seq, a->seq);
  auto got = store_->GetJob("job-000002");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->job.spec().name(), "second");
  EXPECT_EQ(store_->GetJob("job-999999").status().code(), StatusCode::kNotFound);
  NewJob no_root = MakeJob("no-root");
  no_root.artifact_root.clear();
  auto c = store_->CreateJob(no_root, nullptr);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->job.artifact_dir(), "");
}

TEST_P(JobStoreConformance, IdempotencyKeyReturnsTheFirstJob) {
  bool created = false;
  auto a = store_->CreateJob(MakeJob("x", "k1"), &created);
  ASSERT_TRUE(a.ok() && created);
  auto b = store_->CreateJob(MakeJob("y", "k1"), &created);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(b->job.id(), a->job.id());
  EXPECT_EQ(b->job.spec().name(), "x");
  EXPECT_EQ(b->idempotency_key, "k1");
  auto c = store_->CreateJob(MakeJob("z", "k2"), &created);  // another key: a new job
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(created);
  EXPECT_EQ(c->job.id(), "job-000002");
  auto d = store_->CreateJob(MakeJob("w"), &created);  // no key: never deduplicated
  auto e = store_->CreateJob(MakeJob("w"), &created);
  ASSERT_TRUE(d.ok() && e.ok());
  EXPECT_NE(d->job.id(), e->job.id());
  auto all = store_->ListJobs({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 4u);
}

// A sweep's trials are jobs that name their sweep; ListJobs filters by it.
TEST_P(JobStoreConformance, TrialsNameTheirSweepAndListBySweep) {
  for (int i = 0; i < 5; ++i) {
    NewJob j = MakeJob("t" + std::to_string(i));
    j.sweep_id = i % 2 == 0 ? "sweep-000001" : "";
    ASSERT_TRUE(store_->CreateJob(j, nullptr).ok());
  }
  auto one = store_->GetJob("job-000003");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->job.sweep_id(), "sweep-000001");
  EXPECT_EQ(store_->GetJob("job-000002")->job.sweep_id(), "");
  ListQuery q;
  q.sweep_id = "sweep-000001";
  auto trials = store_->ListJobs(q);
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), 3u);
  EXPECT_EQ((*trials)[0].job.id(), "job-000001");
  EXPECT_EQ((*trials)[2].job.id(), "job-000005");
  q.sweep_id = "sweep-000002";
  EXPECT_TRUE(store_->ListJobs(q)->empty());
}

TEST_P(JobStoreConformance, HistoryKeepsOrderAndUpdatesApply) {
  auto a = store_->CreateJob(MakeJob("h"), nullptr);
  ASSERT_TRUE(a.ok());
  const std::string id = a->job.id();
  JobUpdate u;
  u.transition = T(v1::JOB_STATE_ADMITTED, "GangAdmitted", 2000);
  ASSERT_TRUE(store_->UpdateJob(id, u).ok());
  u = {};
  u.transition = T(v1::JOB_STATE_STARTING, "Launching", 2000);  // same time: order by insertion
  u.attempt = 1;
  u.world = "local:4242";
  u.start_time_ms = 2000;
  ASSERT_TRUE(store_->UpdateJob(id, u).ok());
  u = {};
  u.transition = T(v1::JOB_STATE_RUNNING, "WorkerStarted", 3000);
  u.expect_state = v1::JOB_STATE_ADMITTED;  // wrong: it is STARTING
  Status cas = store_->UpdateJob(id, u);
  EXPECT_EQ(cas.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(cas.message(), "job '" + id + "' is JOB_STATE_STARTING, not JOB_STATE_ADMITTED");
  u.expect_state = v1::JOB_STATE_STARTING;
  u.restarts = 2;
  u.last_checkpoint = "/ckpt/step-10";
  ASSERT_TRUE(store_->UpdateJob(id, u).ok());
  auto got = store_->GetJob(id);
  ASSERT_TRUE(got.ok());
  const auto& st = got->job.status();
  EXPECT_EQ(st.state(), v1::JOB_STATE_RUNNING);
  ASSERT_EQ(st.history_size(), 4);
  EXPECT_EQ(st.history(1).reason(), "GangAdmitted");
  EXPECT_EQ(st.history(2).reason(), "Launching");
  EXPECT_EQ(st.history(3).reason(), "WorkerStarted");
  EXPECT_EQ(st.history(3).message(), "m-WorkerStarted");
  EXPECT_EQ(TimestampToMillis(st.history(3).time()), 3000);
  EXPECT_EQ(st.restarts(), 2);
  EXPECT_EQ(got->attempt, 1);
  EXPECT_EQ(got->world, "local:4242");
  EXPECT_EQ(got->last_checkpoint, "/ckpt/step-10");
  EXPECT_EQ(TimestampToMillis(st.start_time()), 2000);
  EXPECT_FALSE(st.has_end_time());
  // A failed compare-and-set changed nothing (the history has no second RUNNING).
  EXPECT_EQ(store_->UpdateJob("job-000404", u).code(), StatusCode::kNotFound);
  // Fields are cleared by an update that sets them empty.
  u = {};
  u.transition = T(v1::JOB_STATE_SUCCEEDED, "Completed", 4000);
  u.world = "";
  u.end_time_ms = 4000;
  ASSERT_TRUE(store_->UpdateJob(id, u).ok());
  got = store_->GetJob(id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->world, "");
  EXPECT_EQ(TimestampToMillis(got->job.status().end_time()), 4000);
  EXPECT_EQ(got->job.status().history_size(), 5);
  EXPECT_EQ(got->attempt, 1);  // left alone
}

TEST_P(JobStoreConformance, ListFiltersAndPages) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store_->CreateJob(MakeJob(i % 2 ? "odd-" + std::to_string(i) : "even"), nullptr).ok());
  JobUpdate u;
  u.transition = T(v1::JOB_STATE_CANCELLED, "UserCancelled", 5);
  ASSERT_TRUE(store_->UpdateJob("job-000002", u).ok());
  ListQuery q;
  q.name_contains = "odd";
  auto odd = store_->ListJobs(q);
  ASSERT_TRUE(odd.ok());
  ASSERT_EQ(odd->size(), 2u);
  EXPECT_EQ((*odd)[0].job.id(), "job-000002");
  EXPECT_EQ((*odd)[1].job.id(), "job-000004");
  EXPECT_EQ((*odd)[0].job.status().history_size(), 2);  // with history
  q = {};
  q.states = {v1::JOB_STATE_QUEUED};
  auto queued = store_->ListJobs(q);
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(queued->size(), 4u);
  q.states = {v1::JOB_STATE_CANCELLED, v1::JOB_STATE_RUNNING};
  auto cancelled = store_->ListJobs(q);
  ASSERT_TRUE(cancelled.ok());
  ASSERT_EQ(cancelled->size(), 1u);
  EXPECT_EQ((*cancelled)[0].job.id(), "job-000002");
  q = {};
  q.limit = 2;
  auto page1 = store_->ListJobs(q);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 2u);
  EXPECT_EQ((*page1)[0].job.id(), "job-000001");
  q.after_seq = page1->back().seq;
  auto page2 = store_->ListJobs(q);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 2u);
  EXPECT_EQ((*page2)[0].job.id(), "job-000003");
  q.after_seq = page2->back().seq;
  auto page3 = store_->ListJobs(q);
  ASSERT_TRUE(page3.ok());
  ASSERT_EQ(page3->size(), 1u);
  EXPECT_EQ((*page3)[0].job.id(), "job-000005");
  // Filters apply before the limit: two odd jobs, one per page.
  q = {};
  q.name_contains = "odd";
  q.limit = 1;
  auto odd1 = store_->ListJobs(q);
  ASSERT_TRUE(odd1.ok());
  ASSERT_EQ(odd1->size(), 1u);
  q.after_seq = (*odd1)[0].seq;
  auto odd2 = store_->ListJobs(q);
  ASSERT_TRUE(odd2.ok());
  ASSERT_EQ(odd2->size(), 1u);
  EXPECT_EQ((*odd2)[0].job.id(), "job-000004");
}

// Users list only their own jobs (the tenancy of JobService.ListJobs).
TEST_P(JobStoreConformance, ListFiltersByOwnerBeforeTheLimit) {
  for (int i = 0; i < 6; ++i) {
    NewJob j = MakeJob("j" + std::to_string(i));
    j.owner = i % 3 == 0 ? "bob" : "alice";
    ASSERT_TRUE(store_->CreateJob(j, nullptr).ok());
  }
  ListQuery q;
  q.owner = "bob";
  auto bob = store_->ListJobs(q);
  ASSERT_TRUE(bob.ok());
  ASSERT_EQ(bob->size(), 2u);
  EXPECT_EQ((*bob)[0].job.id(), "job-000001");
  EXPECT_EQ((*bob)[1].job.id(), "job-000004");
  q.limit = 1;
  q.after_seq = (*bob)[0].seq;
  auto page = store_->ListJobs(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].job.owner(), "bob");
  q = {};
  q.owner = "carol";
  EXPECT_TRUE(store_->ListJobs(q)->empty());
  q.owner = "";
  EXPECT_EQ(store_->ListJobs(q)->size(), 6u);
}

TEST_P(JobStoreConformance, ProgressAppendsInOrderAndSetsTheLatest) {
  auto a = store_->CreateJob(MakeJob("p"), nullptr);
  ASSERT_TRUE(a.ok());
  for (int step = 1; step <= 3; ++step) {
    v1::ProgressPoint p;
    p.set_step(step);
    p.set_loss(1.0 / step);
    ASSERT_TRUE(store_->AddProgress(a->job.id(), p).ok());
  }
  auto got = store_->GetJob(a->job.id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->job.status().latest_progress().step(), 3);
  auto all = store_->GetProgress(a->job.id(), 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].step(), 1);
  EXPECT_DOUBLE_EQ((*all)[1].loss(), 0.5);
  auto tail = store_->GetProgress(a->job.id(), 2);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0].step(), 3);
  auto past = store_->GetProgress(a->job.id(), 7);
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->empty());
  v1::ProgressPoint p;
  EXPECT_EQ(store_->AddProgress("job-000404", p).code(), StatusCode::kNotFound);
  auto none = store_->GetProgress("job-000404", 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// flypctl get after the evaluations: the last step and loss are still
// there, with every split's accuracy, the stage and the result.
TEST_P(JobStoreConformance, LatestProgressKeepsTheStepThroughEvaluationsAndAddsTheResult) {
  auto a = store_->CreateJob(MakeJob("m"), nullptr);
  ASSERT_TRUE(a.ok());
  const std::string id = a->job.id();
  v1::ProgressPoint step;
  step.set_step(40);
  step.set_total_steps(40);
  step.set_loss(1.25);
  step.set_epoch(2);
  ASSERT_TRUE(store_->AddProgress(id, step).ok());
  v1::ProgressPoint stage;
  stage.set_stage(v1::STAGE_EVALUATING);
  stage.set_eval_stage("final");
  stage.set_eval_split("id_test");
  ASSERT_TRUE(store_->AddProgress(id, stage).ok());
  for (const auto& [split, acc] : {std::make_pair("id_test", 0.75), std::make_pair("ood_blur", 0.5)}) {
    v1::ProgressPoint eval;
    (*eval.mutable_eval_accuracy())[split] = acc;
    eval.set_eval_stage("final");
    ASSERT_TRUE(store_->AddProgress(id, eval).ok());
  }
  auto mid = store_->GetJob(id);
  ASSERT_TRUE(mid.ok());
  const v1::ProgressPoint& m = mid->job.status().latest_progress();
  EXPECT_EQ(m.step(), 40);
  EXPECT_DOUBLE_EQ(m.loss(), 1.25);
  EXPECT_EQ(m.epoch(), 2);
  EXPECT_EQ(m.stage(), v1::STAGE_EVALUATING);
  EXPECT_EQ(m.eval_split(), "id_test");
  ASSERT_EQ(m.eval_accuracy_size(), 2);
  EXPECT_DOUBLE_EQ(m.eval_accuracy().at("ood_blur"), 0.5);

  v1::ProgressPoint result;
  result.set_stage(v1::STAGE_WRITING_REPORT);
  result.mutable_result()->set_id_accuracy(0.75);
  result.mutable_result()->set_avg_ood_accuracy(0.5);
  result.mutable_result()->set_chosen_alpha(0.4);
  ASSERT_TRUE(store_->AddProgress(id, result).ok());
  auto end = store_->GetJob(id);
  ASSERT_TRUE(end.ok());
  const v1::ProgressPoint& e = end->job.status().latest_progress();
  EXPECT_EQ(e.step(), 40);
  EXPECT_DOUBLE_EQ(e.loss(), 1.25);
  EXPECT_EQ(e.stage(), v1::STAGE_WRITING_REPORT);
  EXPECT_EQ(e.eval_split(), "");
  EXPECT_DOUBLE_EQ(e.result().avg_ood_accuracy(), 0.5);
  EXPECT_DOUBLE_EQ(e.result().chosen_alpha(), 0.4);
  // The stream of points is kept as reported, unmerged.
  auto all = store_->GetProgress(id, 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ((*all)[2].step(), 0);

  // A training step after an evaluation: training again.
  v1::ProgressPoint more;
  more.set_step(41);
  more.set_loss(1.0);
  ASSERT_TRUE(store_->AddProgress(id, more).ok());
  auto again = store_->GetJob(id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->job.status().latest_progress().stage(), v1::STAGE_TRAINING);
  EXPECT_EQ(again->job.status().latest_progress().eval_stage(), "");
  EXPECT_EQ(again->job.status().latest_progress().eval_accuracy_size(), 2);  // accuracies stay
}

TEST_P(JobStoreConformance, CompareAndSetAdmitsOnceAcrossThreads) {
  constexpr int kThreads = 8, kPerThread = 20;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> ids;
  std::atomic<int> won{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every key is used by two threads: one creates, the other gets it back.
        auto r = store_->CreateJob(MakeJob("c", "key-" + std::to_string(i) + "-" + std::to_string(t / 2)),
                                   nullptr);
        ASSERT_TRUE(r.ok()) << r.status();
        JobUpdate u;
        u.transition = T(v1::JOB_STATE_ADMITTED, "GangAdmitted", i);
        u.expect_state = v1::JOB_STATE_QUEUED;
        Status st = store_->UpdateJob(r->job.id(), u);
        EXPECT_TRUE(st.ok() || st.code() == StatusCode::kFailedPrecondition) << st;
        if (st.ok()) ++won;
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(r->job.id());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads / 2 * kPerThread));
  EXPECT_EQ(won.load(), static_cast<int>(ids.size()));  // exactly one admission per job
  ListQuery q;
  q.limit = 1000;
  auto all = store_->ListJobs(q);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), ids.size());
  for (const auto& r : *all) ASSERT_EQ(r.job.status().history_size(), 2) << r.job.id();
}

INSTANTIATE_TEST_SUITE_P(
    Stores, JobStoreConformance,
    ::testing::Values(StoreKind{"Sqlite",
                                [](const std::string& test) -> std::unique_ptr<JobStore> {
                                  auto s = SqliteJobStore::Open(testing::TempDir() + "/conf-" + test + ".db");
                                  EXPECT_TRUE(s.ok()) << s.status();
                                  return s.ok() ? std::move(s).value() : nullptr;
                                }},
                      StoreKind{"Memory",
                                [](const std::string&) -> std::unique_ptr<JobStore> {
                                  return std::make_unique<MemoryJobStore>();
                                }}),
    [](const ::testing::TestParamInfo<StoreKind>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace flyp::coord
