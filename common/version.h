// The version of this build: the project version (CMakeLists.txt) and the
// git commit it was built from, stamped at build time
// (cmake/GenerateVersion.cmake). Every binary's --version, `flypctl
// version` and the coordinator's GetServerInfo report them.
#pragma once

#include <string>

namespace flyp {

const char* BuildVersion();  // "0.1.0"
const char* BuildGitSha();   // "1a2b3c4d5e", "1a2b3c4d5e-dirty", or "unknown" (no git checkout)
// "0.1.0 (git 1a2b3c4d5e)".
inline std::string VersionString() { return std::string(BuildVersion()) + " (git " + BuildGitSha() + ")"; }

}  // namespace flyp
