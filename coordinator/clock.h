// Time source of the coordinator. The scheduler and the job manager read time
// only through a Clock so tests can drive deadlines and backoff with FakeClock.
//
// Thread safety: both implementations may be used from any thread.
#pragma once

#include <atomic>
#include <chrono>

namespace flyp::coord {

using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
};

class RealClock : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
};

// Stands still until Advance()d.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t start_millis = 1'700'000'000'000) : now_(start_millis) {}
  int64_t NowMillis() const override { return now_.load(); }
  void Advance(Millis d) { now_ += d.count(); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace flyp::coord
