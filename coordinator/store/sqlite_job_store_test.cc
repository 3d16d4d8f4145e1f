#include "coordinator/store/sqlite_job_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <thread>

#include "coordinator/proto_time.h"
#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

NewJob MakeJob(const std::string& name, const std::string& key = "") {
  NewJob j;
  j.spec.set_name(name);
  j.spec.set_priority(3);
  j.spec.mutable_resources()->set_world_size(2);
  j.spec_yaml = "name: " + name + "\n";
  j.owner = "alice";
  j.idempotency_key = key;
  j.artifact_root = "/art";
  j.worker_token = "secret";
  j.create_time_ms = 1000;
  return j;
}

v1::StateTransition T(v1::JobState s, const std::string& reason, int64_t ms) {
  v1::StateTransition t;
  t.set_state(s);
  t.set_reason(reason);
  t.set_message("m-" + reason);
  *t.mutable_time() = MillisToTimestamp(ms);
  return t;
}

std::unique_ptr<SqliteJobStore> OpenOrDie(const std::string& path) {
  auto s = SqliteJobStore::Open(path);
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(s).value();
}

TEST(SqliteJobStoreTest, CreateGetAndIds) {
  auto store = OpenOrDie(testing::TempDir() + "/crud.db");
  bool created = false;
  auto a = store->CreateJob(MakeJob("first"), &created);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(created);
  EXPECT_EQ(a->job.id(), "job-000001");
  EXPECT_EQ(a->job.artifact_dir(), "/art/job-000001");
  EXPECT_EQ(a->job.owner(), "alice");
  EXPECT_EQ(a->job.spec().resources().world_size(), 2);
  EXPECT_EQ(a->spec_yaml, "name: first\n");
  EXPECT_EQ(a->worker_token, "secret");
  EXPECT_EQ(a->job.status().state(), v1::JOB_STATE_QUEUED);
  ASSERT_EQ(a->job.status().history_size(), 1);
  EXPECT_EQ(a->job.status().history(0).reason(), "Submitted");
  EXPECT_EQ(TimestampToMillis(a->job.status().create_time()), 1000);
  auto b = store->CreateJob(MakeJob("second"), &created);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->job.id(), "job-000002");
  EXPECT_GT(b->seq, a->seq);
  auto got = store->GetJob("job-000002");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->job.spec().name(), "second");
  EXPECT_EQ(store->GetJob("job-999999").status().code(), StatusCode::kNotFound);
}

TEST(SqliteJobStoreTest, IdempotencyKeyReturnsTheFirstJob) {
  auto store = OpenOrDie(testing::TempDir() + "/idem.db");
  bool created = false;
  auto a = store->CreateJob(MakeJob("x", "k1"), &created);
  ASSERT_TRUE(a.ok() && created);
  auto b = store->CreateJob(MakeJob("y", "k1"), &created);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(b->job.id(), a->job.id());
  EXPECT_EQ(b->job.spec().name(), "x");
  auto all = store->ListJobs({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

TEST(SqliteJobStoreTest, HistoryKeepsOrderAndUpdatesApply) {
  auto store = OpenOrDie(testing::TempDir() + "/hist.db");
  auto a = store->CreateJob(MakeJob("h"), nullptr);
  ASSERT_TRUE(a.ok());
  const std::string id = a->job.id();
  JobUpdate u;
  u.transition = T(v1::JOB_STATE_ADMITTED, "GangAdmitted", 2000);
  ASSERT_TRUE(store->UpdateJob(id, u).ok());
  u = {};
  u.transition = T(v1::JOB_STATE_STARTING, "Launching", 2000);  // same time: order by insertion
  u.attempt = 1;
  u.pgid = 4242;
  u.start_time_ms = 2000;
  ASSERT_TRUE(store->UpdateJob(id, u).ok());
  u = {};
  u.transition = T(v1::JOB_STATE_RUNNING, "WorkerStarted", 3000);
  u.expect_state = v1::JOB_STATE_ADMITTED;  // wrong: it is STARTING
  EXPECT_EQ(store->UpdateJob(id, u).code(), StatusCode::kFailedPrecondition);
  u.expect_state = v1::JOB_STATE_STARTING;
  u.restarts = 2;
  u.last_checkpoint = "/ckpt/step-10";
  ASSERT_TRUE(store->UpdateJob(id, u).ok());
  auto got = store->GetJob(id);
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
  EXPECT_EQ(got->pgid, 4242);
  EXPECT_EQ(got->last_checkpoint, "/ckpt/step-10");
  EXPECT_EQ(TimestampToMillis(st.start_time()), 2000);
  EXPECT_FALSE(st.has_end_time());
  EXPECT_EQ(store->UpdateJob("job-000404", u).code(), StatusCode::kNotFound);
}

TEST(SqliteJobStoreTest, ListFiltersAndPages) {
  auto store = OpenOrDie(testing::TempDir() + "/list.db");
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store->CreateJob(MakeJob(i % 2 ? "odd-" + std::to_string(i) : "even"), nullptr).ok());
  JobUpdate u;
  u.transition = T(v1::JOB_STATE_CANCELLED, "UserCancelled", 5);
  ASSERT_TRUE(store->UpdateJob("job-000002", u).ok());
  ListQuery q;
  q.name_contains = "odd";
  auto odd = store->ListJobs(q);
  ASSERT_TRUE(odd.ok());
  ASSERT_EQ(odd->size(), 2u);
  EXPECT_EQ((*odd)[0].job.id(), "job-000002");
  EXPECT_EQ((*odd)[1].job.id(), "job-000004");
  q = {};
  q.states = {v1::JOB_STATE_QUEUED};
  auto queued = store->ListJobs(q);
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(queued->size(), 4u);
  q = {};
  q.limit = 2;
  auto page1 = store->ListJobs(q);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 2u);
  q.after_seq = page1->back().seq;
  auto page2 = store->ListJobs(q);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 2u);
  EXPECT_EQ((*page2)[0].job.id(), "job-000003");
}

TEST(SqliteJobStoreTest, ReopenKeepsEverything) {
  std::string path = testing::TempDir() + "/reopen.db";
  {
    auto store = OpenOrDie(path);
    auto a = store->CreateJob(MakeJob("persist", "key"), nullptr);
    ASSERT_TRUE(a.ok());
    JobUpdate u;
    u.transition = T(v1::JOB_STATE_ADMITTED, "GangAdmitted", 7);
    ASSERT_TRUE(store->UpdateJob(a->job.id(), u).ok());
    v1::ProgressPoint p;
    p.set_step(5);
    p.set_loss(1.25);
    ASSERT_TRUE(store->AddProgress(a->job.id(), p).ok());
    p.set_step(6);
    ASSERT_TRUE(store->AddProgress(a->job.id(), p).ok());
  }
  auto store = OpenOrDie(path);
  auto got = store->GetJob("job-000001");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->job.spec().name(), "persist");
  EXPECT_EQ(got->idempotency_key, "key");
  EXPECT_EQ(got->job.status().history_size(), 2);
  EXPECT_EQ(got->job.status().latest_progress().step(), 6);
  auto progress = store->GetProgress("job-000001", 1);
  ASSERT_TRUE(progress.ok());
  ASSERT_EQ(progress->size(), 1u);
  EXPECT_EQ((*progress)[0].step(), 6);
  EXPECT_DOUBLE_EQ((*progress)[0].loss(), 1.25);
  // Next id continues after the stored ones.
  auto b = store->CreateJob(MakeJob("next"), nullptr);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->job.id(), "job-000002");
}

TEST(SqliteJobStoreTest, MigratesAVersionOneDatabase) {
  std::string path = testing::TempDir() + "/v1.db";
  { auto store = OpenOrDie(path); }
  // Roll the file back to a version-1 schema by hand.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE progress; ALTER TABLE jobs DROP COLUMN latest_progress;"
                         "UPDATE schema_version SET version = 1;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto store = OpenOrDie(path);
  auto a = store->CreateJob(MakeJob("m"), nullptr);
  ASSERT_TRUE(a.ok());
  v1::ProgressPoint p;
  p.set_step(1);
  EXPECT_TRUE(store->AddProgress(a->job.id(), p).ok());
}

TEST(SqliteJobStoreTest, ConcurrentWritersFromThreadsAndConnections) {
  std::string path = testing::TempDir() + "/concurrent.db";
  auto s1 = OpenOrDie(path);
  auto s2 = OpenOrDie(path);  // a second connection to the same file
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> ids;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SqliteJobStore* s = t % 2 ? s1.get() : s2.get();
      for (int i = 0; i < kPerThread; ++i) {
        auto r =
            s->CreateJob(MakeJob("c", "key-" + std::to_string(i % 10) + "-" + std::to_string(t)), nullptr);
        ASSERT_TRUE(r.ok()) << r.status();
        JobUpdate u;
        u.transition = T(v1::JOB_STATE_ADMITTED, "GangAdmitted", i);
        u.expect_state = v1::JOB_STATE_QUEUED;
        Status st = s->UpdateJob(r->job.id(), u);  // the second of a key pair sees ADMITTED
        EXPECT_TRUE(st.ok() || st.code() == StatusCode::kFailedPrecondition) << st;
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(r->job.id());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * 10));  // 10 distinct keys per thread
  ListQuery q;
  q.limit = 1000;
  auto all = s1->ListJobs(q);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), ids.size());
  for (const auto& r : *all) {
    ASSERT_EQ(r.job.status().history_size(), 2) << r.job.id();  // exactly one admission each
  }
}

}  // namespace
}  // namespace flyp::coord
