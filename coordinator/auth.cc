#include "coordinator/auth.h"

#include <cctype>
#include <sstream>

#include "common/file_util.h"

namespace flyp::coord {

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
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::string token, name, extra;
    if (!(fields >> token)) continue;
    if (!(fields >> name) || (fields >> extra)) {
      return InvalidArgumentError(origin + ":" + std::to_string(n) + ": expected 'TOKEN NAME'");
    }
    if (std::string p = PlaceholderTokenProblem(token); !p.empty()) {
      return InvalidArgumentError(origin + ":" + std::to_string(n) + ": the token of '" + name + "' is " + p +
                                  "; write a random one, e.g. openssl rand -hex 32");
    }
    if (!auth.names_.emplace(token, name).second) {
      return InvalidArgumentError(origin + ":" + std::to_string(n) + ": duplicate token");
    }
  }
  if (auth.names_.empty()) return InvalidArgumentError(origin + ": no tokens");
  return auth;
}

StatusOr<std::string> TokenAuth::Authenticate(const std::string* header) const {
  if (!enabled_) return std::string("anonymous");
  if (!header) return UnauthenticatedError("missing 'authorization: Bearer <token>' metadata");
  auto it = names_.find(BearerToken(*header));
  if (it == names_.end()) return UnauthenticatedError("unknown bearer token");
  return it->second;
}

}  // namespace flyp::coord
