// Runs one job on this rank, start to finish: set-up, zero-shot evaluation,
// the method's training (resuming from the latest checkpoint in the output
// folder), final evaluation, the WiSE-FT sweep, artifacts and the report.
//
// Artifacts (rank 0, in RunOptions::out_dir):
//   final.safetensors        the finetuned CLIP (open_clip names)
//   head.safetensors         the linear head (LP, FT, L2-SP, LP-FT)
//   wiseft.safetensors       the WiSE-FT model at the chosen alpha (+ wiseft-head.safetensors)
//   report.json, report.md, wiseft.svg   (worker/report/report.h)
//   checkpoints/             resumable training state (train_state.h)
//
// Collective: every rank calls RunJob with the same spec.
#pragma once

#include <string>

#include "common/status.h"
#include "flyp/v1/job_spec.pb.h"
#include "worker/dist/communicator.h"
#include "worker/report/observer.h"
#include "worker/report/report.h"
#include "worker/train/train_loop.h"

namespace flyp::train {

struct RunOptions {
  std::string out_dir;
  bool resume = true;
  bool resume_anyway = false;  // LoopConfig::resume_anyway
  // Told about every step (logged ones marked), evaluation and phase
  // (started, checkpoint, completed) on this rank; not owned, may be null.
  // Failures are the caller's to report (JobOutcome).
  report::TrainObserver* observer = nullptr;
};

struct JobOutcome {
  Status status;
  // The failure is the job's inputs' fault, found at set-up or while
  // running (missing, unreadable, corrupt or oversized data, checkpoint or
  // vocabulary; a file outside the data roots; an unknown class; a resume
  // checkpoint of another spec; a diverged loss): retrying cannot help.
  // IsInputFault() of the status decides; writing outputs reports
  // UNAVAILABLE (a retry may find the disk freed) and LibTorch errors
  // INTERNAL, which are not input faults.
  bool bad_input = false;
  report::RunReport report;
};

// Whether a failure with this status is the job's inputs' fault: INVALID_ARGUMENT,
// NOT_FOUND, DATA_LOSS, PERMISSION_DENIED, FAILED_PRECONDITION, OUT_OF_RANGE,
// RESOURCE_EXHAUSTED (an input over its budget).
bool IsInputFault(const Status& status);

JobOutcome RunJob(const v1::JobSpec& spec, dist::Communicator& comm, const RunOptions& options);

}  // namespace flyp::train
