// A minimal Kubernetes API client: JSON over HTTPS (or plain HTTP for tests)
// with libcurl, authenticated by the pod's service-account token.
//
// Thread safety: Call() may be used from any thread (one curl handle per call).
#pragma once

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
  const KubeApiOptions& options() const { return opts_; }

 private:
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
