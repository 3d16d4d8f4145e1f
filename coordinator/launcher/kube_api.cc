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

StatusOr<KubeReply> KubeApi::Call(const std::string& method, const std::string& path,
                                  const std::string& body) const {
  std::string token;
  if (!opts_.token_file.empty()) {
    StatusOr<std::string> text = ReadFileToString(opts_.token_file, kMaxConfigFileBytes);
    if (!text.ok()) return UnavailableError("kubernetes: token file: " + text.status().message());
    token = Trim(*text);
  }
  CURL* curl = curl_easy_init();
  if (!curl) return InternalError("kubernetes: curl_easy_init failed");
  KubeReply reply;
  const std::string url = opts_.server + path;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Accept: application/json");
  if (!body.empty()) headers = curl_slist_append(headers, "Content-Type: application/json");
  const std::string auth = "Authorization: Bearer " + token;
  if (!token.empty()) headers = curl_slist_append(headers, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (!body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.timeout_s * 1000));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!opts_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, opts_.ca_file.c_str());
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return UnavailableError("kubernetes: " + method + " " + url + ": " + curl_easy_strerror(rc));
  }
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
