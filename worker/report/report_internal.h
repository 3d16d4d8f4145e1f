// Helpers shared by the report's translation units (report.cc,
// report_markdown.cc); not part of the report API.
#pragma once

#include <string>
#include <vector>

#include "worker/report/report.h"

namespace flyp::report::report_internal {

// The evaluation of `split`, or nullptr.
const SplitEval* FindSplit(const std::vector<SplitEval>& evals, const std::string& split);

// printf's %g (alphas, hyperparameters: 0.5, 1e-05).
std::string FormatG(double v);

}  // namespace flyp::report::report_internal
