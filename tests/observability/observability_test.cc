// Integration: the real binaries' /metrics. A real flyp-coordinator runs a
// real 2-rank flyp-worker FLYP job with worker metrics on while a real
// Prometheus server scrapes the coordinator and both ranks: every metric the
// Grafana dashboard queries must have samples, and `promtool check metrics`
// must accept every exposition. Also: a taken worker port, the environment
// the Kubernetes launcher gives a rank, `flypctl health`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "common/json.h"
#include "coordinator/launcher/kubernetes_launcher.h"
#include "tests/coordinator/harness.h"
#include "tests/observability/http.h"
#include "tests/testing/test_env.h"

extern char** environ;

namespace flyp::testing {
namespace {

using std::chrono::steady_clock;

// A child process (argv, no shell; `env` added to ours) killed with SIGTERM
// at scope exit.
class Child {
 public:
  Child(std::vector<std::string> args, const std::string& log, std::vector<std::string> env = {}) {
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (char** e = environ; *e; ++e) env.push_back(*e);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // The exit code once it ended by itself, else nullopt.
  std::optional<int> Exited() {
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
};

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

// The families of an exposition ("# TYPE name type" lines).
std::map<std::string, std::string> Families(const std::string& text) {
  std::map<std::string, std::string> out;
  const std::regex type_re("^# TYPE ([a-z_]+) ([a-z]+)$");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type_re)) out[m[1]] = m[2];
  }
  return out;
}

// Two consecutive ports on 127.0.0.1 that were free a moment ago (a world
// of two ranks serves base and base + 1).
int FreePortPair() {
  for (int i = 0; i < 50; ++i) {
    const int base = FreePort();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(base + 1));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    if (free && base + 1 <= 65535) return base;
  }
  ADD_FAILURE() << "no two consecutive free ports";
  return 0;
}

// A tiny CLIP (the "tiny" preset with the byte vocabulary).
const char kModel[] = "model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}";

// Pretrains the tiny model for 2 steps with the real worker (1 process) and
// returns its final checkpoint: what FLYP finetunes from.
std::string PretrainBase(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string spec = dir + "/pretrain.yaml";
  std::ofstream(spec) << "name: base\n"
                      << kModel << "}\n"
                      << "method: {name: pretrain}\n"
                      << "data: {train: {format: fashion_mnist, split: train, limit: 128}, "
                         "templates: {builtin: simple}}\n"
                      << "schedule: {epochs: 1, batch_size: 64, warmup_steps: 1}\n"
                      << "wise_ft: {enabled: false}\n"
                      << "output: {dir: " << dir << "/out}\n";
  CommandResult r = RunCommand("FLYP_THREADS=1 " FLYP_WORKER_BIN " --spec " + spec);
  EXPECT_EQ(r.code, 0) << r.out;
  return dir + "/out/final.safetensors";
}

// A FLYP job on Fashion-MNIST: `steps` steps of 64 over `world` ranks, with evaluation.
std::string FlypSpec(const std::string& name, const std::string& checkpoint, int steps, int world = 2) {
  std::ostringstream os;
  os << "name: " << name << "\n"
     << kModel << ", checkpoint: " << checkpoint << "}\n"
     << "method: {name: flyp}\n"
     << "data:\n"
     << "  train: {format: fashion_mnist, split: train, limit: " << 64 * steps << "}\n"
     << "  id_val: {name: id_val, format: fashion_mnist, split: train, offset: 50000, limit: 128}\n"
     << "  id_test: {name: id_test, format: fashion_mnist, split: test, limit: 128}\n"
     << "  ood: [{name: ood, format: fashion_mnist, split: test, offset: 128, limit: 128, "
        "shifts: [{kind: invert}]}]\n"
     << "  templates: {builtin: simple}\n"
     << "schedule: {epochs: 1, batch_size: 64, warmup_steps: 2, log_every_steps: 5}\n"
     << "resources: {world_size: " << world << ", threads_per_rank: 1}\n"
     << "wise_ft: {enabled: false}\n";
  return os.str();
}

// Polls Prometheus' query API until `accept` likes the result vector or
// `deadline` passed (at least one query is made).
Json QueryUntil(int port, const std::string& query, const std::function<bool(const Json&)>& accept,
                steady_clock::time_point deadline) {
  Json last;
  for (bool first = true; first || steady_clock::now() < deadline; first = false) {
    auto r = HttpGet(port, "/api/v1/query?query=" + UrlEncode(query));
    if (r.ok() && r->status == 200) {
      auto j = ParseJson(r->body);
      if (j.ok()) {
        last = *j;
        const Json* data = j->Find("data");
        const Json* result = data ? data->Find("result") : nullptr;
        if (result && result->is_array() && accept(*result)) return *result;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ADD_FAILURE() << "Prometheus never answered " << query << " as expected; last: " << last.Dump();
  return Json();
}

// The label `name` of every series in a query result.
std::set<std::string> LabelValues(const Json& result, const std::string& name) {
  std::set<std::string> out;
  for (const Json& s : result.is_array() ? result.as_array() : Json::Array{}) {
    const Json* metric = s.Find("metric");
    const Json* v = metric ? metric->Find(name) : nullptr;
    out.insert(v && v->is_string() ? v->as_string() : "");
  }
  return out;
}

// The metric names in the dashboard's queries (histogram series resolved to
// their family with `families`).
std::set<std::string> DashboardMetrics(const std::map<std::string, std::string>& families) {
  auto dash = ParseJson(ReadFileOrDie(SourceDir() + "/deploy/grafana/flyp-dashboard.json"));
  EXPECT_TRUE(dash.ok()) << dash.status();
  std::set<std::string> names;
  const std::regex name_re("flyp_[a-z_]+");
  std::function<void(const Json&)> walk = [&](const Json& j) {
    if (j.is_object()) {
      for (const auto& [k, v] : j.as_object()) {
        if (k == "expr" && v.is_string()) {
          const std::string e = v.as_string();
          for (std::sregex_iterator it(e.begin(), e.end(), name_re), end; it != end; ++it)
            names.insert(it->str());
        } else {
          walk(v);
        }
      }
    } else if (j.is_array()) {
      for (const Json& v : j.as_array()) walk(v);
    }
  };
  if (dash.ok()) walk(*dash);
  std::set<std::string> out;
  for (std::string n : names) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s(suffix), base = n.substr(0, n.size() > s.size() ? n.size() - s.size() : 0);
      if (n.size() > s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0 && families.count(base) &&
          families.at(base) == "histogram") {
        n = base;
      }
    }
    out.insert(n);
  }
  return out;
}

class ObservabilityTest : public ::testing::Test {
 protected:
  // A coordinator whose worlds run the real flyp-worker with worker metrics
  // on (FLYP_METRICS_PORT reaches the ranks through the local launcher's
  // environment): ranks serve base_port_ and base_port_ + 1.
  void StartCoordinator() {
    metrics_port_ = FreePort();
    base_port_ = FreePortPair();
    CoordinatorOptions o;
    o.dir = TempDir() + "/coord";
    o.cpu_slots = 2;
    o.extra_flags = {"--metrics-listen=127.0.0.1:" + std::to_string(metrics_port_),
                     "--worker-binary=" FLYP_WORKER_BIN};
    o.env = {"FLYP_METRICS_PORT=" + std::to_string(base_port_), "FLYP_THREADS=1", "OMP_WAIT_POLICY=PASSIVE"};
    coordinator_ = std::make_unique<CoordinatorProcess>(o);
    coordinator_->Start();
    checkpoint_ = PretrainBase(coordinator_->data_root() + "/base");
  }
  std::unique_ptr<Child> StartPrometheus(int* port) {
    const std::string dir = TempDir() + "/prom";
    std::filesystem::create_directories(dir + "/data");
    std::ofstream(dir + "/prometheus.yml")
        << "global: {scrape_interval: 250ms, scrape_timeout: 250ms, evaluation_interval: 1s}\n"
        << "scrape_configs:\n"
        << "  - job_name: flyp-coordinator\n"
        << "    static_configs: [{targets: ['127.0.0.1:" << metrics_port_ << "']}]\n"
        << "  - job_name: flyp-worker\n"
        << "    honor_labels: true\n"
        << "    static_configs: [{targets: ['127.0.0.1:" << base_port_ << "', '127.0.0.1:" << base_port_ + 1
        << "']}]\n";
    EXPECT_EQ(std::system(("promtool check config " + dir + "/prometheus.yml > /dev/null").c_str()), 0);
    *port = FreePort();
    return std::make_unique<Child>(
        std::vector<std::string>{"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                                 "--storage.tsdb.path=" + dir + "/data",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(*port)},
        dir + "/prometheus.log");
  }
  // Scrapes a rank directly until it has finished a step (the job is running).
  std::string ScrapeRunningRank(int port, int rank, double timeout_s) {
    const std::string steps =
        "flyp_train_step_total{job=\"" + job_id_ + "\",rank=\"" + std::to_string(rank) + "\"} ";
    auto deadline = steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (steady_clock::now() < deadline) {
      auto r = HttpGet(port, "/metrics");
      if (r.ok() && r->status == 200) {
        size_t at = r->body.find(steps);
        if (at != std::string::npos && std::stod(r->body.substr(at + steps.size())) >= 1) return r->body;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "rank " << rank << " never served a finished step on port " << port;
    return "";
  }

  int metrics_port_ = 0;
  int base_port_ = 0;
  std::string checkpoint_;
  std::string job_id_;
  std::unique_ptr<CoordinatorProcess> coordinator_;
};

TEST_F(ObservabilityTest, ARealTwoRankJobGivesPrometheusEveryDashboardMetric) {
  StartCoordinator();
  ASSERT_FALSE(HasFailure());
  int prom_port = 0;
  auto prometheus = StartPrometheus(&prom_port);
  // Prometheus scrapes before the job starts (its start-up can take seconds
  // under load, longer than the job).
  QueryUntil(
      prom_port, "up{job=\"flyp-coordinator\"} == 1", [](const Json& r) { return r.size() == 1; },
      steady_clock::now() + std::chrono::seconds(60));
  auto stub = coordinator_->Client();
  job_id_ = Submit(stub.get(), FlypSpec("obs-flyp", checkpoint_, 100));

  // Each rank's exposition while it trains: real series, valid text format.
  std::map<std::string, std::string> worker_families;
  for (int rank = 0; rank < 2; ++rank) {
    const std::string text = ScrapeRunningRank(base_port_ + rank, rank, 60);
    const std::string l = "job=\"" + job_id_ + "\",rank=\"" + std::to_string(rank) + "\"";
    EXPECT_TRUE(Contains(text, "flyp_step_seconds_bucket{" + l + ",phase=\"allreduce\"")) << text;
    EXPECT_TRUE(Contains(text, "flyp_collective_bytes_total{" + l + "}")) << text;
    std::string out;
    EXPECT_EQ(Promtool(text, &out), 0) << out << text;
    for (const auto& f : Families(text)) worker_families.insert(f);
  }
  v1::Job job = WaitForState(stub.get(), job_id_, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 120);
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << job.DebugString();
  bool running = false;
  for (const auto& t : job.status().history()) running |= t.state() == v1::JOB_STATE_RUNNING;
  EXPECT_TRUE(running) << job.DebugString();

  // The coordinator's exposition after the job.
  const std::string text = Scrape(metrics_port_);
  EXPECT_TRUE(Contains(text, "flyp_jobs{state=\"succeeded\"} 1\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_jobs{state=\"running\"} 0\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_jobs_submitted_total 1\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_job_queue_wait_seconds_count 1\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_slots{pool=\"cpu\",state=\"used\"} 0\n")) << text;
  EXPECT_TRUE(Contains(text, "flyp_worker_metrics_endpoint_failures_total 0\n")) << text;
  EXPECT_TRUE(
      Contains(text, "flyp_rpc_requests_total{code=\"OK\",method=\"/flyp.v1.JobService/SubmitJob\"} 1\n"))
      << text;
  EXPECT_TRUE(Contains(text, "code=\"OK\",method=\"/flyp.v1.WorkerService/ReportProgress\"")) << text;
  EXPECT_TRUE(Contains(text, "code=\"OK\",method=\"/flyp.v1.WorkerService/ReportState\"")) << text;
  std::string out;
  EXPECT_EQ(Promtool(text, &out), 0) << out;
  std::map<std::string, std::string> families = Families(text);

  // Prometheus: every dashboard metric has samples, worker ones for both
  // ranks (with honor_labels the worker's own job label, the flyp job id,
  // survives). last_over_time: the ranks have exited, their series are stale.
  families.insert(worker_families.begin(), worker_families.end());
  const std::set<std::string> used = DashboardMetrics(families);
  EXPECT_GE(used.size(), 15u);
  const auto deadline = steady_clock::now() + std::chrono::seconds(30);  // for all of them
  for (const std::string& name : used) {
    ASSERT_TRUE(families.count(name)) << "the dashboard queries " << name << ", which nothing exported";
    const std::string series = families.at(name) == "histogram" ? name + "_count" : name;
    const std::string query = "group by (job, rank) (last_over_time(" + series + "[10m]))";
    if (worker_families.count(name)) {
      Json r = QueryUntil(
          prom_port, query,
          [&](const Json& r) {
            return LabelValues(r, "rank") == std::set<std::string>{"0", "1"};
          },
          deadline);
      EXPECT_EQ(LabelValues(r, "job"), std::set<std::string>{job_id_}) << name;
    } else {
      QueryUntil(
          prom_port, query, [](const Json& r) { return r.size() > 0; }, deadline);
    }
  }
  if (HasFailure()) std::cerr << ReadFileOrDie(TempDir() + "/prom/prometheus.log");
}

// A rank whose port is taken trains without /metrics: the job succeeds, the
// coordinator counts the rank and the job's history says so.
TEST_F(ObservabilityTest, ATakenWorkerPortIsAWarningNotAFailedJob) {
  StartCoordinator();
  ASSERT_FALSE(HasFailure());
  // Rank 1's port (base + local rank 1) is held by someone else.
  int holder = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(base_port_ + 1));
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  auto stub = coordinator_->Client();
  job_id_ = Submit(stub.get(), FlypSpec("taken-port", checkpoint_, 2));
  v1::Job job = WaitForState(stub.get(), job_id_, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED}, 90);
  close(holder);
  ASSERT_EQ(job.status().state(), v1::JOB_STATE_SUCCEEDED) << job.DebugString();
  std::string started;
  for (const auto& t : job.status().history()) {
    if (t.state() == v1::JOB_STATE_RUNNING) started = t.message();
  }
  EXPECT_NE(started.find("no /metrics on rank(s) 1"), std::string::npos) << job.DebugString();
  const std::string text = Scrape(metrics_port_);
  EXPECT_TRUE(Contains(text, "flyp_worker_metrics_endpoint_failures_total 1\n")) << text;
  const std::string log = ReadFileOrDie(TempDir() + "/coord/artifacts/" + job_id_ + "/logs/world.log");
  EXPECT_NE(log.find("no /metrics for rank 1: metrics: cannot listen on '0.0.0.0:" +
                     std::to_string(base_port_ + 1) + "': Address already in use"),
            std::string::npos)
      << log;
}

// Kubernetes: the Launcher pod runs the MPIJob's own command with its own
// environment (FLYP_METRICS_PORT=9400 by default). Here that command runs
// in a network namespace of its own (port 9400 is private to it), as one
// rank, as in one worker pod, and /metrics must answer on 9400.
TEST(KubernetesWorkerEnvironment, TheDefaultMetricsPortServesFromTheRealWorker) {
  if (CommandResult r = RunCommand("unshare --net true"); r.code != 0) {
    GTEST_SKIP() << "network namespaces cannot be made here: " << r.out;
  }
  const std::string dir = TempDir() + "/k8s";
  const std::string checkpoint = PretrainBase(dir + "/data/base");
  coord::MpiJobOptions o;  // defaults, as the coordinator's config has them
  EXPECT_EQ(o.worker_metrics_port, 9400);
  o.image = "flyp";
  o.mount_path = dir;
  o.worker_binary = FLYP_WORKER_BIN;
  coord::LaunchRequest req;
  req.job_id = "job-000007";
  req.attempt = 1;
  req.world_size = 1;
  req.spec_path = dir + "/artifacts/job-000007/spec.yaml";
  req.artifact_dir = dir + "/artifacts/job-000007";
  req.worker_token = "worker-token";
  std::filesystem::create_directories(req.artifact_dir);
  std::ofstream(req.spec_path) << FlypSpec("k8s-env", checkpoint, 20, 1)
                               << "output: {dir: " << req.artifact_dir << "}\n";
  auto mpijob = coord::BuildMpiJob(o, req);
  ASSERT_TRUE(mpijob.ok()) << mpijob.status();
  const Json& launcher = mpijob->Find("spec")
                             ->Find("mpiReplicaSpecs")
                             ->Find("Launcher")
                             ->Find("template")
                             ->Find("spec")
                             ->Find("containers")
                             ->as_array()[0];
  std::vector<std::string> env = {"FLYP_THREADS=1", "OMP_WAIT_POLICY=PASSIVE"};
  for (const Json& e : launcher.Find("env")->as_array()) {
    const std::string name = e.Find("name")->as_string();
    // Values from Secrets: what the kubelet would put there.
    env.push_back(name + "=" + (e.Find("value") ? e.Find("value")->as_string() : req.worker_token));
  }
  EXPECT_NE(std::find(env.begin(), env.end(), "FLYP_METRICS_PORT=9400"), env.end());
  std::vector<std::string> argv = {"/usr/bin/unshare", "--net", "--",
                                   "/bin/sh",          "-c",    "ip link set lo up && exec \"$0\" \"$@\""};
  for (const Json& a : launcher.Find("command")->as_array()) argv.push_back(a.as_string());
  ASSERT_EQ(argv[6], "mpirun");
  argv[6] = FLYP_MPIEXEC;
  argv.insert(argv.begin() + 7, {"--allow-run-as-root", "--oversubscribe"});  // this test runs as root
  Child world(argv, dir + "/world.log", env);

  // Scrape from inside the world's network namespace (a thread of ours joins it).
  struct stat own {};
  ASSERT_EQ(stat("/proc/self/ns/net", &own), 0);
  const std::string ns = "/proc/" + std::to_string(world.pid()) + "/ns/net";
  std::string text;
  std::string problem;
  std::thread scraper([&] {
    auto deadline = steady_clock::now() + std::chrono::seconds(60);
    int fd = -1;
    while (fd < 0 && steady_clock::now() < deadline && kill(world.pid(), 0) == 0) {  // until unshare(2) ran
      struct stat st {};
      if (stat(ns.c_str(), &st) == 0 && st.st_ino != own.st_ino) fd = open(ns.c_str(), O_RDONLY);
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
      problem = "cannot enter the world's network namespace";
      if (fd >= 0) close(fd);
      return;
    }
    close(fd);
    while (steady_clock::now() < deadline) {
      auto r = HttpGet(9400, "/metrics");
      if (r.ok() && r->status == 200 &&
          Contains(r->body, "flyp_train_step_total{job=\"job-000007\",rank=\"0\"}")) {
        text = r->body;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    problem = "nothing served /metrics on 127.0.0.1:9400 in the world's namespace";
  });
  scraper.join();
  std::optional<int> code;
  for (int i = 0; i < 1200 && !code; ++i) {
    code = world.Exited();
    if (!code) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string log = ReadFileOrDie(dir + "/world.log");
  ASSERT_TRUE(problem.empty()) << problem << "\n" << log;
  std::string out;
  EXPECT_EQ(Promtool(text, &out), 0) << out;
  ASSERT_TRUE(code.has_value()) << "the world did not finish\n" << log;
  EXPECT_EQ(*code, 0) << log;
}

TEST(Flypctl, HealthReportsServing) {
  CoordinatorOptions o;
  o.dir = TempDir() + "/health";
  CoordinatorProcess coordinator(o);
  coordinator.Start();
  const std::string out = TempDir() + "/health.out";
  const std::string cmd = std::string(FLYP_FLYPCTL_BIN) +
                          " health --server 127.0.0.1:" + std::to_string(coordinator.port()) + " > " + out +
                          " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << ReadFileOrDie(out);
  EXPECT_EQ(ReadFileOrDie(out), "SERVING\n");
  coordinator.Terminate();
  rc = std::system((std::string(FLYP_FLYPCTL_BIN) + " health --timeout 1 --server 127.0.0.1:" +
                    std::to_string(coordinator.port()) + " > " + out + " 2>&1")
                       .c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) << ReadFileOrDie(out);
  EXPECT_NE(ReadFileOrDie(out).find("UNAVAILABLE"), std::string::npos) << ReadFileOrDie(out);
}

}  // namespace
}  // namespace flyp::testing
