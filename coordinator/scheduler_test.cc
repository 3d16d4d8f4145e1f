#include "coordinator/scheduler.h"

#include <gtest/gtest.h>

namespace flyp::coord {
namespace {

GangRequest Gang(const std::string& id, int64_t seq, int units, int priority = 0,
                 v1::Device device = v1::DEVICE_CPU) {
  GangRequest g;
  g.job_id = id;
  g.seq = seq;
  g.units = units;
  g.priority = priority;
  g.device = device;
  g.shape.world_size = units;
  g.shape.cuda = device == v1::DEVICE_CUDA;
  return g;
}

std::vector<std::string> Ids(const std::vector<Admission>& as) {
  std::vector<std::string> out;
  for (const auto& a : as) out.push_back(a.gang.job_id);
  return out;
}

TEST(SchedulerTest, GangForMultipliesWorldSizeBySlotsPerRank) {
  v1::JobSpec spec;
  spec.mutable_resources()->set_world_size(3);
  spec.mutable_resources()->set_slots_per_rank(2);
  spec.set_priority(7);
  spec.mutable_run_policy()->mutable_active_deadline()->set_seconds(90);
  GangRequest g = GangFor("job-1", 5, spec);
  EXPECT_EQ(g.units, 6);
  EXPECT_EQ(g.priority, 7);
  EXPECT_EQ(g.active_deadline_ms, 90000);
  EXPECT_EQ(g.device, v1::DEVICE_CPU);
  EXPECT_EQ(g.shape.world_size, 3);
  EXPECT_EQ(g.shape.slots_per_rank, 2);
  EXPECT_EQ(g.shape.ranks_per_host, 0);
  EXPECT_FALSE(g.shape.cuda);
}

TEST(SchedulerTest, NeverFittingGangIsRejectedWithReason) {
  FakeClock clock;
  Scheduler s({4, 1}, &clock);
  EXPECT_TRUE(s.CheckFits(Gang("a", 1, 4)).ok());
  Status st = s.CheckFits(Gang("b", 2, 5));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("needs 5 CPU slots"), std::string::npos) << st;
  EXPECT_NE(st.message().find("only 4"), std::string::npos) << st;
  EXPECT_EQ(s.CheckFits(Gang("c", 3, 2, 0, v1::DEVICE_CUDA)).code(), StatusCode::kFailedPrecondition);
}

TEST(SchedulerTest, PriorityThenFifoAndNeverPartial) {
  FakeClock clock;
  Scheduler s({4, 0}, &clock);
  s.Enqueue(Gang("low1", 1, 2, 0));
  s.Enqueue(Gang("high", 2, 3, 5));
  s.Enqueue(Gang("low2", 3, 1, 0));
  // high (3 units) first; low1 (2) does not fit in the 1 left, and strict
  // ordering keeps low2 behind it.
  EXPECT_EQ(Ids(s.Admit()), (std::vector<std::string>{"high"}));
  EXPECT_EQ(s.used(v1::DEVICE_CPU), 3);
  EXPECT_EQ(s.queued(), 2u);
  EXPECT_TRUE(s.Admit().empty());
  s.Release("high");
  EXPECT_EQ(Ids(s.Admit()), (std::vector<std::string>{"low1", "low2"}));
  EXPECT_EQ(s.used(v1::DEVICE_CPU), 3);
  s.Release("low1");
  s.Release("low2");
  s.Release("unknown");
  EXPECT_EQ(s.used(v1::DEVICE_CPU), 0);
}

TEST(SchedulerTest, PoolsAreIndependent) {
  FakeClock clock;
  Scheduler s({2, 2}, &clock);
  s.Enqueue(Gang("gpu-big", 1, 2, 0, v1::DEVICE_CUDA));
  s.Enqueue(Gang("gpu-next", 2, 1, 0, v1::DEVICE_CUDA));
  s.Enqueue(Gang("cpu", 3, 2));
  EXPECT_EQ(Ids(s.Admit()), (std::vector<std::string>{"gpu-big", "cpu"}));
  EXPECT_EQ(s.free(v1::DEVICE_CUDA), 0);
  EXPECT_EQ(s.free(v1::DEVICE_CPU), 0);
}

TEST(SchedulerTest, DequeueAndReserve) {
  FakeClock clock;
  Scheduler s({4, 0}, &clock);
  s.Enqueue(Gang("a", 1, 2));
  EXPECT_TRUE(s.Dequeue("a"));
  EXPECT_FALSE(s.Dequeue("a"));
  EXPECT_TRUE(s.Admit().empty());
  EXPECT_TRUE(s.Reserve(Gang("r", 2, 3)));
  EXPECT_TRUE(s.IsAdmitted("r"));
  EXPECT_FALSE(s.Reserve(Gang("r2", 3, 2)));
  ASSERT_NE(s.PlacementOf("r"), nullptr);
  EXPECT_EQ(s.PlacementOf("r")->ranks.size(), 3u);
  EXPECT_EQ(s.used(v1::DEVICE_CPU), 3);
}

TEST(SchedulerTest, ActiveDeadlineCountsFromAdmission) {
  FakeClock clock;
  Scheduler s({4, 0}, &clock);
  GangRequest g = Gang("d", 1, 1);
  g.active_deadline_ms = 10000;
  s.Enqueue(g);
  s.Enqueue(Gang("nodeadline", 2, 1));
  clock.Advance(Millis(60000));  // time in the queue does not count
  ASSERT_EQ(s.Admit().size(), 2u);
  clock.Advance(Millis(9999));
  EXPECT_TRUE(s.Expired().empty());
  clock.Advance(Millis(1));
  EXPECT_EQ(s.Expired(), (std::vector<std::string>{"d"}));
  s.Release("d");
  EXPECT_TRUE(s.Expired().empty());
}

// A launcher that admits gangs itself (Slurm): nothing is counted here, so
// the coordinator never refuses or holds back what only Slurm can place.
TEST(SchedulerTest, UnlimitedAdmitsEverythingAtOnceInQueueOrder) {
  FakeClock clock;
  Scheduler s(Capacity::Unlimited(), &clock);
  EXPECT_TRUE(s.unlimited());
  EXPECT_TRUE(s.CheckFits(Gang("huge", 1, 100000)).ok());
  s.Enqueue(Gang("low", 1, 64));
  s.Enqueue(Gang("high", 2, 512, /*priority=*/5));
  s.Enqueue(Gang("gpu", 3, 8, 0, v1::DEVICE_CUDA));
  EXPECT_EQ(Ids(s.Admit()), (std::vector<std::string>{"high", "low", "gpu"}));
  EXPECT_EQ(s.queued(), 0u);
  EXPECT_TRUE(s.Reserve(Gang("recovered", 4, 1000)));
  EXPECT_EQ(s.used(v1::DEVICE_CPU), 0);  // nothing is held here
}

// There, admission is the launcher's allocation: the deadline counts from
// StartDeadline(), not from the moment the gang went to the launcher.
TEST(SchedulerTest, UnlimitedDeadlineCountsFromTheLaunchersAllocation) {
  FakeClock clock;
  Scheduler s(Capacity::Unlimited(), &clock);
  GangRequest g = Gang("d", 1, 2);
  g.active_deadline_ms = 10000;
  s.Enqueue(g);
  ASSERT_EQ(s.Admit().size(), 1u);
  clock.Advance(Millis(60000));  // pending in Slurm
  EXPECT_TRUE(s.Expired().empty());
  s.StartDeadline("d");
  clock.Advance(Millis(9999));
  s.StartDeadline("d");  // a second allocation report does not restart it
  EXPECT_TRUE(s.Expired().empty());
  clock.Advance(Millis(1));
  EXPECT_EQ(s.Expired(), (std::vector<std::string>{"d"}));
  s.StartDeadline("unknown");  // no-op
}

// A gang queued again (a restart that lost its hosts) keeps the clock of its
// first admission: the deadline is not reset by waiting for hosts.
TEST(SchedulerTest, ActiveDeadlineSurvivesRequeueing) {
  FakeClock clock;
  Scheduler s({4, 0}, &clock);
  GangRequest g = Gang("d", 1, 2);
  g.active_deadline_ms = 10000;
  s.Enqueue(g);
  auto first = s.Admit();
  ASSERT_EQ(first.size(), 1u);
  clock.Advance(Millis(6000));
  s.Release("d");
  s.Enqueue(first[0].gang);
  clock.Advance(Millis(1000));
  ASSERT_EQ(s.Admit().size(), 1u);
  clock.Advance(Millis(3000));
  EXPECT_EQ(s.Expired(), (std::vector<std::string>{"d"}));
}

}  // namespace
}  // namespace flyp::coord
