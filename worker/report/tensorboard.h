// TensorBoard scalar event files: `tensorboard --logdir <artifact root>`
// shows every job as a run.
//
//   TensorBoardWriter  a TrainObserver (rank 0; add it for logged steps) that
//                      writes <dir>/events.out.tfevents.<unix time>.<host>:
//                        train/loss, train/learning_rate, train/logit_scale,
//                        train/samples_per_second   at every logged step
//                        eval/zeroshot/<split>      accuracy (0..1) at step 0
//                        eval/epoch/<split>         at the step the epoch ended
//                        eval/final/<split>         at the last training step
//                        wiseft/<split>             at step round(100 * alpha),
//                                                   so the sweep reads as a curve
//                      each event flushed as it is written (a live
//                      tensorboard sees the run as it trains).
//   ReadTensorBoardScalars  reads such a file back, checking every CRC.
//
// File format (TensorFlow's TFRecord): records of
//   uint64 length | uint32 masked CRC32C(length) | data | uint32 masked CRC32C(data)
// little endian, data a serialised flyp.tensorboard.Event
// (proto/flyp/tensorboard/event.proto); the first record's event carries
// file_version "brain.Event:2".
//
// Output errors never fail the training: they are logged once and the
// writer goes quiet (status()).
//
// Thread safety: calls are serialised with an internal mutex.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "worker/report/observer.h"

namespace flyp::report {

class TensorBoardWriter : public TrainObserver {
 public:
  // Creates `dir` when missing and a new event file in it.
  static StatusOr<std::unique_ptr<TensorBoardWriter>> Open(const std::string& dir);
  ~TensorBoardWriter() override;

  void OnStep(const StepProgress& p) override;
  void OnEval(const EvalEvent& e) override;
  void OnPhase(const PhaseEvent&) override {}

  const std::string& path() const { return path_; }
  Status status() const;

 private:
  TensorBoardWriter(std::string path, std::FILE* f) : path_(std::move(path)), file_(f) {}
  void Write(int64_t step, WallTime time, const std::vector<std::pair<std::string, double>>& scalars);

  const std::string path_;
  mutable Mutex mu_;
  std::FILE* const file_ FLYP_GUARDED_BY(mu_);
  int64_t last_step_ FLYP_GUARDED_BY(mu_) = 0;
  Status status_ FLYP_GUARDED_BY(mu_);
};

struct ScalarEvent {
  double wall_time = 0;
  int64_t step = 0;
  std::string tag;
  double value = 0;
};

// Every scalar of an event file, in file order; the file_version record is
// checked and skipped. DATA_LOSS naming the path and byte offset for a bad
// CRC or a truncated record.
StatusOr<std::vector<ScalarEvent>> ReadTensorBoardScalars(const std::string& path);

// The serialised bytes of one record around `data` (for tests).
std::string TensorBoardRecord(const std::string& data);

}  // namespace flyp::report
