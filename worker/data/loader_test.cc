#include "worker/data/loader.h"

#include <gtest/gtest.h>

#include <set>

#include "worker/data/memory_dataset.h"

namespace flyp::data {
namespace {

// n examples of varying size, label i % 3, caption "c<i>".
std::shared_ptr<const Dataset> MakeDataset(int n, std::set<int64_t> failing = {}) {
  std::vector<Example> examples;
  for (int i = 0; i < n; ++i) {
    Example ex;
    ex.image.width = 10 + i % 5;
    ex.image.height = 8 + i % 3;
    ex.image.channels = i % 2 ? 3 : 1;
    ex.image.pixels.resize(static_cast<size_t>(ex.image.width) * ex.image.height * ex.image.channels);
    for (size_t p = 0; p < ex.image.pixels.size(); ++p)
      ex.image.pixels[p] = static_cast<uint8_t>((p * 31 + i * 17) % 256);
    ex.label = i % 3;
    ex.caption = "c" + std::to_string(i);
    examples.push_back(std::move(ex));
  }
  return std::make_shared<MemoryDataset>(std::move(examples), std::vector<std::string>{"a", "b", "c"},
                                         std::move(failing));
}

LoaderOptions Options(int threads) {
  LoaderOptions o;
  o.batch_size = 4;
  o.num_threads = threads;
  o.prefetch_batches = 2;
  o.sampler.seed = 5;
  o.transform.resolution = 8;
  o.transform.train = true;
  o.transform.seed = 5;
  v1::Shift noise;
  noise.set_kind(v1::SHIFT_KIND_NOISE);
  noise.set_severity(0.05f);
  o.transform.shifts = {noise};
  return o;
}

std::vector<Batch> Drain(Loader* loader, int64_t epoch, int64_t start = 0) {
  EXPECT_TRUE(loader->StartEpoch(epoch, start).ok());
  std::vector<Batch> out;
  while (true) {
    StatusOr<std::optional<Batch>> b = loader->Next();
    EXPECT_TRUE(b.ok()) << b.status();
    if (!b.ok() || !b->has_value()) break;
    out.push_back(std::move(**b));
  }
  return out;
}

void ExpectSame(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_TRUE(torch::equal(a[k].images, b[k].images)) << k;
    EXPECT_TRUE(torch::equal(a[k].labels, b[k].labels)) << k;
    EXPECT_TRUE(torch::equal(a[k].indices, b[k].indices)) << k;
    EXPECT_EQ(a[k].captions, b[k].captions) << k;
  }
}

TEST(Loader, SameBatchesForOneAndThreeThreads) {
  auto ds = MakeDataset(22);
  auto one = Loader::Create(ds, Options(1));
  auto three = Loader::Create(ds, Options(3));
  ASSERT_TRUE(one.ok() && three.ok());
  const std::vector<Batch> a = Drain(one->get(), 0), b = Drain(three->get(), 0);
  ASSERT_EQ(a.size(), 6u);  // ceil(22 / 4)
  EXPECT_EQ(a[5].images.size(0), 2);
  EXPECT_EQ(a[0].images.sizes(), (std::vector<int64_t>{4, 3, 8, 8}));
  ExpectSame(a, b);
  // Contents match the examples they name.
  for (const Batch& batch : a) {
    for (int64_t j = 0; j < batch.labels.size(0); ++j) {
      const int64_t i = batch.indices[j].item<int64_t>();
      EXPECT_EQ(batch.labels[j].item<int64_t>(), i % 3);
      EXPECT_EQ(batch.captions[static_cast<size_t>(j)], "c" + std::to_string(i));
    }
  }
  // Every index exactly once over the epoch.
  std::set<int64_t> seen;
  for (const Batch& batch : a)
    for (int64_t j = 0; j < batch.indices.size(0); ++j) seen.insert(batch.indices[j].item<int64_t>());
  EXPECT_EQ(seen.size(), 22u);
  // Another epoch reshuffles and recrops.
  const std::vector<Batch> e1 = Drain(one->get(), 1);
  EXPECT_FALSE(torch::equal(e1[0].indices, a[0].indices));
}

TEST(Loader, ResumeMidEpochMatches) {
  auto ds = MakeDataset(22);
  auto loader = Loader::Create(ds, Options(2));
  ASSERT_TRUE(loader.ok());
  const std::vector<Batch> full = Drain(loader->get(), 3);
  const std::vector<Batch> tail = Drain(loader->get(), 3, 4);
  ASSERT_EQ(tail.size(), 2u);
  ExpectSame({full[4], full[5]}, tail);
  EXPECT_EQ(tail[0].batch_index, 4);
  EXPECT_FALSE((*loader)->StartEpoch(3, 7).ok());
}

TEST(Loader, RanksGetEqualBatchCountsAndDisjointData) {
  auto ds = MakeDataset(22);
  std::set<int64_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    LoaderOptions o = Options(2);
    o.sampler.world_size = 3;
    o.sampler.rank = rank;
    o.sampler.drop_last = true;
    o.drop_last_batch = true;
    auto loader = Loader::Create(ds, o);
    ASSERT_TRUE(loader.ok());
    EXPECT_EQ((*loader)->num_batches(), 1);  // 7 samples per rank, 1 full batch of 4
    const std::vector<Batch> batches = Drain(loader->get(), 0);
    ASSERT_EQ(batches.size(), 1u);
    for (int64_t j = 0; j < 4; ++j) EXPECT_TRUE(seen.insert(batches[0].indices[j].item<int64_t>()).second);
  }
}

TEST(Loader, WorkerErrorReachesTheConsumerNamingTheExample) {
  auto ds = MakeDataset(22, {13});
  LoaderOptions o = Options(3);
  o.sampler.shuffle = false;
  auto loader = Loader::Create(ds, o);
  ASSERT_TRUE(loader.ok());
  ASSERT_TRUE((*loader)->StartEpoch(0).ok());
  int good = 0;
  Status error;
  while (true) {
    StatusOr<std::optional<Batch>> b = (*loader)->Next();
    if (!b.ok()) {
      error = b.status();
      break;
    }
    ASSERT_TRUE(b->has_value()) << "epoch ended without the error";
    ++good;
  }
  EXPECT_EQ(good, 3);  // batches 0..2 hold indices 0..11; batch 3 holds 13
  EXPECT_NE(error.message().find("batch 3"), std::string::npos) << error;
  EXPECT_NE(error.message().find("dataset index 13"), std::string::npos) << error;
  EXPECT_NE(error.message().find("memory example 13"), std::string::npos) << error;
  EXPECT_EQ((*loader)->Next().status().code(), StatusCode::kFailedPrecondition);
}

TEST(Loader, DestructorJoinsMidEpoch) {
  auto ds = MakeDataset(64);
  for (int trial = 0; trial < 5; ++trial) {
    LoaderOptions o = Options(4);
    o.batch_size = 2;
    auto loader = Loader::Create(ds, o);
    ASSERT_TRUE(loader.ok());
    ASSERT_TRUE((*loader)->StartEpoch(0).ok());
    if (trial % 2) {
      ASSERT_TRUE((*loader)->Next().ok());
    }
  }  // destroyed with workers running / waiting on the window
}

TEST(Loader, EvalPaddingIsMarked) {
  auto ds = MakeDataset(5);
  LoaderOptions o = Options(2);
  o.transform.train = false;
  o.sampler.shuffle = false;
  o.sampler.world_size = 2;
  o.sampler.rank = 1;
  auto loader = Loader::Create(ds, o);
  ASSERT_TRUE(loader.ok());
  const std::vector<Batch> b = Drain(loader->get(), 0);
  ASSERT_EQ(b.size(), 1u);
  // Rank 1 of [0..4, 0]: positions 1, 3, 5 -> 1, 3, 0 (padding).
  EXPECT_EQ(b[0].indices[2].item<int64_t>(), 0);
  EXPECT_TRUE(b[0].padding[2].item<bool>());
  EXPECT_FALSE(b[0].padding[0].item<bool>());
}

TEST(Loader, OptionsFromSpec) {
  v1::DataSpec spec;
  spec.set_loader_threads(3);
  spec.set_prefetch_batches(5);
  spec.set_crop_scale_min(0.5f);
  v1::DataSource source;
  source.set_seed(17);
  source.add_shifts()->set_kind(v1::SHIFT_KIND_INVERT);
  const LoaderOptions o = LoaderOptionsFor(spec, source, 224, /*train=*/true, 64, 4, 2, 99);
  EXPECT_EQ(o.num_threads, 3);
  EXPECT_EQ(o.prefetch_batches, 5);
  EXPECT_EQ(o.batch_size, 64);
  EXPECT_EQ(o.sampler.world_size, 4);
  EXPECT_EQ(o.sampler.rank, 2);
  EXPECT_TRUE(o.sampler.shuffle);
  EXPECT_TRUE(o.sampler.drop_last);
  EXPECT_TRUE(o.drop_last_batch);
  EXPECT_EQ(o.transform.resolution, 224);
  EXPECT_FLOAT_EQ(o.transform.crop_scale_min, 0.5f);
  EXPECT_DOUBLE_EQ(o.transform.crop_scale_max, 1.0);
  EXPECT_EQ(o.transform.shift_seed, 17u);
  ASSERT_EQ(o.transform.shifts.size(), 1u);
  const LoaderOptions eval = LoaderOptionsFor(spec, source, 224, /*train=*/false, 64, 4, 2, 99);
  EXPECT_FALSE(eval.sampler.shuffle);
  EXPECT_FALSE(eval.sampler.drop_last);
  EXPECT_FALSE(eval.transform.train);
}

TEST(Loader, RejectsBadOptions) {
  auto ds = MakeDataset(4);
  LoaderOptions o = Options(1);
  o.batch_size = 0;
  EXPECT_FALSE(Loader::Create(ds, o).ok());
  o = Options(1);
  o.transform.crop_scale_max = 2;
  EXPECT_FALSE(Loader::Create(ds, o).ok());
  auto loader = Loader::Create(ds, Options(1));
  EXPECT_EQ((*loader)->Next().status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace flyp::data
