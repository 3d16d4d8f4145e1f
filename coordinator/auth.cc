#include "coordinator/auth.h"

#include <cctype>
#include <sstream>

#include "common/file_util.h"
#include "common/numbers.h"

namespace flyp::coord {

const char* RoleName(Role role) { return role == Role::kAdmin ? "admin" : "user"; }

std::string BearerToken(const std::string& header) {
  const std::string prefix = "Bearer ";
  if (header.size() <= prefix.size() || header.compare(0, prefix.size(), prefix) != 0) return "";
  return header.substr(prefix.size());
}

StatusOr<TokenAuth> TokenAuth::LoadFile(const std::string& path) {
  StatusOr<std::string> text = ReadFileToString(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.status().WithContext("token file");
  return Parse(*text, path);
}

std::string PlaceholderTokenProblem(const std::string& token) {
  std::string lower;
  for (char c : token) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : {"change-me", "changeme", "change_me", "replace-me", "replaceme", "replace_me",
                           "placeholder", "example", "<", ">"}) {
    if (lower.find(word) != std::string::npos)
      return std::string("a placeholder (contains '") + word + "'), not a secret";
  }
  if (lower == "token" || lower == "secret" || lower == "password") return "a placeholder word, not a secret";
  return "";
}

StatusOr<TokenAuth> TokenAuth::Parse(const std::string& text, const std::string& origin) {
  TokenAuth auth;
  auth.enabled_ = true;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string where = origin + ":" + std::to_string(n) + ": ";
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::string token, name, role, extra;
    if (!(fields >> token)) continue;
    if (!(fields >> name)) return InvalidArgumentError(where + "expected 'TOKEN NAME [admin|user]'");
    Principal p{name, Role::kUser};
    if (fields >> role) {
      if (role == "admin") {
        p.role = Role::kAdmin;
      } else if (role != "user") {
        return InvalidArgumentError(where + "role must be admin or user (got '" + QuoteForError(role) + "')");
      }
    }
    if (fields >> extra) return InvalidArgumentError(where + "expected 'TOKEN NAME [admin|user]'");
    if (std::string problem = PlaceholderTokenProblem(token); !problem.empty()) {
      return InvalidArgumentError(where + "the token of '" + name + "' is " + problem +
                                  "; write a random one, e.g. openssl rand -hex 32");
    }
    if (!auth.principals_.emplace(token, p).second) return InvalidArgumentError(where + "duplicate token");
  }
  if (auth.principals_.empty()) return InvalidArgumentError(origin + ": no tokens");
  return auth;
}

StatusOr<Principal> TokenAuth::Authenticate(const std::string* header) const {
  if (!enabled_) return Principal{"anonymous", Role::kAdmin};
  if (!header) return UnauthenticatedError("missing 'authorization: Bearer <token>' metadata");
  auto it = principals_.find(BearerToken(*header));
  if (it == principals_.end()) return UnauthenticatedError("unknown bearer token");
  return it->second;
}

}  // namespace flyp::coord
