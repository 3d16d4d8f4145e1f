#include "tests/testing/test_certs.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/test_env.h"

namespace flyp::testing {

TestPki MakeTestPki(const std::string& dir, const std::vector<std::string>& names,
                    const std::vector<std::string>& ips) {
  std::filesystem::create_directories(dir);
  std::string san;
  for (const auto& n : names) san += (san.empty() ? "" : ",") + std::string("DNS:") + n;
  for (const auto& ip : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  std::ofstream(dir + "/server.ext") << "basicConstraints=CA:FALSE\n"
                                     << "keyUsage=digitalSignature,keyEncipherment\n"
                                     << "extendedKeyUsage=serverAuth\n"
                                     << "subjectAltName=" << san << "\n";
  // P-256 keys: generated in milliseconds, unlike RSA.
  const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  const std::string d = dir + "/";
  const std::vector<std::string> steps = {
      "openssl req -x509" + key + " -keyout " + d + "ca.key -out " + d +
          "ca.crt -days 2 -subj /CN=flyp-test-ca",
      "openssl req -x509" + key + " -keyout " + d + "other-ca.key -out " + d +
          "other-ca.crt -days 2 -subj /CN=flyp-other-ca",
      "openssl req" + key + " -keyout " + d + "server.key -out " + d +
          "server.csr -subj /CN=flyp-test-server",
      "openssl x509 -req -in " + d + "server.csr -CA " + d + "ca.crt -CAkey " + d +
          "ca.key -CAcreateserial -out " + d + "server.crt -days 2 -extfile " + d + "server.ext",
  };
  for (const auto& step : steps) {
    CommandResult r = RunCommand(step);
    if (r.code != 0) {
      ADD_FAILURE() << step << " failed: " << r.out;
      return {};
    }
  }
  return {d + "ca.crt", d + "server.crt", d + "server.key", d + "other-ca.crt", d + "other-ca.key"};
}

}  // namespace flyp::testing
