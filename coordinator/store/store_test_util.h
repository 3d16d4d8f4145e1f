// Inputs shared by the JobStore tests (conformance and SQLite-specific).
#pragma once

#include <string>

#include "coordinator/proto_time.h"
#include "coordinator/store/job_store.h"

namespace flyp::coord::store_testing {

// A 2-rank job of alice's, created at t = 1000 ms, artifacts under /art.
inline NewJob MakeJob(const std::string& name, const std::string& key = "") {
  NewJob j;
  j.spec.set_name(name);
  j.spec.set_priority(3);
  j.spec.mutable_resources()->set_world_size(2);
  j.spec_yaml = "name: " + name + "\n";
  j.owner = "alice";
  j.idempotency_key = key;
  j.artifact_root = "/art";
  j.worker_token = "secret";
  j.create_time_ms = 1000;
  return j;
}

// A transition to `s` with message "m-<reason>" at `ms`.
inline v1::StateTransition T(v1::JobState s, const std::string& reason, int64_t ms) {
  v1::StateTransition t;
  t.set_state(s);
  t.set_reason(reason);
  t.set_message("m-" + reason);
  *t.mutable_time() = MillisToTimestamp(ms);
  return t;
}

}  // namespace flyp::coord::store_testing
