// flypctl nodes: the coordinator's hosts (ClusterService.ListNodes) — pool,
// health and the reason a host is down, CPU slots and GPUs used of those it
// has, the jobs on it.
//
//   flypctl nodes [--pool NAME] [-o table|json|yaml] (and the global flags)
//
// Exit 0; 1 for an RPC error (an unknown pool is NOT_FOUND); 2 for a bad
// command line or connection settings.
#pragma once

#include <string>
#include <vector>

#include "flyp/v1/cluster.pb.h"

namespace flyp::cli {

// `pool` empty: every pool.
int RunNodes(const std::string& pool);

// The table `flypctl nodes` prints, `now_s` the current Unix time (for the
// "next probe in" column).
std::string NodesTable(const std::vector<v1::Node>& nodes, int64_t now_s);

}  // namespace flyp::cli
