// Reading Prometheus' text exposition format in tests.
#pragma once

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace flyp::testing {

// The value of the sample line that starts with `series` + " " (series is
// the metric name with its labels exactly as exposed, e.g.
// `flyp_jobs{state="running"}`). Fails the test and returns -1 when absent.
inline double ExpositionValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  ADD_FAILURE() << "no series " << series << " in\n" << text;
  return -1;
}

}  // namespace flyp::testing
