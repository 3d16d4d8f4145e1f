// Integration: real /metrics of a running flyp-coordinator (with a fake MPI
// worker world) and of the worker-metrics probe, checked by promtool and
// scraped by a real Prometheus server.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/json.h"
#include "tests/coordinator/harness.h"
#include "tests/observability/http.h"
#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace {

// A child process (argv, no shell) killed with SIGTERM at scope exit.
class Child {
 public:
  Child(std::vector<std::string> args, const std::string& log) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = freopen(log.c_str(), "a", stdout);
      f = freopen(log.c_str(), "a", stderr);
      (void)f;
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  pid_t pid_ = -1;
};

// Reads the probe's port file (one port per rank) once written.
std::vector<int> WaitForPorts(const std::string& file, size_t n) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(file);
    std::vector<int> ports;
    int p;
    while (in >> p) ports.push_back(p);
    if (ports.size() == n) return ports;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "no ports in " << file;
  return {};
}

// `promtool check metrics` on the text; returns its exit code, output in *out.
int Promtool(const std::string& text, std::string* out) {
  const std::string dir = TempDir();
  const std::string in = dir + "/metrics.txt", res = dir + "/promtool.out";
  std::ofstream(in) << text;
  int rc = std::system(("promtool check metrics < " + in + " > " + res + " 2>&1").c_str());
  *out = ReadFileOrDie(res);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string Scrape(int port) {
  auto r = HttpGet(port, "/metrics");
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return "";
  EXPECT_EQ(r->status, 200);
  return r->body;
}

bool Contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

class ObservabilityTest : public ::testing::Test {
 protected:
  void StartCoordinator() {
    metrics_port_ = FreePort();
    CoordinatorOptions o;
    o.dir = TempDir() + "/coord";
    o.cpu_slots = 2;
    o.extra_flags = {"--metrics-listen=127.0.0.1:" + std::to_string(metrics_port_)};
    coordinator_ = std::make_unique<CoordinatorProcess>(o);
    coordinator_->Start();
  }
  void StartProbe(int ranks) {
    const std::string file = TempDir() + "/probe.ports";
    probe_ = std::make_unique<Child>(
        std::vector<std::string>{FLYP_PROBE_BIN, "--job", "job-probe", "--ranks", std::to_string(ranks),
                                 "--port-file", file, "--seconds", "50", "--interval-ms", "50"},
        TempDir() + "/probe.log");
    probe_ports_ = WaitForPorts(file, static_cast<size_t>(ranks));
  }
  int metrics_port_ = 0;
  std::unique_ptr<CoordinatorProcess> coordinator_;
  std::unique_ptr<Child> probe_;
  std::vector<int> probe_ports_;
};

TEST_F(ObservabilityTest, CoordinatorMetricsPassPromtoolAndCountJobsAndRpcs) {
  StartCoordinator();
  auto stub = coordinator_->Client();
  const std::string id = Submit(stub.get(), FakeSpec("fake-quick", 2));
  WaitForState(stub.get(), id, {v1::JOB_STATE_SUCCEEDED}, 40);
  v1::GetJobRequest req;
  req.set_id(id);
  v1::Job job;
  EXPECT_EQ(stub->GetJob(Ctx("badtoken").get(), req, &job).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const std::string text = Scrape(metrics_port_);
  EXPECT_TRUE(Contains(text, "flyp_jobs{state=\"succeeded\"} 1\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_jobs{state=\"queued\"} 0\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_jobs{state=\"running\"} 0\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_jobs_submitted_total 1\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_job_queue_wait_seconds_count 1\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_job_restarts_total 0\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_slots{pool=\"cpu\",state=\"free\"} 2\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_slots{pool=\"cpu\",state=\"used\"} 0\n")) << text;
  EXPECT_TRUE(
      Contains(text, "flyp_rpc_requests_total{code=\"OK\",method=\"/flyp.v1.JobService/SubmitJob\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(
      text, "flyp_rpc_requests_total{code=\"UNAUTHENTICATED\",method=\"/flyp.v1.JobService/GetJob\"} 1\n"))
      << text;
  // The fake world's rank 0 reported its state over WorkerService.
  EXPECT_TRUE(Contains(text, "method=\"/flyp.v1.WorkerService/ReportState\"")) << text;
  std::string out;
  EXPECT_EQ(Promtool(text, &out), 0) << out;
}

TEST_F(ObservabilityTest, WorkerMetricsPassPromtool) {
  StartProbe(2);
  ASSERT_EQ(probe_ports_.size(), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // >= 10 steps: eval accuracy set
  for (int r = 0; r < 2; ++r) {
    const std::string text = Scrape(probe_ports_[r]);
    const std::string l = "job=\"job-probe\",rank=\"" + std::to_string(r) + "\"";
    EXPECT_TRUE(Contains(text, "flyp_train_step_total{" + l + "}")) << text;
    EXPECT_TRUE(Contains(text, "flyp_step_seconds_bucket{" + l + ",phase=\"allreduce\"")) << text;
    EXPECT_TRUE(Contains(text, "flyp_eval_accuracy{" + l + ",split=\"ood\"} 0.6")) << text;
    std::string out;
    EXPECT_EQ(Promtool(text, &out), 0) << out;
  }
}

TEST_F(ObservabilityTest, FlypctlHealthReportsServing) {
  StartCoordinator();
  const std::string out = TempDir() + "/health.out";
  const std::string cmd = std::string(FLYP_FLYPCTL_BIN) +
                          " health --server 127.0.0.1:" + std::to_string(coordinator_->port()) + " > " + out +
                          " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << ReadFileOrDie(out);
  EXPECT_EQ(ReadFileOrDie(out), "SERVING\n");
  coordinator_->Terminate();
  rc = std::system((std::string(FLYP_FLYPCTL_BIN) + " health --timeout 1 --server 127.0.0.1:" +
                    std::to_string(coordinator_->port()) + " > " + out + " 2>&1")
                       .c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) << ReadFileOrDie(out);
  EXPECT_NE(ReadFileOrDie(out).find("UNAVAILABLE"), std::string::npos) << ReadFileOrDie(out);
}

// Polls Prometheus' query API until `query` returns `n` series.
Json QueryUntil(int port, const std::string& query, size_t n, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  Json last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = HttpGet(port, "/api/v1/query?query=" + UrlEncode(query));
    if (r.ok() && r->status == 200) {
      auto j = ParseJson(r->body);
      if (j.ok()) {
        last = *j;
        const Json* data = j->Find("data");
        const Json* result = data ? data->Find("result") : nullptr;
        if (result && result->is_array() && result->size() == n) return *result;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ADD_FAILURE() << "Prometheus never returned " << n << " series for " << query << "; last: " << last.Dump();
  return Json();
}

TEST_F(ObservabilityTest, PrometheusScrapesCoordinatorAndTwoRanks) {
  StartCoordinator();
  StartProbe(2);
  ASSERT_EQ(probe_ports_.size(), 2u);
  const std::string dir = TempDir() + "/prom";
  std::filesystem::create_directories(dir + "/data");
  std::ofstream(dir + "/prometheus.yml")
      << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
      << "scrape_configs:\n"
      << "  - job_name: flyp-coordinator\n"
      << "    static_configs: [{targets: ['127.0.0.1:" << metrics_port_ << "']}]\n"
      << "  - job_name: flyp-worker\n"
      << "    honor_labels: true\n"
      << "    static_configs: [{targets: ['127.0.0.1:" << probe_ports_[0]
      << "', '127.0.0.1:" << probe_ports_[1] << "']}]\n";
  std::string out;
  ASSERT_EQ(std::system(("promtool check config " + dir + "/prometheus.yml > /dev/null").c_str()), 0);
  const int port = FreePort();
  Child prometheus(
      {"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
       "--storage.tsdb.path=" + dir + "/data", "--web.listen-address=127.0.0.1:" + std::to_string(port)},
      dir + "/prometheus.log");
  // With honor_labels the worker's own `job` (the flyp job id) and `rank`
  // labels survive the scrape, as in deploy/prometheus.
  Json loss = QueryUntil(port, "flyp_train_loss", 2, 40);
  std::set<std::string> ranks;
  for (const Json& s : loss.is_array() ? loss.as_array() : Json::Array{}) {
    const Json* metric = s.Find("metric");
    ASSERT_NE(metric, nullptr);
    const Json* rank = metric->Find("rank");
    ASSERT_NE(rank, nullptr) << s.Dump();
    ranks.insert(rank->as_string());
    const Json* job = metric->Find("job");
    ASSERT_NE(job, nullptr) << s.Dump();
    EXPECT_EQ(job->as_string(), "job-probe");
    const Json* value = s.Find("value");
    ASSERT_TRUE(value && value->is_array() && value->size() == 2) << s.Dump();
    EXPECT_GT(std::stod(value->as_array()[1].as_string()), 0);
  }
  EXPECT_EQ(ranks, (std::set<std::string>{"0", "1"}));
  Json jobs = QueryUntil(port, "flyp_jobs", 8, 20);
  EXPECT_EQ(jobs.size(), 8u);  // one series per state
  QueryUntil(port, "sum by (rank) (rate(flyp_train_samples_total[5s]))", 2, 20);
  if (HasFailure()) std::cerr << ReadFileOrDie(dir + "/prometheus.log");
}

}  // namespace
}  // namespace flyp::testing
