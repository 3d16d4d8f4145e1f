#include "coordinator/launcher/kubernetes_launcher.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <functional>
#include <thread>

#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

// A tiny Kubernetes API stand-in: plain HTTP/1.1 on 127.0.0.1, one request
// per connection, JSON replies from a handler; records every request.
class FakeApiServer {
 public:
  struct Request {
    std::string method, path, authorization, body;
  };
  using Handler = std::function<std::pair<int, std::string>(const Request&)>;

  explicit FakeApiServer(Handler h) : handler_(std::move(h)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeApiServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string raw;
      char buf[4096];
      size_t need = std::string::npos;
      while (raw.size() < need) {
        ssize_t n = recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<size_t>(n));
        size_t head = raw.find("\r\n\r\n");
        if (head != std::string::npos && need == std::string::npos) {
          size_t cl = 0;
          std::string lower = raw.substr(0, head);
          for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          size_t p = lower.find("content-length:");
          if (p != std::string::npos) cl = std::stoul(lower.substr(p + 15));
          need = head + 4 + cl;
        }
      }
      Request r;
      size_t sp1 = raw.find(' '), sp2 = raw.find(' ', sp1 + 1);
      r.method = raw.substr(0, sp1);
      r.path = raw.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t a = raw.find("Authorization: ");
      if (a != std::string::npos) r.authorization = raw.substr(a + 15, raw.find("\r\n", a) - a - 15);
      size_t head = raw.find("\r\n\r\n");
      if (head != std::string::npos) r.body = raw.substr(head + 4);
      {
        std::lock_guard<std::mutex> l(mu_);
        requests_.push_back(r);
      }
      auto [status, body] = handler_(r);
      std::string reply =
          "HTTP/1.1 " + std::to_string(status) +
          " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nConnection: close\r\n\r\n" + body;
      send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      close(c);
    }
  }
  Handler handler_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Request> requests_;
};

KubernetesLauncherOptions Options(const std::string& server = "") {
  KubernetesLauncherOptions o;
  o.api.server = server;
  o.ns = "ml";
  o.image = "registry.example/flyp:1.0";
  o.pvc = "flyp-data";
  o.mount_path = "/var/lib/flyp";
  o.worker_metrics_port = 9400;
  o.poll_ms = 50;
  return o;
}

LaunchRequest Request(bool cuda = false) {
  LaunchRequest r;
  r.job_id = "job-000042";
  r.attempt = 3;
  r.world_size = 4;
  r.threads_per_rank = 2;
  r.spec_path = "/var/lib/flyp/artifacts/job-000042/spec.yaml";
  r.artifact_dir = "/var/lib/flyp/artifacts/job-000042";
  r.log_path = testing::TempDir() + "/world.log";
  r.coordinator_address = "flyp-coordinator.ml.svc:50051";
  r.worker_token = "s3cret";
  r.cuda = cuda;
  r.slots_per_rank = 2;
  return r;
}

const Json& At(const Json& j, std::initializer_list<const char*> keys) {
  const Json* cur = &j;
  for (const char* k : keys) {
    cur = cur->Find(k);
    if (!cur) {
      ADD_FAILURE() << "missing " << k << " in " << j.Dump();
      static Json null;
      return null;
    }
  }
  return *cur;
}

std::string EnvValue(const Json& container, const std::string& name) {
  for (const Json& e : At(container, {"env"}).as_array()) {
    if (e.Find("name")->as_string() != name) continue;
    if (const Json* v = e.Find("value")) return v->as_string();
    const Json& ref = At(e, {"valueFrom", "secretKeyRef"});
    return "<secret " + ref.Find("name")->as_string() + "/" + ref.Find("key")->as_string() + ">";
  }
  return "<unset>";
}

TEST(MpiJobName, IsTheJobIdAndAttemptAsADnsLabel) {
  EXPECT_EQ(*MpiJobName("job-000042", 3), "flyp-job-000042-a3");
  EXPECT_EQ(*MpiJobName("job-1234567", 12), "flyp-job-1234567-a12");
  EXPECT_EQ(*MpiJobName("job-000001", 1000), "flyp-job-000001-a1000");  // no attempt limit
  EXPECT_EQ(*MpiJobName("any-id-7", 1), "flyp-any-id-7-a1");            // the id is not parsed
  EXPECT_EQ(MpiJobName("", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MpiJobName("Job_1", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MpiJobName("job-000001", 0).status().code(), StatusCode::kInvalidArgument);
  const std::string long_id(kMaxMpiJobName, 'j');
  auto too_long = MpiJobName(long_id, 1);
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.status().message().find("at most 52 characters"), std::string::npos)
      << too_long.status();
}

TEST(MpiJobHandle, RoundTripsNamespaceAndName) {
  const WorldHandle h = MpiJobHandle("ml", "flyp-job-000042-a3");
  EXPECT_EQ(h.text(), "k8s:ml/flyp-job-000042-a3");
  EXPECT_EQ(h.kind(), "k8s");
  auto ref = ParseMpiJobHandle(h);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->ns, "ml");
  EXPECT_EQ(ref->name, "flyp-job-000042-a3");
  for (const char* bad : {"local:123", "k8s:noslash", "k8s:/name", "k8s:ns/", ""}) {
    EXPECT_EQ(ParseMpiJobHandle(WorldHandle::FromText(bad)).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(BuildMpiJob, CpuJobHasImageCommandEnvVolumesAndScrapeAnnotations) {
  auto job = BuildMpiJob(Options(), Request());
  ASSERT_TRUE(job.ok()) << job.status();
  const Json& j = *job;
  EXPECT_EQ(At(j, {"apiVersion"}).as_string(), "kubeflow.org/v2beta1");
  EXPECT_EQ(At(j, {"kind"}).as_string(), "MPIJob");
  EXPECT_EQ(At(j, {"metadata", "name"}).as_string(), "flyp-job-000042-a3");
  EXPECT_EQ(At(j, {"metadata", "namespace"}).as_string(), "ml");
  EXPECT_EQ(At(j, {"metadata", "labels", "flyp.dev/job-id"}).as_string(), "job-000042");
  EXPECT_EQ(At(j, {"spec", "runPolicy", "backoffLimit"}).as_int64(), 0);
  EXPECT_EQ(At(j, {"spec", "sshAuthMountPath"}).as_string(), "/home/flyp/.ssh");
  const Json& launcher = At(j, {"spec", "mpiReplicaSpecs", "Launcher"});
  const Json& worker = At(j, {"spec", "mpiReplicaSpecs", "Worker"});
  EXPECT_EQ(At(launcher, {"replicas"}).as_int64(), 1);
  EXPECT_EQ(At(worker, {"replicas"}).as_int64(), 4);
  const Json& lc = At(launcher, {"template", "spec", "containers"}).as_array()[0];
  EXPECT_EQ(At(lc, {"image"}).as_string(), "registry.example/flyp:1.0");
  std::vector<std::string> cmd;
  for (const Json& a : At(lc, {"command"}).as_array()) cmd.push_back(a.as_string());
  ASSERT_GE(cmd.size(), 6u);
  EXPECT_EQ(cmd[0], "mpirun");
  EXPECT_EQ(
      std::vector<std::string>(cmd.end() - 3, cmd.end()),
      (std::vector<std::string>{"flyp-worker", "--spec", "/var/lib/flyp/artifacts/job-000042/spec.yaml"}));
  auto np = std::find(cmd.begin(), cmd.end(), "-np");
  ASSERT_NE(np, cmd.end());
  EXPECT_EQ(*(np + 1), "4");
  for (const char* v : {"FLYP_JOB_ID", "FLYP_COORDINATOR", "FLYP_WORKER_TOKEN", "FLYP_ARTIFACT_DIR",
                        "FLYP_ATTEMPT", "FLYP_METRICS_PORT", "OMP_NUM_THREADS"}) {
    auto x = std::find(cmd.begin(), cmd.end(), v);
    ASSERT_NE(x, cmd.end()) << v << " not forwarded";
    EXPECT_EQ(*(x - 1), "-x");
  }
  EXPECT_EQ(EnvValue(lc, "FLYP_JOB_ID"), "job-000042");
  EXPECT_EQ(EnvValue(lc, "FLYP_COORDINATOR"), "flyp-coordinator.ml.svc:50051");
  EXPECT_EQ(EnvValue(lc, "FLYP_WORKER_TOKEN"), "<secret flyp-job-000042-a3-token/token>");
  EXPECT_EQ(EnvValue(lc, "FLYP_ARTIFACT_DIR"), "/var/lib/flyp/artifacts/job-000042");
  EXPECT_EQ(EnvValue(lc, "FLYP_ATTEMPT"), "3");
  EXPECT_EQ(EnvValue(lc, "FLYP_METRICS_PORT"), "9400");
  EXPECT_EQ(EnvValue(lc, "OMP_NUM_THREADS"), "2");
  const Json& wt = At(worker, {"template"});
  EXPECT_EQ(At(wt, {"metadata", "annotations", "prometheus.io/scrape"}).as_string(), "true");
  EXPECT_EQ(At(wt, {"metadata", "annotations", "prometheus.io/port"}).as_string(), "9400");
  const Json& wc = At(wt, {"spec", "containers"}).as_array()[0];
  EXPECT_EQ(At(wc, {"resources", "requests", "cpu"}).as_string(), "2");
  EXPECT_EQ(At(wc, {"resources"}).Find("limits"), nullptr);
  EXPECT_EQ(At(wc, {"command"}).as_array()[0].as_string(), "/usr/sbin/sshd");
  bool pvc = false, mount = false;
  for (const Json& v : At(wt, {"spec", "volumes"}).as_array()) {
    if (const Json* c = v.Find("persistentVolumeClaim"))
      pvc = c->Find("claimName")->as_string() == "flyp-data";
  }
  for (const Json& m : At(wc, {"volumeMounts"}).as_array())
    mount |= m.Find("mountPath")->as_string() == "/var/lib/flyp";
  EXPECT_TRUE(pvc);
  EXPECT_TRUE(mount);
}

TEST(BuildMpiJob, WithoutTlsNoCaIsMountedOrPassed) {
  auto job = BuildMpiJob(Options(), Request());
  ASSERT_TRUE(job.ok()) << job.status();
  const Json& lc =
      At(*job, {"spec", "mpiReplicaSpecs", "Launcher", "template", "spec", "containers"}).as_array()[0];
  EXPECT_EQ(EnvValue(lc, "FLYP_COORDINATOR_CA"), "<unset>");
  EXPECT_EQ(BuildWorkerTokenSecret(Options(), Request(), "flyp-job-000042-a3", "")
                .Find("stringData")
                ->Find(kCoordinatorCaKey),
            nullptr);
}

// With TLS every pod mounts the CA from the world's Secret and the ranks get
// its path (rank 0 dials the coordinator from whichever worker pod it runs in).
TEST(BuildMpiJob, TlsCaComesFromTheWorldsSecretInEveryPod) {
  KubernetesLauncherOptions o = Options();
  o.coordinator_ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  o.coordinator_server_name = "flyp-coordinator.ml.svc";
  auto job = BuildMpiJob(o, Request());
  ASSERT_TRUE(job.ok()) << job.status();
  for (const char* role : {"Launcher", "Worker"}) {
    const Json& pod = At(*job, {"spec", "mpiReplicaSpecs", role, "template", "spec"});
    const Json& c = At(pod, {"containers"}).as_array()[0];
    EXPECT_EQ(EnvValue(c, "FLYP_COORDINATOR_CA"), kCoordinatorCaPath) << role;
    EXPECT_EQ(EnvValue(c, "FLYP_COORDINATOR_SERVER_NAME"), "flyp-coordinator.ml.svc") << role;
    bool mounted = false, volume = false;
    for (const Json& m : At(c, {"volumeMounts"}).as_array()) {
      if (m.Find("name")->as_string() == "coordinator-ca") {
        mounted = m.Find("mountPath")->as_string() == kCoordinatorCaDir && m.Find("readOnly")->as_bool();
      }
    }
    for (const Json& v : At(pod, {"volumes"}).as_array()) {
      if (v.Find("name")->as_string() != "coordinator-ca") continue;
      EXPECT_EQ(At(v, {"secret", "secretName"}).as_string(), "flyp-job-000042-a3-token");
      const Json& item = At(v, {"secret", "items"}).as_array()[0];
      volume =
          item.Find("key")->as_string() == kCoordinatorCaKey && item.Find("path")->as_string() == "ca.crt";
    }
    EXPECT_TRUE(mounted) << role;
    EXPECT_TRUE(volume) << role;
  }
  EXPECT_EQ(std::string(kCoordinatorCaDir) + "/ca.crt", kCoordinatorCaPath);
  const Json& lc =
      At(*job, {"spec", "mpiReplicaSpecs", "Launcher", "template", "spec", "containers"}).as_array()[0];
  std::vector<std::string> cmd;
  for (const Json& a : At(lc, {"command"}).as_array()) cmd.push_back(a.as_string());
  for (const char* v : {"FLYP_COORDINATOR_CA", "FLYP_COORDINATOR_SERVER_NAME"}) {
    auto x = std::find(cmd.begin(), cmd.end(), v);
    ASSERT_NE(x, cmd.end()) << v << " not forwarded";
    EXPECT_EQ(*(x - 1), "-x");
  }
  const Json secret = BuildWorkerTokenSecret(o, Request(), "flyp-job-000042-a3", "uid-1");
  EXPECT_EQ(At(secret, {"stringData", kCoordinatorCaKey}).as_string(), o.coordinator_ca_pem);
  EXPECT_EQ(At(secret, {"stringData", "token"}).as_string(), Request().worker_token);
}

TEST(BuildMpiJob, CudaJobAsksForGpusPerRank) {
  auto job = BuildMpiJob(Options(), Request(/*cuda=*/true));
  ASSERT_TRUE(job.ok()) << job.status();
  const Json& wc =
      At(*job, {"spec", "mpiReplicaSpecs", "Worker", "template", "spec", "containers"}).as_array()[0];
  EXPECT_EQ(At(wc, {"resources", "limits", "nvidia.com/gpu"}).as_int64(), 2);
}

TEST(BuildMpiJob, PathsOutsideTheSharedVolumeAreRefused) {
  LaunchRequest r = Request();
  r.spec_path = "/tmp/job/spec.yaml";
  auto job = BuildMpiJob(Options(), r);
  EXPECT_EQ(job.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(job.status().message().find("/tmp/job/spec.yaml"), std::string::npos);
  r = Request();
  r.artifact_dir = "/var/lib/flypx/a";  // a prefix, not a parent
  EXPECT_EQ(BuildMpiJob(Options(), r).status().code(), StatusCode::kFailedPrecondition);
}

Json WithConditions(std::vector<std::pair<std::string, std::string>> conds) {
  Json list = Json::MakeArray();
  for (auto& [t, s] : conds) list.Append(Json(Json::Object{{"type", t}, {"status", s}}));
  return Json(Json::Object{{"status", Json(Json::Object{{"conditions", list}})}});
}

TEST(ParseMpiJobPhase, MapsConditions) {
  EXPECT_EQ(ParseMpiJobPhase(Json::MakeObject()), MpiJobPhase::kPending);
  EXPECT_EQ(ParseMpiJobPhase(WithConditions({{"Created", "True"}})), MpiJobPhase::kCreated);
  EXPECT_EQ(ParseMpiJobPhase(WithConditions({{"Created", "True"}, {"Running", "True"}})),
            MpiJobPhase::kRunning);
  EXPECT_EQ(
      ParseMpiJobPhase(WithConditions({{"Created", "True"}, {"Running", "False"}, {"Succeeded", "True"}})),
      MpiJobPhase::kSucceeded);
  EXPECT_EQ(ParseMpiJobPhase(WithConditions({{"Created", "True"}, {"Running", "False"}, {"Failed", "True"}})),
            MpiJobPhase::kFailed);
  EXPECT_EQ(ParseMpiJobPhase(WithConditions({{"Created", "True"}, {"Running", "False"}})),
            MpiJobPhase::kCreated);
}

// The fake cluster: one MPIJob store plus a launcher pod per job.
struct FakeCluster {
  std::mutex mu;
  std::map<std::string, Json> jobs;     // name -> object
  std::map<std::string, Json> secrets;  // name -> object
  int secret_status = 201;              // what POST secrets answers
  std::string conditions = "Running";   // what GET reports
  int launcher_exit = 0;
  std::string log = "[1,0]<stdout>:step 1\n";

  std::pair<int, std::string> Handle(const FakeApiServer::Request& r) {
    std::lock_guard<std::mutex> l(mu);
    const std::string base = "/apis/kubeflow.org/v2beta1/namespaces/ml/mpijobs";
    if (r.method == "POST" && r.path == base) {
      auto j = ParseJson(r.body);
      if (!j.ok()) return {400, "{}"};
      std::string name = j->Find("metadata")->Find("name")->as_string();
      if (jobs.count(name)) return {409, R"({"kind":"Status","reason":"AlreadyExists"})"};
      j->Find("metadata")->Set("uid", "uid-" + name);  // as the API server assigns one
      jobs[name] = *j;
      return {201, j->Dump()};
    }
    if (r.method == "POST" && r.path == "/api/v1/namespaces/ml/secrets") {
      if (secret_status >= 300) {
        return {secret_status, R"({"kind":"Status","reason":"Forbidden","message":"secrets is forbidden"})"};
      }
      auto j = ParseJson(r.body);
      if (!j.ok()) return {400, "{}"};
      secrets[j->Find("metadata")->Find("name")->as_string()] = *j;
      return {201, r.body};
    }
    if (r.path.rfind(base + "/", 0) == 0) {
      std::string name = r.path.substr(base.size() + 1);
      if (!jobs.count(name)) return {404, R"({"kind":"Status","reason":"NotFound"})"};
      if (r.method == "DELETE") {
        jobs.erase(name);
        return {200, "{}"};
      }
      Json j = jobs[name];
      std::vector<std::pair<std::string, std::string>> c = {{"Created", "True"}};
      if (conditions == "Running") c.push_back({"Running", "True"});
      if (conditions == "Succeeded" || conditions == "Failed") c.push_back({conditions, "True"});
      j.Set("status", *WithConditions(c).Find("status"));
      return {200, j.Dump()};
    }
    if (r.method == "GET" && r.path.rfind("/api/v1/namespaces/ml/pods?labelSelector=", 0) == 0) {
      std::string term = conditions == "Running"
                             ? "{}"
                             : R"({"terminated":{"exitCode":)" + std::to_string(launcher_exit) + "}}";
      return {
          200,
          R"({"items":[{"metadata":{"name":"flyp-job-000042-a3-launcher"},"status":{"containerStatuses":[{"state":)" +
              term + "}]}}]}"};
    }
    if (r.method == "GET" && r.path == "/api/v1/namespaces/ml/pods/flyp-job-000042-a3-launcher/log")
      return {200, log};
    return {404, "{}"};
  }
};

std::optional<WorldExit> WaitForExit(KubernetesLauncher& l, const WorldHandle& world, double timeout_s = 10) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto e = l.Poll(world)) return e;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

TEST(KubernetesLauncher, CreatesWatchesAndReportsSuccessWithLogs) {
  FakeCluster cluster;
  FakeApiServer server([&](const FakeApiServer::Request& r) { return cluster.Handle(r); });
  const std::string token = testing::TempDir() + "/token";
  std::ofstream(token) << "sa-token-123\n";
  KubernetesLauncherOptions o = Options(server.url());
  o.api.token_file = token;
  KubernetesLauncher launcher(o);
  LaunchRequest req = Request();
  std::remove(req.log_path.c_str());
  auto world = launcher.Launch(req);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->text(), "k8s:ml/flyp-job-000042-a3");
  auto reqs = server.requests();
  ASSERT_GE(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/apis/kubeflow.org/v2beta1/namespaces/ml/mpijobs");
  EXPECT_EQ(reqs[0].authorization, "Bearer sa-token-123");
  auto posted = ParseJson(reqs[0].body);
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(*posted, *BuildMpiJob(o, req));  // exactly the object BuildMpiJob describes
  // The worker token is not in the MPIJob; ranks read it from the world's
  // Secret, created next and owned by the MPIJob.
  EXPECT_EQ(reqs[0].body.find(req.worker_token), std::string::npos) << reqs[0].body;
  EXPECT_NE(reqs[0].body.find(R"("secretKeyRef":{"name":"flyp-job-000042-a3-token","key":"token"})"),
            std::string::npos)
      << reqs[0].body;
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].method, "POST");
  EXPECT_EQ(reqs[1].path, "/api/v1/namespaces/ml/secrets");
  {
    std::lock_guard<std::mutex> l(cluster.mu);
    ASSERT_EQ(cluster.secrets.count("flyp-job-000042-a3-token"), 1u);
    const Json& secret = cluster.secrets["flyp-job-000042-a3-token"];
    EXPECT_EQ(secret, BuildWorkerTokenSecret(o, req, "flyp-job-000042-a3", "uid-flyp-job-000042-a3"));
    EXPECT_EQ(secret.Find("stringData")->Find("token")->as_string(), req.worker_token);
    const Json& owner = secret.Find("metadata")->Find("ownerReferences")->as_array()[0];
    EXPECT_EQ(owner.Find("kind")->as_string(), "MPIJob");
    EXPECT_EQ(owner.Find("uid")->as_string(), "uid-flyp-job-000042-a3");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(launcher.Poll(*world).has_value());
  EXPECT_EQ(launcher.Phase(*world), MpiJobPhase::kRunning);
  {
    std::lock_guard<std::mutex> l(cluster.mu);
    cluster.log += "[1,0]<stdout>:step 2\n";
    cluster.conditions = "Succeeded";
  }
  auto exit = WaitForExit(launcher, *world);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(exit->signal, 0);
  const std::string log = testing::ReadFileOrDie(req.log_path);
  EXPECT_NE(log.find("created MPIJob ml/flyp-job-000042-a3"), std::string::npos) << log;
  // Each log line once, although the log was fetched several times.
  EXPECT_EQ(log.find("step 1"), log.rfind("step 1")) << log;
  EXPECT_NE(log.find("step 2"), std::string::npos) << log;
}

TEST(KubernetesLauncher, ASecretItCannotCreateFailsTheLaunchAndRemovesTheMpiJob) {
  FakeCluster cluster;
  cluster.secret_status = 403;
  FakeApiServer server([&](const FakeApiServer::Request& r) { return cluster.Handle(r); });
  KubernetesLauncher launcher(Options(server.url()));
  auto world = launcher.Launch(Request());
  ASSERT_FALSE(world.ok());
  EXPECT_EQ(world.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(world.status().message().find("cannot create Secret flyp-job-000042-a3-token"), std::string::npos)
      << world.status();
  EXPECT_NE(world.status().message().find("secrets is forbidden"), std::string::npos) << world.status();
  std::lock_guard<std::mutex> l(cluster.mu);
  EXPECT_TRUE(cluster.jobs.empty());  // no MPIJob left waiting for a Secret that will not come
}

TEST(KubernetesLauncher, FailureCarriesTheLauncherExitCode) {
  FakeCluster cluster;
  cluster.conditions = "Failed";
  cluster.launcher_exit = kWorkerExitInvalidSpec;
  FakeApiServer server([&](const FakeApiServer::Request& r) { return cluster.Handle(r); });
  KubernetesLauncher launcher(Options(server.url()));
  auto world = launcher.Launch(Request());
  ASSERT_TRUE(world.ok()) << world.status();
  auto exit = WaitForExit(launcher, *world);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, kWorkerExitInvalidSpec);
  EXPECT_EQ(ClassifyExit(*exit, false), ExitClass::kPermanent);
}

TEST(KubernetesLauncher, StopDeletesTheMpiJob) {
  FakeCluster cluster;
  FakeApiServer server([&](const FakeApiServer::Request& r) { return cluster.Handle(r); });
  KubernetesLauncher launcher(Options(server.url()));
  auto world = launcher.Launch(Request());
  ASSERT_TRUE(world.ok()) << world.status();
  launcher.Stop(*world, /*force=*/false);
  auto exit = WaitForExit(launcher, *world);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->signal, SIGTERM);
  bool deleted = false;
  for (const auto& r : server.requests()) {
    if (r.method == "DELETE" &&
        r.path == "/apis/kubeflow.org/v2beta1/namespaces/ml/mpijobs/flyp-job-000042-a3") {
      deleted = true;
      auto opts = ParseJson(r.body);
      ASSERT_TRUE(opts.ok());
      EXPECT_EQ(opts->Find("propagationPolicy")->as_string(), "Foreground");
    }
  }
  EXPECT_TRUE(deleted);
  EXPECT_TRUE(cluster.jobs.empty());
}

TEST(KubernetesLauncher, RecoverDeletesTheOrphanByItsHandleAlone) {
  FakeCluster cluster;
  FakeApiServer server([&](const FakeApiServer::Request& r) { return cluster.Handle(r); });
  WorldHandle world;
  {
    KubernetesLauncher first(Options(server.url()));
    auto launched = first.Launch(Request());
    ASSERT_TRUE(launched.ok()) << launched.status();
    world = *launched;
  }  // the coordinator "dies"
  ASSERT_EQ(cluster.jobs.size(), 1u);
  KubernetesLauncherOptions other_ns = Options(server.url());
  other_ns.ns = "elsewhere";  // the handle names the namespace; the options do not matter
  KubernetesLauncher second(other_ns);
  auto recovered = second.Recover(world, Request(), 1000);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(*recovered, Recovery::kGone);
  EXPECT_TRUE(cluster.jobs.empty());
  EXPECT_TRUE(second.StopOrphan(world, 1000).ok());  // already gone: fine
  EXPECT_EQ(second.StopOrphan(WorldHandle::FromText("slurm:77"), 1000).code(),
            StatusCode::kFailedPrecondition);
}

TEST(KubernetesLauncher, StopOrphanFindsAWorldRecordedBeforeHandles) {
  // A store written before schema 3 held job number * 1000 + attempt as the
  // pgid; the migration made it "local:42003".
  FakeCluster cluster;
  FakeApiServer server([&](const FakeApiServer::Request& r) { return cluster.Handle(r); });
  {
    KubernetesLauncher first(Options(server.url()));
    ASSERT_TRUE(first.Launch(Request()).ok());
  }
  ASSERT_EQ(cluster.jobs.count("flyp-job-000042-a3"), 1u);
  KubernetesLauncher second(Options(server.url()));
  ASSERT_TRUE(second.StopOrphan(WorldHandle::FromText("local:42003"), 1000).ok());
  EXPECT_TRUE(cluster.jobs.empty());
  EXPECT_EQ(second.StopOrphan(WorldHandle::FromText("local:12"), 1000).code(),
            StatusCode::kFailedPrecondition);
}

TEST(KubernetesLauncher, UnknownHandlesReportAnExitAndStopIsANoOp) {
  FakeCluster cluster;
  FakeApiServer server([&](const FakeApiServer::Request& r) { return cluster.Handle(r); });
  KubernetesLauncher launcher(Options(server.url()));
  const WorldHandle unknown = MpiJobHandle("ml", "flyp-job-000001-a1");
  launcher.Stop(unknown, /*force=*/true);
  auto exit = launcher.Poll(unknown);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 255);
}

TEST(KubernetesLauncher, ApiErrorsAreReportedWithTheirReason) {
  FakeApiServer server([](const FakeApiServer::Request&) {
    return std::make_pair(
        403, std::string(R"({"kind":"Status","reason":"Forbidden","message":"mpijobs is forbidden"})"));
  });
  KubernetesLauncher launcher(Options(server.url()));
  auto world = launcher.Launch(Request());
  ASSERT_FALSE(world.ok());
  EXPECT_EQ(world.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(world.status().message().find("Forbidden: mpijobs is forbidden"), std::string::npos)
      << world.status();
  KubernetesLauncher unreachable(Options("http://127.0.0.1:1"));
  EXPECT_EQ(unreachable.Launch(Request()).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace flyp::coord
