// flyp::Status <-> grpc::Status. The codes are numbered alike (common/status.h),
// so the conversion is a cast plus the message.
#pragma once

#include <grpcpp/support/status.h>

#include "common/status.h"

namespace flyp {

inline grpc::Status ToGrpcStatus(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), s.message());
}

inline Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

}  // namespace flyp
