// A minimal Kubernetes API client: JSON over HTTPS (or plain HTTP for tests)
// with libcurl, authenticated by the pod's service-account token.
//
// Thread safety: Call() may be used from any thread (one curl handle per call).
#pragma once

#include <functional>
#include <string>

#include "common/status.h"

namespace flyp::coord {

struct KubeApiOptions {
  // "https://HOST:PORT"; in a pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.
  // "http://127.0.0.1:PORT" is accepted for tests.
  std::string server;
  std::string token_file;  // re-read for every call (tokens are rotated); empty: no Authorization header
  std::string ca_file;     // PEM bundle to verify the server; empty: the system store
  double timeout_s = 15;
};

// How often Stream() checks cancelled(), and how long a stream may stay
// silent before it counts as broken (a watch with allowWatchBookmarks gets a
// bookmark about every minute).
constexpr long kStreamPollMs = 100;
constexpr long kStreamIdleS = 150;

struct KubeReply {
  long status = 0;   // HTTP status
  std::string body;  // usually JSON (a Status object on errors)
};

class KubeApi {
 public:
  explicit KubeApi(KubeApiOptions opts);
  // One request; `body` (JSON) is sent when non-empty. UNAVAILABLE when the
  // server cannot be reached; HTTP errors are returned as replies.
  StatusOr<KubeReply> Call(const std::string& method, const std::string& path,
                           const std::string& body = "") const;
  // A streaming GET (a watch: one JSON object per line). Calls on_line with
  // each complete line as it arrives while the reply is 200; returns when the
  // server ends the stream, the connection fails, on_line returns false, or
  // cancelled() returns true (polled at least every kStreamPollMs, also
  // while no data arrives, so a hung server cannot hold the caller). A
  // non-200 reply is returned whole, with its body. UNAVAILABLE when the
  // server cannot be reached; CANCELLED when cancelled() ended it. Waits at
  // most timeout_s to connect; the stream itself is bounded by the caller
  // (timeoutSeconds in the query) and by kStreamIdleS without a byte.
  StatusOr<KubeReply> Stream(const std::string& path, const std::function<bool(const std::string&)>& on_line,
                             const std::function<bool()>& cancelled) const;
  const KubeApiOptions& options() const { return opts_; }

 private:
  // The bearer token, re-read for every call ("" without a token file).
  StatusOr<std::string> Token() const;

  KubeApiOptions opts_;
};

// The server URL of the cluster the process runs in (from
// KUBERNETES_SERVICE_HOST/PORT); empty outside a cluster.
std::string InClusterApiServer();
// The pod's namespace from the service-account mount; "default" when absent.
std::string InClusterNamespace();

// "reason: message" of a Kubernetes Status reply body, or the raw body.
std::string KubeErrorMessage(const KubeReply& reply);

}  // namespace flyp::coord
