// The `cluster` section of the coordinator's YAML configuration: pools of
// hosts, each run by one launcher kind (docs/cluster.md has the examples).
//
//   cluster:
//     pools:
//     - name: rack1
//       launcher: hosts                # local | hosts | kubernetes
//       rsh_agent: ssh -o BatchMode=yes
//       oob_interface: 10.1.0.0/16     # Open MPI's out-of-band (mpirun <-> orted) traffic
//       btl_interface: 10.1.0.0/16     # the ranks' MPI traffic
//       mca: {btl: "self,vader,tcp"}   # further --mca settings
//       shared_storage: [/srv/flyp]    # holds artifact_root and the data roots on every host
//       binding: cores                 # cores | none
//       worker_metrics_ports: 9400-9463
//       probe_timeout_s: 5
//       probe_backoff_s: 5
//       probe_backoff_max_s: 300
//       hosts:
//       - {name: gpu1, address: 10.1.0.11, cpu_slots: 32, gpus: [0, 1, 2, 3], labels: {rack: r1}}
//
// A kubernetes pool has no hosts; its capacity is `cpu_slots` and `gpus`
// (a count) at pool level. Keys a launcher kind does not use are refused.
// Internal to the config code (yaml-cpp is its private dependency).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "coordinator/config.h"

namespace flyp::coord {

// Parses `node` (the value of the top-level `cluster` key) into *out.
// INVALID_ARGUMENT listing every problem as "<origin>: cluster.pools[i].key:
// what" lines (unknown keys with a did-you-mean).
Status ParseClusterSection(const YAML::Node& node, const std::string& origin, ClusterConfig* out);

// Problems of the pools themselves (names, duplicates, slots, ports, what
// each launcher kind needs), one "cluster.pools[i]...: what" line each,
// appended to *errors.
void ValidateCluster(const ClusterConfig& cluster, std::string* errors);

// A hosts pool's ranks read the spec, data and checkpoints and write their
// artifacts at the coordinator's paths: the artifact root and every data
// root must be one of the pool's shared_storage directories (mounted at the
// same path on every host) or lie below one. Paths are compared after
// std::filesystem::weakly_canonical (symlinks of existing parts resolved,
// "." and ".." removed, a trailing '/' ignored). INVALID_ARGUMENT with one
// line per path outside; pools of other launcher kinds are not checked.
Status CheckSharedStorage(const std::vector<PoolConfig>& pools, const std::string& artifact_root,
                          const std::vector<std::string>& data_roots);

}  // namespace flyp::coord
