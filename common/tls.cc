#include "common/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

#include "common/file_util.h"

namespace flyp {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using UniqueX509 = std::unique_ptr<X509, X509Free>;

// OpenSSL's most recent error (and clears the queue), e.g. "no start line".
std::string OpenSslReason() {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no PEM block";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "OpenSSL error " + std::to_string(code);
}

// The file through the common reader (size budget, clear errors), as a
// memory BIO over *text (which must outlive it).
StatusOr<std::unique_ptr<BIO, BioFree>> Open(const std::string& what, const std::string& path,
                                             std::string* text) {
  if (path.empty()) return InvalidArgumentError(what + ": no file given");
  StatusOr<std::string> read = ReadFileToString(path, kMaxConfigFileBytes);
  if (!read.ok())
    return InvalidArgumentError(what + " '" + path + "': cannot read: " + read.status().message());
  *text = std::move(read).value();
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(text->data(), static_cast<int>(text->size())));
  if (!bio) return InternalError(what + " '" + path + "': " + OpenSslReason());
  return bio;
}

StatusOr<std::vector<UniqueX509>> ReadCertificates(const std::string& what, const std::string& path) {
  std::string text;
  FLYP_ASSIGN_OR_RETURN(auto bio, Open(what, path, &text));
  ERR_clear_error();
  std::vector<UniqueX509> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(x);
  // The loop ends at end of file (PEM_R_NO_START_LINE) or at a broken block.
  const unsigned long last = ERR_peek_last_error();
  const bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (certs.empty() || (last != 0 && !clean_end)) {
    std::string reason = OpenSslReason();
    return InvalidArgumentError(what + " '" + path + "': not a PEM certificate file (" +
                                (certs.empty() && clean_end ? std::string("no CERTIFICATE block") : reason) +
                                ")");
  }
  ERR_clear_error();
  return certs;
}

StatusOr<std::string> ToPem(const std::vector<UniqueX509>& certs) {
  std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
  for (const auto& c : certs) {
    if (PEM_write_bio_X509(out.get(), c.get()) != 1) return InternalError("PEM encoding: " + OpenSslReason());
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

StatusOr<std::string> ReadPemCertificates(const std::string& what, const std::string& path) {
  FLYP_ASSIGN_OR_RETURN(std::vector<UniqueX509> certs, ReadCertificates(what, path));
  return ToPem(certs);
}

StatusOr<PemKeyPair> ReadPemKeyPair(const std::string& cert_what, const std::string& cert_path,
                                    const std::string& key_what, const std::string& key_path) {
  FLYP_ASSIGN_OR_RETURN(std::vector<UniqueX509> certs, ReadCertificates(cert_what, cert_path));
  std::string key_text;
  FLYP_ASSIGN_OR_RETURN(auto bio, Open(key_what, key_path, &key_text));
  ERR_clear_error();
  // No passphrase callback: an encrypted key fails here instead of prompting.
  std::unique_ptr<EVP_PKEY, KeyFree> key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!key) {
    return InvalidArgumentError(key_what + " '" + key_path + "': not an unencrypted PEM private key (" +
                                OpenSslReason() + ")");
  }
  if (X509_check_private_key(certs[0].get(), key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError(key_what + " '" + key_path +
                                "' is not the private key of the certificate in " + cert_what + " '" +
                                cert_path + "'");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(certs[0].get())) < 0) {
    return InvalidArgumentError(cert_what + " '" + cert_path + "': the certificate has expired");
  }
  PemKeyPair pair;
  FLYP_ASSIGN_OR_RETURN(pair.cert_chain, ToPem(certs));
  std::unique_ptr<BIO, BioFree> out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return InternalError("PEM encoding: " + OpenSslReason());
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  pair.private_key.assign(data, static_cast<size_t>(n));
  return pair;
}

}  // namespace flyp
