#include "worker/data/loader.h"

#include <algorithm>
#include <exception>

namespace flyp::data {

LoaderOptions LoaderOptionsFor(const v1::DataSpec& spec, const v1::DataSource& source, int resolution,
                               bool train, int64_t batch_size, int world_size, int rank, uint64_t seed) {
  LoaderOptions o;
  o.batch_size = batch_size;
  o.drop_last_batch = train;
  o.num_threads = spec.loader_threads();
  if (spec.has_prefetch_batches() && spec.prefetch_batches() > 0)
    o.prefetch_batches = spec.prefetch_batches();
  o.sampler.world_size = world_size;
  o.sampler.rank = rank;
  o.sampler.shuffle = train;
  o.sampler.seed = seed;
  o.sampler.drop_last = train;
  o.transform = TransformOptionsFor(spec, source, resolution, train, seed);
  return o;
}

StatusOr<std::unique_ptr<Loader>> Loader::Create(std::shared_ptr<const Dataset> dataset,
                                                 LoaderOptions options) {
  if (dataset == nullptr) return InvalidArgumentError("loader: no dataset");
  if (options.batch_size < 1)
    return InvalidArgumentError("loader: batch_size must be >= 1, got " + std::to_string(options.batch_size));
  if (options.prefetch_batches < 1) {
    return InvalidArgumentError("loader: prefetch_batches must be >= 1, got " +
                                std::to_string(options.prefetch_batches));
  }
  if (options.num_threads < 0) return InvalidArgumentError("loader: num_threads must be >= 0");
  Status st = ValidateTransformOptions(options.transform);
  if (!st.ok()) return st.WithContext("loader");
  FLYP_ASSIGN_OR_RETURN(DistributedSampler sampler,
                        DistributedSampler::Create(dataset->size(), options.sampler));
  return std::unique_ptr<Loader>(new Loader(std::move(dataset), std::move(options), std::move(sampler)));
}

namespace {
int ResolveThreads(int requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(hw, 1u, 4u));
}
}  // namespace

Loader::Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions options, DistributedSampler sampler)
    : dataset_(std::move(dataset)),
      options_(std::move(options)),
      sampler_(std::move(sampler)),
      num_threads_(ResolveThreads(options_.num_threads)),
      window_(std::max<int64_t>(options_.prefetch_batches, num_threads_)) {}

Loader::~Loader() { Stop(); }

int64_t Loader::num_batches() const {
  const int64_t s = sampler_.samples_per_rank(), b = options_.batch_size;
  return options_.drop_last_batch ? s / b : (s + b - 1) / b;
}

void Loader::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  work_cv_.SignalAll();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  MutexLock lock(&mu_);
  ready_.clear();
  stop_ = false;
}

Status Loader::StartEpoch(int64_t epoch, int64_t start_batch) {
  Stop();
  const int64_t n = num_batches();
  if (start_batch < 0 || start_batch > n) {
    return OutOfRangeError("loader: start_batch " + std::to_string(start_batch) + " is not in [0, " +
                           std::to_string(n) + "]");
  }
  shard_ = sampler_.ShardFor(epoch);
  epoch_ = epoch;
  end_batch_ = n;
  started_ = true;
  failed_ = false;
  {
    MutexLock lock(&mu_);
    next_claim_ = start_batch;
    next_yield_ = start_batch;
  }
  const int64_t threads = std::min<int64_t>(num_threads_, n - start_batch);
  for (int64_t t = 0; t < threads; ++t) workers_.emplace_back([this] { WorkerLoop(); });
  return Status::Ok();
}

void Loader::WorkerLoop() {
  while (true) {
    int64_t k;
    {
      MutexLock lock(&mu_);
      while (!stop_ && next_claim_ < end_batch_ && next_claim_ >= next_yield_ + window_) work_cv_.Wait(&mu_);
      if (stop_ || next_claim_ >= end_batch_) return;
      k = next_claim_++;
    }
    Result r;
    try {
      r = BuildBatch(k);
    } catch (const std::exception& e) {
      r.status = InternalError("loader epoch " + std::to_string(epoch_) + " batch " + std::to_string(k) +
                               ": exception in worker: " + e.what());
    } catch (...) {
      r.status = InternalError("loader epoch " + std::to_string(epoch_) + " batch " + std::to_string(k) +
                               ": unknown exception in worker");
    }
    {
      MutexLock lock(&mu_);
      ready_.emplace(k, std::move(r));
    }
    ready_cv_.SignalAll();
  }
}

Loader::Result Loader::BuildBatch(int64_t k) const {
  const int64_t begin = k * options_.batch_size;
  const int64_t end =
      std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(shard_.indices.size()));
  const int64_t b = end - begin;
  const int r = options_.transform.resolution;
  Result res;
  Batch& batch = res.batch;
  batch.epoch = epoch_;
  batch.batch_index = k;
  batch.images =
      torch::empty({b, 3, r, r}, torch::TensorOptions(torch::kFloat32).pinned_memory(options_.pin_memory));
  batch.labels = torch::empty({b}, torch::kInt64);
  batch.indices = torch::empty({b}, torch::kInt64);
  batch.padding = torch::empty({b}, torch::kBool);
  batch.captions.resize(static_cast<size_t>(b));
  float* images = batch.images.data_ptr<float>();
  int64_t* labels = batch.labels.data_ptr<int64_t>();
  int64_t* indices = batch.indices.data_ptr<int64_t>();
  bool* padding = batch.padding.data_ptr<bool>();
  const size_t per_image = 3 * static_cast<size_t>(r) * r;
  for (int64_t j = 0; j < b; ++j) {
    const int64_t index = shard_.indices[static_cast<size_t>(begin + j)];
    StatusOr<Example> ex = dataset_->Get(index);
    if (!ex.ok() || ex->image.empty()) {
      const Status st =
          ex.ok() ? InvalidArgumentError(dataset_->Describe(index) + ": empty image") : ex.status();
      res.status = st.WithContext("loader epoch " + std::to_string(epoch_) + " batch " + std::to_string(k) +
                                  " dataset index " + std::to_string(index));
      return res;
    }
    TransformImage(ex->image, options_.transform, index, epoch_, images + per_image * j);
    labels[j] = ex->label;
    indices[j] = index;
    padding[j] = shard_.padding[static_cast<size_t>(begin + j)];
    batch.captions[static_cast<size_t>(j)] = std::move(ex->caption);
  }
  return res;
}

StatusOr<std::optional<Batch>> Loader::Next() {
  if (!started_) return FailedPreconditionError("loader: Next() before StartEpoch()");
  if (failed_) return FailedPreconditionError("loader: the epoch ended with an error; call StartEpoch()");
  Result r;
  {
    MutexLock lock(&mu_);
    if (next_yield_ >= end_batch_) return std::optional<Batch>();
    while (ready_.count(next_yield_) == 0) ready_cv_.Wait(&mu_);
    auto it = ready_.find(next_yield_);
    r = std::move(it->second);
    ready_.erase(it);
    ++next_yield_;
  }
  work_cv_.SignalAll();
  if (!r.status.ok()) {
    failed_ = true;
    Stop();
    return r.status;
  }
  return std::optional<Batch>(std::move(r.batch));
}

}  // namespace flyp::data
