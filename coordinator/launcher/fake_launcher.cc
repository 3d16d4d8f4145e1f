#include "coordinator/launcher/fake_launcher.h"

#include <csignal>

namespace flyp::coord {

StatusOr<WorldHandle> FakeLauncher::Launch(const LaunchRequest& req) {
  MutexLock lock(&mu_);
  launches_.push_back(req);
  if (hold_) {
    ++held_;
    cv_.SignalAll();
    const auto deadline = std::chrono::steady_clock::now() + hold_at_most_;
    while (hold_ && std::chrono::steady_clock::now() < deadline) cv_.WaitUntil(&mu_, deadline);
    --held_;
  }
  if (fail_next_) {
    Status s = *fail_next_;
    fail_next_.reset();
    return s;
  }
  const WorldHandle world = WorldHandle::Make("fake", std::to_string(next_world_++));
  worlds_[world] = World{};
  return world;
}

std::optional<WorldExit> FakeLauncher::Poll(const WorldHandle& world) {
  MutexLock lock(&mu_);
  auto it = worlds_.find(world);
  if (it == worlds_.end()) return WorldExit{255, 0};
  if (!it->second.exit) return std::nullopt;
  const WorldExit exit = *it->second.exit;
  worlds_.erase(it);
  return exit;
}

void FakeLauncher::Stop(const WorldHandle& world, bool force) {
  MutexLock lock(&mu_);
  stops_.push_back({world, force});
  auto it = worlds_.find(world);
  if (it == worlds_.end() || it->second.exit) return;
  if (force) {
    it->second.exit = WorldExit{0, SIGKILL};
  } else if (exit_on_term_) {
    it->second.exit = WorldExit{0, SIGTERM};
  }
}

StatusOr<Recovery> FakeLauncher::Recover(const WorldHandle& world, const LaunchRequest& req,
                                         int64_t grace_ms) {
  {
    MutexLock lock(&mu_);
    recovered_.push_back(world);
    if (recovery_ == Recovery::kAdopted && world.kind() == "fake") {
      worlds_[world] = World{};
      return Recovery::kAdopted;
    }
  }
  FLYP_RETURN_IF_ERROR(StopOrphan(world, grace_ms));
  return Recovery::kGone;
}

Status FakeLauncher::StopOrphan(const WorldHandle& world, int64_t grace_ms) {
  if (world.kind() != "fake") {
    return FailedPreconditionError("world '" + world.text() + "' was not started by the fake launcher");
  }
  MutexLock lock(&mu_);
  orphans_stopped_.push_back(world);
  return Status::Ok();
}

void FakeLauncher::FailNextLaunch(Status status) {
  MutexLock lock(&mu_);
  fail_next_ = std::move(status);
}

void FakeLauncher::HoldLaunches(std::chrono::milliseconds at_most) {
  MutexLock lock(&mu_);
  hold_ = true;
  hold_at_most_ = at_most;
}

void FakeLauncher::ReleaseLaunches() {
  MutexLock lock(&mu_);
  hold_ = false;
  cv_.SignalAll();
}

bool FakeLauncher::WaitForHeldLaunches(int n, std::chrono::milliseconds timeout) {
  MutexLock lock(&mu_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (held_ < n) {
    if (!cv_.WaitUntil(&mu_, deadline) && held_ < n) return false;
  }
  return true;
}

void FakeLauncher::Exit(const WorldHandle& world, WorldExit exit) {
  MutexLock lock(&mu_);
  auto it = worlds_.find(world);
  if (it != worlds_.end() && !it->second.exit) it->second.exit = exit;
}

void FakeLauncher::set_exit_on_term(bool exit_on_term) {
  MutexLock lock(&mu_);
  exit_on_term_ = exit_on_term;
}

WorldState FakeLauncher::Observe(const WorldHandle& world) {
  MutexLock lock(&mu_);
  auto it = worlds_.find(world);
  return it == worlds_.end() ? WorldState() : it->second.state;
}

void FakeLauncher::SetState(const WorldHandle& world, WorldState state) {
  MutexLock lock(&mu_);
  auto it = worlds_.find(world);
  if (it != worlds_.end()) it->second.state = std::move(state);
}

void FakeLauncher::set_recovery(Recovery recovery) {
  MutexLock lock(&mu_);
  recovery_ = recovery;
}

std::vector<LaunchRequest> FakeLauncher::launches() {
  MutexLock lock(&mu_);
  return launches_;
}

std::vector<FakeLauncher::StopCall> FakeLauncher::stops() {
  MutexLock lock(&mu_);
  return stops_;
}

std::vector<WorldHandle> FakeLauncher::recovered() {
  MutexLock lock(&mu_);
  return recovered_;
}

std::vector<WorldHandle> FakeLauncher::orphans_stopped() {
  MutexLock lock(&mu_);
  return orphans_stopped_;
}

std::vector<WorldHandle> FakeLauncher::live() {
  MutexLock lock(&mu_);
  std::vector<WorldHandle> out;
  for (const auto& [w, state] : worlds_)
    if (!state.exit) out.push_back(w);
  return out;
}

int FakeLauncher::held() {
  MutexLock lock(&mu_);
  return held_;
}

Status FakeHostProber::Probe(const Target& t) {
  MutexLock lock(&mu_);
  probed_.push_back(t.host);
  if (unreachable_.count(t.host)) {
    return UnavailableError("probe of " + t.host + " (" + t.address + ") failed: no route to host (fake)");
  }
  return Status::Ok();
}

void FakeHostProber::SetReachable(const std::string& host, bool reachable) {
  MutexLock lock(&mu_);
  if (reachable) {
    unreachable_.erase(host);
  } else {
    unreachable_.insert(host);
  }
}

std::vector<std::string> FakeHostProber::probed() {
  MutexLock lock(&mu_);
  return probed_;
}

}  // namespace flyp::coord
