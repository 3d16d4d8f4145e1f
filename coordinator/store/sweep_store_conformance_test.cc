// The SweepStore contract (sweep_store.h), run against every implementation:
// SqliteSweepStore on a temporary file and MemorySweepStore.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "coordinator/proto_time.h"
#include "coordinator/store/memory_sweep_store.h"
#include "coordinator/store/sqlite_job_store.h"
#include "coordinator/store/sqlite_sweep_store.h"
#include "coordinator/store/store_test_util.h"
#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

// Alice's sweep of `trials` trials (trial i: optim.learning_rate=i, job spec
// named "<name>-t<i>"), created at t = 1000 ms, artifacts under /art.
NewSweep MakeSweep(const std::string& name, int trials = 3, const std::string& key = "") {
  NewSweep s;
  s.spec.set_name(name);
  s.spec.set_max_concurrent_trials(2);
  s.owner = "alice";
  s.idempotency_key = key;
  s.artifact_root = "/art";
  s.create_time_ms = 1000;
  for (int i = 0; i < trials; ++i) {
    NewTrial t;
    t.trial.set_index(i);
    auto* p = t.trial.add_parameters();
    p->set_path("optim.learning_rate");
    p->set_value(std::to_string(i));
    t.trial.set_group("method.name=ft");
    t.spec.set_name(name + "-t" + std::to_string(i));
    t.spec.mutable_optim()->set_learning_rate(i);
    s.trials.push_back(t);
  }
  return s;
}

v1::SweepTransition T(v1::SweepState s, const std::string& reason, int64_t ms) {
  v1::SweepTransition t;
  t.set_state(s);
  t.set_reason(reason);
  t.set_message("m-" + reason);
  *t.mutable_time() = MillisToTimestamp(ms);
  return t;
}

struct StoreKind {
  const char* name;
  std::function<std::unique_ptr<SweepStore>(const std::string& test)> open;
};

class SweepStoreConformance : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : test)
      if (c == '/') c = '-';
    store_ = GetParam().open(test);
    ASSERT_NE(store_, nullptr);
  }
  std::unique_ptr<SweepStore> store_;
};

TEST_P(SweepStoreConformance, CreateGetAndIds) {
  bool created = false;
  auto a = store_->CreateSweep(MakeSweep("first"), &created);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(created);
  const v1::Sweep& s = a->sweep;
  EXPECT_EQ(s.id(), "sweep-000001");
  EXPECT_EQ(s.artifact_dir(), "/art/sweep-000001");
  EXPECT_EQ(s.owner(), "alice");
  EXPECT_EQ(s.spec().name(), "first");
  EXPECT_EQ(s.spec().max_concurrent_trials(), 2);
  EXPECT_EQ(s.status().state(), v1::SWEEP_STATE_RUNNING);
  ASSERT_EQ(s.status().history_size(), 1);
  EXPECT_EQ(s.status().history(0).reason(), "Submitted");
  EXPECT_EQ(TimestampToMillis(s.status().create_time()), 1000);
  EXPECT_FALSE(s.status().has_end_time());
  EXPECT_FALSE(s.status().cancel_requested());
  ASSERT_EQ(s.trials_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(s.trials(i).index(), i);
    EXPECT_EQ(s.trials(i).state(), v1::TRIAL_STATE_PENDING);
    EXPECT_EQ(s.trials(i).parameters(0).value(), std::to_string(i));
    EXPECT_EQ(s.trials(i).group(), "method.name=ft");
    EXPECT_EQ(s.trials(i).job_id(), "");
    auto spec = store_->GetTrialSpec(s.id(), i);
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->name(), "first-t" + std::to_string(i));
    EXPECT_DOUBLE_EQ(spec->optim().learning_rate(), i);
  }
  EXPECT_EQ(store_->GetTrialSpec(s.id(), 3).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetTrialSpec("sweep-000404", 0).status().code(), StatusCode::kNotFound);
  auto b = store_->CreateSweep(MakeSweep("second", 0), &created);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->sweep.id(), "sweep-000002");
  EXPECT_GT(b->seq, a->seq);
  EXPECT_EQ(b->sweep.trials_size(), 0);
  auto got = store_->GetSweep("sweep-000001");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->sweep.SerializeAsString(), a->sweep.SerializeAsString());
  EXPECT_EQ(store_->GetSweep("sweep-999999").status().code(), StatusCode::kNotFound);
}

TEST_P(SweepStoreConformance, IdempotencyKeyReturnsTheFirstSweep) {
  bool created = false;
  auto a = store_->CreateSweep(MakeSweep("x", 2, "k1"), &created);
  ASSERT_TRUE(a.ok() && created);
  auto b = store_->CreateSweep(MakeSweep("y", 5, "k1"), &created);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(b->sweep.id(), a->sweep.id());
  EXPECT_EQ(b->sweep.spec().name(), "x");
  EXPECT_EQ(b->sweep.trials_size(), 2);
  EXPECT_EQ(b->idempotency_key, "k1");
  auto c = store_->CreateSweep(MakeSweep("z"), &created);
  auto d = store_->CreateSweep(MakeSweep("z"), &created);  // no key: never deduplicated
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_NE(c->sweep.id(), d->sweep.id());
}

TEST_P(SweepStoreConformance, SweepAndTrialUpdatesApply) {
  auto a = store_->CreateSweep(MakeSweep("u"), nullptr);
  ASSERT_TRUE(a.ok());
  const std::string id = a->sweep.id();
  SweepUpdate cancel;
  cancel.cancel_requested = true;
  ASSERT_TRUE(store_->UpdateSweep(id, cancel).ok());
  TrialUpdate t;
  t.state = v1::TRIAL_STATE_STARTING;
  ASSERT_TRUE(store_->UpdateTrial(id, 1, t).ok());
  t = {};
  t.state = v1::TRIAL_STATE_RUNNING;
  t.job_id = "job-000007";
  ASSERT_TRUE(store_->UpdateTrial(id, 1, t).ok());
  t = {};
  v1::RungValue r;
  r.set_rung(0);
  r.set_epoch(1);
  r.set_value(0.5);
  t.add_rung = r;
  ASSERT_TRUE(store_->UpdateTrial(id, 1, t).ok());
  r.set_rung(1);
  r.set_epoch(3);
  r.set_value(0.25);
  t.add_rung = r;
  ASSERT_TRUE(store_->UpdateTrial(id, 1, t).ok());
  t = {};
  t.state = v1::TRIAL_STATE_EARLY_STOPPED;
  t.reason = "EarlyStopped";
  t.message = "rung 1";
  ASSERT_TRUE(store_->UpdateTrial(id, 1, t).ok());
  t = {};
  t.state = v1::TRIAL_STATE_SUCCEEDED;
  t.objective = 0.75;
  ASSERT_TRUE(store_->UpdateTrial(id, 2, t).ok());
  SweepUpdate done;
  done.transition = T(v1::SWEEP_STATE_CANCELLED, "UserCancelled", 5000);
  done.end_time_ms = 5000;
  ASSERT_TRUE(store_->UpdateSweep(id, done).ok());
  EXPECT_EQ(store_->UpdateSweep("sweep-000404", done).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->UpdateTrial(id, 3, t).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->UpdateTrial("sweep-000404", 0, t).code(), StatusCode::kNotFound);

  auto got = store_->GetSweep(id);
  ASSERT_TRUE(got.ok());
  const v1::Sweep& s = got->sweep;
  EXPECT_TRUE(s.status().cancel_requested());
  EXPECT_EQ(s.status().state(), v1::SWEEP_STATE_CANCELLED);
  ASSERT_EQ(s.status().history_size(), 2);
  EXPECT_EQ(s.status().history(1).reason(), "UserCancelled");
  EXPECT_EQ(s.status().history(1).message(), "m-UserCancelled");
  EXPECT_EQ(TimestampToMillis(s.status().end_time()), 5000);
  EXPECT_EQ(s.trials(0).state(), v1::TRIAL_STATE_PENDING);
  const v1::Trial& one = s.trials(1);
  EXPECT_EQ(one.state(), v1::TRIAL_STATE_EARLY_STOPPED);
  EXPECT_EQ(one.job_id(), "job-000007");
  EXPECT_EQ(one.reason(), "EarlyStopped");
  EXPECT_EQ(one.message(), "rung 1");
  ASSERT_EQ(one.rungs_size(), 2);
  EXPECT_EQ(one.rungs(1).epoch(), 3);
  EXPECT_DOUBLE_EQ(one.rungs(1).value(), 0.25);
  EXPECT_FALSE(one.has_objective());
  EXPECT_EQ(one.parameters(0).value(), "1");  // untouched by the updates
  EXPECT_DOUBLE_EQ(s.trials(2).objective(), 0.75);
}

TEST_P(SweepStoreConformance, ListFiltersAndPages) {
  for (int i = 0; i < 5; ++i) {
    NewSweep s = MakeSweep("s" + std::to_string(i), 1);
    s.owner = i % 2 ? "bob" : "alice";
    ASSERT_TRUE(store_->CreateSweep(s, nullptr).ok());
  }
  SweepUpdate u;
  u.transition = T(v1::SWEEP_STATE_SUCCEEDED, "Completed", 2000);
  ASSERT_TRUE(store_->UpdateSweep("sweep-000002", u).ok());
  SweepQuery q;
  q.states = {v1::SWEEP_STATE_RUNNING};
  auto running = store_->ListSweeps(q);
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 4u);
  EXPECT_EQ((*running)[1].sweep.id(), "sweep-000003");
  EXPECT_EQ((*running)[1].sweep.trials_size(), 1);
  q = {};
  q.owner = "bob";
  auto bob = store_->ListSweeps(q);
  ASSERT_TRUE(bob.ok());
  ASSERT_EQ(bob->size(), 2u);
  EXPECT_EQ((*bob)[0].sweep.id(), "sweep-000002");
  q.limit = 1;
  q.after_seq = (*bob)[0].seq;
  auto page = store_->ListSweeps(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].sweep.id(), "sweep-000004");
}

INSTANTIATE_TEST_SUITE_P(
    Stores, SweepStoreConformance,
    ::testing::Values(StoreKind{"Sqlite",
                                [](const std::string& test) -> std::unique_ptr<SweepStore> {
                                  auto s =
                                      SqliteSweepStore::Open(testing::TempDir() + "/sweep-" + test + ".db");
                                  EXPECT_TRUE(s.ok()) << s.status();
                                  return s.ok() ? std::move(s).value() : nullptr;
                                }},
                      StoreKind{"Memory",
                                [](const std::string&) -> std::unique_ptr<SweepStore> {
                                  return std::make_unique<MemorySweepStore>();
                                }}),
    [](const ::testing::TestParamInfo<StoreKind>& info) { return std::string(info.param.name); });

// The sweep store and the job store share one file, each through its own
// connection; both survive a reopen.
TEST(SqliteSweepStoreTest, SharesTheJobStoresFileAndSurvivesAReopen) {
  const std::string path = testing::TempDir() + "/shared.db";
  {
    auto jobs = SqliteJobStore::Open(path);
    auto sweeps = SqliteSweepStore::Open(path);
    ASSERT_TRUE(jobs.ok() && sweeps.ok());
    auto s = (*sweeps)->CreateSweep(MakeSweep("kept", 2, "key"), nullptr);
    ASSERT_TRUE(s.ok()) << s.status();
    NewJob j = store_testing::MakeJob("kept-t0");
    j.sweep_id = s->sweep.id();
    ASSERT_TRUE((*jobs)->CreateJob(j, nullptr).ok());
    TrialUpdate t;
    t.state = v1::TRIAL_STATE_RUNNING;
    t.job_id = "job-000001";
    ASSERT_TRUE((*sweeps)->UpdateTrial(s->sweep.id(), 0, t).ok());
  }
  auto sweeps = SqliteSweepStore::Open(path);
  auto jobs = SqliteJobStore::Open(path);
  ASSERT_TRUE(sweeps.ok() && jobs.ok());
  auto s = (*sweeps)->GetSweep("sweep-000001");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->sweep.trials(0).job_id(), "job-000001");
  EXPECT_EQ(s->sweep.trials(0).state(), v1::TRIAL_STATE_RUNNING);
  EXPECT_EQ(s->idempotency_key, "key");
  EXPECT_EQ((*jobs)->GetJob("job-000001")->job.sweep_id(), "sweep-000001");
}

}  // namespace
}  // namespace flyp::coord
