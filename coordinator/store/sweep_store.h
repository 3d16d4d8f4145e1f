// SweepStore: durable record of every sweep, its transitions and its trials
// (each with the job spec it runs). With the JobStore it is everything the
// SweepManager needs to pick up after a coordinator restart: which trials
// have jobs (Trial.job_id), which are being submitted (STARTING: the job
// may or may not exist; resubmitting with the trial's idempotency key finds
// it), the values recorded at early-stopping rungs, and whether a cancel was
// asked for.
//
// Implementations: SqliteSweepStore (the product; same database file as the
// jobs), MemorySweepStore (tests); sweep_store_conformance_test checks both.
//
// Thread safety: implementations are safe to call from any number of
// threads; every method is atomic (one transaction).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "flyp/v1/sweep.pb.h"

namespace flyp::coord {

struct SweepRecord {
  v1::Sweep sweep;  // id, spec, status (state, history, times, cancel_requested), trials, owner, artifact_dir
  std::string idempotency_key;  // empty: none
  int64_t seq = 0;              // submission order (paging)
};

struct NewTrial {
  v1::Trial trial;   // index, parameters, group; stored as given (state PENDING)
  v1::JobSpec spec;  // the trial's normalised, path-resolved job spec
};

struct NewSweep {
  v1::SweepSpec spec;
  std::string owner;
  std::string idempotency_key;
  std::string artifact_root;  // artifact_dir = artifact_root/<id>
  int64_t create_time_ms = 0;
  std::vector<NewTrial> trials;  // indexes 0..n-1 in order
};

// Applied atomically by UpdateSweep; unset members are left alone.
struct SweepUpdate {
  std::optional<v1::SweepTransition> transition;  // sets state and appends to history
  std::optional<int64_t> end_time_ms;
  std::optional<bool> cancel_requested;
};

// Applied atomically by UpdateTrial; unset members are left alone.
struct TrialUpdate {
  std::optional<v1::TrialState> state;
  std::optional<std::string> job_id;
  std::optional<std::string> reason;
  std::optional<std::string> message;
  std::optional<v1::RungValue> add_rung;  // appended to Trial.rungs
  std::optional<double> objective;
};

struct SweepQuery {
  std::vector<v1::SweepState> states;  // empty: all
  std::string owner;                   // empty: every owner
  int64_t after_seq = 0;               // paging: only sweeps with seq > after_seq
  int limit = 50;
};

class SweepStore {
 public:
  virtual ~SweepStore() = default;

  // Stores a RUNNING sweep (history: RUNNING "Submitted") with its trials,
  // PENDING, and returns it with its id "sweep-NNNNNN". With a non-empty
  // idempotency key already used, returns that sweep and sets *created false.
  virtual StatusOr<SweepRecord> CreateSweep(const NewSweep& sweep, bool* created) = 0;
  // NOT_FOUND for an unknown id. With every trial.
  virtual StatusOr<SweepRecord> GetSweep(const std::string& id) = 0;
  // Ordered by seq ascending, each with its trials.
  virtual StatusOr<std::vector<SweepRecord>> ListSweeps(const SweepQuery& query) = 0;
  // NOT_FOUND for an unknown id.
  virtual Status UpdateSweep(const std::string& id, const SweepUpdate& update) = 0;
  // NOT_FOUND for an unknown sweep or trial index.
  virtual Status UpdateTrial(const std::string& sweep_id, int index, const TrialUpdate& update) = 0;
  // The job spec trial `index` runs. NOT_FOUND as above.
  virtual StatusOr<v1::JobSpec> GetTrialSpec(const std::string& sweep_id, int index) = 0;
};

bool IsTerminal(v1::SweepState s);
bool IsTerminal(v1::TrialState s);
// Applies `u` to `trial` (the one definition of TrialUpdate's meaning).
void ApplyTrialUpdate(const TrialUpdate& u, v1::Trial* trial);

}  // namespace flyp::coord
