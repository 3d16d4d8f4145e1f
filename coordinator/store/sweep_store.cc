#include "coordinator/store/sweep_store.h"

namespace flyp::coord {

bool IsTerminal(v1::SweepState s) {
  return s == v1::SWEEP_STATE_SUCCEEDED || s == v1::SWEEP_STATE_FAILED || s == v1::SWEEP_STATE_CANCELLED;
}

bool IsTerminal(v1::TrialState s) {
  return s == v1::TRIAL_STATE_SUCCEEDED || s == v1::TRIAL_STATE_FAILED || s == v1::TRIAL_STATE_CANCELLED ||
         s == v1::TRIAL_STATE_EARLY_STOPPED;
}

void ApplyTrialUpdate(const TrialUpdate& u, v1::Trial* t) {
  if (u.state) t->set_state(*u.state);
  if (u.job_id) t->set_job_id(*u.job_id);
  if (u.reason) t->set_reason(*u.reason);
  if (u.message) t->set_message(*u.message);
  if (u.add_rung) *t->add_rungs() = *u.add_rung;
  if (u.objective) t->set_objective(*u.objective);
}

}  // namespace flyp::coord
