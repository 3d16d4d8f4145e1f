// deploy/k8s and the Prometheus configs: every YAML parses; every
// kustomization's resources/files exist; the coordinator Deployment, RBAC,
// PVC, Secret and config carry what the Kubernetes launcher needs; the
// coordinator config is accepted by the coordinator's own parser. When kubectl
// is installed both overlays are rendered with `kubectl kustomize` and the
// rendered objects are checked too (otherwise that test is skipped).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

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
  int files = 0, kustomizations = 0;
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
          EXPECT_TRUE(fs::exists(dir / file)) << p << ": " << gen << " file " << file << " does not exist";
        }
      }
    }
  }
  EXPECT_GE(files, 15);
  EXPECT_GE(kustomizations, 5);  // base, cpu, gpu, grafana, prometheus
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
    EXPECT_EQ(c.db_path.rfind("/var/lib/flyp/", 0), 0u);
    EXPECT_EQ(c.k8s_pvc, "flyp-data");
    EXPECT_EQ(c.token_file, "/etc/flyp/tokens/tokens.txt");
  }
}

void CheckRendered(const std::vector<YAML::Node>& objs, const std::string& image, int gpus) {
  const YAML::Node dep = Find(objs, "Deployment", "flyp-coordinator");
  ASSERT_TRUE(dep.IsMap());
  EXPECT_EQ(dep["metadata"]["namespace"].as<std::string>(), "flyp");
  const YAML::Node pod = dep["spec"]["template"];
  EXPECT_EQ(pod["metadata"]["annotations"]["prometheus.io/scrape"].as<std::string>(), "true");
  EXPECT_EQ(pod["metadata"]["annotations"]["prometheus.io/port"].as<std::string>(), "9464");
  EXPECT_EQ(pod["spec"]["serviceAccountName"].as<std::string>(), "flyp-coordinator");
  EXPECT_TRUE(pod["spec"]["securityContext"]["runAsNonRoot"].as<bool>());
  const YAML::Node c = pod["spec"]["containers"][0];
  EXPECT_EQ(c["image"].as<std::string>(), image);
  EXPECT_EQ(c["command"][0].as<std::string>(), "flyp-coordinator");
  EXPECT_EQ(c["readinessProbe"]["grpc"]["port"].as<int>(), 50051);
  EXPECT_EQ(c["livenessProbe"]["grpc"]["port"].as<int>(), 50051);
  EXPECT_TRUE(c["resources"]["requests"]["cpu"]);
  std::string config_map, pvc, secret;
  for (const auto& v : pod["spec"]["volumes"]) {
    if (v["configMap"]) config_map = v["configMap"]["name"].as<std::string>();
    if (v["persistentVolumeClaim"]) pvc = v["persistentVolumeClaim"]["claimName"].as<std::string>();
    if (v["secret"]) secret = v["secret"]["secretName"].as<std::string>();
  }
  EXPECT_EQ(pvc, "flyp-data");
  EXPECT_EQ(secret, "flyp-tokens");
  // The referenced ConfigMap (with its hash suffix) holds the overlay's config.
  const YAML::Node cm = Find(objs, "ConfigMap", config_map);
  coord::CoordinatorConfig cfg;
  ASSERT_TRUE(
      coord::ApplyConfigYaml(cm["data"]["coordinator.yaml"].as<std::string>(), "rendered", &cfg).ok());
  EXPECT_EQ(cfg.k8s_image, image) << "ranks must run the coordinator's image";
  EXPECT_EQ(cfg.gpus, gpus);
  Find(objs, "PersistentVolumeClaim", "flyp-data");
  Find(objs, "Service", "flyp-coordinator");
  Find(objs, "Secret", "flyp-tokens");
  Find(objs, "Namespace", "flyp");
  Find(objs, "ConfigMap", "flyp-grafana-dashboard");
  Find(objs, "ConfigMap", "flyp-prometheus-config");
  const YAML::Node role = Find(objs, "Role", "flyp-coordinator");
  std::set<std::string> granted;
  for (const auto& rule : role["rules"]) {
    for (const auto& res : rule["resources"]) {
      for (const auto& verb : rule["verbs"])
        granted.insert(res.as<std::string>() + ":" + verb.as<std::string>());
    }
  }
  for (const char* need :
       {"mpijobs:create", "mpijobs:get", "mpijobs:delete", "pods:list", "pods/log:get", "secrets:create"}) {
    EXPECT_TRUE(granted.count(need)) << need;
  }
  const YAML::Node rb = Find(objs, "RoleBinding", "flyp-coordinator");
  EXPECT_EQ(rb["subjects"][0]["name"].as<std::string>(), "flyp-coordinator");
}

TEST(K8sManifests, BaseFilesCarryWhatTheLauncherNeeds) {
  std::vector<YAML::Node> objs;
  for (const char* f :
       {"namespace", "serviceaccount", "role", "rolebinding", "pvc", "secret", "deployment", "service"}) {
    const std::string p = SourceDir() + "/deploy/k8s/base/" + f + ".yaml";
    for (const auto& o : Objects(LoadAll(ReadFileOrDie(p), p))) objs.push_back(o);
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
  struct Case {
    const char* overlay;
    const char* image;
    int gpus;
  };
  for (const Case& c :
       {Case{"cpu", "ghcr.io/example/flyp:0.1.0", 0}, Case{"gpu", "ghcr.io/example/flyp:0.1.0-cuda", 8}}) {
    SCOPED_TRACE(c.overlay);
    int rc;
    const std::string text = Kustomize(SourceDir() + "/deploy/k8s/overlays/" + c.overlay, &rc);
    ASSERT_EQ(rc, 0) << text;
    CheckRendered(Objects(LoadAll(text, c.overlay)), c.image, c.gpus);
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
