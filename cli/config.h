// flypctl's config file: named contexts (a coordinator's address, token
// file and CA), one of them current, as kubectl's kubeconfig has them.
//
//   # ~/.config/flyp/config.yaml (or $FLYP_CONFIG)
//   current-context: prod
//   contexts:
//     - name: prod
//       server: flyp.example.com:50051
//       token-file: ~/.config/flyp/prod.token   # relative paths: to this file's folder
//       tls-ca: prod-ca.pem
//     - name: local
//       server: localhost:50051
//
// Where a setting comes from, first match wins: the command-line flag, the
// environment (FLYP_SERVER, FLYP_TOKEN / FLYP_TOKEN_FILE, FLYP_TLS_CA),
// the context (--context, else FLYP_CONTEXT, else current-context), the
// default (localhost:50051, no token, plaintext).
//
// Thread safety: plain values and functions of them; the file is read and
// written whole (WriteFileAtomic).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace flyp::cli {

struct Context {
  std::string name;
  std::string server;
  std::string token_file;  // as written in the file
  std::string tls_ca;      // as written in the file
};

struct CliConfig {
  std::string path;  // where it was read from (and is saved to)
  std::string current_context;
  std::vector<Context> contexts;

  const Context* Find(const std::string& name) const;
  // `name` unknown: NOT_FOUND naming the known contexts, with a did-you-mean.
  Status Unknown(const std::string& name) const;
  // A path from a context, usable from here: "~/" expanded, relative paths
  // taken from the config file's folder.
  std::string ResolvePath(const std::string& p) const;
};

// $FLYP_CONFIG, else $XDG_CONFIG_HOME/flyp/config.yaml, else
// ~/.config/flyp/config.yaml.
std::string DefaultConfigPath();
// The config at `path`; a missing file is an empty config (nothing set).
// INVALID_ARGUMENT naming the file and the key for anything malformed
// (unknown keys, duplicate context names, a current-context that no
// context has).
StatusOr<CliConfig> LoadCliConfig(const std::string& path);
// Writes config.path atomically (mode 0600: it names token files),
// creating its folder.
Status SaveCliConfig(const CliConfig& config);

}  // namespace flyp::cli
