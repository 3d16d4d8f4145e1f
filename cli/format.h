// How flypctl shows jobs: state names, ages, the stage a job is in, its
// headline result, the job table of get/list, progress lines of watch.
//
// Thread safety: pure functions.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <string>
#include <vector>

#include "flyp/v1/job.pb.h"

namespace flyp::cli {

// Short state name: JOB_STATE_RUNNING -> RUNNING.
std::string StateName(int state);
// SUCCEEDED, FAILED or CANCELLED.
bool IsTerminalState(int state);
// kubectl's ages: "45s", "12m", "3h", "2d" (now - t; "-" for no time).
std::string FormatAge(const google::protobuf::Timestamp& t, int64_t now_seconds);
// "2026-12-01T22:15:35Z" ("-" for no time).
std::string FormatTime(const google::protobuf::Timestamp& t);
// What a job is doing, from its merged latest progress: "training",
// "evaluating zero-shot · id_val", "WiSE-FT alpha 3 of 11 (0.2)", "writing
// report"; empty when it reported no stage.
std::string StageText(const v1::ProgressPoint& p);
// The headline: "ID 77.9 % · OOD 61.2 % · WiSE-FT alpha=0.5" (OOD and
// alpha when known); empty without a result.
std::string ResultText(const v1::JobResult& r);
// The STATUS column: the stage of an active job, the result of a finished
// one, the reason a failed or cancelled one ended.
std::string StatusText(const v1::Job& job);
// The get / list table: ID NAME OWNER STATE AGE STEP LOSS STATUS, header first.
std::vector<std::string> JobTableRows(const std::vector<const v1::Job*>& jobs, int64_t now_seconds,
                                      bool header = true);
// An evaluation point of watch: "zero-shot · id_test 76.8 %" per split.
std::vector<std::string> EvalLines(const v1::ProgressPoint& p);

}  // namespace flyp::cli
