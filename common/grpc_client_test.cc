#include "common/grpc_client.h"

#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include "common/tls.h"
#include "flyp/v1/service.grpc.pb.h"
#include "tests/testing/test_certs.h"
#include "tests/testing/test_env.h"

namespace flyp {
namespace {

using std::chrono::milliseconds;

// A real gRPC server with the default health service (and an unimplemented
// WorkerService: a server without a synchronous service does not serve it).
std::unique_ptr<grpc::Server> StartServer(std::shared_ptr<grpc::ServerCredentials> creds, int* port) {
  static v1::WorkerService::Service unimplemented;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder b;
  b.AddListeningPort("127.0.0.1:0", std::move(creds), port);
  b.RegisterService(&unimplemented);
  return b.BuildAndStart();
}

class GrpcClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testing::MakeTestPki(testing::TempDir() + "/pki", {"coordinator.test"}, {"127.0.0.1"});
    ASSERT_FALSE(pki_.ca_cert.empty());
    auto pair = ReadPemKeyPair("tls-cert", pki_.server_cert, "tls-key", pki_.server_key);
    ASSERT_TRUE(pair.ok()) << pair.status();
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({pair->private_key, pair->cert_chain});
    tls_server_ = StartServer(grpc::SslServerCredentials(ssl), &tls_port_);
    ASSERT_TRUE(tls_server_);
    auto ca = ReadPemCertificates("ca", pki_.ca_cert);
    auto other = ReadPemCertificates("ca", pki_.other_ca);
    ASSERT_TRUE(ca.ok() && other.ok());
    ca_ = *ca;
    other_ca_ = *other;
  }
  std::string Tls() const { return "127.0.0.1:" + std::to_string(tls_port_); }

  testing::TestPki pki_;
  std::unique_ptr<grpc::Server> tls_server_;
  int tls_port_ = 0;
  std::string ca_, other_ca_;
};

TEST_F(GrpcClientTest, TlsWithTheRightCaAndNameIsServing) {
  int serving = -1;
  // The IP SAN matches the dialled address...
  grpc::Status s = CheckHealth(MakeClientChannel(Tls(), ca_, ""), "", milliseconds(5000), &serving);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(serving, 1);
  // ... and a DNS name in the certificate can be asked for instead.
  serving = -1;
  s = CheckHealth(MakeClientChannel(Tls(), ca_, "coordinator.test"), "", milliseconds(5000), &serving);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(serving, 1);
}

TEST_F(GrpcClientTest, VerificationFailuresAreTlsHandshakeFailures) {
  int serving = -1;
  grpc::Status wrong_ca =
      CheckHealth(MakeClientChannel(Tls(), other_ca_, ""), "", milliseconds(5000), &serving);
  EXPECT_FALSE(wrong_ca.ok());
  EXPECT_TRUE(IsTlsHandshakeFailure(wrong_ca)) << wrong_ca.error_message();
  grpc::Status wrong_name =
      CheckHealth(MakeClientChannel(Tls(), ca_, "elsewhere.test"), "", milliseconds(5000), &serving);
  EXPECT_FALSE(wrong_name.ok());
  EXPECT_TRUE(IsTlsHandshakeFailure(wrong_name)) << wrong_name.error_message();
  // TLS towards a plaintext server.
  int plain_port = 0;
  auto plain = StartServer(grpc::InsecureServerCredentials(), &plain_port);
  ASSERT_TRUE(plain);
  grpc::Status to_plain = CheckHealth(MakeClientChannel("127.0.0.1:" + std::to_string(plain_port), ca_, ""),
                                      "", milliseconds(5000), &serving);
  EXPECT_FALSE(to_plain.ok());
  EXPECT_TRUE(IsTlsHandshakeFailure(to_plain)) << to_plain.error_message();
}

TEST_F(GrpcClientTest, ARefusedConnectionIsNotATlsFailure) {
  const std::string nobody = "127.0.0.1:" + std::to_string(tls_port_);
  tls_server_->Shutdown();
  tls_server_.reset();
  int serving = -1;
  grpc::Status s = CheckHealth(MakeClientChannel(nobody, ca_, ""), "", milliseconds(3000), &serving);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_FALSE(IsTlsHandshakeFailure(s)) << s.error_message();
  EXPECT_FALSE(
      IsTlsHandshakeFailure(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "bad certificate token")));
}

TEST(HealthMessages, RoundTripTheWireFormat) {
  EXPECT_EQ(EncodeHealthCheckRequest(""), "");
  EXPECT_EQ(EncodeHealthCheckRequest("flyp.v1.JobService"), std::string("\x0a\x12") + "flyp.v1.JobService");
  EXPECT_EQ(DecodeHealthCheckResponse(""), 0);
  EXPECT_EQ(DecodeHealthCheckResponse(std::string("\x08\x01", 2)), 1);
  EXPECT_EQ(DecodeHealthCheckResponse(std::string("\x08\x02", 2)), 2);
  EXPECT_EQ(DecodeHealthCheckResponse(std::string("\x08", 1)), -1);
}

}  // namespace
}  // namespace flyp
