#include "common/tls.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/testing/test_certs.h"
#include "tests/testing/test_env.h"

namespace flyp {
namespace {

class TlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "/pki";
    pki_ = testing::MakeTestPki(dir_);
    ASSERT_FALSE(pki_.ca_cert.empty());
    junk_ = dir_ + "/junk.pem";
    std::ofstream(junk_) << "this is not a certificate\n";
  }
  std::string dir_, junk_;
  testing::TestPki pki_;
};

TEST_F(TlsFilesTest, ReadsCertificatesAndReencodesThem) {
  auto ca = ReadPemCertificates("worker-tls-ca", pki_.ca_cert);
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_EQ(ca->rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u) << *ca;
  // A bundle with two certificates keeps both.
  const std::string bundle = dir_ + "/bundle.pem";
  std::ofstream(bundle) << "# comment\n"
                        << testing::ReadFileOrDie(pki_.ca_cert) << testing::ReadFileOrDie(pki_.other_ca);
  auto both = ReadPemCertificates("worker-tls-ca", bundle);
  ASSERT_TRUE(both.ok()) << both.status();
  size_t n = 0;
  for (size_t at = both->find("BEGIN CERTIFICATE"); at != std::string::npos;
       at = both->find("BEGIN CERTIFICATE", at + 1)) {
    ++n;
  }
  EXPECT_EQ(n, 2u);
}

TEST_F(TlsFilesTest, JunkAndMissingFilesAreNamedAsSuch) {
  for (const std::string& bad : {junk_, dir_ + "/missing.pem", pki_.server_key}) {
    auto r = ReadPemCertificates("worker-tls-ca", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("worker-tls-ca '" + bad + "'"), std::string::npos) << r.status();
  }
  EXPECT_NE(ReadPemCertificates("tls-cert", junk_).status().message().find("not a PEM certificate"),
            std::string::npos);
  EXPECT_NE(ReadPemCertificates("tls-cert", dir_ + "/missing.pem").status().message().find("cannot read"),
            std::string::npos);
  // A truncated certificate block is broken, not "no certificate".
  std::string pem = testing::ReadFileOrDie(pki_.ca_cert);
  const std::string cut = dir_ + "/cut.pem";
  std::ofstream(cut) << pem.substr(0, pem.size() / 2) << "\n-----END CERTIFICATE-----\n";
  EXPECT_FALSE(ReadPemCertificates("tls-cert", cut).ok());
}

TEST_F(TlsFilesTest, KeyPairMustMatch) {
  auto pair = ReadPemKeyPair("tls-cert", pki_.server_cert, "tls-key", pki_.server_key);
  ASSERT_TRUE(pair.ok()) << pair.status();
  EXPECT_NE(pair->private_key.find("PRIVATE KEY-----"), std::string::npos);
  EXPECT_NE(pair->cert_chain.find("BEGIN CERTIFICATE"), std::string::npos);

  auto mismatch = ReadPemKeyPair("tls-cert", pki_.server_cert, "tls-key", pki_.other_key);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("is not the private key of the certificate"), std::string::npos)
      << mismatch.status();
  auto junk_key = ReadPemKeyPair("tls-cert", pki_.server_cert, "tls-key", junk_);
  ASSERT_FALSE(junk_key.ok());
  EXPECT_NE(junk_key.status().message().find("tls-key '" + junk_ + "': not an unencrypted PEM private key"),
            std::string::npos)
      << junk_key.status();
  auto junk_cert = ReadPemKeyPair("tls-cert", junk_, "tls-key", pki_.server_key);
  ASSERT_FALSE(junk_cert.ok());
  EXPECT_NE(junk_cert.status().message().find("tls-cert '" + junk_ + "'"), std::string::npos);
}

TEST_F(TlsFilesTest, EncryptedKeysAreRefusedWithoutPrompting) {
  const std::string enc = dir_ + "/enc.key";
  auto r = testing::RunCommand("openssl pkey -in " + pki_.server_key + " -aes128 -passout pass:secret -out " +
                               enc);
  ASSERT_EQ(r.code, 0) << r.out;
  auto pair = ReadPemKeyPair("tls-cert", pki_.server_cert, "tls-key", enc);
  ASSERT_FALSE(pair.ok());
  EXPECT_NE(pair.status().message().find("not an unencrypted PEM private key"), std::string::npos)
      << pair.status();
}

}  // namespace
}  // namespace flyp
