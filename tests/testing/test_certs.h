// Throwaway TLS material for tests, made with the openssl command-line tool
// at test time (never committed): a CA, a server certificate it signed, and
// a second, unrelated CA whose trust must fail.
#pragma once

#include <string>
#include <vector>

namespace flyp::testing {

struct TestPki {
  std::string ca_cert;      // PEM: the CA that signed server_cert
  std::string server_cert;  // PEM: leaf for `names` (DNS) and `ips`, valid for 2 days
  std::string server_key;   // PEM: its unencrypted private key
  std::string other_ca;     // PEM: a CA that signed nothing here
  std::string other_key;    // PEM: a key that is not server_cert's
};

// Writes the files into `dir` (created if missing); fails the current test
// (ADD_FAILURE) and returns empty paths when openssl fails.
TestPki MakeTestPki(const std::string& dir, const std::vector<std::string>& names = {"localhost"},
                    const std::vector<std::string>& ips = {"127.0.0.1"});

}  // namespace flyp::testing
