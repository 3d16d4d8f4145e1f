// The Kubernetes launcher against FakeKubeApi (tests/testing), an in-memory
// API server that plays the cluster: the test does what the MPI Operator and
// the kubelet would (conditions on the MPIJob, a launcher pod, its log). The
// launcher must create what BuildMpiJob describes, learn everything from
// list + watch (no polling of objects), follow the log with sinceTime
// without writing a line twice, survive expired watches, and never let a
// hanging API server block Poll, Stop or its own destruction.
#include "coordinator/launcher/kubernetes_launcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/testing/fake_kube_api.h"
#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

using testing::FakeKubeApi;

const char kJobs[] = "/apis/kubeflow.org/v2beta1/namespaces/ml/mpijobs";
const char kPods[] = "/api/v1/namespaces/ml/pods";
const char kSecrets[] = "/api/v1/namespaces/ml/secrets";
const char kName[] = "flyp-job-000042-a3";

KubernetesLauncherOptions Options(const std::string& server) {
  KubernetesLauncherOptions o;
  o.api.server = server;
  o.api.timeout_s = 5;
  o.mpijob.ns = "ml";
  o.mpijob.image = "registry.example/flyp:1.0";
  o.mpijob.pvc = "flyp-data";
  o.mpijob.mount_path = "/var/lib/flyp";
  o.mpijob.data_roots = {"/var/lib/flyp/data"};
  o.poll_ms = 50;
  return o;
}

LaunchRequest Request() {
  LaunchRequest r;
  r.job_id = "job-000042";
  r.attempt = 3;
  r.world_size = 2;
  r.spec_path = "/var/lib/flyp/artifacts/job-000042/spec.yaml";
  r.artifact_dir = "/var/lib/flyp/artifacts/job-000042";
  r.log_path = testing::TempDir() + "/world.log";
  r.coordinator_address = "flyp-coordinator.ml.svc:50051";
  r.worker_token = "s3cret";
  return r;
}

bool Eventually(const std::function<bool()>& cond, double timeout_s = 10) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

std::optional<WorldExit> WaitForExit(KubernetesLauncher& l, const WorldHandle& world) {
  std::optional<WorldExit> exit;
  Eventually([&] { return (exit = l.Poll(world)).has_value(); });
  return exit;
}

// What the MPI Operator does to the MPIJob: conditions in its status.
void SetConditions(FakeKubeApi& api, std::vector<std::string> true_types) {
  Json job = *api.Get(kJobs, kName);
  Json conds = Json::MakeArray();
  for (const std::string& t : true_types) conds.Append(Json(Json::Object{{"type", t}, {"status", "True"}}));
  job.Set("status", Json(Json::Object{{"conditions", conds}}));
  api.Put(kJobs, job);
}

// The launcher pod the operator creates, as the kubelet reports it.
void PutLauncherPod(FakeKubeApi& api, const std::string& state) {
  Json labels(Json::Object{{"app.kubernetes.io/managed-by", "flyp-coordinator"},
                           {"training.kubeflow.org/job-name", kName},
                           {"training.kubeflow.org/job-role", "launcher"}});
  api.Put(
      kPods,
      Json(Json::Object{
          {"metadata", Json(Json::Object{{"name", std::string(kName) + "-launcher"}, {"labels", labels}})},
          {"status", *ParseJson(R"({"containerStatuses":[{"name":"launcher","state":)" + state + "}]}")}}));
}

int Count(const std::vector<FakeKubeApi::Request>& reqs,
          const std::function<bool(const FakeKubeApi::Request&)>& f) {
  int n = 0;
  for (const auto& r : reqs) n += f(r) ? 1 : 0;
  return n;
}

TEST(MpiJobName, IsTheJobIdAndAttemptAsADnsLabel) {
  EXPECT_EQ(*MpiJobName("job-000042", 3), "flyp-job-000042-a3");
  EXPECT_EQ(*MpiJobName("job-1234567", 12), "flyp-job-1234567-a12");
  EXPECT_EQ(*MpiJobName("job-000001", 1000), "flyp-job-000001-a1000");  // no attempt limit
  EXPECT_EQ(*MpiJobName("any-id-7", 1), "flyp-any-id-7-a1");            // the id is not parsed
  EXPECT_EQ(MpiJobName("", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MpiJobName("Job_1", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MpiJobName("job-000001", 0).status().code(), StatusCode::kInvalidArgument);
  auto too_long = MpiJobName(std::string(kMaxMpiJobName, 'j'), 1);
  EXPECT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.status().message().find("at most 52 characters"), std::string::npos)
      << too_long.status();
}

TEST(MpiJobHandle, RoundTripsNamespaceAndName) {
  const WorldHandle h = MpiJobHandle("ml", kName);
  EXPECT_EQ(h.text(), "k8s:ml/flyp-job-000042-a3");
  auto ref = ParseMpiJobHandle(h);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->ns, "ml");
  EXPECT_EQ(ref->name, kName);
  for (const char* bad : {"local:123", "k8s:noslash", "k8s:/name", "k8s:ns/", ""}) {
    EXPECT_EQ(ParseMpiJobHandle(WorldHandle::FromText(bad)).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(ParseLogLine, ReadsKubeletTimestamps) {
  LogLine l;
  ASSERT_TRUE(ParseLogLine("2026-01-01T00:00:02.000000005Z [1,0]<stdout>:step 1", &l));
  EXPECT_EQ(l.seconds, 1767225602);
  EXPECT_EQ(l.nanos, 5);
  EXPECT_EQ(l.text, "[1,0]<stdout>:step 1");
  ASSERT_TRUE(ParseLogLine("2026-01-01T00:00:02.5Z x y", &l));  // trailing zeros trimmed
  EXPECT_EQ(l.nanos, 500000000);
  EXPECT_EQ(l.text, "x y");
  ASSERT_TRUE(ParseLogLine("2026-01-01T00:00:02Z ", &l));
  EXPECT_EQ(l.text, "");
  EXPECT_FALSE(ParseLogLine("no timestamp here", &l));
  EXPECT_FALSE(ParseLogLine("2026-01-01 00:00:02Z x", &l));
}

TEST(ParseMpiJobPhase, MapsConditions) {
  auto with = [](std::vector<std::pair<std::string, std::string>> conds) {
    Json list = Json::MakeArray();
    for (auto& [t, s] : conds) list.Append(Json(Json::Object{{"type", t}, {"status", s}}));
    return Json(Json::Object{{"status", Json(Json::Object{{"conditions", list}})}});
  };
  EXPECT_EQ(ParseMpiJobPhase(Json::MakeObject()), MpiJobPhase::kPending);
  EXPECT_EQ(ParseMpiJobPhase(with({{"Created", "True"}})), MpiJobPhase::kCreated);
  EXPECT_EQ(ParseMpiJobPhase(with({{"Created", "True"}, {"Running", "True"}})), MpiJobPhase::kRunning);
  EXPECT_EQ(ParseMpiJobPhase(with({{"Running", "False"}, {"Succeeded", "True"}})), MpiJobPhase::kSucceeded);
  EXPECT_EQ(ParseMpiJobPhase(with({{"Running", "False"}, {"Failed", "True"}})), MpiJobPhase::kFailed);
  EXPECT_EQ(ParseMpiJobPhase(with({{"Created", "True"}, {"Running", "False"}})), MpiJobPhase::kCreated);
}

TEST(KubernetesLauncher, CreatesWatchesAndFollowsTheLogOnce) {
  FakeKubeApi api;
  const std::string token = testing::TempDir() + "/token";
  std::ofstream(token) << "sa-token-123\n";
  KubernetesLauncherOptions o = Options(api.url());
  o.api.token_file = token;
  KubernetesLauncher launcher(o);
  LaunchRequest req = Request();
  std::remove(req.log_path.c_str());
  auto world = launcher.Launch(req);
  ASSERT_TRUE(world.ok()) << world.status();
  EXPECT_EQ(world->text(), "k8s:ml/flyp-job-000042-a3");
  // Exactly the object BuildMpiJob describes, and its token Secret, owned by it.
  auto posted = api.Get(kJobs, kName);
  ASSERT_TRUE(posted.has_value());
  Json sent = *posted;
  sent.Find("metadata")->as_object().resize(3);  // drop what the server added (uid, timestamps, version)
  EXPECT_EQ(sent, *BuildMpiJob(o.mpijob, req));
  auto secret = api.Get(kSecrets, std::string(kName) + "-token");
  ASSERT_TRUE(secret.has_value());
  EXPECT_EQ(secret->Find("stringData")->Find("token")->as_string(), "s3cret");
  EXPECT_EQ(secret->Find("metadata")->Find("ownerReferences")->as_array()[0].Find("uid")->as_string(),
            "uid-flyp-job-000042-a3");
  for (const auto& r : api.requests()) EXPECT_EQ(r.authorization, "Bearer sa-token-123") << r.path;

  SetConditions(api, {"Created", "Running"});
  ASSERT_TRUE(Eventually([&] { return launcher.Phase(*world) == MpiJobPhase::kRunning; }));
  PutLauncherPod(api, R"({"running":{}})");
  const std::string pod = std::string(kName) + "-launcher";
  const int64_t t0 = int64_t{1767225600} * 1000000000;
  api.AppendLog("ml", pod, "[1,0]<stdout>:step 1", t0);
  api.AppendLog("ml", pod, "[1,1]<stdout>:step 1", t0);  // same instant: both kept
  ASSERT_TRUE(
      Eventually([&] { return testing::ReadFileOrDie(req.log_path).find("[1,1]") != std::string::npos; }));
  api.AppendLog("ml", pod, "[1,0]<stdout>:step 2", t0 + 400000000);  // same second
  api.AppendLog("ml", pod, "[1,0]<stdout>:step 3", t0 + 3000000000LL);
  ASSERT_TRUE(
      Eventually([&] { return testing::ReadFileOrDie(req.log_path).find("step 3") != std::string::npos; }));
  EXPECT_FALSE(launcher.Poll(*world).has_value());
  api.AppendLog("ml", pod, "[1,0]<stdout>:done", t0 + 4000000000LL);
  PutLauncherPod(api, R"({"terminated":{"exitCode":0}})");
  SetConditions(api, {"Created", "Succeeded"});
  auto exit = WaitForExit(launcher, *world);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(exit->signal, 0);
  EXPECT_EQ(testing::ReadFileOrDie(req.log_path),
            "[coordinator] created MPIJob ml/flyp-job-000042-a3\n"
            "[1,0]<stdout>:step 1\n[1,1]<stdout>:step 1\n[1,0]<stdout>:step 2\n[1,0]<stdout>:step 3\n"
            "[1,0]<stdout>:done\n")
      << "every line once, the tail before the exit";

  const auto reqs = api.requests();
  // Objects came from list + watch, never from polling GETs of the MPIJob.
  EXPECT_EQ(
      Count(reqs,
            [](const auto& r) { return r.method == "GET" && r.path == std::string(kJobs) + "/" + kName; }),
      0);
  EXPECT_GE(Count(reqs,
                  [](const auto& r) {
                    return r.path == kJobs && r.query.count("watch") &&
                           !r.query.at("resourceVersion").empty() &&
                           r.query.at("labelSelector") == "app.kubernetes.io/managed-by=flyp-coordinator";
                  }),
            1);
  EXPECT_GE(Count(reqs, [](const auto& r) { return r.path == kPods && r.query.count("watch"); }), 1);
  // The log is read with timestamps, from the last line's second on.
  int since = 0, whole = 0;
  for (const auto& r : reqs) {
    if (r.path != std::string(kPods) + "/" + pod + "/log") continue;
    EXPECT_EQ(r.query.at("timestamps"), "true");
    (r.query.count("sinceTime") ? since : whole)++;
  }
  EXPECT_EQ(whole, 1) << "only the first read is of the whole log";
  EXPECT_GE(since, 2);
}

TEST(KubernetesLauncher, FailureCarriesTheLauncherExitCode) {
  FakeKubeApi api;
  KubernetesLauncher launcher(Options(api.url()));
  auto world = launcher.Launch(Request());
  ASSERT_TRUE(world.ok()) << world.status();
  PutLauncherPod(api, R"({"terminated":{"exitCode":3}})");
  SetConditions(api, {"Created", "Failed"});
  auto exit = WaitForExit(launcher, *world);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, kWorkerExitInvalidSpec);
  EXPECT_EQ(ClassifyExit(*exit, false), ExitClass::kPermanent);
}

TEST(KubernetesLauncher, StopDeletesTheMpiJobAndItsDeletionEndsTheWorld) {
  FakeKubeApi api;
  KubernetesLauncher launcher(Options(api.url()));
  auto world = launcher.Launch(Request());
  ASSERT_TRUE(world.ok()) << world.status();
  ASSERT_TRUE(Eventually([&] { return api.open_watches() == 2; }));
  launcher.Stop(*world, /*force=*/false);
  auto exit = WaitForExit(launcher, *world);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->signal, SIGTERM);
  EXPECT_FALSE(api.Get(kJobs, kName).has_value());
  bool foreground = false;
  for (const auto& r : api.requests()) {
    if (r.method == "DELETE" && r.path == std::string(kJobs) + "/" + kName)
      foreground = ParseJson(r.body)->Find("propagationPolicy")->as_string() == "Foreground";
  }
  EXPECT_TRUE(foreground);
}

TEST(KubernetesLauncher, AnMpiJobDeletedBehindItsBackEndsTheWorldAsLost) {
  FakeKubeApi api;
  KubernetesLauncher launcher(Options(api.url()));
  LaunchRequest req = Request();
  std::remove(req.log_path.c_str());
  auto world = launcher.Launch(req);
  ASSERT_TRUE(world.ok()) << world.status();
  SetConditions(api, {"Created", "Running"});
  ASSERT_TRUE(Eventually([&] { return launcher.Phase(*world) == MpiJobPhase::kRunning; }));
  api.Remove(kJobs, kName);
  auto exit = WaitForExit(launcher, *world);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 255);
  EXPECT_NE(testing::ReadFileOrDie(req.log_path).find("disappeared"), std::string::npos);
}

// After etcd compaction a watch from an old resourceVersion gets 410; the
// launcher lists again and goes on from there.
TEST(KubernetesLauncher, AnExpiredWatchIsRelistedAndNothingIsMissed) {
  FakeKubeApi api;
  KubernetesLauncher launcher(Options(api.url()));
  auto world = launcher.Launch(Request());
  ASSERT_TRUE(world.ok()) << world.status();
  ASSERT_TRUE(Eventually([&] { return api.open_watches() == 2; }));
  auto lists = [&] {
    return Count(api.requests(), [](const auto& r) { return r.path == kJobs && !r.query.count("watch"); });
  };
  const int before = lists();
  api.KeepHistory(0);                          // every resourceVersion the launcher holds is now too old
  SetConditions(api, {"Created", "Running"});  // happens while it reconnects
  api.CloseWatches();
  ASSERT_TRUE(Eventually([&] { return launcher.Phase(*world) == MpiJobPhase::kRunning; }));
  EXPECT_GT(lists(), before) << "the 410 made it list again";
  api.KeepHistory(1000);
  SetConditions(api, {"Created", "Succeeded"});
  auto exit = WaitForExit(launcher, *world);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
}

// Poll and Stop touch only memory, and the watches end on shutdown, however
// long the API server takes to answer.
TEST(KubernetesLauncher, AHangingApiServerBlocksNeitherPollStopNorShutdown) {
  FakeKubeApi api;
  auto launcher = std::make_unique<KubernetesLauncher>(Options(api.url()));
  auto world = launcher->Launch(Request());
  ASSERT_TRUE(world.ok()) << world.status();
  ASSERT_TRUE(Eventually([&] { return api.open_watches() == 2; }));
  api.SetHang(true);
  SetConditions(api, {"Created", "Running"});  // an event that cannot arrive
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(launcher->Poll(*world).has_value());
    (void)launcher->Phase(*world);
  }
  launcher->Stop(*world, /*force=*/false);  // the delete waits on the API, not the caller
  launcher->Stop(*world, /*force=*/true);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  const auto t = std::chrono::steady_clock::now();
  launcher.reset();  // watches cancelled; the worker's DELETE times out (api.timeout_s)
  EXPECT_LT(std::chrono::steady_clock::now() - t, std::chrono::seconds(8));
  api.SetHang(false);
}

TEST(KubernetesLauncher, ASecretItCannotCreateFailsTheLaunchAndRemovesTheMpiJob) {
  FakeKubeApi api;
  api.SetOverride([](const FakeKubeApi::Request& r) -> std::optional<std::pair<int, std::string>> {
    if (r.method == "POST" && r.path == kSecrets)
      return std::make_pair(
          403, std::string(R"({"kind":"Status","reason":"Forbidden","message":"secrets is forbidden"})"));
    return std::nullopt;
  });
  KubernetesLauncher launcher(Options(api.url()));
  auto world = launcher.Launch(Request());
  ASSERT_FALSE(world.ok());
  EXPECT_EQ(world.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(world.status().message().find("cannot create Secret flyp-job-000042-a3-token"), std::string::npos)
      << world.status();
  EXPECT_NE(world.status().message().find("secrets is forbidden"), std::string::npos) << world.status();
  EXPECT_TRUE(api.List(kJobs).empty()) << "no MPIJob left waiting for a Secret that will not come";
}

TEST(KubernetesLauncher, RecoverDeletesTheOrphanByItsHandleAlone) {
  FakeKubeApi api;
  WorldHandle world;
  {
    KubernetesLauncher first(Options(api.url()));
    auto launched = first.Launch(Request());
    ASSERT_TRUE(launched.ok()) << launched.status();
    world = *launched;
  }  // the coordinator "dies"
  ASSERT_EQ(api.List(kJobs).size(), 1u);
  KubernetesLauncherOptions other_ns = Options(api.url());
  other_ns.mpijob.ns = "elsewhere";  // the handle names the namespace; the options do not matter
  KubernetesLauncher second(other_ns);
  auto recovered = second.Recover(world, Request(), 1000);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(*recovered, Recovery::kGone);
  EXPECT_TRUE(api.List(kJobs).empty());
  EXPECT_TRUE(second.StopOrphan(world, 1000).ok());  // already gone: fine
  EXPECT_EQ(second.StopOrphan(WorldHandle::FromText("slurm:77"), 1000).code(),
            StatusCode::kFailedPrecondition);
}

TEST(KubernetesLauncher, StopOrphanFindsAWorldRecordedBeforeHandles) {
  // A store written before schema 3 held job number * 1000 + attempt as the
  // pgid; the migration made it "local:42003".
  FakeKubeApi api;
  {
    KubernetesLauncher first(Options(api.url()));
    ASSERT_TRUE(first.Launch(Request()).ok());
  }
  ASSERT_TRUE(api.Get(kJobs, kName).has_value());
  KubernetesLauncher second(Options(api.url()));
  ASSERT_TRUE(second.StopOrphan(WorldHandle::FromText("local:42003"), 1000).ok());
  EXPECT_TRUE(api.List(kJobs).empty());
  EXPECT_EQ(second.StopOrphan(WorldHandle::FromText("local:12"), 1000).code(),
            StatusCode::kFailedPrecondition);
}

TEST(KubernetesLauncher, UnknownHandlesReportAnExitAndStopIsANoOp) {
  FakeKubeApi api;
  KubernetesLauncher launcher(Options(api.url()));
  const WorldHandle unknown = MpiJobHandle("ml", "flyp-job-000001-a1");
  launcher.Stop(unknown, /*force=*/true);
  auto exit = launcher.Poll(unknown);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 255);
}

TEST(KubernetesLauncher, ApiErrorsAreReportedWithTheirReason) {
  FakeKubeApi api;
  api.SetOverride([](const FakeKubeApi::Request&) -> std::optional<std::pair<int, std::string>> {
    return std::make_pair(
        403, std::string(R"({"kind":"Status","reason":"Forbidden","message":"mpijobs is forbidden"})"));
  });
  KubernetesLauncher launcher(Options(api.url()));
  auto world = launcher.Launch(Request());
  ASSERT_FALSE(world.ok());
  EXPECT_EQ(world.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(world.status().message().find("Forbidden: mpijobs is forbidden"), std::string::npos)
      << world.status();
  KubernetesLauncher unreachable(Options("http://127.0.0.1:1"));
  EXPECT_EQ(unreachable.Launch(Request()).status().code(), StatusCode::kUnavailable);
}

// What the launcher sent for a cpu job, a cuda job, two GPUs per pod, and
// every placement field over cluster defaults, as the API server received
// it: written to <build>/k8s_schema/sent/ for the schema check
// (k8s_schema.mpijobs runs this test first).
TEST(KubernetesLauncher, CapturesWhatItSendsForTheSchemaCheck) {
  namespace fs = std::filesystem;
  const fs::path dir = testing::BinaryDir() + "/k8s_schema/sent";
  fs::remove_all(dir);
  fs::create_directories(dir);
  FakeKubeApi api;
  KubernetesLauncherOptions o = Options(api.url());
  (*o.mpijob.cuda_defaults.mutable_node_selector())["flyp.dev/pool"] = "gpu";
  auto* gpu = o.mpijob.cuda_defaults.add_tolerations();
  gpu->set_key("nvidia.com/gpu");
  gpu->set_operator_(v1::TOLERATION_OPERATOR_EXISTS);
  gpu->set_effect(v1::TAINT_EFFECT_NO_SCHEDULE);
  KubernetesLauncher launcher(o);
  struct Case {
    const char* name;
    bool cuda;
    int world, slots;
    bool placement;
  };
  int n = 0;
  for (const Case& c : {Case{"cpu", false, 4, 2, false}, Case{"cuda", true, 2, 1, false},
                        Case{"cuda-2-gpus-per-pod", true, 4, 2, false},
                        Case{"cuda-every-placement-field", true, 4, 2, true}}) {
    LaunchRequest r = Request();
    r.job_id = "job-00000" + std::to_string(++n);
    r.artifact_dir = "/var/lib/flyp/artifacts/" + r.job_id;
    r.spec_path = r.artifact_dir + "/spec.yaml";
    r.cuda = c.cuda;
    r.world_size = c.world;
    r.slots_per_rank = c.slots;
    if (c.placement) {
      v1::KubernetesSpec& k = r.kubernetes;
      (*k.mutable_node_selector())["nvidia.com/gpu.product"] = "NVIDIA-H100-80GB-HBM3";
      auto* t = k.add_tolerations();
      t->set_key("dedicated");
      t->set_value("ml");
      t->set_effect(v1::TAINT_EFFECT_NO_EXECUTE);
      t->set_toleration_seconds(600);
      k.set_priority_class("training-high");
      k.add_image_pull_secrets("regcred");
      k.set_scheduler_name("volcano");
      k.set_scheduling_queue("research");
      k.set_cpu_request("6");
      k.set_memory_request("48Gi");
      k.set_cpu_limit("12");
      k.set_memory_limit("64Gi");
    }
    ASSERT_TRUE(launcher.Launch(r).ok()) << c.name;
  }
  int written = 0;
  for (const auto& req : api.requests()) {
    if (req.method != "POST") continue;
    auto body = ParseJson(req.body);
    ASSERT_TRUE(body.ok());
    const std::string kind = body->Find("kind")->as_string();
    const std::string name = body->Find("metadata")->Find("name")->as_string();
    std::ofstream(dir / (kind + "-" + name + ".json")) << req.body << "\n";
    ++written;
  }
  EXPECT_EQ(written, 8);  // 4 MPIJobs and their token Secrets
}

TEST(KubernetesLauncher, RefusesAtSubmissionWhatCannotBecomePods) {
  FakeKubeApi api;
  KubernetesLauncher launcher(Options(api.url()));
  v1::ResourceSpec r;
  r.set_world_size(3);
  r.set_device(v1::DEVICE_CUDA);
  r.set_slots_per_rank(2);
  Status s = launcher.CheckResources(r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("is not a multiple of resources.slots_per_rank 2"), std::string::npos) << s;
  r.set_world_size(4);
  EXPECT_TRUE(launcher.CheckResources(r).ok());
  r.mutable_kubernetes()->set_memory_request("64Gi");
  r.mutable_kubernetes()->set_memory_limit("32Gi");
  EXPECT_EQ(launcher.CheckResources(r).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flyp::coord
