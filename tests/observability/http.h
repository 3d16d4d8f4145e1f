// Test helpers: a blocking HTTP/1.0 client for 127.0.0.1 (GET /metrics,
// Prometheus' query API) and a free-port picker. Plain sockets, no TLS.
#pragma once

#include <string>

#include "common/status.h"

namespace flyp::testing {

struct HttpReply {
  int status = 0;
  std::string body;
};

// Sends `method path` (with `body` when non-empty) to host:port and reads
// the whole reply (Connection: close; chunked bodies are decoded).
StatusOr<HttpReply> HttpRequest(const std::string& host, int port, const std::string& method,
                                const std::string& path, const std::string& body = "", double timeout_s = 10);
inline StatusOr<HttpReply> HttpGet(int port, const std::string& path) {
  return HttpRequest("127.0.0.1", port, "GET", path);
}

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Percent-encodes a query parameter value.
std::string UrlEncode(const std::string& s);

}  // namespace flyp::testing
