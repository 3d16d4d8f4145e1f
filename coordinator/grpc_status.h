// flyp::Status <-> grpc::Status. The codes are numbered alike (common/status.h),
// so the conversion is a cast plus the message, bounded for the wire.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

#include "common/status.h"

namespace flyp {

// The most a status message may take on the wire: gRPC sends it
// percent-encoded in the grpc-message trailer, and clients refuse metadata
// over 8 KiB by default (a 120 kB job id echoed in NOT_FOUND failed the
// client's call instead of answering it).
inline constexpr size_t kMaxStatusMessageWireBytes = 4096;

// `message` unchanged when its percent-encoding fits kMaxStatusMessageWireBytes;
// otherwise cut there (at a character boundary) and ended with
// "... [N more bytes]".
inline std::string BoundedStatusMessage(const std::string& message) {
  // gRPC encodes every byte outside 0x20..0x7E and '%' as three.
  auto cost = [](unsigned char c) { return c < 0x20 || c > 0x7E || c == '%' ? 3 : 1; };
  constexpr size_t kSuffix = 40;  // room for the marker
  size_t wire = 0, i = 0;
  for (; i < message.size(); ++i) {
    wire += cost(static_cast<unsigned char>(message[i]));
    if (wire > kMaxStatusMessageWireBytes) break;
  }
  if (i == message.size()) return message;
  wire = 0;
  for (i = 0; i < message.size(); ++i) {
    const size_t c = cost(static_cast<unsigned char>(message[i]));
    if (wire + c > kMaxStatusMessageWireBytes - kSuffix) break;
    wire += c;
  }
  // Do not end inside a UTF-8 sequence.
  while (i > 0 && (static_cast<unsigned char>(message[i]) & 0xC0) == 0x80) --i;
  return message.substr(0, i) + "... [" + std::to_string(message.size() - i) + " more bytes]";
}

inline grpc::Status ToGrpcStatus(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), BoundedStatusMessage(s.message()));
}

inline Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

}  // namespace flyp
