// SweepStore in memory: the semantics of SqliteSweepStore (ids
// "sweep-NNNNNN" in submission order, idempotency keys, transitions,
// trials), checked by sweep_store_conformance_test, without durability: for
// tests of what sits above the store (the SweepManager).
//
// Thread safety: every method may be called from any thread; each is atomic.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "coordinator/store/sweep_store.h"

namespace flyp::coord {

class MemorySweepStore : public SweepStore {
 public:
  StatusOr<SweepRecord> CreateSweep(const NewSweep& sweep, bool* created) override;
  StatusOr<SweepRecord> GetSweep(const std::string& id) override;
  StatusOr<std::vector<SweepRecord>> ListSweeps(const SweepQuery& query) override;
  Status UpdateSweep(const std::string& id, const SweepUpdate& update) override;
  Status UpdateTrial(const std::string& sweep_id, int index, const TrialUpdate& update) override;
  StatusOr<v1::JobSpec> GetTrialSpec(const std::string& sweep_id, int index) override;

 private:
  struct Row {
    SweepRecord rec;
    std::vector<v1::JobSpec> specs;  // by trial index
  };

  Mutex mu_;
  int64_t next_seq_ FLYP_GUARDED_BY(mu_) = 1;
  std::map<std::string, Row> rows_ FLYP_GUARDED_BY(mu_);            // by id
  std::map<std::string, std::string> by_key_ FLYP_GUARDED_BY(mu_);  // idempotency key -> id
  std::map<int64_t, std::string> by_seq_ FLYP_GUARDED_BY(mu_);      // seq -> id
};

}  // namespace flyp::coord
