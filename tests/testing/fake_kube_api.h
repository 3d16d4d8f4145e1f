// FakeKubeApi: a small in-memory Kubernetes API server for tests, plain
// HTTP/1.1 on 127.0.0.1 (there is no cluster here; this stands in for one).
// It speaks the API's JSON the way the Kubernetes launcher uses it:
//   - collections /api/v1/namespaces/NS/{pods,secrets} and
//     /apis/GROUP/VERSION/namespaces/NS/RESOURCE: POST creates (409 when the
//     name exists; uid, resourceVersion, creationTimestamp assigned), GET
//     lists (labelSelector "k=v,k2=v2"; the list's resourceVersion), GET
//     NAME reads, DELETE NAME deletes (404 when absent);
//   - ?watch=true&resourceVersion=RV streams the events after RV
//     (ADDED, MODIFIED, DELETED; chunked, one JSON object per line) until
//     timeoutSeconds or Close(); an RV older than the kept history gets an
//     ERROR event with a 410 Status, as after etcd compaction;
//   - GET .../pods/NAME/log with timestamps=true, sinceTime (RFC 3339,
//     seconds, as metav1.Time) and sinceSeconds.
// Tests drive the "cluster" with Put/Remove/AppendLog (what the MPI Operator
// and kubelet would do), can make every request hang (SetHang) to check
// that callers never wait on the API where they must not, and can inspect
// every request.
//
// Thread safety: all methods may be called from any thread; each connection
// is served on its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"

namespace flyp::testing {

class FakeKubeApi {
 public:
  struct Request {
    std::string method;
    std::string path;  // without the query
    std::map<std::string, std::string> query;
    std::string authorization;
    std::string body;
  };
  // Runs before the built-in handling; a reply (status, body) replaces it.
  using Override = std::function<std::optional<std::pair<int, std::string>>(const Request&)>;

  FakeKubeApi();
  ~FakeKubeApi();  // closes watches, releases hung requests, joins threads

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Creates or replaces the object `name` in `collection` (a collection path
  // as above) and emits ADDED or MODIFIED to its watchers. Returns the
  // stored object (with metadata filled in).
  Json Put(const std::string& collection, Json object);
  // Deletes it (DELETED event); false when absent.
  bool Remove(const std::string& collection, const std::string& name);
  std::optional<Json> Get(const std::string& collection, const std::string& name);
  std::vector<Json> List(const std::string& collection);

  // A line of container output of pod NS/NAME, stamped `unix_nanos` (the
  // fake's own clock when 0: a strictly increasing time).
  void AppendLog(const std::string& ns, const std::string& pod, const std::string& line,
                 int64_t unix_nanos = 0);

  // While true, every request (new and in flight) blocks without an answer.
  void SetHang(bool hang);
  // Events older than the last `n` are forgotten (watches from before get 410).
  void KeepHistory(size_t n);
  void SetOverride(Override o);
  // Ends every open watch stream (clients see the connection close).
  void CloseWatches();

  std::vector<Request> requests();
  int open_watches();

 private:
  struct Event {
    int64_t rv;
    std::string collection;
    std::string type;
    Json object;
  };
  struct LogLine {
    int64_t nanos;
    std::string text;
  };

  void Serve();
  void Handle(int fd);
  void Reply(int fd, int status, const std::string& body);
  void Watch(int fd, const Request& r, const std::string& collection);
  std::pair<int, std::string> Dispatch(const Request& r);
  Json Store(const std::string& collection, Json object, const char* type);  // caller holds mu_
  bool WaitWhileHung(std::unique_lock<std::mutex>& lock);                    // false: shutting down

  int fd_ = -1, port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;     // guarded by mu_
  bool hang_ = false;         // guarded by mu_
  int64_t rv_ = 100;          // guarded by mu_
  int64_t clock_nanos_ = 0;   // guarded by mu_
  uint64_t watch_epoch_ = 0;  // bumped by CloseWatches; guarded by mu_
  int open_watches_ = 0;      // guarded by mu_
  size_t keep_history_ = 100000;
  std::map<std::string, std::map<std::string, Json>> objects_;  // collection -> name -> object
  std::vector<Event> history_;                                  // guarded by mu_
  int64_t oldest_rv_ = 0;                                       // events after this are in history_
  std::map<std::string, std::vector<LogLine>> logs_;            // "ns/pod" -> lines
  std::vector<Request> requests_;
  Override override_;
  std::vector<std::thread> connections_;  // guarded by mu_
  std::vector<int> open_fds_;             // guarded by mu_
};

// RFC 3339 with nanoseconds, UTC ("2026-01-02T03:04:05.123456789Z").
std::string Rfc3339Nano(int64_t unix_nanos);

}  // namespace flyp::testing
