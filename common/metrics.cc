#include "common/metrics.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/text_serializer.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>

#include "common/exception_edge.h"
#include "common/numbers.h"

namespace flyp {
namespace {

constexpr time_t kIoTimeoutSeconds = 5;   // per read of the request, per write of the answer
constexpr size_t kMaxRequestHead = 8192;  // request line + headers; a scrape sends ~300 bytes

}  // namespace

Status ParseHostPort(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgumentError("address '" + address + "': expected host:port");
  }
  StatusOr<int32_t> p = ParseInt32(std::string_view(address).substr(colon + 1), "", 0, 65535);
  if (!p.ok() || address[colon + 1] == '-') {  // "-0" is no port either
    return InvalidArgumentError("address '" + address + "': port must be a number 0..65535");
  }
  *host = address.substr(0, colon);
  *port = *p;
  return Status::Ok();
}

// Why flyp has its own HTTP server instead of prometheus-cpp's Exposer:
// Exposer (prometheus-cpp 1.0.1) runs civetweb, and Debian's civetweb 1.15
// creates every thread with a stack size fixed at compile time
// (USE_STACK_SIZE = 102400 bytes, passed to pthread_attr_setstacksize).
// glibc carves a thread's static TLS out of its stack, and a process that
// loads LibTorch, OpenBLAS (60 KiB of TLS), glog (30 KiB) and NCCL has more
// static TLS than fits, so pthread_create fails with EINVAL and Exposer
// throws "null context when constructing CivetServer" on any port. Neither
// lever Exposer offers helps: its civetweb options (num_threads, ...) have
// no stack size, its CivetCallbacks run only after a thread exists, and a
// process-wide default (pthread_setattr_default_np) is ignored because
// civetweb sets the size explicitly. So the one serving thread here is a
// std::thread with the default stack, whatever the process has loaded.
StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                              std::shared_ptr<prometheus::Registry> registry,
                                                              JsonPages pages) {
  std::string host;
  int port = 0;
  FLYP_RETURN_IF_ERROR(ParseHostPort(address, &host, &port));
  std::string name = host;
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
  if (name.empty()) name = "0.0.0.0";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(name.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return InvalidArgumentError("metrics address '" + address + "': host '" + name +
                                "' does not resolve: " + gai_strerror(rc));
  }
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr && s->listen_fd_ < 0; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    const int one = 1;  // a restarted process may rebind while old connections linger
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 16) != 0) {
      error = std::strerror(errno);
      close(fd);
      continue;
    }
    s->listen_fd_ = fd;
  }
  freeaddrinfo(found);
  if (s->listen_fd_ < 0) return UnavailableError("metrics: cannot listen on '" + address + "': " + error);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  s->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  s->address_ = (host.empty() ? std::string("0.0.0.0") : host) + ":" + std::to_string(s->port_);
  s->wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (s->wake_fd_ < 0) return InternalError(std::string("metrics: eventfd: ") + std::strerror(errno));
  s->registry_ = std::move(registry);
  s->pages_ = std::move(pages);
  s->thread_ =
      std::thread([server = s.get()] { CatchAtThread("metrics server", [server] { server->Serve(); }); });
  return s;
}

MetricsServer::~MetricsServer() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof(one));
    (void)n;  // an eventfd write of 1 cannot fail short of a counter overflow
    thread_.join();
  }
  if (wake_fd_ >= 0) close(wake_fd_);
  if (listen_fd_ >= 0) close(listen_fd_);
}

void MetricsServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors: back off instead of spinning on a pending connection.
      if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    Answer(fd);
    close(fd);
  }
}

void MetricsServer::Answer(int fd) {
  timeval send_timeout{kIoTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  // The request head is read under poll() with the wake-up descriptor, so a
  // silent client never delays the destructor.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kIoTimeoutSeconds);
  std::string head;
  char buf[2048];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() <= kMaxRequestHead) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;  // too slow: nobody to answer
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int ready = poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0 || fds[1].revents != 0) return;  // error, timeout or stopping
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // closed or reset
    head.append(buf, static_cast<size_t>(n));
  }
  auto reply = [fd](const std::string& status, const std::string& extra_headers, const std::string& body,
                    bool with_body) {
    std::string out = "HTTP/1.1 " + status + "\r\n" + extra_headers +
                      "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (with_body) out += body;
    for (size_t sent = 0; sent < out.size();) {
      ssize_t n = send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  };
  const std::string text = "Content-Type: text/plain; charset=utf-8\r\n";
  if (head.size() > kMaxRequestHead) return reply("431 Request Header Fields Too Large", text, "", true);
  // Request line: METHOD SP TARGET SP HTTP/x.y
  const size_t eol = head.find("\r\n");
  const std::string line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || line.compare(sp2 + 1, 5, "HTTP/") != 0) {
    return reply("400 Bad Request", text, "malformed request line\n", true);
  }
  const std::string method = line.substr(0, sp1);
  const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) {
    return reply("405 Method Not Allowed", text + "Allow: GET, HEAD\r\n", "use GET /metrics\n", true);
  }
  const std::string path = target.substr(0, target.find('?'));
  if (auto page = pages_.find(path); page != pages_.end()) {
    return reply("200 OK", "Content-Type: application/json\r\n", page->second(), !head_only);
  }
  if (path != "/metrics") return reply("404 Not Found", text, "metrics are at /metrics\n", !head_only);
  std::ostringstream body;
  prometheus::TextSerializer().Serialize(body, registry_->Collect());
  reply("200 OK", "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n", body.str(), !head_only);
}

std::string RenderMetricsText(const prometheus::Registry& registry) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, registry.Collect());
  return os.str();
}

const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = [] {
    prometheus::Histogram::BucketBoundaries v;
    for (double x = 0.001; x < 70; x *= 2) v.push_back(x);
    return v;
  }();
  return b;
}

const prometheus::Histogram::BucketBoundaries& WaitBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = [] {
    prometheus::Histogram::BucketBoundaries v;
    for (double x = 0.1; x < 2e5; x *= 4) v.push_back(x);
    return v;
  }();
  return b;
}

}  // namespace flyp
