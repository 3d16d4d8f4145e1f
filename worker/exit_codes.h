// flyp-worker exit codes. The coordinator's launcher classifies them: 3, 4
// and 5 are permanent (retrying cannot help), everything else is retried from
// the last checkpoint.
#pragma once

#include "worker/dist/exit_codes.h"

namespace flyp::worker {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;      // a runtime failure; retry from the checkpoint may help
constexpr int kExitUsage = 2;        // bad command line
constexpr int kExitInvalidSpec = 3;  // the job spec is invalid (printed with field paths)
constexpr int kExitBadInput = 4;     // missing/corrupt data, checkpoint or vocabulary
constexpr int kExitUntrustedCoordinator =
    5;  // FLYP_COORDINATOR_CA unreadable, or it does not verify the coordinator
constexpr int kExitCollectiveTimeout = dist::kExitCollectiveTimeout;  // 75: a collective hung

}  // namespace flyp::worker
