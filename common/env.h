// Every environment variable flyp reads, declared once here with its default
// and meaning (NCCL_PARAM style). Precedence everywhere: command-line flag >
// environment variable > config file > the default below. No other file
// calls getenv() for a FLYP_ variable.
//
// Thread-safe: values are read from the environment on each call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flyp {

struct EnvVar {
  const char* name;
  const char* default_value;
  const char* help;
};

namespace env {
extern const EnvVar kLogLevel;         // FLYP_LOG_LEVEL
extern const EnvVar kServer;           // FLYP_SERVER
extern const EnvVar kToken;            // FLYP_TOKEN
extern const EnvVar kTokenFile;        // FLYP_TOKEN_FILE
extern const EnvVar kTlsCa;            // FLYP_TLS_CA
extern const EnvVar kConfig;           // FLYP_CONFIG
extern const EnvVar kContext;          // FLYP_CONTEXT
extern const EnvVar kJobId;            // FLYP_JOB_ID
extern const EnvVar kCoordinator;      // FLYP_COORDINATOR
extern const EnvVar kWorkerToken;      // FLYP_WORKER_TOKEN
extern const EnvVar kCoordinatorCa;    // FLYP_COORDINATOR_CA
extern const EnvVar kCoordinatorName;  // FLYP_COORDINATOR_SERVER_NAME
extern const EnvVar kMetricsPort;      // FLYP_METRICS_PORT
extern const EnvVar kMetricsAddress;   // FLYP_METRICS_ADDRESS
extern const EnvVar kArtifactDir;      // FLYP_ARTIFACT_DIR
extern const EnvVar kAttempt;          // FLYP_ATTEMPT
extern const EnvVar kFashionMnistDir;  // FLYP_FASHION_MNIST_DIR
extern const EnvVar kDataRoots;        // FLYP_DATA_ROOTS
extern const EnvVar kThreads;          // FLYP_THREADS
extern const EnvVar kOpenBlasTuning;   // FLYP_OPENBLAS_TUNING
extern const EnvVar kOpenBlasReexec;   // FLYP_OPENBLAS_REEXEC
}  // namespace env

// Every declared variable, in declaration order (for `--help` and docs).
const std::vector<const EnvVar*>& AllEnvVars();

// The variable's value, or its default when unset or empty.
std::string EnvString(const EnvVar& var);
// As EnvString, parsed as an integer (ParseInt64, common/numbers.h); the
// default, with a warning naming the variable, when unparsable.
int64_t EnvInt(const EnvVar& var);
// True when the variable is set to a non-empty value.
bool EnvIsSet(const EnvVar& var);

}  // namespace flyp
