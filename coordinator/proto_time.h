// Milliseconds since the epoch <-> google.protobuf.Timestamp.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>

namespace flyp::coord {

inline google::protobuf::Timestamp MillisToTimestamp(int64_t ms) {
  google::protobuf::Timestamp t;
  t.set_seconds(ms / 1000);
  t.set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  return t;
}

inline int64_t TimestampToMillis(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1000000;
}

}  // namespace flyp::coord
