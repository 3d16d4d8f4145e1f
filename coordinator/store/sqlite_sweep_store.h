// SweepStore on SQLite: the coordinator's database file (tables sweeps,
// sweep_transitions, sweep_trials of schema 4, coordinator/store/
// sqlite_db.h) through a connection of its own, beside the job store's.
// A trial is one row holding its v1::Trial and its JobSpec; an update reads,
// changes and writes it back in one transaction.
//
// Thread safety: one connection guarded by a mutex; every public method is
// one transaction.
#pragma once

#include <memory>
#include <string>

#include "common/mutex.h"
#include "coordinator/store/sweep_store.h"

struct sqlite3;

namespace flyp::coord {

class SqliteSweepStore : public SweepStore {
 public:
  // Opens (creating and migrating if needed) the database at `path`.
  static StatusOr<std::unique_ptr<SqliteSweepStore>> Open(const std::string& path);
  ~SqliteSweepStore() override;

  StatusOr<SweepRecord> CreateSweep(const NewSweep& sweep, bool* created) override;
  StatusOr<SweepRecord> GetSweep(const std::string& id) override;
  StatusOr<std::vector<SweepRecord>> ListSweeps(const SweepQuery& query) override;
  Status UpdateSweep(const std::string& id, const SweepUpdate& update) override;
  Status UpdateTrial(const std::string& sweep_id, int index, const TrialUpdate& update) override;
  StatusOr<v1::JobSpec> GetTrialSpec(const std::string& sweep_id, int index) override;

 private:
  explicit SqliteSweepStore(sqlite3* db) : db_(db) {}
  StatusOr<SweepRecord> GetSweepLocked(const std::string& id) FLYP_REQUIRES(mu_);
  Status LoadDetailsLocked(SweepRecord* rec) FLYP_REQUIRES(mu_);

  Mutex mu_;
  sqlite3* const db_ FLYP_GUARDED_BY(mu_);  // one connection: every use holds mu_
};

}  // namespace flyp::coord
