// Unit tests of the small pure pieces: spec path confinement, tokens, config,
// exit classification, backoff, log line tags.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>

#include "coordinator/auth.h"
#include "coordinator/config.h"
#include "coordinator/launcher/launcher.h"
#include "coordinator/launcher/local_launcher.h"
#include "coordinator/service/log_lines.h"
#include "coordinator/spec_paths.h"
#include "tests/testing/test_env.h"

namespace flyp::coord {
namespace {

TEST(SpecPathsTest, RelativeAndInsidePathsResolve) {
  std::string root = testing::TempDir() + "/data";
  std::filesystem::create_directories(root + "/fm");
  v1::JobSpec spec;
  spec.mutable_model()->set_checkpoint("ckpt/base.safetensors");
  spec.mutable_model()->set_vocab("byte");
  spec.mutable_data()->mutable_train()->set_path(root + "/fm/../fm/file.bin");
  ASSERT_TRUE(ResolveSpecPaths({"/nonexistent-root", root}, &spec).ok());
  EXPECT_EQ(spec.model().checkpoint(), "/nonexistent-root/ckpt/base.safetensors");  // first root
  EXPECT_EQ(spec.model().vocab(), "byte");
  EXPECT_EQ(spec.data().train().path(), std::filesystem::canonical(root).string() + "/fm/file.bin");
}

TEST(SpecPathsTest, EscapesAreRefusedWithFieldPaths) {
  std::string root = testing::TempDir() + "/data2";
  std::filesystem::create_directories(root);
  root = std::filesystem::canonical(root).string();
  std::filesystem::create_directory_symlink("/etc", root + "/etc-link");
  v1::JobSpec spec;
  spec.mutable_model()->set_checkpoint("../../etc/passwd");
  spec.mutable_model()->set_vocab("/etc/vocab.txt");
  spec.mutable_data()->add_ood()->set_path("etc-link/x");
  spec.mutable_data()->mutable_id_val()->set_path(root + "/ok");
  v1::JobSpec before = spec;
  Status s = ResolveSpecPaths({root}, &spec);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "model.checkpoint: path '../../etc/passwd' is outside the data roots (" + root +
                             ")\n"
                             "model.vocab: path '/etc/vocab.txt' is outside the data roots (" +
                             root +
                             ")\n"
                             "data.ood[0].path: path 'etc-link/x' is outside the data roots (" +
                             root + ")\n");
  EXPECT_EQ(spec.model().checkpoint(), before.model().checkpoint());  // untouched on error
  // A root that is a prefix string of another directory does not contain it.
  v1::JobSpec sibling;
  sibling.mutable_model()->set_checkpoint(root + "-evil/x");
  EXPECT_FALSE(ResolveSpecPaths({root}, &sibling).ok());
  v1::JobSpec none;
  none.mutable_model()->set_checkpoint("x");
  EXPECT_NE(ResolveSpecPaths({}, &none).message().find("no data roots"), std::string::npos);
}

// A symlink that dangled at submit time was accepted (weakly_canonical
// stops at the first missing component) and later followed outside.
TEST(SpecPathsTest, DanglingLinksAreFollowedToTheirTarget) {
  std::string root = testing::TempDir() + "/data3";
  std::filesystem::create_directories(root + "/sub");
  root = std::filesystem::canonical(root).string();
  std::filesystem::create_symlink("/nonexistent-outside/ckpt.safetensors", root + "/later");
  std::filesystem::create_symlink("../../nowhere/x", root + "/sub/rel-later");
  std::filesystem::create_symlink(root + "/sub/not-yet", root + "/inside-later");
  for (const char* p : {"later", "sub/rel-later"}) {
    v1::JobSpec spec;
    spec.mutable_model()->set_checkpoint(p);
    Status s = ResolveSpecPaths({root}, &spec);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << p;
  }
  v1::JobSpec ok;
  ok.mutable_model()->set_checkpoint("inside-later");
  ASSERT_TRUE(ResolveSpecPaths({root}, &ok).ok());
  EXPECT_EQ(ok.model().checkpoint(), root + "/sub/not-yet");
  v1::JobSpec missing;  // plain missing files stay allowed (a dataset may appear before the job runs)
  missing.mutable_model()->set_checkpoint("sub/new/file");
  ASSERT_TRUE(ResolveSpecPaths({root}, &missing).ok());
  EXPECT_EQ(missing.model().checkpoint(), root + "/sub/new/file");
}

TEST(TokenAuthTest, ParsesAndAuthenticates) {
  auto auth =
      TokenAuth::Parse("# tokens\ns3cret alice\n\nt0ken bob  # ops\nr00t carol admin\n", "tokens.txt");
  ASSERT_TRUE(auth.ok()) << auth.status();
  std::string h = "Bearer s3cret";
  EXPECT_EQ(auth->Authenticate(&h)->name, "alice");
  EXPECT_EQ(auth->Authenticate(&h)->role, Role::kUser);  // the default role
  h = "Bearer r00t";
  EXPECT_EQ(auth->Authenticate(&h)->name, "carol");
  EXPECT_EQ(auth->Authenticate(&h)->role, Role::kAdmin);
  h = "Bearer nope";
  EXPECT_EQ(auth->Authenticate(&h).status().code(), StatusCode::kUnauthenticated);
  h = "s3cret";
  EXPECT_EQ(auth->Authenticate(&h).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth->Authenticate(nullptr).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(TokenAuth::Parse("a b c\n", "t").status().message(), "t:1: role must be admin or user (got 'c')");
  EXPECT_EQ(TokenAuth::Parse("a b user x\n", "t").status().message(),
            "t:1: expected 'TOKEN NAME [admin|user]'");
  EXPECT_EQ(TokenAuth::Parse("a\n", "t").status().message(), "t:1: expected 'TOKEN NAME [admin|user]'");
  EXPECT_EQ(TokenAuth::Parse("a b\na c\n", "t").status().message(), "t:2: duplicate token");
  EXPECT_EQ(TokenAuth().Authenticate(nullptr)->name, "anonymous");
  EXPECT_EQ(TokenAuth().Authenticate(nullptr)->role, Role::kAdmin);  // auth off: one user, who sees all
  Principal alice{"alice", Role::kUser}, root{"root", Role::kAdmin};
  EXPECT_TRUE(alice.MaySee("alice"));
  EXPECT_FALSE(alice.MaySee("bob"));
  EXPECT_TRUE(root.MaySee("bob"));
}

// A coordinator never starts with a documentation token (the old base
// manifest shipped "change-me-admin-token").
TEST(TokenAuthTest, RefusesEmptyAndPlaceholderTokens) {
  EXPECT_EQ(TokenAuth::Parse("# TOKEN NAME\n\n", "tokens.txt").status().message(), "tokens.txt: no tokens");
  EXPECT_EQ(
      TokenAuth::Parse("ok-token alice\nchange-me-admin-token admin\n", "tokens.txt").status().message(),
      "tokens.txt:2: the token of 'admin' is a placeholder (contains 'change-me'), not a secret; write a "
      "random one, e.g. openssl rand -hex 32");
  for (const char* t : {"CHANGEME", "<token>", "my-example-token", "REPLACE_ME", "Token", "placeholder1"}) {
    auto a = TokenAuth::Parse(std::string(t) + " admin\n", "t");
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument) << t;
  }
  EXPECT_TRUE(TokenAuth::Parse("3f9c2a7d1e0b4c6a8d5e2f1a0b9c8d7e admin\n", "t").ok());
}

TEST(ConfigTest, FileThenFlags) {
  std::string path = testing::TempDir() + "/coord.yaml";
  std::ofstream(path) << "listen: 127.0.0.1:9\ncpu_slots: 8\ndata_roots: [/a, /b]\ngrace_period_s: 2.5\n";
  auto c = ParseCoordinatorConfig({"--config", path, "--cpu-slots=3", "--data-root", "/c"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "127.0.0.1:9");
  EXPECT_EQ(c->cpu_slots, 3);
  EXPECT_EQ(c->data_roots, (std::vector<std::string>{"/c"}));
  EXPECT_DOUBLE_EQ(c->grace_period_s, 2.5);
  EXPECT_DOUBLE_EQ(c->start_timeout_s, 600);
  EXPECT_DOUBLE_EQ(ParseCoordinatorConfig({"--start-timeout-s=0"})->start_timeout_s, 0);
  EXPECT_EQ(ParseCoordinatorConfig({"--start-timeout-s=-1"}).status().message(),
            "start-timeout-s: must be >= 0 (0: no limit)\n");
  EXPECT_EQ(ParseCoordinatorConfig({"--cpu-slots", "x"}).status().message(),
            "--cpu-slots: cpu-slots: expected an integer, got 'x'");
  EXPECT_EQ(ParseCoordinatorConfig({"--frobnicate", "1"}).status().message(), "unknown flag --frobnicate");
  EXPECT_EQ(ParseCoordinatorConfig({"--cpu-slot", "1"}).status().message(),
            "unknown flag --cpu-slot; did you mean --cpu-slots?");
  EXPECT_EQ(
      ParseCoordinatorConfig({"--launcher", "lsf"}).status().message(),
      "--launcher: launcher: unknown launcher 'lsf' (expected one of: local, hosts, kubernetes, slurm)");
  std::ofstream(path) << "cpu_slot: 8\n";
  EXPECT_EQ(ParseCoordinatorConfig({"--config", path}).status().message(),
            path + ": cpu_slot: unknown option");
}

// Kubernetes ranks mount their artifact folder and each data root as
// subPaths of the shared claim: both must be inside its mount path.
TEST(ConfigTest, KubernetesPathsMustBeOnTheSharedVolume) {
  const std::vector<std::string> base = {"--launcher=kubernetes", "--k8s-image=img",
                                         "--artifact-root=/var/lib/flyp/artifacts"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return ParseCoordinatorConfig(args);
  };
  EXPECT_TRUE(with({"--data-root=/var/lib/flyp/data"}).ok());
  EXPECT_EQ(with({"--data-root=/srv/data"}).status().message(),
            "data-root: must be a folder under k8s-mount-path '/var/lib/flyp' (got '/srv/data')\n");
  EXPECT_EQ(
      with({"--artifact-root=/var/lib/flypx/a"}).status().message(),
      "artifact-root: must be a folder under k8s-mount-path '/var/lib/flyp' (got '/var/lib/flypx/a')\n");
  EXPECT_TRUE(with({"--k8s-mount-path=/srv", "--artifact-root=/srv/a", "--data-root=/srv/d"}).ok());
  // The local launcher does not care.
  EXPECT_TRUE(ParseCoordinatorConfig({"--data-root=/srv/data"}).ok());
}

// Cluster-wide resources.kubernetes defaults: a YAML mapping in the file, an
// inline one as a flag, checked as a spec's block is.
TEST(ConfigTest, KubernetesDefaultsAreSpecBlocks) {
  CoordinatorConfig c;
  ASSERT_TRUE(
      ApplyConfigYaml("k8s_cuda_defaults:\n"
                      "  node_selector: {flyp.dev/pool: gpu}\n"
                      "  tolerations: [{key: nvidia.com/gpu, operator: exists, effect: no_schedule}]\n"
                      "  cpu_request: \"8\"\n"
                      "k8s_defaults: {priority_class: training}\n",
                      "f.yaml", &c)
          .ok());
  EXPECT_EQ(c.k8s_cuda_defaults.node_selector().at("flyp.dev/pool"), "gpu");
  EXPECT_EQ(c.k8s_cuda_defaults.tolerations(0).effect(), v1::TAINT_EFFECT_NO_SCHEDULE);
  EXPECT_EQ(c.k8s_cuda_defaults.cpu_request(), "8");
  EXPECT_EQ(c.k8s_defaults.priority_class(), "training");
  auto flags =
      ParseCoordinatorConfig({"--k8s-defaults", "{memory_request: 4Gi, image_pull_secrets: [regcred]}"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->k8s_defaults.memory_request(), "4Gi");
  EXPECT_EQ(flags->k8s_defaults.image_pull_secrets(0), "regcred");
  EXPECT_EQ(
      ApplyConfigYaml("k8s_defaults: {cpu_request: 4cores}\n", "f.yaml", &c).message(),
      "f.yaml: k8s-defaults.cpu_request: '4cores' is not a Kubernetes quantity (unknown suffix 'cores'; e.g. "
      "4, 500m, 16Gi)");
  EXPECT_EQ(ApplyConfigYaml("k8s_cuda_defaults: {nodeSelector: {a: b}}\n", "f.yaml", &c).message(),
            "f.yaml: k8s-cuda-defaults.nodeSelector: unknown field; did you mean node_selector?");
  EXPECT_EQ(ApplyConfigYaml("cpu_slots: {a: b}\n", "f.yaml", &c).message(),
            "f.yaml: cpu_slots: expected a value");
}

TEST(ConfigTest, LauncherKindIsAnEnumWithTheOldNames) {
  EXPECT_EQ(CoordinatorConfig().launcher, LauncherKind::kLocal);
  auto k8s = ParseCoordinatorConfig(
      {"--launcher=kubernetes", "--k8s-image", "img", "--artifact-root", "/var/lib/flyp/artifacts"});
  ASSERT_TRUE(k8s.ok()) << k8s.status();
  EXPECT_EQ(k8s->launcher, LauncherKind::kKubernetes);
  CoordinatorConfig c;
  ASSERT_TRUE(ApplyConfigYaml("launcher: local\n", "f.yaml", &c).ok());
  EXPECT_EQ(c.launcher, LauncherKind::kLocal);
  ASSERT_TRUE(ApplyConfigYaml("launcher: kubernetes\n", "f.yaml", &c).ok());
  EXPECT_EQ(c.launcher, LauncherKind::kKubernetes);
  EXPECT_EQ(ApplyConfigYaml("launcher: Local\n", "f.yaml", &c).message(),
            "f.yaml: launcher: unknown launcher 'Local' (expected one of: local, hosts, kubernetes, slurm)");
  for (LauncherKind k :
       {LauncherKind::kLocal, LauncherKind::kHosts, LauncherKind::kKubernetes, LauncherKind::kSlurm}) {
    auto back = ParseLauncherKind(LauncherKindName(k));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, k);
  }
}

TEST(ConfigTest, SlurmSettings) {
  std::string path = testing::TempDir() + "/slurm.yaml";
  std::ofstream(path) << "launcher: slurm\nslurm_partition: gpu\nslurm_account: vision\nslurm_qos: high\n"
                         "slurm_bin_dir: /opt/slurm/bin\nslurm_mpi: pmix_v4\nslurm_poll_s: 0.5\n";
  auto c = ParseCoordinatorConfig({"--config", path, "--slurm-qos=low"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->launcher, LauncherKind::kSlurm);
  EXPECT_EQ(c->slurm_partition, "gpu");
  EXPECT_EQ(c->slurm_account, "vision");
  EXPECT_EQ(c->slurm_qos, "low");
  EXPECT_EQ(c->slurm_bin_dir, "/opt/slurm/bin");
  EXPECT_EQ(c->slurm_mpi, "pmix_v4");
  EXPECT_DOUBLE_EQ(c->slurm_poll_s, 0.5);
  EXPECT_EQ(CoordinatorConfig().slurm_mpi, "pmix");
  EXPECT_EQ(ParseCoordinatorConfig({"--slurm-poll-s", "0"}).status().message(),
            "slurm-poll-s: must be > 0\n");
  EXPECT_EQ(ParseCoordinatorConfig({"--slurm-mpi="}).status().message(),
            "slurm-mpi: must name srun's MPI plugin (e.g. pmix)\n");
}

TEST(ConfigTest, AddressesAndTlsSettingsAreCheckedTogether) {
  auto message = [](std::vector<std::string> args) {
    return ParseCoordinatorConfig(args).status().message();
  };
  EXPECT_EQ(message({"--metrics-listen", "9464"}),
            "metrics-listen: address '9464': expected host:port (or 'off')\n");
  EXPECT_EQ(message({"--metrics-listen", "0.0.0.0:http"}),
            "metrics-listen: address '0.0.0.0:http': port must be a number 0..65535 (or 'off')\n");
  EXPECT_TRUE(ParseCoordinatorConfig({"--metrics-listen", "off"}).ok());
  EXPECT_TRUE(ParseCoordinatorConfig({"--metrics-listen", "[::1]:0"}).ok());
  EXPECT_EQ(message({"--listen", "localhost"}), "listen: address 'localhost': expected host:port\n");
  EXPECT_EQ(message({"--advertise-address", "coordinator:0"}),
            "advertise-address: 'coordinator:0' must be host:port with a port 1..65535\n");
  EXPECT_EQ(
      message({"--tls-cert", "c.pem", "--tls-key", "k.pem"}),
      "worker-tls-ca: required with tls-cert (ranks report to the coordinator over TLS and need the CA that "
      "signed tls-cert)\n");
  EXPECT_EQ(message({"--worker-tls-ca", "ca.pem"}),
            "worker-tls-ca: set without tls-cert (the coordinator serves plaintext)\n");
  EXPECT_EQ(message({"--worker-tls-server-name", "coordinator"}),
            "worker-tls-server-name: needs worker-tls-ca\n");
  auto tls = ParseCoordinatorConfig({"--tls-cert", "c.pem", "--tls-key", "k.pem", "--worker-tls-ca", "ca.pem",
                                     "--worker-tls-server-name", "coordinator.flyp"});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ(tls->worker_tls_ca, "ca.pem");
  EXPECT_EQ(tls->worker_tls_server_name, "coordinator.flyp");
}

TEST(LocalLauncherTest, ForwardsTheCoordinatorCaOnlyWhenConfigured) {
  LocalLauncherOptions o;
  o.mpirun = "/usr/bin/mpirun";
  o.worker_binary = "/opt/flyp/flyp-worker";
  LaunchRequest req;
  req.world_size = 2;
  req.spec_path = "/a/spec.yaml";
  auto forwarded = [](const std::vector<std::string>& argv) {
    std::set<std::string> names;
    for (size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] == "-x") names.insert(argv[i + 1]);
    }
    return names;
  };
  const std::set<std::string> plain = {"FLYP_JOB_ID", "FLYP_COORDINATOR", "FLYP_WORKER_TOKEN",
                                       "FLYP_ARTIFACT_DIR", "FLYP_ATTEMPT"};
  const auto names = forwarded(LocalLauncher(o).Argv(req));
  for (const std::string& n : plain) EXPECT_TRUE(names.count(n)) << n;
  EXPECT_FALSE(names.count("FLYP_COORDINATOR_CA"));
  EXPECT_FALSE(LocalLauncher(o).LaunchEnvironment(req).count("FLYP_COORDINATOR_CA"));
  o.coordinator_ca = "/etc/flyp/ca.pem";
  o.coordinator_server_name = "coordinator.test";
  const std::vector<std::string> argv = LocalLauncher(o).Argv(req);
  EXPECT_TRUE(forwarded(argv).count("FLYP_COORDINATOR_CA"));
  EXPECT_TRUE(forwarded(argv).count("FLYP_COORDINATOR_SERVER_NAME"));
  EXPECT_EQ(LocalLauncher(o).LaunchEnvironment(req).at("FLYP_COORDINATOR_CA"), "/etc/flyp/ca.pem");
  EXPECT_EQ(std::vector<std::string>(argv.end() - 3, argv.end()),
            (std::vector<std::string>{"/opt/flyp/flyp-worker", "--spec", "/a/spec.yaml"}));
}

TEST(ExitPolicyTest, ClassifiesAndBacksOff) {
  EXPECT_EQ(ClassifyExit({0, 0}, false), ExitClass::kSucceeded);
  EXPECT_EQ(ClassifyExit({3, 0}, false), ExitClass::kPermanent);
  EXPECT_EQ(ClassifyExit({4, 0}, false), ExitClass::kPermanent);
  EXPECT_EQ(ClassifyExit({5, 0}, false), ExitClass::kPermanent);  // rank 0 cannot verify the coordinator
  EXPECT_EQ(ClassifyExit({1, 0}, false), ExitClass::kRetryable);
  EXPECT_EQ(ClassifyExit({1, 0}, true), ExitClass::kPermanent);
  EXPECT_EQ(ClassifyExit({0, 9}, false), ExitClass::kRetryable);
  EXPECT_EQ(BackoffMillis(1, 1000, 60000), 1000);
  EXPECT_EQ(BackoffMillis(2, 1000, 60000), 2000);
  EXPECT_EQ(BackoffMillis(4, 1000, 60000), 8000);
  EXPECT_EQ(BackoffMillis(30, 1000, 60000), 60000);
}

TEST(LogLinesTest, RanksFromTags) {
  v1::LogLine l = ParseWorldLogLine("[1,12]<stdout>:step 5 loss 0.5");
  EXPECT_EQ(l.rank(), 12);
  EXPECT_EQ(l.text(), "step 5 loss 0.5");
  l = ParseWorldLogLine("[1,0]<stderr>:");
  EXPECT_EQ(l.rank(), 0);
  EXPECT_EQ(l.text(), "");
  l = ParseWorldLogLine("mpirun noticed that process rank 1 ...");
  EXPECT_EQ(l.rank(), -1);
  EXPECT_EQ(ParseWorldLogLine("[x,1]<stdout>:a").rank(), -1);
  EXPECT_EQ(ParseWorldLogLine("[1,1] no tag").rank(), -1);
}

// A Slurm world's log: srun --label, the rank padded to the largest's width.
TEST(LogLinesTest, RanksFromSrunLabels) {
  v1::LogLine l = ParseWorldLogLine("1: step 3/6 (50.0%) loss 4.4");
  EXPECT_EQ(l.rank(), 1);
  EXPECT_EQ(l.text(), "step 3/6 (50.0%) loss 4.4");
  l = ParseWorldLogLine(" 3: x");
  EXPECT_EQ(l.rank(), 3);
  EXPECT_EQ(l.text(), "x");
  EXPECT_EQ(ParseWorldLogLine("12: ").rank(), 12);
  for (const char* untagged :
       {"srun: error: h1: task 0: Exited with exit code 4",
        "[coordinator] submitted attempt 1 as Slurm job 7", "12:30 done", "3:x", ": x", "99999999999: x"}) {
    l = ParseWorldLogLine(untagged);
    EXPECT_EQ(l.rank(), -1) << untagged;
    EXPECT_EQ(l.text(), untagged);
  }
}

// std::stoi threw std::out_of_range here, out of the StreamLogs RPC.
TEST(LogLinesTest, RankBeyondInt32IsAnUntaggedLine) {
  const std::string line = "[1,99999999999]<stdout>:hello";
  v1::LogLine l = ParseWorldLogLine(line);
  EXPECT_EQ(l.rank(), -1);
  EXPECT_EQ(l.text(), line);
  EXPECT_EQ(ParseWorldLogLine("[1,2147483647]<stdout>:x").rank(), 2147483647);
}

// What mpirun --tag-output --timestamp-output wrote for
//   rank 0: printf("a"); sleep; printf("b\n");   rank 1: printf("a"); ... fprintf(stderr, "c 1\n")
// (captured from Open MPI 4.1): the pieces of a rank's line are tagged
// separately and pieces of two ranks share a line of the file.
TEST(LogLinesTest, PiecesOfALineAreReassembledPerRank) {
  WorldLogParser parser;
  std::vector<v1::LogLine> got;
  for (const char* file_line :
       {"Tue Dec  1 22:15:35 2026[1,0]<stdout>:aTue Dec  1 22:15:35 2026[1,1]<stdout>:aTue Dec  1 22:15:35 "
        "2026[1,1]<stderr>:c 1",
        "Tue Dec  1 22:15:36 2026[1,1]<stdout>:b", "Tue Dec  1 22:15:37 2026[1,0]<stdout>:b",
        "mpirun noticed something", "[1,0]<stdout>:untimed"}) {
    for (auto& l : parser.Feed(file_line)) got.push_back(l);
  }
  ASSERT_EQ(got.size(), 5u);
  std::tm tm{};
  strptime("Tue Dec  1 22:15:35 2026", "%a %b %d %H:%M:%S %Y", &tm);
  tm.tm_isdst = -1;
  const int64_t t35 = static_cast<int64_t>(std::mktime(&tm));
  // Rank 1's stderr line ended the first line of the file; its stdout "a"
  // waits for the "b" that ends it.
  EXPECT_EQ(got[0].rank(), 1);
  EXPECT_EQ(got[0].text(), "c 1");
  EXPECT_EQ(got[0].time().seconds(), t35);
  EXPECT_EQ(got[1].rank(), 1);
  EXPECT_EQ(got[1].text(), "ab");
  EXPECT_EQ(got[2].rank(), 0);
  EXPECT_EQ(got[2].text(), "ab");
  EXPECT_EQ(got[2].time().seconds(), t35);  // the time of its first piece
  EXPECT_EQ(got[3].rank(), -1);
  EXPECT_EQ(got[3].text(), "mpirun noticed something");
  EXPECT_EQ(got[3].time().seconds(), t35 + 2);  // untimed: the last time seen
  EXPECT_EQ(got[4].text(), "untimed");
  for (const auto& l : got) EXPECT_EQ(l.text().find("<std"), std::string::npos) << l.text();
  EXPECT_TRUE(parser.Flush().empty());
  parser.Feed("[1,0]<stdout>:half");
  parser.Feed("[1,1]<stdout>:x[1,0]<stdout>:way");  // rank 1's piece ends no line yet
  std::vector<v1::LogLine> rest = parser.Flush();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].rank(), 1);
  EXPECT_EQ(rest[0].text(), "x");
}

}  // namespace
}  // namespace flyp::coord
