#include "coordinator/launcher/kube_api.h"

#include <curl/curl.h>

#include <cstdlib>
#include <mutex>

#include "common/file_util.h"
#include "common/json.h"

namespace flyp::coord {
namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

KubeApi::KubeApi(KubeApiOptions opts) : opts_(std::move(opts)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

namespace {

// One request's curl handle and headers (freed together).
class Request {
 public:
  Request(const KubeApiOptions& opts, const std::string& token, const std::string& method,
          const std::string& path, const std::string& body)
      : curl_(curl_easy_init()), url_(opts.server + path), auth_("Authorization: Bearer " + token) {
    if (!curl_) return;
    headers_ = curl_slist_append(headers_, "Accept: application/json");
    if (!body.empty()) headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    if (!token.empty()) headers_ = curl_slist_append(headers_, auth_.c_str());
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    if (!body.empty()) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!opts.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, opts.ca_file.c_str());
  }
  ~Request() {
    curl_slist_free_all(headers_);
    if (curl_) curl_easy_cleanup(curl_);
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  CURL* curl() const { return curl_; }
  const std::string& url() const { return url_; }
  long status() const {
    long s = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &s);
    return s;
  }

 private:
  CURL* curl_;
  curl_slist* headers_ = nullptr;
  std::string url_, auth_;
};

// What Stream()'s curl callbacks share.
struct StreamState {
  CURL* curl = nullptr;
  const std::function<bool(const std::string&)>* on_line = nullptr;
  const std::function<bool()>* cancelled = nullptr;
  std::string pending;   // bytes after the last newline
  std::string body;      // a non-200 reply
  bool stopped = false;  // on_line asked to stop
  bool was_cancelled = false;
};

size_t StreamWrite(char* data, size_t size, size_t n, void* arg) {
  auto* st = static_cast<StreamState*>(arg);
  long code = 0;
  curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &code);
  if (code != 200) {
    st->body.append(data, size * n);
    return size * n;
  }
  st->pending.append(data, size * n);
  size_t start = 0;
  for (size_t nl; (nl = st->pending.find('\n', start)) != std::string::npos; start = nl + 1) {
    if (nl > start && !(*st->on_line)(st->pending.substr(start, nl - start))) {
      st->stopped = true;
      return 0;  // aborts the transfer
    }
  }
  st->pending.erase(0, start);
  return size * n;
}

int StreamProgress(void* arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* st = static_cast<StreamState*>(arg);
  if ((*st->cancelled)()) {
    st->was_cancelled = true;
    return 1;
  }
  return 0;
}

}  // namespace

StatusOr<std::string> KubeApi::Token() const {
  if (opts_.token_file.empty()) return std::string();
  StatusOr<std::string> text = ReadFileToString(opts_.token_file, kMaxConfigFileBytes);
  if (!text.ok()) return UnavailableError("kubernetes: token file: " + text.status().message());
  return Trim(*text);
}

StatusOr<KubeReply> KubeApi::Call(const std::string& method, const std::string& path,
                                  const std::string& body) const {
  FLYP_ASSIGN_OR_RETURN(std::string token, Token());
  Request req(opts_, token, method, path, body);
  if (!req.curl()) return InternalError("kubernetes: curl_easy_init failed");
  KubeReply reply;
  curl_easy_setopt(req.curl(), CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(req.curl(), CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(req.curl(), CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.timeout_s * 1000));
  CURLcode rc = curl_easy_perform(req.curl());
  reply.status = req.status();
  if (rc != CURLE_OK) {
    return UnavailableError("kubernetes: " + method + " " + req.url() + ": " + curl_easy_strerror(rc));
  }
  return reply;
}

StatusOr<KubeReply> KubeApi::Stream(const std::string& path,
                                    const std::function<bool(const std::string&)>& on_line,
                                    const std::function<bool()>& cancelled) const {
  FLYP_ASSIGN_OR_RETURN(std::string token, Token());
  Request req(opts_, token, "GET", path, "");
  if (!req.curl()) return InternalError("kubernetes: curl_easy_init failed");
  StreamState st;
  st.curl = req.curl();
  st.on_line = &on_line;
  st.cancelled = &cancelled;
  curl_easy_setopt(req.curl(), CURLOPT_WRITEFUNCTION, StreamWrite);
  curl_easy_setopt(req.curl(), CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(req.curl(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(req.curl(), CURLOPT_XFERINFOFUNCTION, StreamProgress);
  curl_easy_setopt(req.curl(), CURLOPT_XFERINFODATA, &st);
  curl_easy_setopt(req.curl(), CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.timeout_s * 1000));
  // Silence longer than this (no byte at all) is a broken stream.
  curl_easy_setopt(req.curl(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(req.curl(), CURLOPT_LOW_SPEED_TIME, kStreamIdleS);
  CURLcode rc = curl_easy_perform(req.curl());
  KubeReply reply;
  reply.status = req.status();
  reply.body = std::move(st.body);
  if (st.was_cancelled) return CancelledError("kubernetes: watch " + path + " cancelled");
  if (rc != CURLE_OK && !st.stopped) {
    return UnavailableError("kubernetes: GET " + req.url() + ": " + curl_easy_strerror(rc));
  }
  if (reply.status == 200 && !st.pending.empty() && !st.stopped) (void)on_line(st.pending);
  return reply;
}

std::string InClusterApiServer() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host) return "";
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  return "https://" + h + ":" + (port && *port ? port : "443");
}

std::string InClusterNamespace() {
  StatusOr<std::string> text =
      ReadFileToString("/var/run/secrets/kubernetes.io/serviceaccount/namespace", kMaxConfigFileBytes);
  const std::string ns = text.ok() ? Trim(*text) : std::string();
  return ns.empty() ? "default" : ns;
}

std::string KubeErrorMessage(const KubeReply& reply) {
  auto j = ParseJson(reply.body);
  std::string out = "HTTP " + std::to_string(reply.status);
  if (j.ok() && j->is_object()) {
    if (const Json* r = j->Find("reason"); r && r->is_string()) out += " " + r->as_string();
    if (const Json* m = j->Find("message"); m && m->is_string()) out += ": " + m->as_string();
    return out;
  }
  return out + ": " + reply.body.substr(0, 300);
}

}  // namespace flyp::coord
