// Multi-threaded batch loader: N worker threads decode and transform whole
// batches of this rank's shard (sampler.h) into a bounded window of
// prefetched batches; the consumer receives them strictly in order.
//
// Determinism: batch k of an epoch holds shard positions [k*B, (k+1)*B) and
// every image's transform depends only on (seed, epoch, dataset index) (and
// the shift seed), so the sequence of batches is identical for any thread
// count and prefetch depth, and resuming at batch k (StartEpoch(e, k))
// yields exactly batches k.. of an uninterrupted epoch.
//
// Prefetch: at most max(prefetch_batches, num_threads) batches are being
// built or waiting at any time (each worker holds at most one).
//
// Errors: a failing example (missing/corrupt file, an exception inside a
// worker) turns its batch into an error Status naming the epoch, batch,
// dataset index and the example's own message; Next() returns it when that
// batch is due, and the epoch then ends (further Next() calls return
// FAILED_PRECONDITION until StartEpoch).
//
// Thread safety: a Loader is used by one consumer thread (not thread-safe
// itself); its workers are internal. The destructor stops and joins the
// workers, also mid-epoch. The dataset must outlive the loader (shared).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/data/dataset.h"
#include "worker/data/sampler.h"
#include "worker/data/transform.h"

namespace flyp::data {

struct Batch {
  torch::Tensor images;               // [B,3,R,R] float32, normalised
  torch::Tensor labels;               // [B] int64 (-1: unlabelled)
  torch::Tensor indices;              // [B] int64 dataset indices
  torch::Tensor padding;              // [B] bool: a sampler wrap-around duplicate (skip in eval)
  std::vector<std::string> captions;  // [B] ("" for labelled data)
  int64_t epoch = 0;
  int64_t batch_index = 0;  // position within the epoch
};

struct LoaderOptions {
  int64_t batch_size = 32;       // per rank
  bool drop_last_batch = false;  // drop the epoch's final partial batch (same on every rank)
  int num_threads = 0;           // 0: min(4, hardware threads)
  int prefetch_batches = 2;      // >= 1
  // Batch images in page-locked host memory, so that the copy to a GPU can
  // run asynchronously (CUDA jobs; needs a LibTorch with CUDA).
  bool pin_memory = false;
  SamplerOptions sampler;
  TransformOptions transform;
};

// Loader settings for `source` from a job spec's data section:
// loader_threads, prefetch_batches, crop scales; batch_size per rank.
LoaderOptions LoaderOptionsFor(const v1::DataSpec& spec, const v1::DataSource& source, int resolution,
                               bool train, int64_t batch_size, int world_size, int rank, uint64_t seed);

class Loader {
 public:
  // INVALID_ARGUMENT for bad options (batch_size < 1, sampler, transform).
  static StatusOr<std::unique_ptr<Loader>> Create(std::shared_ptr<const Dataset> dataset,
                                                  LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Batches per epoch for this rank (equal on every rank).
  int64_t num_batches() const;
  const LoaderOptions& options() const { return options_; }
  const Dataset& dataset() const { return *dataset_; }

  // Starts `epoch` at batch `start_batch` in [0, num_batches()], stopping
  // (and joining) any epoch in progress. Returns immediately; workers start
  // filling the prefetch window. OUT_OF_RANGE for a bad start_batch.
  Status StartEpoch(int64_t epoch, int64_t start_batch = 0);

  // The next batch, blocking until it is ready; std::nullopt once the epoch
  // is exhausted. FAILED_PRECONDITION before StartEpoch or after an error.
  StatusOr<std::optional<Batch>> Next();

 private:
  struct Result {
    Status status;
    Batch batch;
  };

  Loader(std::shared_ptr<const Dataset> dataset, LoaderOptions options, DistributedSampler sampler);
  void Stop() FLYP_EXCLUDES(mu_);
  void WorkerLoop() FLYP_EXCLUDES(mu_);
  Result BuildBatch(int64_t k) const;

  const std::shared_ptr<const Dataset> dataset_;
  const LoaderOptions options_;
  const DistributedSampler sampler_;
  const int num_threads_;
  const int64_t window_;

  // Epoch plan, written by StartEpoch while no worker runs.
  Shard shard_;
  int64_t epoch_ = 0;
  int64_t end_batch_ = 0;
  bool started_ = false;
  bool failed_ = false;

  Mutex mu_;
  CondVar work_cv_;   // workers: a batch may be claimed / stop
  CondVar ready_cv_;  // consumer: a batch finished
  bool stop_ FLYP_GUARDED_BY(mu_) = false;
  int64_t next_claim_ FLYP_GUARDED_BY(mu_) = 0;
  int64_t next_yield_ FLYP_GUARDED_BY(mu_) = 0;
  std::map<int64_t, Result> ready_ FLYP_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
};

}  // namespace flyp::data
