// CoordinatorServer::Start in process: what it refuses at start (with
// messages that name the problem) and the TLS self-check of what ranks will
// see. Real gRPC, real SQLite in a temp dir, certificates made by openssl.
#include "coordinator/service/server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/grpc_client.h"
#include "common/tls.h"
#include "tests/testing/test_certs.h"
#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

class ServerStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_ + "/data");
    config_.listen = "127.0.0.1:0";
    config_.metrics_listen = "off";
    config_.db_path = dir_ + "/coord.db";
    config_.artifact_root = dir_ + "/artifacts";
    config_.data_roots = {dir_ + "/data"};
    config_.cpu_slots = 2;
  }
  void UseTls() {
    pki_ = testing::MakeTestPki(dir_ + "/pki", {"coordinator.test"}, {"127.0.0.1"});
    config_.tls_cert = pki_.server_cert;
    config_.tls_key = pki_.server_key;
    config_.worker_tls_ca = pki_.ca_cert;
  }
  Status StartStatus() {
    auto s = CoordinatorServer::Start(config_);
    if (s.ok()) (*s)->Shutdown();
    return s.status();
  }

  std::string dir_;
  CoordinatorConfig config_;
  testing::TestPki pki_;
};

TEST_F(ServerStartTest, MissingDataRootIsAnErrorAtStart) {
  config_.data_roots.push_back(dir_ + "/no-such-dir");
  Status s = StartStatus();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "data-root '" + dir_ + "/no-such-dir': no such directory");
  config_.data_roots = {dir_ + "/coord.file"};
  std::ofstream(dir_ + "/coord.file") << "x";
  EXPECT_EQ(StartStatus().message(), "data-root '" + dir_ + "/coord.file': not a directory");
}

TEST_F(ServerStartTest, JunkTlsFilesAreReportedAsSuchNotAsCannotListen) {
  UseTls();
  const std::string junk = dir_ + "/junk.pem";
  std::ofstream(junk) << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
  config_.tls_cert = junk;
  Status s = StartStatus();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("tls-cert '" + junk + "': not a PEM certificate file"), std::string::npos) << s;
  EXPECT_EQ(s.message().find("listen"), std::string::npos) << s;

  config_.tls_cert = pki_.server_cert;
  config_.tls_key = junk;
  s = StartStatus();
  EXPECT_NE(s.message().find("tls-key '" + junk + "': not an unencrypted PEM private key"), std::string::npos)
      << s;

  config_.tls_key = pki_.other_key;
  s = StartStatus();
  EXPECT_NE(s.message().find("is not the private key of the certificate in tls-cert"), std::string::npos)
      << s;

  config_.tls_key = pki_.server_key;
  config_.worker_tls_ca = junk;
  s = StartStatus();
  EXPECT_NE(s.message().find("worker-tls-ca '" + junk + "'"), std::string::npos) << s;
}

TEST_F(ServerStartTest, ACaOrNameRanksCouldNotVerifyStopsTheStart) {
  UseTls();
  config_.worker_tls_ca = pki_.other_ca;
  Status s = StartStatus();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(
      s.message().find("ranks could not verify this coordinator: worker-tls-ca '" + pki_.other_ca + "'"),
      std::string::npos)
      << s;
  config_.worker_tls_ca = pki_.ca_cert;
  config_.worker_tls_server_name = "elsewhere.test";
  s = StartStatus();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("with name 'elsewhere.test'"), std::string::npos) << s;
}

TEST_F(ServerStartTest, ServesTlsThatTheWorkerCaVerifies) {
  UseTls();
  config_.worker_tls_server_name = "coordinator.test";
  auto server = CoordinatorServer::Start(config_);
  ASSERT_TRUE(server.ok()) << server.status();
  auto ca = ReadPemCertificates("ca", pki_.ca_cert);
  ASSERT_TRUE(ca.ok());
  int serving = -1;
  grpc::Status s = CheckHealth(MakeClientChannel("127.0.0.1:" + std::to_string((*server)->port()), *ca, ""),
                               "", std::chrono::seconds(5), &serving);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(serving, 1);
  (*server)->Shutdown();
}

TEST_F(ServerStartTest, MalformedMetricsListenIsAnErrorButATakenPortIsNot) {
  config_.metrics_listen = "no such host:9464";
  Status s = StartStatus();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find("no such host"), std::string::npos) << s;
  config_.metrics_listen = "nohost";
  EXPECT_EQ(StartStatus().code(), StatusCode::kInvalidArgument);

  auto registry = std::make_shared<prometheus::Registry>();
  auto taken = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(taken.ok());
  config_.metrics_listen = (*taken)->address();
  auto server = CoordinatorServer::Start(config_);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->metrics_port(), 0);
  (*server)->Shutdown();
}

}  // namespace
}  // namespace flyp::coord

namespace flyp::coord {
namespace {

// A second coordinator on a database another one owns started and shared
// its jobs.
TEST_F(ServerStartTest, SecondCoordinatorOnTheSameStoreIsRefused) {
  auto first = CoordinatorServer::Start(config_);
  ASSERT_TRUE(first.ok()) << first.status();
  Status s = StartStatus();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(
      s.message().find("job store '" + config_.db_path + "' is in use by another flyp-coordinator (pid " +
                       std::to_string(::getpid()) + ")"),
      std::string::npos)
      << s;
  (*first)->Shutdown();
  first->reset();
  EXPECT_TRUE(StartStatus().ok());  // released with the first
}

// gRPC's default SO_REUSEPORT let a second coordinator bind a port another
// one served; the two then split the traffic.
TEST_F(ServerStartTest, SecondCoordinatorOnTheSamePortIsRefused) {
  auto first = CoordinatorServer::Start(config_);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string other = dir_ + "/other";
  std::filesystem::create_directories(other);
  config_.listen = "127.0.0.1:" + std::to_string((*first)->port());
  config_.db_path = other + "/coord.db";
  config_.artifact_root = other + "/artifacts";
  Status s = StartStatus();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s;
  EXPECT_EQ(s.message(), "cannot listen on '" + config_.listen + "'");
}

TEST_F(ServerStartTest, DataRootsWithAColonAreRefused) {
  std::filesystem::create_directories(dir_ + "/a:b");
  config_.data_roots = {dir_ + "/a:b"};
  EXPECT_EQ(StartStatus().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flyp::coord
