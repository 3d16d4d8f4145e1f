// flyp-worker's commands: each declares its flags in the common grammar
// (common/flags.h) and returns the process exit code (common/exit_codes.h).
#pragma once

#include <string>
#include <vector>

#include "common/flags.h"

namespace flyp::worker {

// flyp-worker [train] --spec FILE [--output DIR] [--device cpu|cuda] [--no-resume] [--resume-anyway]
struct TrainFlags {
  std::string spec;
  std::string output;
  std::string device;
  bool resume = true;
  bool resume_anyway = false;  // resume a checkpoint whose recorded spec differs
};
Command TrainCommand();
int RunTrainCommand(const TrainFlags& flags);

// flyp-worker encode --spec FILE [--images PATH]... [--texts FILE] --out FILE [--similarity]
struct EncodeFlags {
  std::string spec;
  std::vector<std::string> images;
  std::string texts;
  std::string out;
  bool similarity = false;
};
Command EncodeCommand();
int RunEncodeCommand(const EncodeFlags& flags);

}  // namespace flyp::worker
