// Mutex, SharedMutex, their scoped locks, CondVar, ChangeCounter, and the thread-safety
// annotation macros that let clang check the lock discipline at compile time
// (-Wthread-safety; scripts/check-thread-safety runs it in CI).
//
// Every mutex in the product is one of these (libstdc++'s std::mutex carries
// no annotations, so clang could not check it). Say what a mutex guards where
// the members are declared:
//
//   Mutex mu_;
//   std::map<std::string, Job> jobs_ FLYP_GUARDED_BY(mu_);
//   void TickLocked() FLYP_REQUIRES(mu_);
//
// and take it with a scoped lock (`MutexLock lock(&mu_);`). Waiting on a
// CondVar releases and re-takes the mutex; write the wait as a loop over the
// condition (`while (!ready_) cv_.Wait(&mu_);`): the analysis checks loop
// conditions, but not lambdas passed as predicates.
//
// With GCC the macros expand to nothing; the types are then plain wrappers
// of std::mutex, std::shared_mutex and std::condition_variable.
//
// Thread safety: Mutex, SharedMutex and CondVar are the synchronisation
// primitives themselves; a scoped lock belongs to the thread that made it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define FLYP_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define FLYP_THREAD_ANNOTATION(x)
#endif

// A type that is a lock ("mutex") or a scoped holder of one.
#define FLYP_CAPABILITY(x) FLYP_THREAD_ANNOTATION(capability(x))
#define FLYP_SCOPED_CAPABILITY FLYP_THREAD_ANNOTATION(scoped_lockable)
// Data members: read and written only with the lock held (exclusively for
// writes, at least shared for reads).
#define FLYP_GUARDED_BY(x) FLYP_THREAD_ANNOTATION(guarded_by(x))
// Pointer members: the pointee is guarded (the pointer itself is not).
#define FLYP_PT_GUARDED_BY(x) FLYP_THREAD_ANNOTATION(pt_guarded_by(x))
// Functions: the caller must hold the lock (exclusively / shared), or must
// not hold it (the function takes it itself).
#define FLYP_REQUIRES(...) FLYP_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define FLYP_REQUIRES_SHARED(...) FLYP_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define FLYP_EXCLUDES(...) FLYP_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// Functions that take or release a lock and return with it held or not.
#define FLYP_ACQUIRE(...) FLYP_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define FLYP_ACQUIRE_SHARED(...) FLYP_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define FLYP_RELEASE(...) FLYP_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define FLYP_RELEASE_SHARED(...) FLYP_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define FLYP_RELEASE_GENERIC(...) FLYP_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define FLYP_ASSERT_CAPABILITY(x) FLYP_THREAD_ANNOTATION(assert_capability(x))
// A function whose locking the analysis cannot follow (say why next to it).
#define FLYP_NO_THREAD_SAFETY_ANALYSIS FLYP_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace flyp {

class CondVar;

// An exclusive, non-recursive lock.
class FLYP_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() FLYP_ACQUIRE() { mu_.lock(); }
  void Unlock() FLYP_RELEASE() { mu_.unlock(); }
  // Tells the analysis the caller holds the lock (no run-time check).
  void AssertHeld() const FLYP_ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex for its scope.
class FLYP_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) FLYP_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() FLYP_RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A reader/writer lock: many readers or one writer.
class FLYP_CAPABILITY("mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() FLYP_ACQUIRE() { mu_.lock(); }
  void Unlock() FLYP_RELEASE() { mu_.unlock(); }
  void ReaderLock() FLYP_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void ReaderUnlock() FLYP_RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds a SharedMutex exclusively for its scope.
class FLYP_SCOPED_CAPABILITY WriterMutexLock {
 public:
  explicit WriterMutexLock(SharedMutex* mu) FLYP_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterMutexLock() FLYP_RELEASE() { mu_->Unlock(); }
  WriterMutexLock(const WriterMutexLock&) = delete;
  WriterMutexLock& operator=(const WriterMutexLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// Holds a SharedMutex shared for its scope.
class FLYP_SCOPED_CAPABILITY ReaderMutexLock {
 public:
  explicit ReaderMutexLock(SharedMutex* mu) FLYP_ACQUIRE_SHARED(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderMutexLock() FLYP_RELEASE() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// A condition variable over a Mutex. Every wait may also return spuriously:
// re-check the condition in a loop.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases `mu` while waiting; holds it again on return.
  void Wait(Mutex* mu) FLYP_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // As Wait, at most `timeout`; false when the time ran out.
  template <class Rep, class Period>
  bool WaitFor(Mutex* mu, std::chrono::duration<Rep, Period> timeout) FLYP_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool signalled = cv_.wait_for(lock, timeout) == std::cv_status::no_timeout;
    lock.release();
    return signalled;
  }
  // As Wait, until `deadline`; false when it passed.
  template <class Clock, class Duration>
  bool WaitUntil(Mutex* mu, std::chrono::time_point<Clock, Duration> deadline) FLYP_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool signalled = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return signalled;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// A version number that threads can wait on changing: Bump() increments it
// and wakes every waiter. The managers' "something changed" signal to their
// Watch RPCs. Thread-safe.
class ChangeCounter {
 public:
  void Bump() FLYP_EXCLUDES(mu_) {
    {
      MutexLock lock(&mu_);
      ++version_;
    }
    changed_.SignalAll();
  }
  // The version once it differs from `seen`, or after `timeout_ms`.
  uint64_t WaitForChange(uint64_t seen, int64_t timeout_ms) FLYP_EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (version_.load() == seen && changed_.WaitUntil(&mu_, deadline)) {
    }
    return version_.load();
  }
  uint64_t version() const { return version_.load(); }

 private:
  Mutex mu_;
  CondVar changed_;
  std::atomic<uint64_t> version_{0};  // written under mu_
};

}  // namespace flyp
