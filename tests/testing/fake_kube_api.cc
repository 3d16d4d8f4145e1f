#include "tests/testing/fake_kube_api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace flyp::testing {
namespace {

constexpr int64_t kNanos = 1000000000;

std::string UrlDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

std::string StatusJson(int code, const std::string& reason, const std::string& message) {
  return Json(Json::Object{{"kind", "Status"},
                           {"apiVersion", "v1"},
                           {"status", "Failure"},
                           {"reason", reason},
                           {"message", message},
                           {"code", code}})
      .Dump();
}

// "k=v,k2=v2" (equality only, as the launcher uses).
bool Matches(const Json& object, const std::string& selector) {
  if (selector.empty()) return true;
  const Json* meta = object.Find("metadata");
  const Json* labels = meta ? meta->Find("labels") : nullptr;
  for (const std::string& term : Split(selector, ',')) {
    size_t eq = term.find('=');
    if (eq == std::string::npos) return false;
    const Json* v = labels ? labels->Find(term.substr(0, eq)) : nullptr;
    if (!v || !v->is_string() || v->as_string() != term.substr(eq + 1)) return false;
  }
  return true;
}

std::string NameOf(const Json& o) {
  const Json* meta = o.Find("metadata");
  const Json* name = meta ? meta->Find("name") : nullptr;
  return name && name->is_string() ? name->as_string() : "";
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.frac]Z"; -1 when malformed.
int64_t ParseRfc3339Seconds(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool SendChunk(int fd, const std::string& data) {
  char head[32];
  std::snprintf(head, sizeof(head), "%zx\r\n", data.size());
  return SendAll(fd, head + data + "\r\n");
}

}  // namespace

std::string Rfc3339Nano(int64_t unix_nanos) {
  std::time_t secs = static_cast<std::time_t>(unix_nanos / kNanos);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(unix_nanos % kNanos));
  return buf;
}

FakeKubeApi::FakeKubeApi() : clock_nanos_(NowNanos()) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  listen(fd_, 64);
  acceptor_ = std::thread([this] { Serve(); });
}

FakeKubeApi::~FakeKubeApi() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  cv_.notify_all();
  shutdown(fd_, SHUT_RDWR);
  close(fd_);
  acceptor_.join();
  {
    std::lock_guard<std::mutex> l(mu_);
    threads.swap(connections_);
  }
  for (auto& t : threads) t.join();
}

void FakeKubeApi::Serve() {
  while (true) {
    int c = accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) {
      close(c);
      return;
    }
    open_fds_.push_back(c);
    connections_.emplace_back([this, c] { Handle(c); });
  }
}

bool FakeKubeApi::WaitWhileHung(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [&] { return !hang_ || stopping_; });
  return !stopping_;
}

void FakeKubeApi::Handle(int fd) {
  std::string raw;
  char buf[8192];
  size_t need = std::string::npos;
  while (raw.size() < need) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
    size_t head = raw.find("\r\n\r\n");
    if (head != std::string::npos && need == std::string::npos) {
      std::string lower = raw.substr(0, head);
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      size_t cl = 0, p = lower.find("content-length:");
      if (p != std::string::npos) cl = std::stoul(lower.substr(p + 15));
      need = head + 4 + cl;
    }
  }
  Request r;
  size_t sp1 = raw.find(' '), sp2 = raw.find(' ', sp1 + 1);
  if (sp1 != std::string::npos && sp2 != std::string::npos) {
    r.method = raw.substr(0, sp1);
    std::string target = raw.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) {
      for (const std::string& kv : Split(target.substr(q + 1), '&')) {
        size_t eq = kv.find('=');
        r.query[UrlDecode(kv.substr(0, eq))] = eq == std::string::npos ? "" : UrlDecode(kv.substr(eq + 1));
      }
    }
    size_t a = raw.find("Authorization: ");
    if (a != std::string::npos) r.authorization = raw.substr(a + 15, raw.find("\r\n", a) - a - 15);
    size_t head = raw.find("\r\n\r\n");
    if (head != std::string::npos) r.body = raw.substr(head + 4);
  }
  std::optional<std::pair<int, std::string>> overridden;
  bool alive;
  {
    std::unique_lock<std::mutex> lock(mu_);
    requests_.push_back(r);
    alive = WaitWhileHung(lock);
  }
  if (alive && override_) overridden = override_(r);
  if (!alive) {
    // shutting down: no answer
  } else if (overridden) {
    Reply(fd, overridden->first, overridden->second);
  } else if (r.method == "GET" && r.query.count("watch") && r.query["watch"] == "true") {
    Watch(fd, r, r.path);
  } else {
    auto [status, body] = Dispatch(r);
    Reply(fd, status, body);
  }
  std::lock_guard<std::mutex> l(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  close(fd);
}

void FakeKubeApi::Reply(int fd, int status, const std::string& body) {
  const bool json = !body.empty() && (body[0] == '{' || body[0] == '[');
  SendAll(fd, "HTTP/1.1 " + std::to_string(status) +
                  " X\r\nContent-Type: " + (json ? "application/json" : "text/plain") +
                  "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                  body);
}

Json FakeKubeApi::Store(const std::string& collection, Json object, const char* type) {
  Json* meta = object.Find("metadata");
  if (!meta) meta = &object.Set("metadata", Json::MakeObject());
  const std::string name = NameOf(object);
  auto& bucket = objects_[collection];
  auto old = bucket.find(name);
  if (old == bucket.end()) {
    if (!meta->Find("uid")) meta->Set("uid", "uid-" + name);
    meta->Set("creationTimestamp", Rfc3339Nano(NowNanos()).substr(0, 19) + "Z");
  } else {
    for (const char* keep : {"uid", "creationTimestamp"}) {
      if (const Json* v = old->second.Find("metadata")->Find(keep); v && !meta->Find(keep))
        meta->Set(keep, *v);
    }
  }
  meta->Set("resourceVersion", std::to_string(++rv_));
  bucket[name] = object;
  history_.push_back(Event{rv_, collection, type, object});
  while (history_.size() > keep_history_) {
    oldest_rv_ = history_.front().rv;
    history_.erase(history_.begin());
  }
  cv_.notify_all();
  return object;
}

Json FakeKubeApi::Put(const std::string& collection, Json object) {
  std::lock_guard<std::mutex> l(mu_);
  const bool exists = objects_[collection].count(NameOf(object)) > 0;
  return Store(collection, std::move(object), exists ? "MODIFIED" : "ADDED");
}

bool FakeKubeApi::Remove(const std::string& collection, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto& bucket = objects_[collection];
  auto it = bucket.find(name);
  if (it == bucket.end()) return false;
  Json object = it->second;
  bucket.erase(it);
  object.Find("metadata")->Set("resourceVersion", std::to_string(++rv_));
  history_.push_back(Event{rv_, collection, "DELETED", object});
  cv_.notify_all();
  return true;
}

std::optional<Json> FakeKubeApi::Get(const std::string& collection, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto& bucket = objects_[collection];
  auto it = bucket.find(name);
  if (it == bucket.end()) return std::nullopt;
  return it->second;
}

std::vector<Json> FakeKubeApi::List(const std::string& collection) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Json> out;
  for (const auto& [name, o] : objects_[collection]) out.push_back(o);
  return out;
}

void FakeKubeApi::AppendLog(const std::string& ns, const std::string& pod, const std::string& line,
                            int64_t unix_nanos) {
  std::lock_guard<std::mutex> l(mu_);
  clock_nanos_ = unix_nanos > 0 ? unix_nanos : clock_nanos_ + 1000000;  // 1 ms apart
  logs_[ns + "/" + pod].push_back(LogLine{clock_nanos_, line});
}

void FakeKubeApi::SetHang(bool hang) {
  {
    std::lock_guard<std::mutex> l(mu_);
    hang_ = hang;
  }
  cv_.notify_all();
}

void FakeKubeApi::KeepHistory(size_t n) {
  std::lock_guard<std::mutex> l(mu_);
  keep_history_ = n;
  while (history_.size() > keep_history_) {
    oldest_rv_ = history_.front().rv;
    history_.erase(history_.begin());
  }
}

void FakeKubeApi::SetOverride(Override o) {
  std::lock_guard<std::mutex> l(mu_);
  override_ = std::move(o);
}

void FakeKubeApi::CloseWatches() {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++watch_epoch_;
  }
  cv_.notify_all();
}

std::vector<FakeKubeApi::Request> FakeKubeApi::requests() {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

int FakeKubeApi::open_watches() {
  std::lock_guard<std::mutex> l(mu_);
  return open_watches_;
}

std::pair<int, std::string> FakeKubeApi::Dispatch(const Request& r) {
  // /api/v1/namespaces/NS/RES[/NAME[/SUB]] or /apis/G/V/namespaces/NS/RES[/NAME[/SUB]]
  std::vector<std::string> parts = Split(r.path, '/');
  size_t res = parts.size() > 1 && parts[1] == "api" ? 5 : 6;
  if (parts.size() <= res || parts[res - 2] != "namespaces")
    return {404, StatusJson(404, "NotFound", "no route " + r.path)};
  std::string collection;
  for (size_t i = 1; i <= res; ++i) collection += "/" + parts[i];
  const std::string name = parts.size() > res + 1 ? parts[res + 1] : "";
  const std::string sub = parts.size() > res + 2 ? parts[res + 2] : "";
  std::lock_guard<std::mutex> l(mu_);
  auto& bucket = objects_[collection];
  if (name.empty() && r.method == "POST") {
    auto j = ParseJson(r.body);
    if (!j.ok()) return {400, StatusJson(400, "BadRequest", std::string(j.status().message()))};
    const std::string n = NameOf(*j);
    if (bucket.count(n)) return {409, StatusJson(409, "AlreadyExists", n + " already exists")};
    return {201, Store(collection, *j, "ADDED").Dump()};
  }
  if (name.empty() && r.method == "GET") {
    Json items = Json::MakeArray();
    auto sel = r.query.find("labelSelector");
    for (const auto& [n, o] : bucket) {
      if (sel == r.query.end() || Matches(o, sel->second)) items.Append(o);
    }
    return {200, Json(Json::Object{{"kind", "List"},
                                   {"apiVersion", "v1"},
                                   {"metadata", Json(Json::Object{{"resourceVersion", std::to_string(rv_)}})},
                                   {"items", items}})
                     .Dump()};
  }
  auto it = bucket.find(name);
  if (sub == "log" && r.method == "GET") {
    if (it == bucket.end()) return {404, StatusJson(404, "NotFound", "pods \"" + name + "\" not found")};
    int64_t since = 0;
    if (auto s = r.query.find("sinceTime"); s != r.query.end()) {
      int64_t secs = ParseRfc3339Seconds(s->second);
      if (secs < 0) return {400, StatusJson(400, "BadRequest", "bad sinceTime " + s->second)};
      since = secs * kNanos;
    } else if (auto s = r.query.find("sinceSeconds"); s != r.query.end()) {
      since = NowNanos() - std::stoll(s->second) * kNanos;
    }
    const bool stamps = r.query.count("timestamps") && r.query.at("timestamps") == "true";
    std::string out;
    for (const LogLine& line : logs_[parts[res - 1] + "/" + name]) {
      if (line.nanos < since) continue;
      out += (stamps ? Rfc3339Nano(line.nanos) + " " : std::string()) + line.text + "\n";
    }
    return {200, out};
  }
  if (it == bucket.end())
    return {404, StatusJson(404, "NotFound", parts[res] + " \"" + name + "\" not found")};
  if (r.method == "GET" && sub.empty()) return {200, it->second.Dump()};
  if (r.method == "DELETE" && sub.empty()) {
    Json object = it->second;
    bucket.erase(it);
    object.Find("metadata")->Set("resourceVersion", std::to_string(++rv_));
    history_.push_back(Event{rv_, collection, "DELETED", object});
    cv_.notify_all();
    return {200, Json(Json::Object{{"kind", "Status"}, {"status", "Success"}}).Dump()};
  }
  return {405, StatusJson(405, "MethodNotAllowed", r.method + " " + r.path)};
}

void FakeKubeApi::Watch(int fd, const Request& r, const std::string& collection) {
  const std::string selector = r.query.count("labelSelector") ? r.query.at("labelSelector") : "";
  const int64_t timeout_s = r.query.count("timeoutSeconds") ? std::stoll(r.query.at("timeoutSeconds")) : 1800;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  if (!SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"))
    return;
  std::unique_lock<std::mutex> lock(mu_);
  ++open_watches_;
  const uint64_t epoch = watch_epoch_;
  const std::string rv_text = r.query.count("resourceVersion") ? r.query.at("resourceVersion") : "";
  int64_t from = rv_text.empty() || rv_text == "0" ? -1 : std::stoll(rv_text);
  std::vector<std::string> pending;
  if (from < 0) {  // current state first, as synthetic ADDED events
    for (const auto& [n, o] : objects_[collection]) {
      if (Matches(o, selector))
        pending.push_back(Json(Json::Object{{"type", "ADDED"}, {"object", o}}).Dump() + "\n");
    }
    from = rv_;
  } else if (from < oldest_rv_) {
    pending.push_back(
        Json(Json::Object{{"type", "ERROR"},
                          {"object", Json(Json::Object{{"kind", "Status"},
                                                       {"apiVersion", "v1"},
                                                       {"status", "Failure"},
                                                       {"reason", "Expired"},
                                                       {"message", "too old resource version: " + rv_text},
                                                       {"code", 410}})}})
            .Dump() +
        "\n");
    from = INT64_MAX;  // nothing more on this stream
  }
  bool ok = true;
  bool closing = false;  // CloseWatches seen: flush what happened before it, then end
  while (ok) {
    for (const Event& e : history_) {
      if (e.rv <= from || e.collection != collection) continue;
      if (Matches(e.object, selector))
        pending.push_back(Json(Json::Object{{"type", e.type}, {"object", e.object}}).Dump() + "\n");
    }
    if (!history_.empty() && from != INT64_MAX) from = std::max(from, history_.back().rv);
    if (!pending.empty()) {
      std::vector<std::string> out;
      out.swap(pending);
      lock.unlock();
      for (const std::string& e : out) ok = ok && SendChunk(fd, e);
      lock.lock();
    }
    if (!ok || from == INT64_MAX || stopping_ || closing) break;
    if (watch_epoch_ != epoch) {
      closing = true;
      continue;
    }
    const bool more = cv_.wait_until(lock, deadline, [&] {
      return stopping_ || watch_epoch_ != epoch || (!hang_ && !history_.empty() && history_.back().rv > from);
    });
    if (!more) break;  // timeoutSeconds
  }
  --open_watches_;
  lock.unlock();
  SendAll(fd, "0\r\n\r\n");
}

}  // namespace flyp::testing
