// Bearer-token authentication and the tenancy model of API callers
// (docs/coordinator.md, "Tenancy"). The token file has one
//   TOKEN NAME [ROLE]
// per line ('#' starts a comment): NAME becomes the owner of the jobs
// submitted with TOKEN, ROLE is `user` (the default) or `admin`. A user sees
// and acts only on its own jobs (another owner's job is NOT_FOUND, exactly
// like a job that does not exist); an admin sees and acts on every job.
// With authentication off (no token file) every caller is the admin
// "anonymous": a single-user coordinator.
//
// Thread safety: immutable after construction.
#pragma once

#include <map>
#include <string>

#include "common/status.h"

namespace flyp::coord {

enum class Role { kUser, kAdmin };
// "user" | "admin".
const char* RoleName(Role role);

// Who is calling.
struct Principal {
  std::string name;
  Role role = Role::kUser;
  // Whether this caller may see and act on a job owned by `owner`.
  bool MaySee(const std::string& owner) const { return role == Role::kAdmin || owner == name; }
};

class TokenAuth {
 public:
  // Authentication off: every caller is the admin "anonymous".
  TokenAuth() = default;
  // INVALID_ARGUMENT naming the file and line for a malformed file, a file
  // without tokens, or a placeholder token (PlaceholderTokenProblem), so a
  // coordinator never starts with a credential copied from documentation.
  static StatusOr<TokenAuth> LoadFile(const std::string& path);
  static StatusOr<TokenAuth> Parse(const std::string& text, const std::string& origin);

  bool enabled() const { return enabled_; }
  // The principal for an "authorization" metadata value ("Bearer TOKEN");
  // UNAUTHENTICATED when missing or unknown.
  StatusOr<Principal> Authenticate(const std::string* authorization_header) const;

 private:
  bool enabled_ = false;
  std::map<std::string, Principal> principals_;  // token -> principal
};

// Why `token` is a placeholder rather than a secret ("change-me-admin-token",
// "<token>", "example..."); "" when it is not one.
std::string PlaceholderTokenProblem(const std::string& token);

// "Bearer TOKEN" -> TOKEN; empty when the header is not a bearer credential.
std::string BearerToken(const std::string& header);

}  // namespace flyp::coord
