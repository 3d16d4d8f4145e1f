#include "tests/coordinator/harness.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/testing/test_env.h"

extern char** environ;

namespace flyp::testing {

CoordinatorProcess::~CoordinatorProcess() {
  if (pid_ > 0) Terminate();
}

void CoordinatorProcess::Start() {
  std::filesystem::create_directories(opts_.dir + "/data");
  std::ofstream(opts_.dir + "/tokens.txt") << "usertoken alice\nothertoken bob user\nadmintoken root admin\n";
  const std::string port_file = opts_.dir + "/port";
  std::filesystem::remove(port_file);
  std::vector<std::string> args = {FLYP_COORDINATOR_BIN,
                                   "--listen=127.0.0.1:0",
                                   "--port-file=" + port_file,
                                   "--db=" + opts_.dir + "/jobs.db",
                                   "--artifact-root=" + opts_.dir + "/artifacts",
                                   "--token-file=" + opts_.dir + "/tokens.txt",
                                   "--cpu-slots=" + std::to_string(opts_.cpu_slots),
                                   "--gpus=0",
                                   "--worker-binary=" FLYP_FAKE_WORKER_BIN,
                                   "--mpirun=" FLYP_MPIEXEC,
                                   "--grace-period-s=" + std::to_string(opts_.grace_s),
                                   "--backoff-base-s=0.2",
                                   "--metrics-listen=127.0.0.1:0"};  // never compete for 9464
  std::vector<std::string> roots = opts_.data_roots;
  if (roots.empty()) roots = {opts_.dir + "/data", "/usr/share/datasets"};
  for (const std::string& r : roots) args.push_back("--data-root=" + r);
  args.insert(args.end(), opts_.extra_flags.begin(), opts_.extra_flags.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The environment is built before fork(): the child only calls execve.
  std::vector<std::string> env_strings = opts_.env;
  for (char** e = environ; *e; ++e) env_strings.push_back(*e);  // first "NAME=" wins in getenv
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string log = opts_.dir + "/coordinator.log";
  pid_ = fork();
  ASSERT_GE(pid_, 0);
  if (pid_ == 0) {
    FILE* f = freopen(log.c_str(), "a", stderr);
    (void)f;
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  for (int i = 0; i < 400; ++i) {
    std::ifstream in(port_file);
    if (in >> port_) return;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      FAIL() << "coordinator exited early; log:\n" << ReadFileOrDie(log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << "coordinator did not start";
}

void CoordinatorProcess::Kill9() {
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

void CoordinatorProcess::Terminate() {
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

std::shared_ptr<grpc::Channel> CoordinatorProcess::Channel() const {
  grpc::SslCredentialsOptions ssl;
  if (!opts_.tls_ca.empty()) ssl.pem_root_certs = ReadFileOrDie(opts_.tls_ca);
  auto creds = opts_.tls_ca.empty() ? grpc::InsecureChannelCredentials() : grpc::SslCredentials(ssl);
  return grpc::CreateChannel(address(), creds);
}

std::unique_ptr<v1::JobService::Stub> CoordinatorProcess::Client(const std::string& token) const {
  return v1::JobService::NewStub(Channel());
}

std::unique_ptr<v1::SweepService::Stub> CoordinatorProcess::SweepClient() const {
  return v1::SweepService::NewStub(Channel());
}

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token, int deadline_s) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_s));
  return ctx;
}

std::string FakeSpec(const std::string& mode, int world_size, int backoff_limit, int priority) {
  std::ostringstream os;
  os << "name: " << mode << "\n"
     << "priority: " << priority << "\n"
     << "model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}\n"
     << "data:\n"
     << "  train: {format: fashion_mnist}\n"
     << "  id_val: {format: fashion_mnist, split: train, offset: 50000}\n"
     << "schedule: {batch_size: " << 4 * world_size << "}\n"
     << "resources: {world_size: " << world_size << "}\n"
     << "run_policy: {backoff_limit: " << backoff_limit << "}\n";
  return os.str();
}

std::string Submit(v1::JobService::Stub* stub, const std::string& yaml, const std::string& key) {
  v1::SubmitJobRequest req;
  req.set_spec_yaml(yaml);
  req.set_idempotency_key(key);
  v1::SubmitJobResponse resp;
  grpc::Status s = stub->SubmitJob(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.job().id();
}

v1::Job WaitForState(v1::JobService::Stub* stub, const std::string& id, std::vector<v1::JobState> states,
                     double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  v1::Job job;
  while (std::chrono::steady_clock::now() < deadline) {
    v1::GetJobRequest req;
    req.set_id(id);
    grpc::Status s = stub->GetJob(Ctx().get(), req, &job);
    if (s.ok()) {
      for (auto st : states) {
        if (job.status().state() == st) return job;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << id << " did not reach the expected state; now " << v1::JobState_Name(job.status().state())
                << "\n"
                << job.DebugString();
  return job;
}

std::string PretrainSpec(const std::string& name, int steps, const std::string& extra) {
  std::ostringstream os;
  os << "name: " << name << "\n"
     << "model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}}\n"
     << "method: {name: pretrain}\n"
     << "data: {train: {format: fashion_mnist, split: train, limit: " << 64 * steps
     << "}, templates: {builtin: simple}}\n"
     << "schedule: {epochs: 1, batch_size: 64, warmup_steps: 1, log_every_steps: 1}\n"
     << "resources: {world_size: 2, threads_per_rank: 1}\n"
     << "wise_ft: {enabled: false}\n"
     << extra;
  return os.str();
}

std::map<int, int> JobProcesses(const v1::Job& job) {
  const std::string dir_var = "FLYP_ARTIFACT_DIR=" + job.artifact_dir();
  std::map<int, int> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::ifstream in("/proc/" + std::to_string(pid) + "/environ");
    std::string var;
    bool ours = false;
    int rank = -1;
    while (std::getline(in, var, '\0')) {
      if (var == dir_var) ours = true;
      if (var.rfind("OMPI_COMM_WORLD_RANK=", 0) == 0) rank = std::atoi(var.c_str() + 21);
    }
    if (ours && ProcessAlive(pid)) out[static_cast<int>(pid)] = rank;
  }
  closedir(d);
  return out;
}

std::vector<std::vector<long>> ReadPids(const std::string& artifact_dir) {
  std::vector<std::vector<long>> out;
  std::ifstream in(artifact_dir + "/pids.txt");
  long a, r, p;
  while (in >> a >> r >> p) out.push_back({a, r, p});
  return out;
}

bool ProcessAlive(long pid) {
  if (kill(static_cast<pid_t>(pid), 0) != 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

}  // namespace flyp::testing
