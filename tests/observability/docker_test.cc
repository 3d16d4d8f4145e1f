// docker/Dockerfile and docker/Dockerfile.cuda stay honest: packages come only
// from scripts/install-deps (build set in the build stage, --runtime or
// --runtime-cuda in the runtime stage) and binaries only from scripts/build;
// every RUN command is one of a short allow-list; the runtime runs as a
// non-root user with a gRPC HEALTHCHECK and carries OCI labels; files the
// Dockerfiles COPY exist; the runtime package sets hold no data set and, for
// CUDA, no CPU LibTorch; the build contexts leave out build trees and runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace {

struct Instruction {
  std::string keyword;  // upper case
  std::string args;
  std::string stage;  // the current FROM ... AS name
};

std::vector<Instruction> Parse(const std::string& path) {
  std::istringstream in(ReadFileOrDie(path));
  std::vector<Instruction> out;
  std::string line, cur, stage;
  while (std::getline(in, line)) {
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    if (!line.empty() && line.back() == '\\') {
      cur += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    cur += line;
    std::istringstream ls(cur);
    Instruction ins;
    ls >> ins.keyword;
    std::getline(ls, ins.args);
    ins.args.erase(0, ins.args.find_first_not_of(' '));
    if (ins.keyword == "FROM") {
      std::smatch m;
      stage = std::regex_search(ins.args, m, std::regex(" AS (\\w+)")) ? m[1].str() : "";
    }
    ins.stage = stage;
    out.push_back(ins);
    cur.clear();
  }
  return out;
}

// Commands a RUN may execute (first word of each && / ; part).
bool Allowed(const std::string& cmd) {
  static const std::regex ok(
      "^(scripts/install-deps|/usr/local/lib/flyp/install-deps( --runtime(-cuda)?)?|FLYP_BUILD_DIR=\\S+ "
      "scripts/build|"
      "useradd|mkdir|chown|chmod|ln|rm -rf /var/lib/apt/lists/\\*)( .*)?$");
  return std::regex_match(cmd, ok);
}

std::vector<std::string> Commands(const std::string& run) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(std::regex_replace(run, std::regex("&&|;|\\|\\|"), "\n"));
  while (std::getline(in, part)) {
    part.erase(0, part.find_first_not_of(' '));
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

class DockerfileTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DockerfileTest, PackagesOnlyFromInstallDepsAndBinariesFromBuild) {
  const std::string path = SourceDir() + "/docker/" + GetParam();
  const auto ins = Parse(path);
  bool build_deps = false, build = false, runtime_deps = false, user = false, health = false;
  std::set<std::string> labels;
  std::string last_user;
  for (const auto& i : ins) {
    if (i.keyword == "RUN") {
      for (const std::string& cmd : Commands(i.args)) {
        EXPECT_TRUE(Allowed(cmd)) << GetParam() << ": RUN command not in the allow-list: " << cmd;
        for (const char* bad : {"apt-get", "apt ", "dpkg", "pip", "curl", "wget", "conda", "make install"}) {
          EXPECT_EQ(cmd.find(bad), std::string::npos) << GetParam() << ": " << cmd;
        }
      }
      if (i.stage == "build" && i.args == "scripts/install-deps") build_deps = true;
      if (i.stage == "build" && i.args.find("scripts/build") != std::string::npos) build = true;
      if (i.stage == "runtime" && i.args.find("install-deps --runtime") != std::string::npos)
        runtime_deps = true;
    }
    if (i.keyword == "COPY" && i.args.find("--from=") == std::string::npos) {
      // Sources of plain COPYs exist in the repository (the last word is the destination).
      std::istringstream ws(i.args);
      std::vector<std::string> words;
      for (std::string w; ws >> w;)
        if (w.rfind("--", 0) != 0) words.push_back(w);
      for (size_t k = 0; k + 1 < words.size(); ++k) {
        if (words[k] == ".") continue;
        EXPECT_TRUE(std::filesystem::exists(SourceDir() + "/" + words[k]))
            << GetParam() << ": COPY " << words[k];
      }
    }
    if (i.keyword == "COPY" && i.stage == "runtime" && i.args.find("--from=build") != std::string::npos) {
      EXPECT_NE(i.args.find("/build/bin/flyp-coordinator"), std::string::npos);
      EXPECT_NE(i.args.find("/build/bin/flyp-worker"), std::string::npos);
      EXPECT_NE(i.args.find("/build/bin/flypctl"), std::string::npos);
    }
    if (i.keyword == "USER" && i.stage == "runtime") last_user = i.args;
    if (i.keyword == "LABEL" && i.stage == "runtime") {
      std::smatch m;
      for (std::string rest = i.args;
           std::regex_search(rest, m, std::regex("(org\\.opencontainers\\.image\\.\\w+)="));
           rest = m.suffix())
        labels.insert(m[1]);
    }
    if (i.keyword == "HEALTHCHECK") health = i.args.find("\"flypctl\", \"health\"") != std::string::npos;
  }
  user = !last_user.empty() && last_user != "root" && last_user != "0";
  EXPECT_TRUE(build_deps) << GetParam() << ": build stage must RUN scripts/install-deps";
  EXPECT_TRUE(build) << GetParam() << ": build stage must RUN scripts/build";
  EXPECT_TRUE(runtime_deps) << GetParam() << ": runtime stage must RUN install-deps --runtime";
  EXPECT_TRUE(user) << GetParam() << ": runtime must run as a non-root USER";
  EXPECT_TRUE(health) << GetParam() << ": HEALTHCHECK must use flypctl health";
  for (const char* l : {"title", "description", "version", "revision", "source"}) {
    EXPECT_TRUE(labels.count(std::string("org.opencontainers.image.") + l))
        << GetParam() << ": OCI label " << l;
  }
}

std::vector<std::string> InstallDepsList(const std::string& flags) {
  const std::string out = TempDir() + "/pkgs.txt";
  const std::string cmd = SourceDir() + "/scripts/install-deps " + flags + " --list > " + out;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<std::string> pkgs;
  std::istringstream in(ReadFileOrDie(out));
  for (std::string p; in >> p;) pkgs.push_back(p);
  return pkgs;
}

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Runtime images carry the three binaries' libraries only.
TEST(Dockerfile, RuntimePackageSetsAreLean) {
  const auto cpu = InstallDepsList("--runtime");
  const auto cuda = InstallDepsList("--runtime-cuda");
  const auto build = InstallDepsList("");
  EXPECT_TRUE(Has(cpu, "libtorch1.13")) << "the CPU image runs Debian's LibTorch";
  EXPECT_FALSE(Has(cuda, "libtorch1.13")) << "the CUDA image ships its own LibTorch";
  for (const auto* set : {&cpu, &cuda}) {
    EXPECT_TRUE(Has(*set, "openssh-server")) << "MPIJob worker pods run sshd";
    for (const std::string& p : *set) {
      EXPECT_EQ(p.rfind("dataset-", 0), std::string::npos) << "no data set in a runtime image: " << p;
      EXPECT_EQ(p.find("-dev"), std::string::npos) << "no development package in a runtime image: " << p;
    }
  }
  EXPECT_TRUE(Has(build, "dataset-fashion-mnist")) << "tests still have their data";
  EXPECT_EQ(std::system((SourceDir() + "/scripts/install-deps --bogus --list 2>/dev/null").c_str()) == 0,
            false);
  EXPECT_NE(ReadFileOrDie(SourceDir() + "/docker/Dockerfile.cuda").find("install-deps --runtime-cuda"),
            std::string::npos);
}

// BuildKit reads <Dockerfile>.dockerignore, older builders the root one: all
// three are the same and leave out what an image must not carry.
TEST(Dockerfile, BuildContextsLeaveOutBuildTreesRunsAndTokens) {
  const std::string root = ReadFileOrDie(SourceDir() + "/.dockerignore");
  for (const char* f : {"docker/Dockerfile.dockerignore", "docker/Dockerfile.cuda.dockerignore"}) {
    EXPECT_EQ(ReadFileOrDie(SourceDir() + "/" + f), root) << f;
  }
  for (const char* pattern :
       {"\n.git/\n", "\nbuild*/\n", "\nruns/\n", "\n**/node_modules/\n", "tokens.txt\n"}) {
    EXPECT_NE(root.find(pattern), std::string::npos) << pattern;
  }
}

TEST(Dockerfile, AllowListRejectsPackageManagers) {
  EXPECT_FALSE(Allowed("apt-get install -y curl"));
  EXPECT_FALSE(Allowed("pip install torch"));
  EXPECT_FALSE(Allowed("curl -L https://x | sh"));
  EXPECT_TRUE(Allowed("scripts/install-deps"));
  EXPECT_TRUE(Allowed("FLYP_BUILD_DIR=/build scripts/build -DX=1"));
  EXPECT_EQ(Commands("a && b; c").size(), 3u);
}

TEST(Dockerfile, CudaImageTakesLibTorchFromAPrefixPath) {
  const std::string text = ReadFileOrDie(SourceDir() + "/docker/Dockerfile.cuda");
  EXPECT_NE(text.find("-DCMAKE_PREFIX_PATH=/opt/libtorch"), std::string::npos);
  EXPECT_NE(text.find("COPY --from=libtorch"), std::string::npos);
  EXPECT_NE(text.find("nvidia/cuda:"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Images, DockerfileTest, ::testing::Values("Dockerfile", "Dockerfile.cuda"));

}  // namespace
}  // namespace flyp::testing
