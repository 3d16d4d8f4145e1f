// SQLite-specific behaviour: durability, schema migrations, several
// connections. The JobStore contract itself is job_store_conformance_test.cc.
#include "coordinator/store/sqlite_job_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>
#include <thread>

#include "coordinator/proto_time.h"
#include "coordinator/store/store_test_util.h"
#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

using store_testing::MakeJob;
using store_testing::T;

std::unique_ptr<SqliteJobStore> OpenOrDie(const std::string& path) {
  auto s = SqliteJobStore::Open(path);
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(s).value();
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

// The schema as versions 1 and 2 of the store shipped it (frozen: shipped
// migrations are never edited), with one job that had a world.
void MakeOldDatabase(const std::string& path, int version) {
  std::string sql =
      "CREATE TABLE schema_version (version INTEGER NOT NULL);"
      "CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, name TEXT NOT NULL,"
      "  spec BLOB NOT NULL, spec_yaml TEXT NOT NULL, state INTEGER NOT NULL, owner TEXT NOT NULL,"
      "  priority INTEGER NOT NULL, create_time_ms INTEGER NOT NULL,"
      "  start_time_ms INTEGER NOT NULL DEFAULT 0, end_time_ms INTEGER NOT NULL DEFAULT 0,"
      "  restarts INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 0,"
      "  pgid INTEGER NOT NULL DEFAULT 0, artifact_dir TEXT NOT NULL, idempotency_key TEXT UNIQUE,"
      "  worker_token TEXT NOT NULL, last_checkpoint TEXT NOT NULL DEFAULT '');"
      "CREATE INDEX jobs_state ON jobs(state);"
      "CREATE TABLE transitions (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL,"
      "  state INTEGER NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL, time_ms INTEGER NOT NULL);"
      "CREATE INDEX transitions_job ON transitions(job_id, seq);";
  if (version >= 2) {
    sql +=
        "CREATE TABLE progress (seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL,"
        "  point BLOB NOT NULL);"
        "CREATE INDEX progress_job ON progress(job_id, seq);"
        "ALTER TABLE jobs ADD COLUMN latest_progress BLOB;";
  }
  sql += "INSERT INTO schema_version VALUES (" + std::to_string(version) + ");";
  sql +=
      "INSERT INTO jobs (id, name, spec, spec_yaml, state, owner, priority, create_time_ms, attempt, pgid,"
      "  artifact_dir, worker_token) VALUES ('job-000001', 'old', x'', 'name: old', 4, 'alice', 0, 7, 2, "
      "4242,"
      "  '/art/job-000001', 'tok');"
      "INSERT INTO jobs (id, name, spec, spec_yaml, state, owner, priority, create_time_ms, artifact_dir,"
      "  worker_token) VALUES ('job-000002', 'queued', x'', 'name: queued', 1, 'bob', 0, 8, "
      "'/art/job-000002',"
      "  'tok2');"
      "INSERT INTO transitions (job_id, state, reason, message, time_ms)"
      "  VALUES ('job-000001', 1, 'Submitted', '', 7);";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

void ExpectMigrated(const std::string& path) {
  auto store = OpenOrDie(path);
  auto old = store->GetJob("job-000001");
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->world, "local:4242");  // a recorded pgid was mpirun's pid
  EXPECT_EQ(old->attempt, 2);
  EXPECT_EQ(old->job.status().state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(old->worker_token, "tok");
  EXPECT_EQ(old->job.status().history_size(), 1);
  auto queued = store->GetJob("job-000002");
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(queued->world, "");  // pgid 0: no world
  // Everything of the newer schemas works on the migrated file.
  v1::ProgressPoint p;
  p.set_step(1);
  EXPECT_TRUE(store->AddProgress("job-000001", p).ok());
  JobUpdate u;
  u.world = "k8s:ml/flyp-job-000002-a1";
  ASSERT_TRUE(store->UpdateJob("job-000002", u).ok());
  EXPECT_EQ(store->GetJob("job-000002")->world, "k8s:ml/flyp-job-000002-a1");
  auto next = store->CreateJob(MakeJob("next"), nullptr);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->job.id(), "job-000003");
  // The integer column is gone.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "SELECT pgid FROM jobs", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST(SqliteJobStoreTest, MigratesAVersionOneDatabase) {
  const std::string path = testing::TempDir() + "/v1.db";
  MakeOldDatabase(path, 1);
  ExpectMigrated(path);
}

TEST(SqliteJobStoreTest, MigratesAVersionTwoPgidToALocalWorldHandle) {
  const std::string path = testing::TempDir() + "/v2.db";
  MakeOldDatabase(path, 2);
  ExpectMigrated(path);
  auto again = OpenOrDie(path);  // opening a current file again changes nothing
  EXPECT_EQ(again->GetJob("job-000001")->world, "local:4242");
}

TEST(SqliteJobStoreTest, RefusesANewerSchema) {
  std::string path = testing::TempDir() + "/future.db";
  { auto store = OpenOrDie(path); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteJobStore::Open(path);
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("schema version 99 is newer"), std::string::npos) << store.status();
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
