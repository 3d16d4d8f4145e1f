// JobStore in memory: the same semantics as SqliteJobStore (ids
// "job-NNNNNN" in submission order, idempotency keys, expect_state
// compare-and-set, history, progress), checked by the shared conformance
// test (job_store_conformance_test.cc), without durability: for tests of
// what sits above the store (the JobManager).
//
// Thread safety: every method may be called from any thread; each is atomic.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "coordinator/store/job_store.h"

namespace flyp::coord {

class MemoryJobStore : public JobStore {
 public:
  StatusOr<JobRecord> CreateJob(const NewJob& job, bool* created) override;
  StatusOr<JobRecord> GetJob(const std::string& id) override;
  StatusOr<std::vector<JobRecord>> ListJobs(const ListQuery& query) override;
  Status UpdateJob(const std::string& id, const JobUpdate& update) override;
  Status AddProgress(const std::string& id, const v1::ProgressPoint& point) override;
  StatusOr<std::vector<v1::ProgressPoint>> GetProgress(const std::string& id, int64_t from) override;

 private:
  struct Row {
    JobRecord rec;
    std::vector<v1::ProgressPoint> progress;
  };

  Mutex mu_;
  int64_t next_seq_ FLYP_GUARDED_BY(mu_) = 1;
  std::map<std::string, Row> rows_ FLYP_GUARDED_BY(mu_);            // by id
  std::map<std::string, std::string> by_key_ FLYP_GUARDED_BY(mu_);  // idempotency key -> id
  std::map<int64_t, std::string> by_seq_ FLYP_GUARDED_BY(mu_);      // seq -> id
};

}  // namespace flyp::coord
