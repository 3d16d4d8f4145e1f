// deploy/k8s and the Prometheus configs: every YAML parses; every
// kustomization's resources/files exist (the admin's tokens.txt excepted: it
// is git-ignored and never committed); the coordinator Deployment, RBAC,
// PVCs and config carry what the Kubernetes launcher needs; the coordinator
// config is accepted by the coordinator's own parser. When kubectl is
// installed both overlays are rendered with `kubectl kustomize` (from a copy
// of deploy/ with a token file, as an admin would) and the rendered objects
// are checked too (otherwise that test is skipped). Schema validation of the
// rendered output is tests/k8s_schema.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "coordinator/config.h"
#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace fs = std::filesystem;
namespace {

std::vector<YAML::Node> LoadAll(const std::string& text, const std::string& origin) {
  try {
    return YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    ADD_FAILURE() << origin << ": " << e.what();
    return {};
  }
}

std::vector<YAML::Node> Objects(const std::vector<YAML::Node>& docs) {
  std::vector<YAML::Node> out;
  for (const auto& d : docs)
    if (d.IsMap() && d["kind"]) out.push_back(d);
  return out;
}

YAML::Node Find(const std::vector<YAML::Node>& objs, const std::string& kind,
                const std::string& name_prefix) {
  for (const auto& o : objs) {
    if (o["kind"].as<std::string>() == kind &&
        o["metadata"]["name"].as<std::string>().rfind(name_prefix, 0) == 0) {
      return o;
    }
  }
  ADD_FAILURE() << "no " << kind << " " << name_prefix;
  return YAML::Node();
}

TEST(K8sManifests, EveryYamlParsesAndKustomizationsReferenceExistingFiles) {
  int files = 0, kustomizations = 0, admin_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(SourceDir() + "/deploy")) {
    const std::string p = e.path().string();
    if (e.path().extension() != ".yaml" && e.path().extension() != ".yml") continue;
    ++files;
    auto docs = LoadAll(ReadFileOrDie(p), p);
    if (e.path().filename() != "kustomization.yaml") continue;
    ++kustomizations;
    const YAML::Node& k = docs.at(0);
    const fs::path dir = e.path().parent_path();
    for (const char* key : {"resources", "components"}) {
      if (!k[key]) continue;
      for (const auto& r : k[key]) {
        fs::path target = dir / r.as<std::string>();
        EXPECT_TRUE(fs::exists(target))
            << p << ": " << key << " " << r.as<std::string>() << " does not exist";
        if (fs::is_directory(target)) {
          EXPECT_TRUE(fs::exists(target / "kustomization.yaml")) << target;
        }
      }
    }
    for (const char* gen : {"configMapGenerator", "secretGenerator"}) {
      if (!k[gen]) continue;
      for (const auto& g : k[gen]) {
        if (!g["files"]) continue;
        for (const auto& f : g["files"]) {
          std::string file = f.as<std::string>();
          if (file.find('=') != std::string::npos) file = file.substr(file.find('=') + 1);
          if (file == "tokens.txt") {
            // Written by the admin (docs/kubernetes.md), never committed.
            ++admin_files;
            EXPECT_NE(ReadFileOrDie(SourceDir() + "/deploy/k8s/.gitignore").find("tokens.txt"),
                      std::string::npos);
            continue;
          }
          EXPECT_TRUE(fs::exists(dir / file)) << p << ": " << gen << " file " << file << " does not exist";
        }
      }
    }
  }
  EXPECT_GE(files, 15);
  EXPECT_GE(kustomizations, 6);  // base, cpu, gpu, components/monitoring, grafana, prometheus
  EXPECT_EQ(admin_files, 2);     // the cpu and gpu overlays' token secretGenerators
}

// The coordinator config of base and overlays is valid for flyp-coordinator.
TEST(K8sManifests, CoordinatorConfigsAreAcceptedByTheCoordinator) {
  for (const char* rel : {"base", "overlays/cpu", "overlays/gpu"}) {
    const std::string path = SourceDir() + "/deploy/k8s/" + rel + "/coordinator.yaml";
    coord::CoordinatorConfig c;
    Status s = coord::ApplyConfigYaml(ReadFileOrDie(path), path, &c);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_TRUE(coord::ValidateCoordinatorConfig(c).ok()) << path;
    EXPECT_EQ(c.launcher, coord::LauncherKind::kKubernetes) << path;
    EXPECT_EQ(c.k8s_mount_path, "/var/lib/flyp");
    EXPECT_EQ(c.artifact_root.rfind("/var/lib/flyp/", 0), 0u) << "artifacts must be on the shared volume";
    EXPECT_EQ(c.db_path.rfind("/var/lib/flyp-state/", 0), 0u)
        << "the SQLite database lives on its own ReadWriteOnce volume, never on the shared one";
    EXPECT_EQ(c.k8s_pvc, "flyp-data");
    EXPECT_EQ(c.token_file, "/etc/flyp/tokens/tokens.txt");
  }
}

std::map<std::string, YAML::Node> ByName(const YAML::Node& list, const char* key = "name") {
  std::map<std::string, YAML::Node> out;
  for (const auto& e : list) out.emplace(e[key].as<std::string>(), YAML::Node(e));
  return out;
}

void CheckRendered(const std::vector<YAML::Node>& objs, const std::string& image, int gpus, bool monitoring) {
  const YAML::Node ns = Find(objs, "Namespace", "flyp");
  EXPECT_EQ(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"].as<std::string>(), "restricted");
  const YAML::Node dep = Find(objs, "Deployment", "flyp-coordinator");
  ASSERT_TRUE(dep.IsMap());
  EXPECT_EQ(dep["metadata"]["namespace"].as<std::string>(), "flyp");
  EXPECT_EQ(dep["spec"]["strategy"]["type"].as<std::string>(), "Recreate");
  EXPECT_EQ(dep["spec"]["replicas"].as<int>(), 1);
  const YAML::Node pod = dep["spec"]["template"];
  EXPECT_EQ(pod["metadata"]["annotations"]["prometheus.io/scrape"].as<std::string>(), "true");
  EXPECT_EQ(pod["metadata"]["annotations"]["prometheus.io/port"].as<std::string>(), "9464");
  EXPECT_EQ(pod["spec"]["serviceAccountName"].as<std::string>(), "flyp-coordinator");
  EXPECT_TRUE(pod["spec"]["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_EQ(pod["spec"]["securityContext"]["seccompProfile"]["type"].as<std::string>(), "RuntimeDefault");
  const YAML::Node c = pod["spec"]["containers"][0];
  EXPECT_EQ(c["image"].as<std::string>(), image);
  EXPECT_EQ(c["command"][0].as<std::string>(), "flyp-coordinator");
  EXPECT_EQ(c["readinessProbe"]["grpc"]["port"].as<int>(), 50051);
  EXPECT_EQ(c["livenessProbe"]["grpc"]["port"].as<int>(), 50051);
  EXPECT_TRUE(c["resources"]["requests"]["cpu"]);
  EXPECT_FALSE(c["securityContext"]["allowPrivilegeEscalation"].as<bool>());
  EXPECT_EQ(c["securityContext"]["capabilities"]["drop"][0].as<std::string>(), "ALL");
  auto volumes = ByName(pod["spec"]["volumes"]);
  auto mounts = ByName(c["volumeMounts"]);
  EXPECT_EQ(volumes["data"]["persistentVolumeClaim"]["claimName"].as<std::string>(), "flyp-data");
  EXPECT_EQ(volumes["state"]["persistentVolumeClaim"]["claimName"].as<std::string>(), "flyp-state");
  const std::string secret = volumes["tokens"]["secret"]["secretName"].as<std::string>();
  EXPECT_EQ(secret.rfind("flyp-tokens-", 0), 0u)
      << "the generated Secret (name hash) is referenced: " << secret;
  // The referenced ConfigMap (with its hash suffix) holds the overlay's config.
  const YAML::Node cm = Find(objs, "ConfigMap", volumes["config"]["configMap"]["name"].as<std::string>());
  coord::CoordinatorConfig cfg;
  ASSERT_TRUE(
      coord::ApplyConfigYaml(cm["data"]["coordinator.yaml"].as<std::string>(), "rendered", &cfg).ok());
  EXPECT_EQ(cfg.k8s_image, image) << "ranks must run the coordinator's image";
  EXPECT_EQ(cfg.gpus, gpus);
  if (gpus > 0) {  // cuda jobs on the GPU node pool, with cpu and memory per GPU
    EXPECT_EQ(cfg.k8s_cuda_defaults.node_selector().at("flyp.dev/pool"), "gpu");
    EXPECT_EQ(cfg.k8s_cuda_defaults.tolerations(0).key(), "nvidia.com/gpu");
    EXPECT_TRUE(cfg.k8s_cuda_defaults.has_memory_request());
  }
  // The database's folder is the state volume; data and artifacts the shared one.
  EXPECT_EQ(mounts["state"]["mountPath"].as<std::string>(), fs::path(cfg.db_path).parent_path().string());
  EXPECT_EQ(mounts["data"]["mountPath"].as<std::string>(), cfg.k8s_mount_path);
  EXPECT_EQ(mounts["tokens"]["mountPath"].as<std::string>(), fs::path(cfg.token_file).parent_path().string());
  const YAML::Node tokens = Find(objs, "Secret", secret);
  EXPECT_EQ(tokens["metadata"]["namespace"].as<std::string>(), "flyp");
  const YAML::Node data_pvc = Find(objs, "PersistentVolumeClaim", "flyp-data");
  EXPECT_EQ(data_pvc["spec"]["accessModes"][0].as<std::string>(), "ReadWriteMany");
  const YAML::Node state_pvc = Find(objs, "PersistentVolumeClaim", "flyp-state");
  EXPECT_EQ(state_pvc["spec"]["accessModes"][0].as<std::string>(), "ReadWriteOnce");
  Find(objs, "Service", "flyp-coordinator");
  const YAML::Node role = Find(objs, "Role", "flyp-coordinator");
  std::set<std::string> granted;
  for (const auto& rule : role["rules"]) {
    for (const auto& res : rule["resources"]) {
      for (const auto& verb : rule["verbs"])
        granted.insert(res.as<std::string>() + ":" + verb.as<std::string>());
    }
  }
  for (const char* need : {"mpijobs:create", "mpijobs:get", "mpijobs:watch", "mpijobs:delete", "pods:list",
                           "pods:watch", "pods/log:get", "secrets:create"}) {
    EXPECT_TRUE(granted.count(need)) << need;
  }
  const YAML::Node rb = Find(objs, "RoleBinding", "flyp-coordinator");
  EXPECT_EQ(rb["subjects"][0]["name"].as<std::string>(), "flyp-coordinator");
  if (!monitoring) return;
  // kube-prometheus-stack's defaults: monitors labelled with the Helm release,
  // the dashboard labelled for the sidecar in Grafana's namespace.
  for (const char* kind : {"ServiceMonitor", "PodMonitor"}) {
    const YAML::Node m = Find(objs, kind, "flyp-");
    EXPECT_EQ(m["metadata"]["labels"]["release"].as<std::string>(), "kube-prometheus-stack") << kind;
    EXPECT_EQ(m["metadata"]["namespace"].as<std::string>(), "flyp") << kind;
  }
  const YAML::Node pm = Find(objs, "PodMonitor", "flyp-workers");
  EXPECT_EQ(pm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/managed-by"].as<std::string>(),
            "flyp-coordinator");
  EXPECT_TRUE(pm["spec"]["podMetricsEndpoints"][0]["honorLabels"].as<bool>());
  EXPECT_EQ(pm["spec"]["podMetricsEndpoints"][0]["relabelings"][0]["regex"].as<std::string>(),
            "metrics(-[0-9]+)?");
  const YAML::Node dash = Find(objs, "ConfigMap", "flyp-grafana-dashboard");
  EXPECT_EQ(dash["metadata"]["labels"]["grafana_dashboard"].as<std::string>(), "1");
  EXPECT_EQ(dash["metadata"]["namespace"].as<std::string>(), "monitoring");
  for (const auto& o : objs) {
    EXPECT_NE(o["metadata"]["name"].as<std::string>(), "flyp-monitoring")
        << "local-config knobs are not applied";
  }
}

TEST(K8sManifests, BaseFilesCarryWhatTheLauncherNeeds) {
  std::vector<YAML::Node> objs;
  for (const char* f :
       {"namespace", "serviceaccount", "role", "rolebinding", "pvc", "deployment", "service"}) {
    const std::string p = SourceDir() + "/deploy/k8s/base/" + f + ".yaml";
    for (const auto& o : Objects(LoadAll(ReadFileOrDie(p), p))) objs.push_back(o);
    EXPECT_EQ(ReadFileOrDie(p).find("kind: Secret"), std::string::npos) << p << ": no credential in the base";
  }
  const YAML::Node pvc = Find(objs, "PersistentVolumeClaim", "flyp-data");
  EXPECT_EQ(pvc["spec"]["accessModes"][0].as<std::string>(), "ReadWriteMany");
  const YAML::Node dep = Find(objs, "Deployment", "flyp-coordinator");
  EXPECT_EQ(dep["spec"]["strategy"]["type"].as<std::string>(), "Recreate");
  EXPECT_EQ(dep["spec"]["replicas"].as<int>(), 1);
}

std::string Kustomize(const std::string& dir, int* rc) {
  const std::string out = TempDir() + "/rendered.yaml";
  int r = std::system(("kubectl kustomize " + dir + " > " + out + " 2>&1").c_str());
  *rc = WIFEXITED(r) ? WEXITSTATUS(r) : -1;
  return ReadFileOrDie(out);
}

TEST(K8sManifests, OverlaysRenderWithKubectlKustomize) {
  if (std::system("kubectl version --client > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "kubectl not installed: rendering not checked (the file-level tests above still run)";
  }
  // What an admin does: a copy of deploy/ with a token file per overlay.
  const fs::path site = TempDir() + "/site";
  fs::remove_all(site);
  fs::create_directories(site);
  fs::copy(SourceDir() + "/deploy", site / "deploy", fs::copy_options::recursive);
  struct Case {
    const char* overlay;
    const char* image;
    int gpus;
    bool monitoring;
  };
  for (const Case& c : {Case{"cpu", "ghcr.io/example/flyp:0.1.0", 0, false},
                        Case{"gpu", "ghcr.io/example/flyp:0.1.0-cuda", 8, true}}) {
    SCOPED_TRACE(c.overlay);
    const fs::path dir = site / "deploy/k8s/overlays" / c.overlay;
    std::ofstream(dir / "tokens.txt") << "5d41402abc4b2a76b9719d911017c592 admin\n";
    int rc;
    const std::string text = Kustomize(dir.string(), &rc);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_EQ(text.find("5d41402abc4b2a76b9719d911017c592"), std::string::npos)
        << "only base64 in the Secret";
    CheckRendered(Objects(LoadAll(text, c.overlay)), c.image, c.gpus, c.monitoring);
  }
}

TEST(PrometheusConfig, LocalConfigPassesPromtoolAndK8sConfigKeepsAnnotatedPods) {
  const std::string local = SourceDir() + "/deploy/prometheus/prometheus.yml";
  EXPECT_EQ(std::system(("promtool check config " + local + " > /dev/null 2>&1").c_str()), 0);
  // Debian's promtool lacks Kubernetes service discovery, so the k8s variant
  // is checked structurally.
  const std::string k8s = SourceDir() + "/deploy/prometheus/prometheus-k8s.yml";
  YAML::Node cfg = YAML::LoadFile(k8s);
  bool pods = false;
  for (const auto& job : cfg["scrape_configs"]) {
    if (job["kubernetes_sd_configs"][0]["role"].as<std::string>() != "pod") continue;
    pods = true;
    EXPECT_TRUE(job["honor_labels"].as<bool>()) << "worker job/rank labels must survive";
    bool keep = false, port = false;
    for (const auto& r : job["relabel_configs"]) {
      const std::string src = r["source_labels"][r["source_labels"].size() - 1].as<std::string>();
      if (src == "__meta_kubernetes_pod_annotation_prometheus_io_scrape" &&
          r["action"].as<std::string>() == "keep")
        keep = true;
      if (src == "__meta_kubernetes_pod_annotation_prometheus_io_port" &&
          r["target_label"].as<std::string>() == "__address__")
        port = true;
    }
    EXPECT_TRUE(keep);
    EXPECT_TRUE(port);
  }
  EXPECT_TRUE(pods);
}

}  // namespace
}  // namespace flyp::testing
