#include "common/metrics.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "tests/observability/http.h"

// 256 KiB of static TLS in the executable itself: more than the whole
// 100 KiB stack civetweb gives its threads, as LibTorch + OpenBLAS + glog do
// in flyp-worker (see MetricsServer::Start).
thread_local char g_big_tls[256 * 1024];

namespace flyp {
namespace {

TEST(ParseHostPort, AcceptsHostsAndPorts) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseHostPort("127.0.0.1:9464", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9464);
  ASSERT_TRUE(ParseHostPort(":0", &host, &port).ok());
  EXPECT_EQ(host, "");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(ParseHostPort("[::1]:80", &host, &port).ok());
  EXPECT_EQ(host, "[::1]");
  EXPECT_EQ(port, 80);
}

TEST(ParseHostPort, RejectsBadPortsNamingTheAddress) {
  std::string host;
  int port;
  for (const char* bad : {"localhost", "h:", "h:abc", "h:65536", "h:-1", "h:123456"}) {
    Status s = ParseHostPort(bad, &host, &port);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find(bad), std::string::npos) << s.message();
  }
}

TEST(MetricsServer, ServesTheRegistryOnAPickedPort) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& family = prometheus::BuildCounter().Name("flyp_test_events_total").Help("events").Register(*registry);
  prometheus::Counter& c = family.Add({{"kind", "a"}});
  c.Increment(3);
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->address(), "127.0.0.1:" + std::to_string((*server)->port()));
  auto reply = testing::HttpGet((*server)->port(), "/metrics");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_NE(reply->body.find("flyp_test_events_total{kind=\"a\"} 3"), std::string::npos) << reply->body;
  // Updates after start are visible on the next scrape.
  c.Increment(2);
  reply = testing::HttpGet((*server)->port(), "/metrics");
  ASSERT_TRUE(reply.ok());
  EXPECT_NE(reply->body.find("flyp_test_events_total{kind=\"a\"} 5"), std::string::npos) << reply->body;
  EXPECT_EQ(RenderMetricsText(*registry).find("# TYPE flyp_test_events_total counter") != std::string::npos,
            true);
}

TEST(MetricsServer, BindFailureIsUnavailable) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto first = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsServer::Start(taken, registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(taken), std::string::npos) << second.status();
  EXPECT_EQ(MetricsServer::Start("127.0.0.1:x", registry).status().code(), StatusCode::kInvalidArgument);
}

// Regression: with LibTorch loaded, prometheus-cpp's Exposer could not start
// a single civetweb thread ("null context when constructing CivetServer").
TEST(MetricsServer, ServesInAProcessWhoseStaticTlsExceedsCivetwebsThreadStack) {
  g_big_tls[0] = 1;
  // The precondition: a 100 KiB thread (civetweb's USE_STACK_SIZE) cannot
  // be created in this process.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 102400);
  pthread_t t;
  int rc = pthread_create(
      &t, &attr, [](void*) -> void* { return nullptr; }, nullptr);
  pthread_attr_destroy(&attr);
  if (rc == 0) pthread_join(t, nullptr);
  ASSERT_EQ(rc, EINVAL) << "100 KiB threads work here; the regression is not reproduced";

  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge().Name("flyp_test_up").Help("up").Register(*registry).Add({}).Set(1);
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  auto reply = testing::HttpGet((*server)->port(), "/metrics");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->status, 200);
  EXPECT_NE(reply->body.find("flyp_test_up 1"), std::string::npos) << reply->body;
}

TEST(MetricsServer, AnswersOtherPathsAndMethodsWithHttpErrors) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildGauge().Name("flyp_test_up").Help("up").Register(*registry).Add({}).Set(1);
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  auto query = testing::HttpGet(port, "/metrics?name[]=flyp_test_up");
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_EQ(query->status, 200);
  EXPECT_NE(query->body.find("flyp_test_up 1"), std::string::npos);
  auto head = testing::HttpRequest("127.0.0.1", port, "HEAD", "/metrics");
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  auto missing = testing::HttpGet(port, "/");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  auto post = testing::HttpRequest("127.0.0.1", port, "POST", "/metrics", "{}");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 405);
  // Still serving after the errors.
  auto again = testing::HttpGet(port, "/metrics");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

TEST(MetricsServer, ServesJsonPagesFromTheirFunctionsOnEveryRequest) {
  auto registry = std::make_shared<prometheus::Registry>();
  std::atomic<int> calls{0};
  auto server = MetricsServer::Start("127.0.0.1:0", registry,
                                     {{"/targets", [&] { return "[" + std::to_string(++calls) + "]"; }}});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  for (int i = 1; i <= 2; ++i) {
    auto r = testing::HttpGet(port, "/targets?x=1");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "[" + std::to_string(i) + "]");
  }
  auto missing = testing::HttpGet(port, "/targets/x");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
}

TEST(MetricsServer, StopsPromptlyWhileAClientSendsNothing) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>((*server)->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the server is now waiting for its request
  const auto t0 = std::chrono::steady_clock::now();
  server->reset();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(took, 2.0);  // not the client's 5 s budget
  close(silent);
}

TEST(MetricsServer, UnresolvableHostIsInvalidArgument) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto s = MetricsServer::Start("no such host:9464", registry);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("no such host"), std::string::npos) << s.status();
}

TEST(Buckets, AreIncreasingAndCoverTheirRanges) {
  for (const auto* b : {&DurationBuckets(), &WaitBuckets()}) {
    ASSERT_GT(b->size(), 5u);
    for (size_t i = 1; i < b->size(); ++i) EXPECT_LT((*b)[i - 1], (*b)[i]);
  }
  EXPECT_DOUBLE_EQ(DurationBuckets().front(), 0.001);
  EXPECT_GT(DurationBuckets().back(), 60);
  EXPECT_GT(WaitBuckets().back(), 86400);
}

}  // namespace
}  // namespace flyp
