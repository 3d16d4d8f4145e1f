// Test harness: runs a real flyp-coordinator process (fork/execve) on
// 127.0.0.1 with port 0 and a JobService client for it. The worlds it starts
// run the fake worker (fake_worker.cc) unless extra_flags names another
// --worker-binary (the real flyp-worker: FLYP_WORKER_BIN where defined).
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "flyp/v1/service.grpc.pb.h"
#include "flyp/v1/sweep.grpc.pb.h"

namespace flyp::testing {

struct CoordinatorOptions {
  std::string dir;  // db, artifacts, tokens, data root live here
  int cpu_slots = 4;
  double grace_s = 3;
  std::vector<std::string> extra_flags = {};  // after the harness's own: they win
  std::vector<std::string> env = {};          // "NAME=value" added to the coordinator's environment
  std::string tls_ca = {};                    // Client() trusts this CA over TLS; empty: plaintext
  // --data-root flags; empty: <dir>/data and /usr/share/datasets.
  std::vector<std::string> data_roots = {};
  std::string client_host = "127.0.0.1";  // what Client() dials (with --listen on another address)
};

class CoordinatorProcess {
 public:
  explicit CoordinatorProcess(CoordinatorOptions o) : opts_(std::move(o)) {}
  ~CoordinatorProcess();
  // Starts the binary and waits (up to 20 s) until it serves.
  void Start();
  void Kill9();
  void Terminate();  // SIGTERM and wait
  int port() const { return port_; }
  // host:port of the JobService (client_host and the bound port).
  std::string address() const { return opts_.client_host + ":" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  std::unique_ptr<v1::JobService::Stub> Client(const std::string& token = "usertoken") const;
  // The SweepService on the same address (the token goes in Ctx()).
  std::unique_ptr<v1::SweepService::Stub> SweepClient() const;
  std::string data_root() const { return opts_.dir + "/data"; }

 private:
  std::shared_ptr<grpc::Channel> Channel() const;

  CoordinatorOptions opts_;
  pid_t pid_ = 0;
  int port_ = 0;
};

// A ClientContext carrying the bearer token and a deadline.
std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "usertoken", int deadline_s = 60);

// A spec the fake worker understands (mode = spec name).
std::string FakeSpec(const std::string& mode, int world_size = 2, int backoff_limit = 2, int priority = 0);

// Submits and returns the job id; fails the test on error.
std::string Submit(v1::JobService::Stub* stub, const std::string& yaml, const std::string& key = "");

// Polls GetJob until the state is one of `states` or `timeout_s` passed.
v1::Job WaitForState(v1::JobService::Stub* stub, const std::string& id, std::vector<v1::JobState> states,
                     double timeout_s = 45);

// A spec the real flyp-worker runs in seconds: pretrain the tiny preset on
// Fashion-MNIST for `steps` steps of 64 images, 2 ranks of 1 thread each;
// `extra` is appended (e.g. "run_policy: {...}\n").
std::string PretrainSpec(const std::string& name, int steps, const std::string& extra = "");

// Live processes of `job`'s worlds — FLYP_ARTIFACT_DIR=<its artifact dir>
// in their environment (unique to this test process, unlike job ids, which
// every coordinator counts from job-000001) — on this host or any
// network-namespace host, with their OMPI_COMM_WORLD_RANK (-1 when they
// have none: mpirun, srun, a batch script).
std::map<int, int> JobProcesses(const v1::Job& job);

// "attempt rank pid" rows of the fake worker.
std::vector<std::vector<long>> ReadPids(const std::string& artifact_dir);
bool ProcessAlive(long pid);

}  // namespace flyp::testing
