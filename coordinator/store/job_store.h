// JobStore: durable record of every job, its state history and its progress.
// The coordinator keeps no job state that is not also here, so a restarted
// coordinator can reconcile from the store alone (see docs/coordinator.md).
//
// Implementations: SqliteJobStore (the product), MemoryJobStore (tests; same
// semantics, checked by job_store_conformance_test against both).
//
// Thread safety: implementations are safe to call from any number of threads;
// every method is atomic (one transaction).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "flyp/v1/job.pb.h"

namespace flyp::coord {

// What the coordinator keeps about a job beyond the public v1::Job.
struct JobRecord {
  v1::Job job;                  // id, spec, status (state, history, restarts, times, latest progress), ...
  std::string spec_yaml;        // the normalised spec as YAML (what the worker reads)
  std::string idempotency_key;  // empty: none
  int64_t seq = 0;              // submission order (FIFO tie-break, paging)
  int attempt = 0;              // launches so far; FLYP_ATTEMPT of the current world
  std::string world;            // WorldHandle text of the current world ("local:4242"); empty: none
  std::string worker_token;     // secret the job's rank 0 presents to WorkerService
  std::string last_checkpoint;  // path reported by the last WORKER_PHASE_CHECKPOINT
};

struct NewJob {
  v1::JobSpec spec;
  std::string spec_yaml;
  std::string owner;
  std::string idempotency_key;
  std::string artifact_root;  // artifact_dir = artifact_root/<id>
  std::string worker_token;
  int64_t create_time_ms = 0;
  std::string sweep_id;  // the sweep this job is a trial of; empty: none
};

// A change applied atomically by UpdateJob. Unset members are left alone.
struct JobUpdate {
  std::optional<v1::StateTransition> transition;  // sets state and appends to history
  std::optional<int> restarts;
  std::optional<int> attempt;
  std::optional<std::string> world;  // "" clears it
  std::optional<int64_t> start_time_ms;
  std::optional<int64_t> end_time_ms;
  std::optional<std::string> last_checkpoint;
  // When set, the update applies only if the job is currently in this state
  // (FAILED_PRECONDITION otherwise): compare-and-set for racing writers.
  std::optional<v1::JobState> expect_state;
};

struct ListQuery {
  std::vector<v1::JobState> states;  // empty: all
  std::string name_contains;
  std::string sweep_id;   // only this sweep's trials; empty: every job
  std::string owner;      // only this owner's jobs; empty: every owner
  int64_t after_seq = 0;  // paging: only jobs with seq > after_seq
  int limit = 50;
};

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Stores a new QUEUED job (history: QUEUED "Submitted") and returns it with
  // its id "job-NNNNNN". With a non-empty idempotency key already used,
  // returns the existing job instead and sets *created to false.
  virtual StatusOr<JobRecord> CreateJob(const NewJob& job, bool* created) = 0;
  // NOT_FOUND for an unknown id.
  virtual StatusOr<JobRecord> GetJob(const std::string& id) = 0;
  // Ordered by seq ascending.
  virtual StatusOr<std::vector<JobRecord>> ListJobs(const ListQuery& query) = 0;
  // NOT_FOUND for an unknown id; FAILED_PRECONDITION when expect_state differs.
  virtual Status UpdateJob(const std::string& id, const JobUpdate& update) = 0;
  // Appends a progress point and merges it into the job's latest_progress
  // (MergeProgress), in one atomic step.
  virtual Status AddProgress(const std::string& id, const v1::ProgressPoint& point) = 0;
  // Progress points in report order, starting at index `from` (0-based).
  virtual StatusOr<std::vector<v1::ProgressPoint>> GetProgress(const std::string& id, int64_t from) = 0;
};

bool IsTerminal(v1::JobState s);

// The stored form of a client's idempotency key: scoped to its owner
// ("<owner length>:<owner>:<key>"), so another tenant who happens to use the
// same key gets a job (or sweep) of their own. Empty for no key.
std::string OwnerScopedKey(const std::string& owner, const std::string& key);

// A job's latest_progress after `next` arrives: a training step (step > 0)
// replaces the training numbers and sets the stage to training; an
// evaluation updates its splits' accuracies and keeps the last step and
// loss; a stage, when set, replaces the stage fields; a result and a time,
// when set, replace theirs. Pure.
v1::ProgressPoint MergeProgress(const v1::ProgressPoint& latest, const v1::ProgressPoint& next);

}  // namespace flyp::coord
