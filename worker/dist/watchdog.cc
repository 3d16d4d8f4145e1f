#include "worker/dist/watchdog.h"

#include <unistd.h>

#include <sstream>

#include "common/exception_edge.h"
#include "common/exit_codes.h"

namespace flyp::dist {

CollectiveWatchdog::CollectiveWatchdog(std::chrono::milliseconds timeout, Identity who,
                                       std::function<void()> abort_world,
                                       std::chrono::milliseconds abort_grace, Notifier notify)
    : timeout_(timeout),
      who_(std::move(who)),
      abort_world_(std::move(abort_world)),
      abort_grace_(abort_grace),
      notify_(std::move(notify)) {
  if (timeout_.count() > 0) {
    thread_ = std::thread([this] {
      // Without its watchdog a rank could hang forever: a failure of the
      // watchdog itself ends the rank (retryable).
      if (!CatchAtThread("collective watchdog", [this] { Run(); })) ::_exit(kWorkerExitFailure);
    });
  }
}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void CollectiveWatchdog::SetStep(int64_t step) {
  MutexLock lock(&mu_);
  step_ = step;
}

CollectiveWatchdog::Scope CollectiveWatchdog::Watch(const char* collective, int64_t bytes) {
  if (timeout_.count() <= 0) return Scope(nullptr, 0);
  uint64_t id;
  {
    MutexLock lock(&mu_);
    id = next_id_++;
    open_[id] = Op{collective, bytes, std::chrono::steady_clock::now()};
  }
  cv_.SignalAll();
  return Scope(this, id);
}

CollectiveWatchdog::Scope::~Scope() {
  if (dog_ != nullptr) dog_->End(id_);
}

void CollectiveWatchdog::End(uint64_t id) {
  MutexLock lock(&mu_);
  open_.erase(id);
}

void CollectiveWatchdog::Run() {
  mu_.Lock();
  while (!stop_) {
    if (open_.empty()) {
      cv_.Wait(&mu_);
      continue;
    }
    // The oldest open collective decides the next deadline (ids grow with time).
    const Op oldest = open_.begin()->second;
    const auto deadline = oldest.start + timeout_;
    if (std::chrono::steady_clock::now() >= deadline) {
      const int64_t step = step_;
      mu_.Unlock();
      Fire(oldest, step);  // does not return
    }
    cv_.WaitUntil(&mu_, deadline);
  }
  mu_.Unlock();
}

void CollectiveWatchdog::Fire(const Op& op, int64_t step) {
  const auto waited =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - op.start);
  std::ostringstream msg;
  msg << kCollectiveTimeoutMessagePrefix << " rank " << who_.rank << " of " << who_.world_size << " ("
      << who_.backend << ") made no progress in " << op.name << " (" << op.bytes << " bytes) for "
      << waited.count() << " ms (collective_timeout " << timeout_.count() << " ms) at step " << step
      << "; aborting the world with exit code " << kWorkerExitCollectiveTimeout << "\n";
  const std::string text = msg.str();
  ssize_t ignored = ::write(STDERR_FILENO, text.data(), text.size());
  (void)ignored;
  // If abort_world blocks (e.g. MPI_Abort cannot reach mpirun), still end.
  std::thread([grace = abort_grace_] {
    std::this_thread::sleep_for(grace);
    ::_exit(kWorkerExitCollectiveTimeout);
  }).detach();
  if (notify_) notify_(text.substr(0, text.size() - 1));
  if (abort_world_) abort_world_();
  ::_exit(kWorkerExitCollectiveTimeout);
}

}  // namespace flyp::dist
