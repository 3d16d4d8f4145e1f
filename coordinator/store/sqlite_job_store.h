// JobStore on SQLite: one database file in WAL mode with a busy timeout, so
// several connections (threads, the sweep store, or a second coordinator
// process during a restart) may write concurrently. The schema is versioned
// (table schema_version); Open() applies the missing migrations in order
// (coordinator/store/sqlite_db.h).
//
// Thread safety: one connection guarded by a mutex; every public method is one
// transaction.
#pragma once

#include <memory>
#include <string>

#include "common/mutex.h"
#include "coordinator/store/job_store.h"

struct sqlite3;

namespace flyp::coord {

class SqliteJobStore : public JobStore {
 public:
  // Opens (creating if needed) the database at `path` and migrates it.
  static StatusOr<std::unique_ptr<SqliteJobStore>> Open(const std::string& path);
  ~SqliteJobStore() override;

  StatusOr<JobRecord> CreateJob(const NewJob& job, bool* created) override;
  StatusOr<JobRecord> GetJob(const std::string& id) override;
  StatusOr<std::vector<JobRecord>> ListJobs(const ListQuery& query) override;
  Status UpdateJob(const std::string& id, const JobUpdate& update) override;
  Status AddProgress(const std::string& id, const v1::ProgressPoint& point) override;
  StatusOr<std::vector<v1::ProgressPoint>> GetProgress(const std::string& id, int64_t from) override;

  // The schema version this code writes (kStoreSchemaVersion of sqlite_db.h).
  static constexpr int kSchemaVersion = 4;

 private:
  explicit SqliteJobStore(sqlite3* db) : db_(db) {}
  StatusOr<JobRecord> GetJobLocked(const std::string& id) FLYP_REQUIRES(mu_);
  Status LoadHistoryLocked(JobRecord* rec) FLYP_REQUIRES(mu_);

  Mutex mu_;
  sqlite3* const db_ FLYP_GUARDED_BY(mu_);  // one connection: every use holds mu_
};

}  // namespace flyp::coord
