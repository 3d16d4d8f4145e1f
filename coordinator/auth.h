// Bearer-token authentication of API callers. The token file has one
// "TOKEN NAME" pair per line ('#' starts a comment); NAME becomes the owner of
// the jobs submitted with TOKEN.
//
// Thread safety: immutable after construction.
#pragma once

#include <map>
#include <string>

#include "common/status.h"

namespace flyp::coord {

class TokenAuth {
 public:
  // Authentication off: every caller is "anonymous".
  TokenAuth() = default;
  // INVALID_ARGUMENT naming the file and line for a malformed file, a file
  // without tokens, or a placeholder token (PlaceholderTokenProblem), so a
  // coordinator never starts with a credential copied from documentation.
  static StatusOr<TokenAuth> LoadFile(const std::string& path);
  static StatusOr<TokenAuth> Parse(const std::string& text, const std::string& origin);

  bool enabled() const { return enabled_; }
  // The principal for an "authorization" metadata value ("Bearer TOKEN");
  // UNAUTHENTICATED when missing or unknown.
  StatusOr<std::string> Authenticate(const std::string* authorization_header) const;

 private:
  bool enabled_ = false;
  std::map<std::string, std::string> names_;  // token -> principal
};

// Why `token` is a placeholder rather than a secret ("change-me-admin-token",
// "<token>", "example..."); "" when it is not one.
std::string PlaceholderTokenProblem(const std::string& token);

// "Bearer TOKEN" -> TOKEN; empty when the header is not a bearer credential.
std::string BearerToken(const std::string& header);

}  // namespace flyp::coord
