#include "coordinator/inventory.h"

#include <algorithm>

namespace flyp::coord {
namespace {

const char* Units(bool cuda) { return cuda ? "GPUs" : "CPU slots"; }

std::string Plural(int n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::vector<int> Placement::hosts() const {
  std::vector<int> out;
  for (const RankPlacement& r : ranks) {
    if (std::find(out.begin(), out.end(), r.host) == out.end()) out.push_back(r.host);
  }
  return out;
}

Inventory::Inventory(std::vector<PoolConfig> pools, const Clock* clock)
    : pools_(std::move(pools)), clock_(clock) {
  const int64_t now = clock_->NowMillis();
  for (size_t p = 0; p < pools_.size(); ++p) {
    for (const HostConfig& hc : pools_[p].hosts) {
      Host h;
      h.pool = static_cast<int>(p);
      h.config = hc;
      h.since_ms = now;
      h.cpu_owner.assign(static_cast<size_t>(std::max(0, hc.cpu_slots)), "");
      for (int g : hc.gpus) h.gpu_owner[g] = "";
      hosts_.push_back(std::move(h));
    }
  }
}

int Inventory::PoolIndex(const std::string& name) const {
  for (size_t p = 0; p < pools_.size(); ++p)
    if (pools_[p].name == name) return static_cast<int>(p);
  return -1;
}

bool Inventory::Probed(int pool) const {
  return pools_.at(static_cast<size_t>(pool)).launcher == LauncherKind::kHosts;
}

int Inventory::Room(const Host& h, const GangShape& g, bool empty) const {
  if (!empty && h.state != HostState::kUp) return 0;
  int free = 0;
  if (g.cuda) {
    for (const auto& [dev, owner] : h.gpu_owner) free += empty || owner.empty();
  } else {
    for (const std::string& owner : h.cpu_owner) free += empty || owner.empty();
  }
  return free / std::max(1, g.slots_per_rank);
}

bool Inventory::AdmitsItself(int pool) const {
  return pools_.at(static_cast<size_t>(pool)).launcher == LauncherKind::kSlurm;
}

// What a gang holds in `pool`, per rank. On Kubernetes a cuda worker pod
// runs resources.slots_per_rank ranks with one GPU each
// (coordinator/launcher/mpijob.h), so a cuda rank there holds one GPU;
// everywhere else a rank holds slots_per_rank CPU slots or GPUs.
GangShape AsPlaced(const PoolConfig& pc, GangShape g) {
  if (g.cuda && pc.launcher == LauncherKind::kKubernetes) g.slots_per_rank = 1;
  return g;
}

std::optional<Placement> Inventory::PlaceOn(int pool, const GangShape& requested, bool empty) const {
  const GangShape g = AsPlaced(pools_.at(static_cast<size_t>(pool)), requested);
  if (AdmitsItself(pool)) {  // the launcher's scheduler places the ranks: nothing to hold here
    Placement p;
    p.pool = pool;
    return p;
  }
  // Candidate hosts of the pool with their room, in configuration order.
  std::vector<std::pair<int, int>> room;  // host, ranks it can take
  for (size_t i = 0; i < hosts_.size(); ++i) {
    if (hosts_[i].pool != pool) continue;
    const int r = Room(hosts_[i], g, empty);
    if (r > 0) room.emplace_back(static_cast<int>(i), r);
  }
  std::map<int, int> take;  // host -> ranks
  const int k = g.ranks_per_host;
  if (k > 0) {
    std::vector<std::pair<int, int>> fit;
    for (const auto& hr : room)
      if (hr.second >= k) fit.push_back(hr);
    const size_t need = static_cast<size_t>(g.world_size / k);
    if (fit.size() < need) return std::nullopt;
    // Tightest first keeps big holes whole; stable: configuration order on ties.
    std::stable_sort(fit.begin(), fit.end(),
                     [](const auto& a, const auto& b) { return a.second < b.second; });
    for (size_t i = 0; i < need; ++i) take[fit[i].first] = k;
  } else {
    int left = g.world_size;
    std::vector<std::pair<int, int>> rest = room;
    // Roomiest first (fewest hosts), configuration order on ties.
    std::stable_sort(rest.begin(), rest.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    while (left > 0 && !rest.empty()) {
      if (rest.front().second >= left) {
        // The tightest host that takes all that is left.
        size_t best = 0;
        for (size_t i = 0; i < rest.size(); ++i)
          if (rest[i].second >= left && rest[i].second < rest[best].second) best = i;
        take[rest[best].first] = left;
        left = 0;
        break;
      }
      take[rest.front().first] = rest.front().second;
      left -= rest.front().second;
      rest.erase(rest.begin());
    }
    if (left > 0) return std::nullopt;
  }
  Placement p;
  p.pool = pool;
  const PoolConfig& pc = pools_.at(static_cast<size_t>(pool));
  for (const auto& [host, n] : take) {  // std::map: configuration order
    const Host& h = hosts_[static_cast<size_t>(host)];
    std::vector<int> free_cpus, free_gpus, free_ports;
    if (g.cuda) {
      for (int dev : h.config.gpus)
        if (empty || h.gpu_owner.at(dev).empty()) free_gpus.push_back(dev);
    } else {
      for (size_t c = 0; c < h.cpu_owner.size(); ++c)
        if (empty || h.cpu_owner[c].empty()) free_cpus.push_back(static_cast<int>(c));
    }
    if (pc.worker_metrics_port_first > 0) {
      for (int port = pc.worker_metrics_port_first;
           port <= pc.worker_metrics_port_last && free_ports.size() < static_cast<size_t>(n); ++port) {
        auto it = h.port_owner.find(port);
        if (empty || it == h.port_owner.end() || it->second.empty()) free_ports.push_back(port);
      }
    }
    for (int r = 0; r < n; ++r) {
      RankPlacement rp;
      rp.host = host;
      const size_t from = static_cast<size_t>(r * g.slots_per_rank);
      const size_t to = from + static_cast<size_t>(g.slots_per_rank);
      if (g.cuda) {
        rp.gpus.assign(free_gpus.begin() + static_cast<long>(from),
                       free_gpus.begin() + static_cast<long>(to));
      } else {
        rp.cpus.assign(free_cpus.begin() + static_cast<long>(from),
                       free_cpus.begin() + static_cast<long>(to));
      }
      if (static_cast<size_t>(r) < free_ports.size()) rp.metrics_port = free_ports[static_cast<size_t>(r)];
      p.ranks.push_back(std::move(rp));
    }
  }
  return p;
}

Status Inventory::CheckFits(int pool, const GangShape& requested) const {
  if (PlaceOn(pool, requested, /*empty=*/true)) return Status::Ok();
  // Say which constraint fails, most specific first.
  const PoolConfig& pc = pools_.at(static_cast<size_t>(pool));
  const GangShape g = AsPlaced(pc, requested);
  const std::string where = "pool '" + pc.name + "'";
  int total = 0, hosts = 0, biggest = 0;
  std::string biggest_name;
  for (const Host& h : hosts_) {
    if (h.pool != pool) continue;
    ++hosts;
    const int units = g.cuda ? static_cast<int>(h.config.gpus.size()) : h.config.cpu_slots;
    total += units;
    if (units > biggest) {
      biggest = units;
      biggest_name = h.config.name;
    }
  }
  const char* units = Units(g.cuda);
  const int64_t need = static_cast<int64_t>(g.world_size) * g.slots_per_rank;
  if (total == 0)
    return FailedPreconditionError("the gang needs " + std::string(units) + " but " + where + " has none");
  if (g.slots_per_rank > biggest) {
    return FailedPreconditionError("a rank needs " + std::to_string(g.slots_per_rank) + " " + units +
                                   " (resources.slots_per_rank) but the largest host of " + where + " (" +
                                   biggest_name + ") has " + std::to_string(biggest));
  }
  if (need > total) {
    return FailedPreconditionError("the gang needs " + std::to_string(need) + " " + units +
                                   " (resources.world_size x resources.slots_per_rank) but " + where +
                                   " has only " + std::to_string(total) + " (" +
                                   Plural(hosts, "host", "hosts") + ")");
  }
  if (g.ranks_per_host > 0) {
    int enough = 0;
    for (const Host& h : hosts_)
      if (h.pool == pool && Room(h, g, true) >= g.ranks_per_host) ++enough;
    return FailedPreconditionError("resources.ranks_per_host " + std::to_string(g.ranks_per_host) +
                                   " x resources.slots_per_rank " + std::to_string(g.slots_per_rank) +
                                   " needs " + Plural(g.world_size / g.ranks_per_host, "host", "hosts") +
                                   " with " + std::to_string(g.ranks_per_host * g.slots_per_rank) + " " +
                                   units + " each, but " + where + " has " + std::to_string(enough));
  }
  return FailedPreconditionError("the gang (" + std::to_string(g.world_size) + " ranks of " +
                                 std::to_string(g.slots_per_rank) + " " + units +
                                 ") does not fit the hosts of " + where + ": slots are spread too thinly");
}

StatusOr<int> Inventory::ChoosePool(const std::string& requested, const GangShape& g) const {
  if (!requested.empty()) {
    const int p = PoolIndex(requested);
    if (p < 0) {
      std::string known;
      for (const PoolConfig& pc : pools_) known += (known.empty() ? "" : ", ") + pc.name;
      return InvalidArgumentError("resources.pool: no pool '" + requested + "' (pools: " + known + ")");
    }
    FLYP_RETURN_IF_ERROR(CheckFits(p, g));
    return p;
  }
  Status first;
  for (size_t p = 0; p < pools_.size(); ++p) {
    Status s = CheckFits(static_cast<int>(p), g);
    if (s.ok()) return static_cast<int>(p);
    if (first.ok()) first = s;
  }
  if (pools_.size() == 1) return first;
  return FailedPreconditionError("the gang fits no pool; the first said: " + first.message());
}

std::optional<Placement> Inventory::Place(int pool, const GangShape& g) const {
  return PlaceOn(pool, g, /*empty=*/false);
}

void Inventory::Take(const std::string& job, const Placement& p) {
  ++version_;
  for (const RankPlacement& r : p.ranks) {
    Host& h = hosts_.at(static_cast<size_t>(r.host));
    for (int c : r.cpus) h.cpu_owner.at(static_cast<size_t>(c)) = job;
    for (int g : r.gpus) h.gpu_owner[g] = job;
    if (r.metrics_port > 0) h.port_owner[r.metrics_port] = job;
  }
}

void Inventory::Free(const std::string& job) {
  ++version_;
  for (Host& h : hosts_) {
    for (std::string& owner : h.cpu_owner)
      if (owner == job) owner.clear();
    for (auto& [dev, owner] : h.gpu_owner)
      if (owner == job) owner.clear();
    for (auto it = h.port_owner.begin(); it != h.port_owner.end();) {
      it = it->second == job ? h.port_owner.erase(it) : std::next(it);
    }
  }
}

int Inventory::used(bool gpus) const {
  int n = 0;
  for (const Host& h : hosts_) {
    if (gpus) {
      for (const auto& [dev, owner] : h.gpu_owner) n += !owner.empty();
    } else {
      for (const std::string& owner : h.cpu_owner) n += !owner.empty();
    }
  }
  return n;
}

int Inventory::total(bool gpus) const {
  int n = 0;
  for (const Host& h : hosts_) n += gpus ? static_cast<int>(h.config.gpus.size()) : h.config.cpu_slots;
  return n;
}

int64_t Inventory::ProbeBackoffMs(const Host& h) const {
  const PoolConfig& pc = pools_.at(static_cast<size_t>(h.pool));
  double ms = pc.probe_backoff_s * 1000;
  for (int i = 1; i < h.failed_probes && ms < pc.probe_backoff_max_s * 1000; ++i) ms *= 2;
  return static_cast<int64_t>(std::min(ms, pc.probe_backoff_max_s * 1000));
}

void Inventory::MarkDown(int host, const std::string& reason) {
  Host& h = hosts_.at(static_cast<size_t>(host));
  if (!Probed(h.pool)) return;
  ++version_;
  const int64_t now = clock_->NowMillis();
  if (h.state == HostState::kUp) {
    h.state = HostState::kDown;
    h.since_ms = now;
    h.failed_probes = 0;
  }
  ++h.failed_probes;
  h.reason = reason;
  h.next_probe_ms = now + ProbeBackoffMs(h);
}

void Inventory::MarkUp(int host) {
  Host& h = hosts_.at(static_cast<size_t>(host));
  if (h.state == HostState::kUp) return;
  ++version_;
  h.state = HostState::kUp;
  h.reason.clear();
  h.since_ms = clock_->NowMillis();
  h.failed_probes = 0;
  h.next_probe_ms = 0;
}

std::vector<int> Inventory::TakeDueProbes() {
  std::vector<int> out;
  const int64_t now = clock_->NowMillis();
  for (size_t i = 0; i < hosts_.size(); ++i) {
    Host& h = hosts_[i];
    if (h.state == HostState::kDown && !h.probing && now >= h.next_probe_ms) {
      h.probing = true;
      out.push_back(static_cast<int>(i));
    }
  }
  return out;
}

std::optional<int64_t> Inventory::NextProbeMs() const {
  std::optional<int64_t> next;
  for (const Host& h : hosts_) {
    if (h.state == HostState::kDown && !h.probing && (!next || h.next_probe_ms < *next))
      next = h.next_probe_ms;
  }
  return next;
}

std::set<std::string> Inventory::JobsOn(int host) const {
  std::set<std::string> out;
  const Host& h = hosts_.at(static_cast<size_t>(host));
  for (const std::string& owner : h.cpu_owner)
    if (!owner.empty()) out.insert(owner);
  for (const auto& [dev, owner] : h.gpu_owner)
    if (!owner.empty()) out.insert(owner);
  return out;
}

}  // namespace flyp::coord
