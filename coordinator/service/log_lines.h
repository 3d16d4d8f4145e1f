// The job's world log (<artifact_dir>/logs/world.log) is mpirun's output
// with --tag-output and --timestamp-output: each chunk a rank writes is
// prefixed with "<ctime>[<jobid>,<rank>]<stdout|stderr>:" (the ctime part
// only with --timestamp-output: "Tue Dec  1 22:15:35 2026", the
// coordinator's local time). A rank's line written in several pieces
// therefore has tags in its middle, and pieces of several ranks can share
// one line of the file. Text without a tag is mpirun's own (rank -1).
//
// WorldLogParser puts the ranks' lines back together: the pieces of one
// line of the file are appended to the pending text of their rank and
// stream, and the last piece (the one whose chunk carried the newline)
// completes its line. A line takes the time of its first piece; a line without a time
// (no --timestamp-output, e.g. the Kubernetes launcher's log) takes the
// time of the last line that had one.
//
// Thread safety: a parser belongs to one reader.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "flyp/v1/job.pb.h"

namespace flyp::coord {

class WorldLogParser {
 public:
  // One line of the file (without its newline): the ranks' lines it completes.
  std::vector<v1::LogLine> Feed(const std::string& file_line);
  // What is still pending (pieces whose line never ended), e.g. when the world is gone.
  std::vector<v1::LogLine> Flush();

 private:
  struct Pending {
    std::string text;
    google::protobuf::Timestamp time;
  };
  std::map<std::pair<int, char>, Pending> pending_;  // by (rank, stream)
  google::protobuf::Timestamp last_time_;
};

// One line of the file on its own (Feed, then Flush).
v1::LogLine ParseWorldLogLine(const std::string& line);

}  // namespace flyp::coord
