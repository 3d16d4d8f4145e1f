// The MPIJob the Kubernetes launcher sends, field by field: pods and ranks
// per pod, GPUs, cpu/memory, OpenMP threads, the mpirun argv, placement,
// volumes and the restricted Pod Security Standard's fields. (The schema
// check of the same objects, as the fake API server received them, is
// k8s_schema.mpijobs; kubernetes_launcher_test captures them.)
#include "coordinator/launcher/mpijob.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace flyp::coord {
namespace {

MpiJobOptions Options() {
  MpiJobOptions o;
  o.ns = "ml";
  o.image = "registry.example/flyp:1.0";
  o.pvc = "flyp-data";
  o.mount_path = "/var/lib/flyp";
  o.data_roots = {"/var/lib/flyp/data", "/var/lib/flyp/models/"};
  o.worker_metrics_port = 9400;
  return o;
}

LaunchRequest Request(bool cuda = false, int world = 4, int slots = 1) {
  LaunchRequest r;
  r.job_id = "job-000042";
  r.attempt = 3;
  r.world_size = world;
  r.spec_path = "/var/lib/flyp/artifacts/job-000042/spec.yaml";
  r.artifact_dir = "/var/lib/flyp/artifacts/job-000042";
  r.log_path = "/tmp/world.log";
  r.coordinator_address = "flyp-coordinator.ml.svc:50051";
  r.worker_token = "s3cret";
  r.cuda = cuda;
  r.slots_per_rank = slots;
  return r;
}

const Json& At(const Json& j, std::initializer_list<const char*> keys) {
  const Json* cur = &j;
  for (const char* k : keys) {
    cur = cur->Find(k);
    if (!cur) {
      ADD_FAILURE() << "missing " << k << " in " << j.Dump();
      static const Json null;
      return null;
    }
  }
  return *cur;
}

const Json& Replica(const Json& job, const char* type) { return At(job, {"spec", "mpiReplicaSpecs", type}); }
const Json& PodSpec(const Json& job, const char* type) {
  return At(Replica(job, type), {"template", "spec"});
}
const Json& Container(const Json& job, const char* type) {
  return PodSpec(job, type).Find("containers")->as_array()[0];
}

std::vector<std::string> Strings(const Json& a) {
  std::vector<std::string> out;
  for (const Json& e : a.as_array()) out.push_back(e.as_string());
  return out;
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

TEST(BuildMpiJob, CpuWorldIsOneRankPerPodWithMpirunAsTheOperatorDocuments) {
  auto job = BuildMpiJob(Options(), Request());
  ASSERT_TRUE(job.ok()) << job.status();
  const Json& j = *job;
  EXPECT_EQ(At(j, {"apiVersion"}).as_string(), "kubeflow.org/v2beta1");
  EXPECT_EQ(At(j, {"metadata", "name"}).as_string(), "flyp-job-000042-a3");
  EXPECT_EQ(At(j, {"metadata", "namespace"}).as_string(), "ml");
  EXPECT_EQ(At(j, {"spec", "slotsPerWorker"}).as_int64(), 1);
  EXPECT_EQ(At(j, {"spec", "runPolicy", "backoffLimit"}).as_int64(), 0);
  EXPECT_EQ(At(j, {"spec", "sshAuthMountPath"}).as_string(), "/home/flyp/.ssh");
  EXPECT_EQ(At(Replica(j, "Launcher"), {"replicas"}).as_int64(), 1);
  EXPECT_EQ(At(Replica(j, "Worker"), {"replicas"}).as_int64(), 4);
  EXPECT_EQ(Strings(At(Container(j, "Launcher"), {"command"})),
            (std::vector<std::string>{"mpirun",
                                      "--tag-output",
                                      "-np",
                                      "4",
                                      "--bind-to",
                                      "none",
                                      "--map-by",
                                      "slot",
                                      "-x",
                                      "LD_LIBRARY_PATH",
                                      "-x",
                                      "PATH",
                                      "-x",
                                      "FLYP_JOB_ID",
                                      "-x",
                                      "FLYP_COORDINATOR",
                                      "-x",
                                      "FLYP_ARTIFACT_DIR",
                                      "-x",
                                      "FLYP_ATTEMPT",
                                      "-x",
                                      "FLYP_METRICS_PORT",
                                      "-x",
                                      "FLYP_THREADS",
                                      "-x",
                                      "OMP_NUM_THREADS",
                                      "-x",
                                      "FLYP_WORKER_TOKEN",
                                      "flyp-worker",
                                      "--spec",
                                      "/var/lib/flyp/artifacts/job-000042/spec.yaml"}));
  for (const char* type : {"Launcher", "Worker"}) {
    const Json& c = Container(j, type);
    EXPECT_EQ(EnvValue(c, "FLYP_JOB_ID"), "job-000042") << type;
    EXPECT_EQ(EnvValue(c, "FLYP_WORKER_TOKEN"), "<secret flyp-job-000042-a3-token/token>") << type;
    EXPECT_EQ(EnvValue(c, "FLYP_ATTEMPT"), "3");
    EXPECT_EQ(EnvValue(c, "OMP_NUM_THREADS"), "1") << "one slot: one core requested, one thread";
  }
  EXPECT_EQ(j.Dump().find("s3cret"), std::string::npos) << "the worker token is only in the Secret";
  const Json& wc = Container(j, "Worker");
  EXPECT_EQ(At(wc, {"resources", "requests", "cpu"}).as_string(), "1");
  EXPECT_EQ(At(wc, {"resources", "requests", "memory"}).as_string(), "2Gi");
  EXPECT_EQ(At(wc, {"resources", "limits", "memory"}).as_string(), "2Gi");
  EXPECT_EQ(At(wc, {"resources", "limits"}).Find("cpu"), nullptr) << "no cpu limit: no CFS throttling";
  EXPECT_EQ(At(wc, {"resources", "requests"}).Find("nvidia.com/gpu"), nullptr);
  EXPECT_EQ(Strings(At(wc, {"command"})), std::vector<std::string>{"/usr/sbin/sshd"});
  EXPECT_EQ(At(PodSpec(j, "Worker"), {"securityContext", "seccompProfile", "type"}).as_string(),
            "RuntimeDefault");
}

TEST(BuildMpiJob, ThreadsFollowTheCpuRequestNotTheNode) {
  LaunchRequest r = Request(false, 2, 4);  // 4 slots per rank
  auto job = BuildMpiJob(Options(), r);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(EnvValue(Container(*job, "Worker"), "OMP_NUM_THREADS"), "4");
  EXPECT_EQ(EnvValue(Container(*job, "Worker"), "FLYP_THREADS"), "4");
  EXPECT_EQ(At(Container(*job, "Worker"), {"resources", "requests", "cpu"}).as_string(), "4");
  EXPECT_EQ(At(Container(*job, "Worker"), {"resources", "requests", "memory"}).as_string(), "8Gi");
  r.kubernetes.set_cpu_request("2500m");  // 2.5 cores: 2 threads
  job = BuildMpiJob(Options(), r);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(EnvValue(Container(*job, "Worker"), "OMP_NUM_THREADS"), "2");
  EXPECT_EQ(At(Container(*job, "Worker"), {"resources", "requests", "cpu"}).as_string(), "2500m");
  r.kubernetes.set_cpu_request("500m");  // below one core: still one thread
  EXPECT_EQ(EnvValue(Container(*BuildMpiJob(Options(), r), "Worker"), "OMP_NUM_THREADS"), "1");
  r.threads_per_rank = 3;  // the spec's own count wins
  EXPECT_EQ(EnvValue(Container(*BuildMpiJob(Options(), r), "Worker"), "OMP_NUM_THREADS"), "3");
}

// The issue's example: cuda, world_size 4, slots_per_rank 2.
TEST(BuildMpiJob, CudaSlotsPerRankGpusMakeThatManyRanksPerPod) {
  auto job = BuildMpiJob(Options(), Request(/*cuda=*/true, 4, 2));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(At(*job, {"spec", "slotsPerWorker"}).as_int64(), 2);
  EXPECT_EQ(At(Replica(*job, "Worker"), {"replicas"}).as_int64(), 2);
  const Json& wc = Container(*job, "Worker");
  EXPECT_EQ(At(wc, {"resources", "limits", "nvidia.com/gpu"}).as_int64(), 2);
  EXPECT_EQ(At(wc, {"resources", "requests", "nvidia.com/gpu"}).as_int64(), 2);
  EXPECT_EQ(At(wc, {"resources", "requests", "cpu"}).as_string(), "8");        // 4 cores x 2 ranks
  EXPECT_EQ(At(wc, {"resources", "requests", "memory"}).as_string(), "32Gi");  // 16Gi x 2 ranks
  EXPECT_EQ(EnvValue(wc, "OMP_NUM_THREADS"), "4");
  std::vector<std::string> ports;
  for (const Json& p : At(wc, {"ports"}).as_array())
    ports.push_back(p.Find("name")->as_string() + ":" + std::to_string(p.Find("containerPort")->as_int64()));
  EXPECT_EQ(ports, (std::vector<std::string>{"ssh:2222", "metrics:9400", "metrics-1:9401"}));
  const std::vector<std::string> cmd = Strings(At(Container(*job, "Launcher"), {"command"}));
  EXPECT_EQ(std::vector<std::string>(cmd.begin(), cmd.begin() + 4),
            (std::vector<std::string>{"mpirun", "--tag-output", "-np", "4"}));
  // One rank per pod, one GPU each, for slots_per_rank 1.
  job = BuildMpiJob(Options(), Request(true, 3, 1));
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(At(Replica(*job, "Worker"), {"replicas"}).as_int64(), 3);
  EXPECT_EQ(At(Container(*job, "Worker"), {"resources", "limits", "nvidia.com/gpu"}).as_int64(), 1);
}

TEST(BuildMpiJob, ACudaWorldThatDoesNotFillItsPodsIsRefusedWithTheReason) {
  auto job = BuildMpiJob(Options(), Request(true, 3, 2));
  ASSERT_EQ(job.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      job.status().message(),
      "resources.world_size 3 is not a multiple of resources.slots_per_rank 2: on Kubernetes a cuda worker "
      "pod holds slots_per_rank GPUs and runs one rank on each");
}

TEST(BuildMpiJob, EveryPlacementFieldReachesEveryPod) {
  MpiJobOptions o = Options();
  (*o.defaults.mutable_node_selector())["flyp.dev/pool"] = "cpu";
  o.defaults.add_image_pull_secrets("site-registry");
  (*o.cuda_defaults.mutable_node_selector())["flyp.dev/pool"] = "gpu";
  auto* gpu_taint = o.cuda_defaults.add_tolerations();
  gpu_taint->set_key("nvidia.com/gpu");
  gpu_taint->set_operator_(v1::TOLERATION_OPERATOR_EXISTS);
  gpu_taint->set_effect(v1::TAINT_EFFECT_NO_SCHEDULE);
  o.cuda_defaults.set_memory_request("64Gi");
  LaunchRequest r = Request(true, 4, 2);
  v1::KubernetesSpec& k = r.kubernetes;
  (*k.mutable_node_selector())["nvidia.com/gpu.product"] = "NVIDIA-H100-80GB-HBM3";
  auto* t = k.add_tolerations();
  t->set_key("dedicated");
  t->set_value("ml");
  t->set_effect(v1::TAINT_EFFECT_NO_EXECUTE);
  t->set_toleration_seconds(600);
  k.set_priority_class("training-high");
  k.add_image_pull_secrets("regcred");
  k.add_image_pull_secrets("site-registry");  // given twice: once
  k.set_scheduler_name("volcano");
  k.set_scheduling_queue("research");
  k.set_cpu_request("6");
  k.set_cpu_limit("12");
  k.set_memory_limit("96Gi");
  auto job = BuildMpiJob(o, r);
  ASSERT_TRUE(job.ok()) << job.status();
  for (const char* type : {"Launcher", "Worker"}) {
    SCOPED_TRACE(type);
    const Json& p = PodSpec(*job, type);
    EXPECT_EQ(
        At(p, {"nodeSelector"}),
        Json(Json::Object{{"flyp.dev/pool", "gpu"}, {"nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"}}));
    EXPECT_EQ(
        At(p, {"tolerations"}).Dump(),
        R"([{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"},)"
        R"({"key":"dedicated","operator":"Equal","value":"ml","effect":"NoExecute","tolerationSeconds":600}])");
    EXPECT_EQ(At(p, {"priorityClassName"}).as_string(), "training-high");
    EXPECT_EQ(At(p, {"schedulerName"}).as_string(), "volcano");
    EXPECT_EQ(At(p, {"imagePullSecrets"}).Dump(), R"([{"name":"site-registry"},{"name":"regcred"}])");
  }
  EXPECT_EQ(At(*job, {"spec", "runPolicy", "schedulingPolicy"}).Dump(),
            R"({"queue":"research","priorityClass":"training-high"})");
  const Json& res = At(Container(*job, "Worker"), {"resources"});
  EXPECT_EQ(res.Dump(), R"({"requests":{"cpu":"12","memory":"128Gi","nvidia.com/gpu":2},)"
                        R"("limits":{"memory":"192Gi","cpu":"24","nvidia.com/gpu":2}})");
  EXPECT_EQ(EnvValue(Container(*job, "Worker"), "OMP_NUM_THREADS"), "6");
  // A cpu job of the same coordinator gets only the all-jobs defaults.
  auto cpu = BuildMpiJob(o, Request());
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(At(PodSpec(*cpu, "Worker"), {"nodeSelector"}).Dump(), R"({"flyp.dev/pool":"cpu"})");
  EXPECT_EQ(PodSpec(*cpu, "Worker").Find("tolerations"), nullptr);
}

TEST(BuildMpiJob, RanksMountTheirArtifactFolderAndReadOnlyDataRootsOnly) {
  auto job = BuildMpiJob(Options(), Request());
  ASSERT_TRUE(job.ok()) << job.status();
  for (const char* type : {"Launcher", "Worker"}) {
    SCOPED_TRACE(type);
    std::vector<std::string> mounts;
    for (const Json& m : At(Container(*job, type), {"volumeMounts"}).as_array()) {
      const Json* sub = m.Find("subPath");
      const Json* ro = m.Find("readOnly");
      mounts.push_back(m.Find("name")->as_string() + " " + m.Find("mountPath")->as_string() + " " +
                       (sub ? sub->as_string() : "-") + (ro && ro->as_bool() ? " ro" : " rw"));
    }
    EXPECT_EQ(mounts, (std::vector<std::string>{
                          "flyp-data /var/lib/flyp/artifacts/job-000042 artifacts/job-000042 rw",
                          "flyp-data /var/lib/flyp/data data ro",
                          "flyp-data /var/lib/flyp/models models ro",
                          "dshm /dev/shm - rw",
                      }));
  }
}

TEST(BuildMpiJob, PathsTheRanksCouldNotSeeAreRefused) {
  LaunchRequest r = Request();
  r.artifact_dir = "/var/lib/flypx/a";  // a prefix, not a parent
  r.spec_path = "/var/lib/flypx/a/spec.yaml";
  EXPECT_EQ(BuildMpiJob(Options(), r).status().code(), StatusCode::kFailedPrecondition);
  r = Request();
  r.spec_path = "/tmp/job/spec.yaml";
  auto job = BuildMpiJob(Options(), r);
  EXPECT_EQ(job.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(job.status().message().find("/tmp/job/spec.yaml"), std::string::npos);
  MpiJobOptions o = Options();
  o.data_roots = {"/srv/data"};
  job = BuildMpiJob(o, Request());
  EXPECT_EQ(job.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(job.status().message().find("data root '/srv/data'"), std::string::npos);
  o.data_roots = {"/var/lib/flyp"};  // the whole volume would expose every job
  EXPECT_EQ(BuildMpiJob(o, Request()).status().code(), StatusCode::kFailedPrecondition);
  o.data_roots = {"/var/lib/flyp/artifacts"};
  EXPECT_EQ(BuildMpiJob(o, Request()).status().code(), StatusCode::kFailedPrecondition);
}

TEST(BuildMpiJob, WithoutTlsNoCaIsMountedOrPassed) {
  auto job = BuildMpiJob(Options(), Request());
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(EnvValue(Container(*job, "Launcher"), "FLYP_COORDINATOR_CA"), "<unset>");
  EXPECT_EQ(BuildWorkerTokenSecret(Options(), Request(), "flyp-job-000042-a3", "")
                .Find("stringData")
                ->Find(kCoordinatorCaKey),
            nullptr);
}

// With TLS every pod mounts the CA from the world's Secret and the ranks get
// its path (rank 0 dials the coordinator from whichever worker pod it runs in).
TEST(BuildMpiJob, TlsCaComesFromTheWorldsSecretInEveryPod) {
  MpiJobOptions o = Options();
  o.coordinator_ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  o.coordinator_server_name = "flyp-coordinator.ml.svc";
  auto job = BuildMpiJob(o, Request());
  ASSERT_TRUE(job.ok()) << job.status();
  for (const char* role : {"Launcher", "Worker"}) {
    const Json& pod = PodSpec(*job, role);
    const Json& c = Container(*job, role);
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
  const std::vector<std::string> cmd = Strings(At(Container(*job, "Launcher"), {"command"}));
  for (const char* v : {"FLYP_COORDINATOR_CA", "FLYP_COORDINATOR_SERVER_NAME"}) {
    auto x = std::find(cmd.begin(), cmd.end(), v);
    ASSERT_NE(x, cmd.end()) << v << " not forwarded";
    EXPECT_EQ(*(x - 1), "-x");
  }
  const Json secret = BuildWorkerTokenSecret(o, Request(), "flyp-job-000042-a3", "uid-1");
  EXPECT_EQ(At(secret, {"stringData", kCoordinatorCaKey}).as_string(), o.coordinator_ca_pem);
  EXPECT_EQ(At(secret, {"stringData", "token"}).as_string(), Request().worker_token);
}

TEST(BuildMpiJob, QuantitiesAreFormattedAsKubernetesWritesThem) {
  EXPECT_EQ(FormatCpuMillis(4000), "4");
  EXPECT_EQ(FormatCpuMillis(1500), "1500m");
  EXPECT_EQ(FormatBytes(int64_t{32} << 30), "32Gi");
  EXPECT_EQ(FormatBytes(int64_t{3} << 29), "1536Mi");
  EXPECT_EQ(FormatBytes(3000000000), "3G");
  EXPECT_EQ(FormatBytes(1234), "1234");
}

TEST(MergeKubernetesSpec, SpecOverCudaDefaultsOverDefaults) {
  v1::KubernetesSpec all, cuda, spec;
  (*all.mutable_node_selector())["a"] = "1";
  (*all.mutable_node_selector())["b"] = "1";
  all.set_priority_class("low");
  all.set_cpu_request("2");
  (*cuda.mutable_node_selector())["b"] = "2";
  cuda.set_priority_class("mid");
  (*spec.mutable_node_selector())["c"] = "3";
  spec.set_cpu_request("3");
  v1::KubernetesSpec m = MergeKubernetesSpec(all, cuda, /*cuda=*/true, spec);
  EXPECT_EQ(m.node_selector().at("a"), "1");
  EXPECT_EQ(m.node_selector().at("b"), "2");
  EXPECT_EQ(m.node_selector().at("c"), "3");
  EXPECT_EQ(m.priority_class(), "mid");
  EXPECT_EQ(m.cpu_request(), "3");
  m = MergeKubernetesSpec(all, cuda, /*cuda=*/false, spec);
  EXPECT_EQ(m.node_selector().at("b"), "1");
  EXPECT_EQ(m.priority_class(), "low");
}

}  // namespace
}  // namespace flyp::coord
