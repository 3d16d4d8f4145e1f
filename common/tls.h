// TLS material (PEM files) read and checked with OpenSSL before gRPC sees
// it, so a wrong file is reported as what it is: gRPC itself only says
// "cannot listen" (a bad server certificate) or "handshake failed" (a bad
// CA) much later.
//
// Thread safety: free functions without shared state.
#pragma once

#include <string>

#include "common/status.h"

namespace flyp {

// Every X.509 certificate in the PEM file at `path` (at least one),
// re-encoded as PEM (text outside the certificate blocks dropped).
// INVALID_ARGUMENT naming `what` (the flag or variable that named the file,
// e.g. "tls-cert") and `path` when the file cannot be read or holds no
// certificate, with OpenSSL's reason.
StatusOr<std::string> ReadPemCertificates(const std::string& what, const std::string& path);

struct PemKeyPair {
  std::string cert_chain;   // PEM, leaf first
  std::string private_key;  // PEM (PKCS #8, unencrypted)
};

// A server's certificate chain and private key. INVALID_ARGUMENT naming the
// flag and file when either is unreadable or not PEM of its kind, when the
// key is not the leaf certificate's, or when the leaf has expired.
StatusOr<PemKeyPair> ReadPemKeyPair(const std::string& cert_what, const std::string& cert_path,
                                    const std::string& key_what, const std::string& key_path);

}  // namespace flyp
