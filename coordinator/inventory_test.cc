// Placement onto concrete hosts (packing, ranks_per_host, never partial,
// disjoint CPUs, GPUs and metrics ports between gangs), the reasons a gang
// can never fit, and host health with backoff — all in virtual time.
#include "coordinator/inventory.h"

#include <gtest/gtest.h>

#include <set>

#include "coordinator/scheduler.h"

namespace flyp::coord {
namespace {

HostConfig Host(const std::string& name, int cpus, std::vector<int> gpus = {}) {
  HostConfig h;
  h.name = name;
  h.address = "198.18.0." + std::to_string(10 + static_cast<int>(name.back() - '0'));
  h.cpu_slots = cpus;
  h.gpus = std::move(gpus);
  return h;
}

PoolConfig Pool(const std::string& name, std::vector<HostConfig> hosts,
                LauncherKind kind = LauncherKind::kHosts) {
  PoolConfig p;
  p.name = name;
  p.launcher = kind;
  p.hosts = std::move(hosts);
  p.worker_metrics_port_first = 9400;
  p.worker_metrics_port_last = 9402;
  p.probe_backoff_s = 5;
  p.probe_backoff_max_s = 30;
  return p;
}

GangShape Shape(int world, int slots = 1, int per_host = 0, bool cuda = false) {
  GangShape g;
  g.world_size = world;
  g.slots_per_rank = slots;
  g.ranks_per_host = per_host;
  g.cuda = cuda;
  return g;
}

// Host name per rank.
std::vector<std::string> Hosts(const Inventory& inv, const Placement& p) {
  std::vector<std::string> out;
  for (const RankPlacement& r : p.ranks) out.push_back(inv.hosts()[static_cast<size_t>(r.host)].config.name);
  return out;
}

TEST(InventoryTest, PacksOntoTheFewestHostsAndTheTightestFit) {
  FakeClock clock;
  Inventory inv({Pool("p", {Host("h1", 4), Host("h2", 2), Host("h3", 3)})}, &clock);
  // 2 ranks fit on one host: the tightest that takes them (h2), not the roomiest.
  auto p = inv.Place(0, Shape(2));
  ASSERT_TRUE(p);
  EXPECT_EQ(Hosts(inv, *p), (std::vector<std::string>{"h2", "h2"}));
  EXPECT_EQ(p->ranks[0].cpus, std::vector<int>{0});
  EXPECT_EQ(p->ranks[1].cpus, std::vector<int>{1});
  // 6 ranks: h1 (4) then the tightest host for the last 2 (h2, not h3); ranks
  // numbered host by host in configuration order.
  p = inv.Place(0, Shape(6));
  ASSERT_TRUE(p);
  EXPECT_EQ(Hosts(inv, *p), (std::vector<std::string>{"h1", "h1", "h1", "h1", "h2", "h2"}));
  EXPECT_EQ(p->hosts(), (std::vector<int>{0, 1}));
  // Slots per rank: 2 ranks of 2 slots fit h1 alone.
  p = inv.Place(0, Shape(2, 2));
  ASSERT_TRUE(p);
  EXPECT_EQ(Hosts(inv, *p), (std::vector<std::string>{"h1", "h1"}));
  EXPECT_EQ(p->ranks[1].cpus, (std::vector<int>{2, 3}));
  // Never partial: 10 ranks do not fit 9 slots.
  EXPECT_FALSE(inv.Place(0, Shape(10)));
}

TEST(InventoryTest, RanksPerHostUsesExactlyThatManyOnEachHost) {
  FakeClock clock;
  Inventory inv({Pool("p", {Host("h1", 4), Host("h2", 1), Host("h3", 2)})}, &clock);
  auto p = inv.Place(0, Shape(2, 1, 1));
  ASSERT_TRUE(p);
  // One rank on each of two hosts: the tightest (h2, h3) keep h1 whole.
  EXPECT_EQ(Hosts(inv, *p), (std::vector<std::string>{"h2", "h3"}));
  p = inv.Place(0, Shape(4, 1, 2));
  ASSERT_TRUE(p);
  EXPECT_EQ(Hosts(inv, *p), (std::vector<std::string>{"h1", "h1", "h3", "h3"}));
  EXPECT_FALSE(inv.Place(0, Shape(6, 1, 2))) << "only two hosts take 2 ranks";
}

TEST(InventoryTest, ConcurrentGangsGetDisjointCpusGpusAndPorts) {
  FakeClock clock;
  Inventory inv({Pool("p", {Host("h1", 4, {0, 1})})}, &clock);
  std::set<int> cpus, gpus, ports;
  for (const char* job : {"a", "b"}) {
    auto p = inv.Place(0, Shape(1, 1, 0, /*cuda=*/true));
    ASSERT_TRUE(p) << job;
    inv.Take(job, *p);
    for (const auto& r : p->ranks) {
      for (int g : r.gpus) EXPECT_TRUE(gpus.insert(g).second) << "GPU " << g << " given twice";
      EXPECT_TRUE(ports.insert(r.metrics_port).second) << "port " << r.metrics_port << " given twice";
      EXPECT_TRUE(r.cpus.empty()) << "cuda ranks hold GPUs, not CPU slots";
    }
  }
  EXPECT_EQ(gpus, (std::set<int>{0, 1}));
  EXPECT_EQ(ports, (std::set<int>{9400, 9401}));
  EXPECT_FALSE(inv.Place(0, Shape(1, 1, 0, true))) << "both GPUs are taken";
  // CPU gangs share the host's CPUs, never a slot; the last free port goes to
  // the first rank, the next rank has none (no /metrics rather than a clash).
  auto c = inv.Place(0, Shape(2));
  ASSERT_TRUE(c);
  inv.Take("c", *c);
  EXPECT_EQ(c->ranks[0].metrics_port, 9402);
  EXPECT_EQ(c->ranks[1].metrics_port, 0);
  auto d = inv.Place(0, Shape(2));
  ASSERT_TRUE(d);
  for (const auto& r : d->ranks) EXPECT_GE(r.cpus.at(0), 2) << "c holds slots 0 and 1";
  EXPECT_EQ(inv.used(true), 2);
  EXPECT_EQ(inv.used(false), 2);
  EXPECT_EQ(inv.JobsOn(0), (std::set<std::string>{"a", "b", "c"}));
  inv.Free("a");
  auto again = inv.Place(0, Shape(1, 1, 0, true));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ranks[0].gpus, std::vector<int>{0});
  EXPECT_EQ(again->ranks[0].metrics_port, 9400) << "a's port is free again";
}

// On Kubernetes a cuda pod runs slots_per_rank ranks on one GPU each
// (mpijob.h): 4 ranks of slots_per_rank 2 hold 4 GPUs, not 8; elsewhere a
// cuda rank holds slots_per_rank GPUs.
TEST(InventoryTest, KubernetesCudaRanksHoldOneGpuEach) {
  FakeClock clock;
  Inventory inv({Pool("k8s", {Host("h1", 64, {0, 1, 2, 3, 4, 5})}, LauncherKind::kKubernetes),
                 Pool("metal", {Host("h2", 64, {0, 1, 2, 3, 4, 5})})},
                &clock);
  auto p = inv.Place(0, Shape(4, 2, 0, true));
  ASSERT_TRUE(p);
  inv.Take("a", *p);
  EXPECT_EQ(inv.used(true), 4);
  EXPECT_TRUE(inv.CheckFits(0, Shape(6, 2, 0, true)).ok()) << "6 GPUs hold 6 ranks there";
  EXPECT_FALSE(inv.CheckFits(1, Shape(6, 2, 0, true)).ok()) << "but 3 ranks of 2 GPUs on a host";
  auto q = inv.Place(1, Shape(2, 2, 0, true));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->ranks[1].gpus, (std::vector<int>{2, 3}));
}

TEST(InventoryTest, NeverFittingGangsAreRefusedWithTheConstraintTheyBreak) {
  FakeClock clock;
  Inventory inv({Pool("p", {Host("h1", 4, {0}), Host("h2", 2)})}, &clock);
  auto msg = [&](GangShape g) { return inv.CheckFits(0, g).message(); };
  EXPECT_TRUE(inv.CheckFits(0, Shape(6)).ok());
  EXPECT_EQ(inv.CheckFits(0, Shape(7)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      msg(Shape(7)),
      "the gang needs 7 CPU slots (resources.world_size x resources.slots_per_rank) but pool 'p' has only 6 "
      "(2 hosts)");
  EXPECT_EQ(
      msg(Shape(1, 5)),
      "a rank needs 5 CPU slots (resources.slots_per_rank) but the largest host of pool 'p' (h1) has 4");
  EXPECT_EQ(
      msg(Shape(2, 1, 2, true)),
      "the gang needs 2 GPUs (resources.world_size x resources.slots_per_rank) but pool 'p' has only 1 (2 "
      "hosts)");
  EXPECT_EQ(
      msg(Shape(6, 1, 3)),
      "resources.ranks_per_host 3 x resources.slots_per_rank 1 needs 2 hosts with 3 CPU slots each, but pool "
      "'p' has 1");
  EXPECT_EQ(
      msg(Shape(2, 3)),
      "the gang (2 ranks of 3 CPU slots) does not fit the hosts of pool 'p': slots are spread too thinly");
  // A down host still counts for "can it ever fit".
  inv.MarkDown(1, "gone");
  EXPECT_TRUE(inv.CheckFits(0, Shape(6)).ok());
  EXPECT_FALSE(inv.Place(0, Shape(6)));
}

TEST(InventoryTest, ChoosesTheRequestedPoolOrTheFirstThatFits) {
  FakeClock clock;
  Inventory inv({Pool("small", {Host("h1", 2)}), Pool("big", {Host("h2", 8)})}, &clock);
  EXPECT_EQ(*inv.ChoosePool("", Shape(2)), 0);
  EXPECT_EQ(*inv.ChoosePool("", Shape(4)), 1);
  EXPECT_EQ(*inv.ChoosePool("big", Shape(2)), 1);
  EXPECT_EQ(inv.ChoosePool("small", Shape(4)).status().code(), StatusCode::kFailedPrecondition);
  auto unknown = inv.ChoosePool("huge", Shape(1));
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(unknown.status().message(), "resources.pool: no pool 'huge' (pools: small, big)");
  auto none = inv.ChoosePool("", Shape(9));
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("fits no pool"), std::string::npos) << none.status();
}

TEST(InventoryTest, DownHostsAreSkippedAndReprobedWithBackoff) {
  FakeClock clock;
  Inventory inv({Pool("p", {Host("h1", 1), Host("h2", 1), Host("h3", 1)})}, &clock);
  auto p = inv.Place(0, Shape(2));
  ASSERT_TRUE(p);
  EXPECT_EQ(Hosts(inv, *p), (std::vector<std::string>{"h1", "h2"}));
  const uint64_t v = inv.version();
  inv.MarkDown(1, "probe failed: no route to host");
  EXPECT_GT(inv.version(), v);
  EXPECT_FALSE(inv.IsUp(1));
  EXPECT_EQ(inv.hosts()[1].reason, "probe failed: no route to host");
  p = inv.Place(0, Shape(2));
  ASSERT_TRUE(p);
  EXPECT_EQ(Hosts(inv, *p), (std::vector<std::string>{"h1", "h3"})) << "the third host replaces h2";
  // Re-probes: after 5 s, then 10 s, then 20, capped at 30.
  EXPECT_TRUE(inv.TakeDueProbes().empty());
  EXPECT_EQ(*inv.NextProbeMs(), clock.NowMillis() + 5000);
  for (int64_t wait : {5000, 10000, 20000, 30000, 30000}) {
    clock.Advance(Millis(wait - 1));
    EXPECT_TRUE(inv.TakeDueProbes().empty()) << wait;
    clock.Advance(Millis(1));
    EXPECT_EQ(inv.TakeDueProbes(), std::vector<int>{1}) << wait;
    EXPECT_TRUE(inv.TakeDueProbes().empty()) << "in flight";
    inv.ProbeFinished(1);
    inv.MarkDown(1, "still gone");
  }
  inv.MarkUp(1);
  EXPECT_TRUE(inv.IsUp(1));
  EXPECT_EQ(inv.hosts()[1].reason, "");
  EXPECT_FALSE(inv.NextProbeMs());
  // Hosts of pools that are not probed (local) never go down.
  Inventory local({Pool("l", {Host("h1", 2)}, LauncherKind::kLocal)}, &clock);
  local.MarkDown(0, "x");
  EXPECT_TRUE(local.IsUp(0));
}

TEST(SchedulerHostsTest, StrictOrderPerPoolAndAdmissionsCarryPlacements) {
  FakeClock clock;
  Scheduler s({Pool("a", {Host("h1", 2)}), Pool("b", {Host("h2", 2)})}, &clock);
  auto gang = [](const std::string& id, int64_t seq, int world, const std::string& pool) {
    GangRequest g;
    g.job_id = id;
    g.seq = seq;
    g.units = world;
    g.shape = Shape(world);
    g.requested_pool = pool;
    return g;
  };
  for (GangRequest g : {gang("a-big", 1, 2, "a"), gang("a-next", 2, 2, "a"), gang("b-small", 3, 1, "b")}) {
    ASSERT_TRUE(s.Resolve(&g).ok());
    s.Enqueue(g);
  }
  auto admitted = s.Admit();
  ASSERT_EQ(admitted.size(), 2u);
  EXPECT_EQ(admitted[0].gang.job_id, "a-big");
  EXPECT_EQ(admitted[0].placement.pool, 0);
  EXPECT_EQ(admitted[1].gang.job_id, "b-small") << "pool b does not wait for pool a";
  EXPECT_EQ(admitted[1].placement.pool, 1);
  EXPECT_TRUE(s.IsQueued("a-next"));
  s.Release("a-big");
  ASSERT_EQ(s.Admit().size(), 1u);
  EXPECT_EQ(s.PlacementOf("a-next")->ranks.size(), 2u);
}

}  // namespace
}  // namespace flyp::coord
