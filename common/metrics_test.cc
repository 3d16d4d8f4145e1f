#include "common/metrics.h"

#include <gtest/gtest.h>

#include "tests/observability/http.h"

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
