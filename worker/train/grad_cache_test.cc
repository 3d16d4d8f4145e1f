// GradCacheStep must reproduce one big-batch contrastive backward exactly
// (float64): same loss, same parameter gradients, single process and under
// mpirun (ranks with different batch sizes).
#include "worker/train/grad_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/model_presets.h"
#include "worker/dist/dist_test_util.h"
#include "worker/dist/single_communicator.h"
#include "worker/model/clip_architecture.h"

namespace flyp::train {
namespace {

using dist::testing::AllCloseRel;
using dist::testing::WorldComm;

std::unique_ptr<model::ClipModel> MicroModel() {
  auto arch = PresetArchitecture("micro");
  EXPECT_TRUE(arch.ok()) << arch.status();
  auto config = model::ClipConfigFromArchitecture(*arch);
  EXPECT_TRUE(config.ok()) << config.status();
  torch::manual_seed(11);  // identical weights on every rank
  auto m = std::make_unique<model::ClipModel>(*config);
  m->to(torch::kFloat64);
  return m;
}

struct Data {
  torch::Tensor images, ids, labels;
};

// `n` samples drawn from a seed: every rank can rebuild the global batch.
Data MakeData(const model::ClipModel& m, int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  Data d;
  d.images = torch::randn({n, 3, m.image_size(), m.image_size()}, torch::kFloat64);
  d.ids = torch::randint(1, 5000, {n, m.context_length()}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t eot = 2 + (i % (m.context_length() - 3));
    d.ids[i][eot] = 49407;
    d.ids.index_put_({i, torch::indexing::Slice(eot + 1)}, 0);
  }
  d.labels = torch::randint(0, 3, {n}, torch::kLong);
  return d;
}

Data Slice(const Data& d, int64_t begin, int64_t end) {
  return {d.images.slice(0, begin, end), d.ids.slice(0, begin, end), d.labels.slice(0, begin, end)};
}

std::vector<torch::Tensor> TakeGrads(model::ClipModel& m) {
  std::vector<torch::Tensor> g;
  for (auto& p : m.parameters()) g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  m.zero_grad();
  return g;
}

// The plain path: one forward/backward over the whole batch (ContrastiveStep).
double PlainStep(model::ClipModel& m, const Data& d, dist::Communicator& comm,
                 const dist::ContrastiveLossOptions& opts) {
  namespace F = torch::nn::functional;
  auto img = F::normalize(m.encode_image(d.images), F::NormalizeFuncOptions().dim(-1));
  auto txt = F::normalize(m.encode_text(d.ids), F::NormalizeFuncOptions().dim(-1));
  auto res = dist::GlobalContrastiveLoss(img, txt, m.logit_scale().exp(), comm, opts, d.labels);
  res.loss.backward();
  return res.global_loss.item<double>();
}

void ExpectSameGrads(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                     model::ClipModel& m) {
  ASSERT_EQ(a.size(), b.size());
  size_t i = 0;
  for (const auto& p : m.named_parameters()) {
    EXPECT_TRUE(AllCloseRel(a[i], b[i], 1e-6)) << p.key();
    ++i;
  }
}

struct Case {
  std::string name;
  bool local_loss;
  bool mask_same_class;
  int64_t micro;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class GradCacheTest : public ::testing::TestWithParam<Case> {};

TEST_P(GradCacheTest, EqualsOneBigBatch) {
  const Case c = GetParam();
  auto& comm = WorldComm();
  auto m = MicroModel();
  // Rank r holds 5 + r samples of a global batch every rank can rebuild.
  const int world = comm.world_size(), rank = comm.rank();
  int64_t global = 0, offset = 0;
  for (int r = 0; r < world; ++r) {
    if (r == rank) offset = global;
    global += 5 + r;
  }
  const Data all = MakeData(*m, global, 3);
  const Data local = Slice(all, offset, offset + 5 + rank);
  dist::ContrastiveLossOptions opts;
  opts.local_loss = c.local_loss;
  opts.mask_same_class = c.mask_same_class;

  const double plain_loss = PlainStep(*m, local, comm, opts);
  const auto plain = TakeGrads(*m);
  auto micro = SplitIntoMicroBatches(local.images, local.ids, local.labels, c.micro);
  const auto res = GradCacheStep(*m, micro, comm, opts);
  const auto cached = TakeGrads(*m);

  EXPECT_EQ(res.global_batch, global);
  EXPECT_NEAR(res.loss, plain_loss, 1e-9 * std::abs(plain_loss));
  ExpectSameGrads(cached, plain, *m);
  // logit_scale (third in parameter order) got its gradient from step 2.
  ASSERT_EQ(m->named_parameters().keys()[2], "logit_scale");
  EXPECT_GT(cached[2].abs().item<double>(), 0.0);

  // After rank averaging: the gradient of a single process on the whole
  // global batch (the contract of the loss, kept by the accumulation).
  std::vector<torch::Tensor> averaged = cached;
  for (auto& g : averaged) comm.AllReduce(g, dist::ReduceOp::kAvg);
  auto single = dist::CreateSingleProcessCommunicator();
  PlainStep(*m, all, *single, opts);
  ExpectSameGrads(averaged, TakeGrads(*m), *m);
}

INSTANTIATE_TEST_SUITE_P(Modes, GradCacheTest,
                         ::testing::Values(Case{"full_micro2", false, false, 2},
                                           Case{"local_micro2", true, false, 2},
                                           Case{"local_micro1_masked", true, true, 1},
                                           Case{"full_micro3_masked", false, true, 3},
                                           Case{"one_micro_batch", false, false, 100}),
                         [](const auto& info) { return info.param.name; });

TEST(GradCacheSplitTest, SizesAndContents) {
  auto images = torch::arange(7).view({7, 1, 1, 1}).to(torch::kFloat64);
  auto ids = torch::arange(14).view({7, 2});
  auto labels = torch::arange(7);
  auto parts = SplitIntoMicroBatches(images, ids, labels, 3);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].images.size(0), 3);
  EXPECT_EQ(parts[2].images.size(0), 1);
  EXPECT_EQ(parts[1].ids[0][0].item<int64_t>(), 6);
  EXPECT_EQ(parts[2].labels[0].item<int64_t>(), 6);
  EXPECT_FALSE(SplitIntoMicroBatches(images, ids, torch::Tensor(), 4)[1].labels.defined());
  EXPECT_THROW(SplitIntoMicroBatches(images, ids, labels, 0), c10::Error);
  EXPECT_THROW(SplitIntoMicroBatches(images, ids.slice(0, 0, 6), labels, 2), c10::Error);
}

TEST(GradCacheSplitTest, RejectsEmptyStep) {
  auto m = MicroModel();
  auto single = dist::CreateSingleProcessCommunicator();
  EXPECT_THROW(GradCacheStep(*m, {}, *single), c10::Error);
}

}  // namespace
}  // namespace flyp::train
