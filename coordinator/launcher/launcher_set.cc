#include "coordinator/launcher/launcher_set.h"

namespace flyp::coord {

Launcher* LauncherSet::ForKind(const WorldHandle& world) const {
  auto it = by_kind_.find(std::string(world.kind()));
  return it == by_kind_.end() ? nullptr : it->second;
}

StatusOr<WorldHandle> LauncherSet::Launch(const LaunchRequest& req) {
  auto it = by_pool_.find(req.pool);
  if (it == by_pool_.end()) return FailedPreconditionError("no launcher for pool '" + req.pool + "'");
  return it->second->Launch(req);
}

std::optional<WorldExit> LauncherSet::Poll(const WorldHandle& world) {
  Launcher* l = ForKind(world);
  return l ? l->Poll(world) : std::optional<WorldExit>(WorldExit{255, 0});
}

void LauncherSet::Stop(const WorldHandle& world, bool force) {
  if (Launcher* l = ForKind(world)) l->Stop(world, force);
}

StatusOr<Recovery> LauncherSet::Recover(const WorldHandle& world, const LaunchRequest& req,
                                        int64_t grace_ms) {
  Launcher* l = ForKind(world);
  if (!l)
    return FailedPreconditionError("world '" + world.text() + "': no launcher of kind '" +
                                   std::string(world.kind()) + "' is configured");
  return l->Recover(world, req, grace_ms);
}

Status LauncherSet::StopOrphan(const WorldHandle& world, int64_t grace_ms) {
  Launcher* l = ForKind(world);
  if (!l)
    return FailedPreconditionError("world '" + world.text() + "': no launcher of kind '" +
                                   std::string(world.kind()) + "' is configured");
  return l->StopOrphan(world, grace_ms);
}

Status LauncherSet::CheckResources(const v1::ResourceSpec& resources) const {
  if (!resources.pool().empty()) {
    auto it = by_pool_.find(resources.pool());
    return it == by_pool_.end() ? Status::Ok() : it->second->CheckResources(resources);
  }
  const Launcher* only = nullptr;
  for (const auto& [pool, l] : by_pool_) {
    if (only && only != l) return Status::Ok();
    only = l;
  }
  return only ? only->CheckResources(resources) : Status::Ok();
}

bool LauncherSet::AdmitsGangs() const {
  if (by_pool_.empty()) return false;
  for (const auto& [pool, l] : by_pool_)
    if (!l->AdmitsGangs()) return false;
  return true;
}

WorldState LauncherSet::Observe(const WorldHandle& world) {
  Launcher* l = ForKind(world);
  return l ? l->Observe(world) : WorldState();
}

}  // namespace flyp::coord
