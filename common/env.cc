#include "common/env.h"

#include <cassert>
#include <cstdlib>

#include "common/logging.h"
#include "common/numbers.h"

namespace flyp {
namespace env {
const EnvVar kLogLevel{"FLYP_LOG_LEVEL", "info", "log threshold: debug, info, warning, error"};
const EnvVar kServer{"FLYP_SERVER", "localhost:50051", "coordinator address flypctl talks to"};
const EnvVar kToken{"FLYP_TOKEN", "", "bearer token flypctl sends (authorization metadata)"};
const EnvVar kTokenFile{"FLYP_TOKEN_FILE", "", "file whose first line is the bearer token flypctl sends"};
const EnvVar kTlsCa{"FLYP_TLS_CA", "", "PEM file of the CA flypctl trusts; empty: plaintext"};
const EnvVar kConfig{"FLYP_CONFIG", "",
                     "flypctl's config file (contexts); empty: ~/.config/flyp/config.yaml"};
const EnvVar kContext{"FLYP_CONTEXT", "",
                      "the flypctl context to use instead of the config's current-context"};
const EnvVar kJobId{"FLYP_JOB_ID", "", "id of the job a worker runs (set by the launcher)"};
const EnvVar kCoordinator{"FLYP_COORDINATOR", "", "coordinator address rank 0 reports to; empty: standalone"};
const EnvVar kWorkerToken{"FLYP_WORKER_TOKEN", "", "token a worker presents to the coordinator"};
const EnvVar kCoordinatorCa{"FLYP_COORDINATOR_CA", "",
                            "PEM file of the CA rank 0 trusts for the coordinator (set by the launcher from "
                            "worker-tls-ca); empty: plaintext"};
const EnvVar kCoordinatorName{"FLYP_COORDINATOR_SERVER_NAME", "",
                              "name rank 0 expects in the coordinator's certificate; empty: the host of "
                              "FLYP_COORDINATOR"};
const EnvVar kMetricsPort{"FLYP_METRICS_PORT", "0",
                          "base /metrics port of a worker (rank r serves base + local rank); 0: off"};
const EnvVar kMetricsAddress{"FLYP_METRICS_ADDRESS", "",
                             "host:port this rank serves /metrics on (set per rank by the coordinator's "
                             "launchers); wins over FLYP_METRICS_PORT"};
const EnvVar kArtifactDir{"FLYP_ARTIFACT_DIR", "", "where a worker writes checkpoints and reports"};
const EnvVar kAttempt{"FLYP_ATTEMPT", "0", "restart attempt number of this world (set by the launcher)"};
const EnvVar kFashionMnistDir{"FLYP_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist",
                              "where the Fashion-MNIST IDX files are (Debian's dataset-fashion-mnist)"};
const EnvVar kDataRoots{"FLYP_DATA_ROOTS", "",
                        "':'-separated folders a worker may read job inputs from (the coordinator's data "
                        "roots, set by the launcher); every input file is checked when opened; empty: "
                        "not confined"};
const EnvVar kThreads{"FLYP_THREADS", "0", "intra-op threads per rank; 0: all cores / local ranks"};
const EnvVar kOpenBlasTuning{
    "FLYP_OPENBLAS_TUNING", "1",
    "0: keep OpenBLAS's own kernel choice (otherwise flyp-worker sets OPENBLAS_CORETYPE "
    "on CPUs the library does not know)"};
const EnvVar kOpenBlasReexec{"FLYP_OPENBLAS_REEXEC", "",
                             "set by flyp-worker on the process it re-executes with OPENBLAS_CORETYPE "
                             "(guards against a second re-execution); not for users"};
}  // namespace env

const std::vector<const EnvVar*>& AllEnvVars() {
  static const std::vector<const EnvVar*> all = {
      &env::kLogLevel,        &env::kServer,         &env::kToken,         &env::kTokenFile,
      &env::kTlsCa,           &env::kConfig,         &env::kContext,       &env::kJobId,
      &env::kCoordinator,     &env::kWorkerToken,    &env::kCoordinatorCa, &env::kCoordinatorName,
      &env::kMetricsPort,     &env::kMetricsAddress, &env::kArtifactDir,   &env::kAttempt,
      &env::kFashionMnistDir, &env::kDataRoots,      &env::kThreads,       &env::kOpenBlasTuning,
      &env::kOpenBlasReexec};
  return all;
}

bool EnvIsSet(const EnvVar& var) {
  const char* v = std::getenv(var.name);
  return v != nullptr && *v != '\0';
}

std::string EnvString(const EnvVar& var) {
  const char* v = std::getenv(var.name);
  return (v != nullptr && *v != '\0') ? std::string(v) : std::string(var.default_value);
}

int64_t EnvInt(const EnvVar& var) {
  StatusOr<int64_t> v = ParseInt64(EnvString(var), var.name);
  if (v.ok()) return *v;
  FLYP_LOG(WARNING) << v.status().message() << "; using the default " << var.default_value;
  StatusOr<int64_t> fallback = ParseInt64(var.default_value, var.name);
  assert(fallback.ok() && "an integer variable's default must be an integer");
  return fallback.ok() ? *fallback : 0;
}

}  // namespace flyp
