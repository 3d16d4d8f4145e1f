// CollectiveWatchdog: turns a hung collective into a clear, prompt failure.
//
// A backend wraps every blocking wait in a Watch() scope. A background thread
// checks the open scopes; when one has been open longer than `timeout` it
//   1. writes one line to stderr (with a single write(2)):
//        flyp: collective timeout: rank R of N (backend) made no progress in
//        <collective> (<bytes> bytes) for <ms> ms at step S; aborting the
//        world with exit code 75
//   2. calls `notify` with that line (the worker tells the coordinator, which
//      ends the world if the abort cannot: mpirun may wait many minutes on a
//      host that vanished with its link),
//   3. calls `abort_world` (MPI: MPI_Abort(MPI_COMM_WORLD, 75), which makes
//      mpirun kill every rank; NCCL: ncclCommAbort, then MPI_Abort), and
//   4. if abort_world returns, or notify and abort_world have not ended the
//      process within `abort_grace`, calls _exit(kWorkerExitCollectiveTimeout).
// The blocked collective itself is never resumed: the process ends.
//
// timeout == 0 disables the thread (Watch() then costs nothing).
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "common/mutex.h"

namespace flyp::dist {

// Every collective-timeout report on stderr starts with this text; the exit
// code that follows is kWorkerExitCollectiveTimeout (common/exit_codes.h).
inline constexpr const char* kCollectiveTimeoutMessagePrefix = "flyp: collective timeout:";

class CollectiveWatchdog {
 public:
  struct Identity {
    int rank = 0;
    int world_size = 1;
    std::string backend;
  };

  // What the rank says when the watchdog fires (the stderr line, without
  // the newline), before the world is aborted; it should return promptly.
  using Notifier = std::function<void(const std::string& message)>;

  // abort_world and notify run on the watchdog thread; abort_world should
  // not return.
  CollectiveWatchdog(std::chrono::milliseconds timeout, Identity who, std::function<void()> abort_world,
                     std::chrono::milliseconds abort_grace = std::chrono::seconds(10), Notifier notify = {});
  ~CollectiveWatchdog();
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  void SetStep(int64_t step);

  // RAII: the collective is "in progress" from construction to destruction.
  class Scope {
   public:
    Scope(Scope&& o) noexcept : dog_(o.dog_), id_(o.id_) { o.dog_ = nullptr; }
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    Scope& operator=(Scope&&) = delete;

   private:
    friend class CollectiveWatchdog;
    Scope(CollectiveWatchdog* dog, uint64_t id) : dog_(dog), id_(id) {}
    CollectiveWatchdog* dog_;
    uint64_t id_;
  };
  // `collective` must be a string literal (or otherwise outlive the scope).
  Scope Watch(const char* collective, int64_t bytes);

  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  struct Op {
    const char* name;
    int64_t bytes;
    std::chrono::steady_clock::time_point start;
  };
  void Run() FLYP_EXCLUDES(mu_);
  [[noreturn]] void Fire(const Op& op, int64_t step) FLYP_EXCLUDES(mu_);
  void End(uint64_t id) FLYP_EXCLUDES(mu_);

  const std::chrono::milliseconds timeout_;
  const Identity who_;
  const std::function<void()> abort_world_;
  const std::chrono::milliseconds abort_grace_;
  const Notifier notify_;

  Mutex mu_;
  CondVar cv_;  // the watchdog thread: a scope opened, or stop
  std::map<uint64_t, Op> open_ FLYP_GUARDED_BY(mu_);
  uint64_t next_id_ FLYP_GUARDED_BY(mu_) = 1;
  int64_t step_ FLYP_GUARDED_BY(mu_) = -1;
  bool stop_ FLYP_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace flyp::dist
