// Hostile inputs against every reader and every binary of flyp, each case
// isolated (a child process, a subprocess with a time limit, an RPC with a
// deadline against a real coordinator process) and judged: the expected
// code and a message that names the problem, or a misread, a crash or a
// hang (runner.h). The tally is printed at the end; docs/security.md says
// what each budget is.
//
// Groups (one CTest entry each): Library.{Spec,Checkpoint,Dataset,Tokenizer}
// (library calls in child processes), Binaries (flypctl and flyp-worker
// subcommands), Service (gRPC against a real flyp-coordinator, two
// coordinators on one store or port), Worker (real training runs: output
// folders that cannot be written, a full disk, bad data found while
// training, confinement, resume checks, divergence).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "common/confine.h"
#include "common/numbers.h"
#include "common/spec/job_spec.h"
#include "tests/coordinator/harness.h"
#include "tests/hostile/cases.h"
#include "tests/hostile/runner.h"
#include "tests/testing/test_env.h"
#include "worker/data/test_images.h"
#include "worker/model/checkpoint.h"

namespace flyp::hostile {
namespace {

namespace fs = std::filesystem;

const char kMarker[] = "\n@@hostile-case=";
const char kEndMarker[] = "\n@@hostile-end@@\n";

// The inputs of the library cases, made once by the parent.
const std::string& InputDir() {
  static const std::string dir = [] {
    const std::string d = flyp::testing::TempDir() + "/hostile-inputs";
    fs::create_directories(d);
    MakeInputs(d);
    return d;
  }();
  return dir;
}

// Runs `batch` in one child process (each child spends most of its time
// loading LibTorch, so cases share one) and returns their outcomes. A case
// the child did not finish (it crashed, hung or died in it) is run again
// alone, so every crash or hang is pinned on its own case.
std::vector<Outcome> RunInChild(const std::vector<const LibraryCase*>& batch) {
  std::string ids;
  double timeout_s = 0;
  for (const LibraryCase* c : batch) {
    ids += (ids.empty() ? "" : ",") + c->group + "/" + c->name;
    timeout_s += c->timeout_s;
  }
  const Outcome got = Spawn({"/proc/self/exe", "--hostile-case=" + ids}, timeout_s,
                            {"FLYP_HOSTILE_DIR=" + InputDir(), "FLYP_LOG_LEVEL=error"});
  std::vector<Outcome> out(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const std::string begin = std::string(kMarker) + batch[i]->group + "/" + batch[i]->name + " code=";
    const size_t at = got.message.find(begin);
    const size_t body = at == std::string::npos ? at : got.message.find("@@\n", at + begin.size());
    const size_t end = body == std::string::npos ? body : got.message.find(kEndMarker, body);
    if (end != std::string::npos) {
      out[i].code = std::atoi(got.message.c_str() + at + begin.size());
      const size_t ms = got.message.find(" ms=", at + begin.size());
      // Over its own limit inside a batch is a hang too.
      if (ms < body && std::atof(got.message.c_str() + ms + 4) > batch[i]->timeout_s * 1000) {
        out[i].died = Verdict::kHang;
      }
      out[i].message = got.message.substr(body + 3, end - body - 3);
    } else if (batch.size() > 1) {
      out[i] = RunInChild({batch[i]})[0];
    } else {
      out[i] = got;
      if (out[i].died == Verdict::kOk) out[i].died = Verdict::kCrash;  // exited without reporting
    }
  }
  return out;
}

// Runs the group's cases, in batches on a few children at a time, and judges
// them in table order.
void RunGroup(const std::string& group) {
  std::vector<LibraryCase> cases;
  for (LibraryCase& c : LibraryCases(InputDir())) {
    if (c.group == group) cases.push_back(std::move(c));
  }
  ASSERT_GT(cases.size(), 0u);
  constexpr size_t kBatch = 8;
  std::vector<Outcome> outcomes(cases.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  const unsigned n = std::max(2u, std::min(4u, std::thread::hardware_concurrency()));
  for (unsigned t = 0; t < n; ++t) {
    pool.emplace_back([&] {
      for (size_t first = next.fetch_add(kBatch); first < cases.size(); first = next.fetch_add(kBatch)) {
        std::vector<const LibraryCase*> batch;
        for (size_t i = first; i < std::min(cases.size(), first + kBatch); ++i) batch.push_back(&cases[i]);
        const std::vector<Outcome> got = RunInChild(batch);
        for (size_t i = 0; i < got.size(); ++i) outcomes[first + i] = got[i];
      }
    });
  }
  for (std::thread& t : pool) t.join();
  for (size_t i = 0; i < cases.size(); ++i) {
    const LibraryCase& c = cases[i];
    std::string detail;
    const Verdict v = Judge(outcomes[i], c.want_code, c.want_message, &detail);
    Tally::Get().Add(c.group, v);
    EXPECT_EQ(v, Verdict::kOk) << c.group << "/" << c.name << ": " << detail;
    std::cout << "[ hostile ] " << c.group << "/" << c.name << ": " << VerdictName(v) << "\n";
  }
}

TEST(Library, Spec) { RunGroup("spec"); }
TEST(Library, Checkpoint) { RunGroup("checkpoint"); }
TEST(Library, Dataset) { RunGroup("dataset"); }
TEST(Library, Tokenizer) { RunGroup("tokenizer"); }

// --------------------------------------------------------------- binaries

struct BinaryCase {
  std::string name;
  std::vector<std::string> argv;
  int want_code;
  std::string want_message;
  double timeout_s = 60;
  std::vector<std::string> env = {};
};

void RunBinaryCase(const std::string& group, const BinaryCase& c) {
  const Outcome got = Spawn(c.argv, c.timeout_s, c.env);
  std::string detail;
  Verdict v = Judge(got, c.want_code, c.want_message, &detail);
  // An exception that escaped would print std::terminate's words.
  if (v == Verdict::kOk && got.message.find("terminate called") != std::string::npos) {
    v = Verdict::kCrash;
    detail = "std::terminate: " + got.message.substr(0, 2000);
  }
  Tally::Get().Add(group, v);
  EXPECT_EQ(v, Verdict::kOk) << group << "/" << c.name << ": " << detail;
  std::cout << "[ hostile ] " << group << "/" << c.name << ": " << VerdictName(v) << "\n";
}

std::string Write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

const char kValidSpec[] =
    "model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}\n"
    "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist}}\n";

TEST(Binaries, FlypctlAndWorkerCommands) {
  const std::string d = flyp::testing::TempDir() + "/binaries";
  fs::create_directories(d + "/a-directory");
  ::mkfifo((d + "/fifo.yaml").c_str(), 0600);
  const std::string flypctl = FLYP_FLYPCTL_BIN, worker = FLYP_WORKER_BIN;
  const std::string sigfpe =
      Write(d + "/sigfpe.yaml",
            std::string(kValidSpec) + "resources: {world_size: 65536}\noptim: {accum_steps: 65536}\n");
  const std::string bad_utf8 = Write(d + "/utf8.yaml", "name: caf\xE9\n" + std::string(kValidSpec));
  const std::string big =
      Write(d + "/big.yaml", std::string(kValidSpec) + "# " + std::string(2u << 20, 'x') + "\n");
  const std::string dup =
      Write(d + "/dup.yaml", std::string(kValidSpec) + "optim: {learning_rate: 1}\noptim: {}\n");
  const std::string huge_arch =
      Write(d + "/arch.yaml",
            "model:\n  preset: custom\n  vocab: byte\n  architecture:\n    embed_dim: 64\n"
            "    vision: {width: 16384, layers: 256, heads: 2, patch_size: 8, image_size: 32}\n"
            "    text: {width: 64, layers: 2, heads: 2, context_length: 16, vocab_size: 600}\n");
  std::string word;
  for (int i = 0; i < 100000; ++i) word += static_cast<char>('a' + (i * 31) % 26);
  const std::string clip = flyp::testing::SharedDataDir() + "/clip/bpe_simple_vocab_16e6.txt.gz";
  const std::vector<BinaryCase> cases = {
      {"validate-world-times-accum",
       {flypctl, "validate", sigfpe},
       3,
       "resources.world_size: must be <= 4096"},
      {"validate-invalid-utf8", {flypctl, "validate", bad_utf8}, 3, "invalid UTF-8 at byte 9"},
      {"validate-directory", {flypctl, "validate", d + "/a-directory"}, 3, "is a directory, not a file"},
      {"validate-fifo", {flypctl, "validate", d + "/fifo.yaml"}, 3, "the spec is empty", 20},
      {"validate-device", {flypctl, "validate", "/dev/zero"}, 3, "is a device or a socket"},
      {"validate-missing", {flypctl, "validate", d + "/nope.yaml"}, 3, "No such file or directory"},
      {"validate-over-budget", {flypctl, "validate", big}, 3, "more than the limit of 1048576"},
      {"validate-duplicate-key", {flypctl, "validate", dup}, 3, "optim: given twice (line 3 and line 4)"},
      {"submit-invalid-utf8-refused-locally",
       {flypctl, "submit", bad_utf8, "--server", "127.0.0.1:1"},
       3,
       "invalid UTF-8 at byte 9"},
      {"worker-spec-directory", {worker, "--spec", d + "/a-directory"}, 3, "is a directory, not a file"},
      {"worker-spec-world-times-accum",
       {worker, "--spec", sigfpe},
       3,
       "resources.world_size: must be <= 4096"},
      {"worker-unknown-flag", {worker, "train", "--spec", sigfpe, "--bogus"}, 2, "unknown flag --bogus"},
      {"encode-huge-architecture",
       {worker, "encode", "--spec", huge_arch, "--texts", sigfpe, "--out", d + "/e.st"},
       3,
       "parameters, more than the limit"},
      {"encode-spec-fifo",
       {worker, "encode", "--spec", d + "/fifo.yaml", "--texts", sigfpe, "--out", d + "/e.st"},
       3,
       "the spec is empty",
       20},
      {"tokenize-long-word", {worker, "tokenize", "--vocab", clip, word}, 0, " ", 30},
      {"tokenize-huge-context",
       {worker, "tokenize", "--vocab", "byte", "--context", "99999999", "x"},
       2,
       "--context: expected an integer in [1, 1048576]"},
      {"tokenize-vocab-directory", {worker, "tokenize", "--vocab", d + "/a-directory", "x"}, 4, "vocab.json"},
      {"train-bpe-corpus-device",
       {worker, "train-bpe", "--corpus", "/dev/zero", "--merges", "10", "--out", d + "/m"},
       4,
       "is a device or a socket"},
      {"train-bpe-merges-negative",
       {worker, "train-bpe", "--corpus", sigfpe, "--merges", "-1", "--out", d + "/m"},
       2,
       "--merges: expected an integer in [0, 48894]"},
  };
  for (const auto& c : cases) RunBinaryCase("binaries", c);
}

// ---------------------------------------------------------------- service

class Service : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(flyp::testing::TempDir() + "/service");
    fs::create_directories(*dir_ + "/data/ok");
    fs::create_directories(*dir_ + "/outside");
    std::ofstream(*dir_ + "/outside/secret") << "secret";
    fs::create_symlink(*dir_ + "/outside/not-yet", *dir_ + "/data/dangling");
    flyp::testing::CoordinatorOptions o;
    o.dir = *dir_;
    coord_ = new flyp::testing::CoordinatorProcess(o);
    coord_->Start();
  }
  static void TearDownTestSuite() {
    delete coord_;
    delete dir_;
  }
  static bool CoordinatorAlive() {
    int status = 0;
    return ::waitpid(coord_->pid(), &status, WNOHANG) == 0;
  }
  // Judges one RPC's status (DEADLINE_EXCEEDED is a hang; a dead
  // coordinator is a crash).
  static void Expect(const std::string& name, const grpc::Status& s, grpc::StatusCode want,
                     const std::string& want_message, size_t max_message = 2048) {
    Outcome got;
    got.code = s.error_code();
    got.message = s.error_message();
    if (!CoordinatorAlive()) {
      got.died = Verdict::kCrash;
    } else if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
               want != grpc::StatusCode::DEADLINE_EXCEEDED) {
      got.died = Verdict::kHang;
    }
    std::string detail;
    Verdict v = Judge(got, want, want_message, &detail);
    if (v == Verdict::kOk && got.message.size() > max_message) {
      v = Verdict::kWrongError;
      detail = "message of " + std::to_string(got.message.size()) + " bytes, more than " +
               std::to_string(max_message);
    }
    Tally::Get().Add("service", v);
    EXPECT_EQ(v, Verdict::kOk) << "service/" << name << ": " << detail;
    std::cout << "[ hostile ] service/" << name << ": " << VerdictName(v) << "\n";
  }
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    return flyp::testing::Ctx(token, 20);
  }
  static grpc::Status SubmitYaml(const std::string& token, const std::string& yaml,
                                 v1::SubmitJobResponse* resp, const std::string& key = "") {
    v1::SubmitJobRequest req;
    req.set_spec_yaml(yaml);
    req.set_idempotency_key(key);
    return coord_->Client()->SubmitJob(Ctx(token).get(), req, resp);
  }

  static std::string* dir_;
  static flyp::testing::CoordinatorProcess* coord_;
};

std::string* Service::dir_ = nullptr;
flyp::testing::CoordinatorProcess* Service::coord_ = nullptr;

TEST_F(Service, HostileRequests) {
  auto stub = coord_->Client();
  using Code = grpc::StatusCode;
  const std::string alice = "usertoken", bob = "othertoken", root = "admintoken";
  // A job of bob's for the tenancy cases.
  v1::SubmitJobResponse bobs;
  ASSERT_TRUE(SubmitYaml(bob, flyp::testing::FakeSpec("fake-sleep", 1), &bobs).ok());
  const std::string theirs = bobs.job().id();

  auto get = [&](const std::string& token, const std::string& id) {
    v1::GetJobRequest req;
    req.set_id(id);
    v1::Job job;
    return stub->GetJob(Ctx(token).get(), req, &job);
  };
  auto submit = [&](const std::string& yaml) {
    v1::SubmitJobResponse r;
    return SubmitYaml(alice, yaml, &r);
  };
  auto submit_spec = [&](const v1::JobSpec& spec) {
    v1::SubmitJobRequest req;
    *req.mutable_spec() = spec;
    v1::SubmitJobResponse r;
    return stub->SubmitJob(Ctx(alice).get(), req, &r);
  };
  auto artifact = [&](const std::string& token, const std::string& id, const std::string& path) {
    v1::GetArtifactRequest req;
    req.set_id(id);
    req.set_path(path);
    auto ctx = Ctx(token);
    auto reader = stub->GetArtifact(ctx.get(), req);
    v1::ArtifactChunk chunk;
    std::string data;
    while (reader->Read(&chunk)) data += chunk.data();
    grpc::Status s = reader->Finish();
    if (s.ok() && !data.empty())
      return grpc::Status(Code::OK, "served " + std::to_string(data.size()) + " bytes");
    return s;
  };
  const std::string fake = flyp::testing::FakeSpec("fake-quick", 1);
  // Echoes and ids.
  Expect("get-120kB-id", get(alice, std::string(120 * 1024, 'x')), Code::NOT_FOUND,
         "job '" + std::string(kMaxQuotedChars, 'x') + "...' not found", 200);
  Expect("get-control-bytes-id", get(alice, std::string("job-\x01\x02\x7F", 7)), Code::NOT_FOUND,
         "job 'job-\\x01\\x02\\x7F' not found");
  Expect("get-unknown", get(alice, "job-999999"), Code::NOT_FOUND, "job 'job-999999' not found");
  // Tenancy.
  Expect("get-others-job", get(alice, theirs), Code::NOT_FOUND, "job '" + theirs + "' not found");
  Expect("admin-gets-others-job", get(root, theirs), Code::OK, "");
  {
    v1::CancelJobRequest req;
    req.set_id(theirs);
    v1::Job out;
    Expect("cancel-others-job", stub->CancelJob(Ctx(alice).get(), req, &out), Code::NOT_FOUND, "not found");
    req.set_reason(std::string(10000, 'r'));
    Expect("cancel-reason-10kB", stub->CancelJob(Ctx(bob).get(), req, &out), Code::INVALID_ARGUMENT,
           "reason: at most 1024 bytes (got 10000)");
  }
  Expect("artifact-of-others-job", artifact(alice, theirs, "spec.yaml"), Code::NOT_FOUND, "not found");
  {
    v1::ListArtifactsRequest req;
    req.set_id(theirs);
    v1::ListArtifactsResponse out;
    Expect("list-artifacts-of-others-job", stub->ListArtifacts(Ctx(alice).get(), req, &out), Code::NOT_FOUND,
           "not found");
  }
  {
    v1::StreamLogsRequest req;
    req.set_id(theirs);
    auto ctx = Ctx(alice);
    auto reader = stub->StreamLogs(ctx.get(), req);
    v1::LogLine line;
    while (reader->Read(&line)) {
    }
    Expect("logs-of-others-job", reader->Finish(), Code::NOT_FOUND, "not found");
    req.set_tail(-5);
    auto ctx2 = Ctx(bob);
    auto neg = stub->StreamLogs(ctx2.get(), req);
    while (neg->Read(&line)) {
    }
    Expect("logs-negative-tail", neg->Finish(), Code::INVALID_ARGUMENT, "tail: must be in [0, 100000]");
  }
  {
    v1::WatchJobRequest req;
    req.set_id(theirs);
    auto ctx = Ctx(alice);
    auto reader = stub->WatchJob(ctx.get(), req);
    v1::WatchJobEvent ev;
    while (reader->Read(&ev)) {
    }
    Expect("watch-others-job", reader->Finish(), Code::NOT_FOUND, "not found");
  }
  {
    v1::ListJobsRequest req;
    v1::ListJobsResponse resp;
    grpc::Status s = stub->ListJobs(Ctx(alice).get(), req, &resp);
    bool leaked = false;
    for (const auto& j : resp.jobs()) leaked |= j.owner() != "alice";
    Expect("list-jobs-shows-only-own",
           leaked ? grpc::Status(Code::INTERNAL, "another owner's job listed") : s, Code::OK, "");
    req.set_page_token("not-a-token");
    Expect("list-jobs-bad-page-token", stub->ListJobs(Ctx(alice).get(), req, &resp), Code::INVALID_ARGUMENT,
           "page_token: expected an integer");
    req.set_page_token("-1");
    Expect("list-jobs-negative-page-token", stub->ListJobs(Ctx(alice).get(), req, &resp),
           Code::INVALID_ARGUMENT, "page_token: expected an integer in [0,");
    req.clear_page_token();
    req.set_name_contains(std::string(10000, 'n'));
    Expect("list-jobs-filter-10kB", stub->ListJobs(Ctx(alice).get(), req, &resp), Code::INVALID_ARGUMENT,
           "name_contains: at most 256 bytes");
  }
  // Authentication.
  Expect("no-token", get("", theirs), Code::UNAUTHENTICATED,
         "missing 'authorization: Bearer <token>' metadata");
  Expect("forged-token", get("forged", theirs), Code::UNAUTHENTICATED, "unknown bearer token");
  // Specs.
  Expect("submit-world-times-accum",
         submit(flyp::testing::FakeSpec("fake-quick", 65536) + "optim: {accum_steps: 65536}\n"),
         Code::INVALID_ARGUMENT, "must be <= 4096");
  Expect("submit-invalid-utf8", submit("name: caf\xE9\n" + fake), Code::INVALID_ARGUMENT,
         "invalid UTF-8 at byte 9 (line 1, column 10): 0xE9");
  Expect("submit-nul-byte", submit(std::string("name: a\0b\n", 10) + fake), Code::INVALID_ARGUMENT,
         "control character 0x00");
  {
    std::string bomb = "names: &n [";
    for (int i = 0; i < 5000; ++i) bomb += (i ? "," : "") + std::string("c") + std::to_string(i);
    bomb += "]\nmodel: {preset: tiny, vocab: byte}\ndata:\n  ood:\n";
    for (int i = 0; i < 5000; ++i) bomb += "  - {name: o, format: fashion_mnist, class_names: *n}\n";
    Expect("submit-alias-bomb", submit(bomb), Code::INVALID_ARGUMENT,
           "aliases count every time they are used");
  }
  Expect("submit-2MiB-spec", submit(fake + "# " + std::string(2u << 20, 'x') + "\n"), Code::INVALID_ARGUMENT,
         "more than the limit of 1048576");
  Expect("submit-20MiB-request", submit(fake + "# " + std::string(20u << 20, 'x') + "\n"),
         Code::RESOURCE_EXHAUSTED, "");
  Expect("submit-duplicate-keys", submit(fake + "name: again\n"), Code::INVALID_ARGUMENT,
         "name: given twice (line 1 and line 10)");
  Expect("submit-many-problems", submit([] {
           std::string s = "name: x\n";
           for (int i = 0; i < 3000; ++i)
             s += "key" + std::to_string(i) + "_" + std::string(200, 'k') + ": 1\n";
           return s;
         }()),
         Code::INVALID_ARGUMENT, "more bytes]", 8192);
  {
    SpecLoad base = LoadJobSpecYaml(fake);
    ASSERT_TRUE(base.ok()) << base.ErrorText();
    v1::JobSpec nan = base.spec;
    nan.mutable_optim()->set_learning_rate(std::nan(""));
    Expect("submit-message-nan", submit_spec(nan), Code::INVALID_ARGUMENT,
           "optim.learning_rate: must be a finite number");
    v1::JobSpec dur = base.spec;
    dur.mutable_run_policy()->mutable_active_deadline()->set_seconds(INT64_MAX);
    Expect("submit-message-huge-duration", submit_spec(dur), Code::INVALID_ARGUMENT, "not a valid duration");
    v1::JobSpec world = base.spec;
    world.mutable_resources()->set_world_size(INT32_MAX);
    world.mutable_resources()->set_slots_per_rank(INT32_MAX);
    Expect("submit-message-huge-world", submit_spec(world), Code::INVALID_ARGUMENT,
           "resources.world_size: must be <=");
    v1::JobSpec outside = base.spec;
    outside.mutable_model()->set_checkpoint(*dir_ + "/outside/secret");
    Expect("submit-path-outside", submit_spec(outside), Code::INVALID_ARGUMENT, "is outside the data roots");
    v1::JobSpec dangling = base.spec;
    dangling.mutable_model()->set_checkpoint(*dir_ + "/data/dangling");
    Expect("submit-dangling-link-outside", submit_spec(dangling), Code::INVALID_ARGUMENT,
           "is outside the data roots");
    v1::JobSpec dotdot = base.spec;
    dotdot.mutable_model()->set_checkpoint("ok/../../outside/secret");
    Expect("submit-dotdot-path", submit_spec(dotdot), Code::INVALID_ARGUMENT, "is outside the data roots");
  }
  {
    v1::SubmitJobRequest req;
    v1::SubmitJobResponse r;
    Expect("submit-no-source", stub->SubmitJob(Ctx(alice).get(), req, &r), Code::INVALID_ARGUMENT,
           "source: give spec_yaml or spec");
    Expect("submit-key-10kB", SubmitYaml(alice, fake, &r, std::string(10000, 'k')), Code::INVALID_ARGUMENT,
           "idempotency_key: at most 256 bytes");
  }
  // Artifacts.
  v1::SubmitJobResponse mine;
  ASSERT_TRUE(SubmitYaml(alice, fake, &mine).ok());
  const std::string id = mine.job().id();
  flyp::testing::WaitForState(stub.get(), id, {v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_FAILED});
  const std::string art = mine.job().artifact_dir();
  fs::create_directory_symlink(*dir_ + "/outside", art + "/leak-dir");
  fs::create_symlink(*dir_ + "/outside/secret", art + "/leak-file");
  Expect("artifact-own-spec", artifact(alice, id, "spec.yaml"), Code::OK, "");
  Expect("artifact-dotdot", artifact(alice, id, "../../jobs.db"), Code::INVALID_ARGUMENT, "must be relative");
  Expect("artifact-absolute", artifact(alice, id, "/etc/passwd"), Code::INVALID_ARGUMENT, "must be relative");
  Expect("artifact-symlinked-dir", artifact(alice, id, "leak-dir/secret"), Code::NOT_FOUND,
         "artifact 'leak-dir/secret' not found");
  Expect("artifact-symlinked-file", artifact(alice, id, "leak-file"), Code::NOT_FOUND, "not found");
  Expect("artifact-directory", artifact(alice, id, "logs"), Code::NOT_FOUND, "not found");
  Expect("artifact-path-10kB", artifact(alice, id, std::string(10000, 'p')), Code::INVALID_ARGUMENT,
         "path: at most 4096 bytes");
  // WorkerService: the token first.
  {
    auto workers = v1::WorkerService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(coord_->port()), grpc::InsecureChannelCredentials()));
    auto report = [&](const std::string& job, const std::string& token) {
      v1::ReportStateRequest req;
      req.set_job_id(job);
      req.set_attempt(1);
      req.set_phase(v1::WORKER_PHASE_FAILED);
      req.set_message(std::string(100000, 'm'));
      v1::ReportAck ack;
      return workers->ReportState(Ctx(token).get(), req, &ack);
    };
    Expect("worker-report-wrong-token", report(id, "guess"), Code::PERMISSION_DENIED,
           "worker token does not match job " + id);
    Expect("worker-report-unknown-job", report("job-424242", "guess"), Code::PERMISSION_DENIED,
           "worker token does not match job job-424242");
    Expect("worker-report-user-token", report(id, alice), Code::PERMISSION_DENIED,
           "worker token does not match");
    Expect("worker-report-huge-id", report(std::string(100000, 'j'), "guess"), Code::PERMISSION_DENIED,
           "worker token does not match job");
  }
  // Many concurrent garbage calls: all answered, nobody dies.
  {
    std::vector<std::thread> threads;
    std::atomic<int> answered{0};
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 20; ++i) {
          if (get(alice, std::string(1000 + t * 100 + i, 'g')).error_code() == Code::NOT_FOUND) ++answered;
        }
      });
    }
    for (auto& th : threads) th.join();
    Expect("concurrent-garbage",
           answered == 320 ? grpc::Status::OK : grpc::Status(Code::INTERNAL, "lost calls"), Code::OK, "");
  }
}

// A second coordinator on the same store or port refuses to start.
TEST_F(Service, SecondCoordinator) {
  const std::string other = *dir_ + "/second";
  fs::create_directories(other);
  const std::vector<std::string> common = {FLYP_COORDINATOR_BIN, "--listen=127.0.0.1:0",
                                           "--artifact-root=" + other + "/artifacts", "--data-root=" + other,
                                           "--metrics-listen=off"};
  auto argv = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  BinaryCase same_db{"second-coordinator-same-store", argv({"--db=" + *dir_ + "/jobs.db"}), 1,
                     "is in use by another flyp-coordinator (pid " + std::to_string(coord_->pid()) + ")", 20};
  RunBinaryCase("service", same_db);
  BinaryCase same_port{
      "second-coordinator-same-port",
      argv({"--db=" + other + "/jobs.db", "--listen=127.0.0.1:" + std::to_string(coord_->port())}), 1,
      "cannot listen on '127.0.0.1:" + std::to_string(coord_->port()) + "'", 20};
  RunBinaryCase("service", same_port);
  EXPECT_TRUE(CoordinatorAlive());
}

// ----------------------------------------------------------------- worker

// Real training runs of a tiny CLIP on eight 28x28 images (two steps each),
// failing where the case puts the fault.
class Worker : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = flyp::testing::TempDir() + "/worker-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_ + "/data");
    const auto image = data::testing::MakeImage(
        28, 28, 3, [](int x, int y, int c) { return (x * 9 + y * 5 + c * 40) % 256; });
    std::string csv;
    for (int i = 0; i < 8; ++i) {
      data::testing::WriteFileOrDie(dir_ + "/data/" + std::to_string(i) + ".png",
                                    data::testing::EncodePng(image));
      csv += std::to_string(i) + ".png,a photo of thing " + std::to_string(i % 2) + "\n";
    }
    Write(dir_ + "/data/train.csv", csv);
  }
  // A pretrain spec on data/<csv>, writing to `out`.
  std::string SpecFile(const std::string& name, const std::string& csv, const std::string& out,
                       const std::string& extra = "", int epochs = 1) {
    return Write(dir_ + "/" + name + ".yaml", "name: " + name +
                                                  "\n"
                                                  "model: {preset: tiny, vocab: byte}\n"
                                                  "method: {name: pretrain}\n"
                                                  "data: {train: {format: csv_caption, path: " +
                                                  dir_ + "/data/" + csv +
                                                  "}}\n"
                                                  "schedule: {epochs: " +
                                                  std::to_string(epochs) +
                                                  ", batch_size: 4, warmup_steps: 0, log_every_steps: 1}\n"
                                                  "output: {dir: " +
                                                  out + ", save_final: false}\n" + extra);
  }
  BinaryCase Train(const std::string& name, const std::string& spec, int code, const std::string& msg,
                   std::vector<std::string> extra_args = {}, std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {FLYP_WORKER_BIN, "--spec", spec};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    env.push_back("FLYP_THREADS=1");
    return {name, argv, code, msg, 120, env};
  }
  std::string dir_;
};

TEST_F(Worker, OutputFoldersThatCannotBeWritten) {
  Write(dir_ + "/a-file", "x");
  RunBinaryCase("worker", Train("output-is-a-file", SpecFile("file", "train.csv", dir_ + "/a-file"), 4,
                                "output folder '" + dir_ + "/a-file' is not writable"));
  RunBinaryCase("worker", Train("output-below-a-file", SpecFile("below", "train.csv", dir_ + "/a-file/sub"),
                                4, "is not writable"));
  if (::geteuid() != 0) GTEST_SKIP() << "read-only and full file systems need root (mount)";
  const std::string ro = dir_ + "/ro";
  fs::create_directories(ro);
  if (::mount("tmpfs", ro.c_str(), "tmpfs", MS_RDONLY, "size=1m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs";
  RunBinaryCase("worker", Train("output-read-only", SpecFile("ro", "train.csv", ro + "/out"), 4,
                                "Read-only file system"));
  ::umount(ro.c_str());
}

// LibTorch's checkpoint writer threw from its destructor on a full disk:
// std::terminate.
TEST_F(Worker, FullDiskDuringACheckpoint) {
  if (::geteuid() != 0) GTEST_SKIP() << "a small file system needs root (mount)";
  const std::string small = dir_ + "/small";
  fs::create_directories(small);
  if (::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=4m") != 0) GTEST_SKIP() << "cannot mount a tmpfs";
  RunBinaryCase("worker",
                Train("full-disk-checkpoint",
                      SpecFile("full", "train.csv", small + "/out", "run_policy: {checkpoint_every: 1}\n"), 1,
                      "checkpoint: cannot write"));
  bool temp_left = false;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(small, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    temp_left |= it->path().string().find(".tmp") != std::string::npos;
  }
  EXPECT_FALSE(temp_left) << "a temporary checkpoint folder or file was left behind";
  ::umount2(small.c_str(), MNT_DETACH);
}

TEST_F(Worker, BadDataFoundWhileTraining) {
  const std::string png = flyp::testing::ReadFileOrDie(dir_ + "/data/0.png");
  Write(dir_ + "/data/5.png", png.substr(0, png.size() / 2));
  RunBinaryCase("worker", Train("truncated-image-mid-run", SpecFile("trunc", "train.csv", dir_ + "/o1"), 4,
                                "bad input: "));
  Write(dir_ + "/data/missing.csv", "0.png,a\n1.png,b\n2.png,c\nnope.png,d\n");
  RunBinaryCase("worker",
                Train("missing-image-mid-run", SpecFile("miss", "missing.csv", dir_ + "/o2"), 4, "nope.png"));
  // The images a CSV lists are confined to the data roots at open.
  fs::create_directories(dir_ + "/outside");
  Write(dir_ + "/outside/x.png", png);
  Write(dir_ + "/data/escape.csv", "0.png,a\n1.png,b\n2.png,c\n../outside/x.png,d\n");
  RunBinaryCase("worker", Train("csv-image-outside-the-roots", SpecFile("esc", "escape.csv", dir_ + "/o3"), 4,
                                "outside the data roots (" + fs::canonical(dir_ + "/data").string() + ")", {},
                                {"FLYP_DATA_ROOTS=" + dir_ + "/data"}));
}

TEST_F(Worker, ResumeChecksTheSpec) {
  const std::string out = dir_ + "/run";
  RunBinaryCase("worker",
                Train("first-run", SpecFile("r1", "train.csv", out, "run_policy: {checkpoint_every: 1}\n"), 0,
                      "report:"));
  // The same folder, another learning rate: refused, naming the field.
  const std::string changed =
      SpecFile("r2", "train.csv", out, "run_policy: {checkpoint_every: 1}\noptim: {learning_rate: 0.5}\n");
  RunBinaryCase("worker", Train("resume-changed-spec", changed, 4, "(optim.learning_rate differ)"));
  RunBinaryCase("worker", Train("resume-anyway", changed, 0, "report:", {"--resume-anyway"}));
}

TEST_F(Worker, DivergenceAndCorruptWeights) {
  RunBinaryCase(
      "worker",
      Train("diverged-loss", SpecFile("nan", "train.csv", dir_ + "/o4", "optim: {learning_rate: 1e30}\n", 3),
            4, "training diverged"));
  auto model = model::BuildClipModel([] {
    v1::ModelSpec m;
    m.set_preset("tiny");
    return m;
  }());
  ASSERT_TRUE(model.ok());
  {
    torch::NoGradGuard no_grad;
    (*model)->named_parameters()[3].value().fill_(std::numeric_limits<float>::infinity());
  }
  ASSERT_TRUE(model::SaveClipCheckpoint(dir_ + "/inf.safetensors", **model).ok());
  const std::string spec =
      Write(dir_ + "/ft.yaml", "name: ft\nmodel: {preset: tiny, vocab: byte, checkpoint: " + dir_ +
                                   "/inf.safetensors}\nmethod: {name: pretrain}\n"
                                   "data: {train: {format: csv_caption, path: " +
                                   dir_ +
                                   "/data/train.csv}}\n"
                                   "schedule: {epochs: 1, batch_size: 4}\noutput: {dir: " +
                                   dir_ + "/o5}\n");
  RunBinaryCase("worker", Train("checkpoint-with-infinite-weights", spec, 4, "holds NaN or infinite values"));
}

class TallyPrinter : public ::testing::Environment {
 public:
  void TearDown() override { std::cout << "\n" << Tally::Get().Summary(); }
};

}  // namespace
}  // namespace flyp::hostile

// A child runs library cases: --hostile-case=GROUP/NAME[,GROUP/NAME...],
// inputs in $FLYP_HOSTILE_DIR. It prints each outcome between markers as the
// case ends, with its time (what the case itself printed lies outside them).
int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]).rfind("--hostile-case=", 0) == 0) {
    const std::string ids = std::string(argv[1]).substr(15);
    const char* dir = std::getenv("FLYP_HOSTILE_DIR");
    const std::vector<flyp::hostile::LibraryCase> cases = flyp::hostile::LibraryCases(dir ? dir : "");
    size_t start = 0;
    while (start <= ids.size()) {
      const size_t comma = std::min(ids.find(',', start), ids.size());
      const std::string id = ids.substr(start, comma - start);
      start = comma + 1;
      auto c = std::find_if(cases.begin(), cases.end(), [&](const flyp::hostile::LibraryCase& x) {
        return x.group + "/" + x.name == id;
      });
      if (c == cases.end()) {
        std::fprintf(stderr, "no case %s\n", id.c_str());
        return 2;
      }
      (void)flyp::SetInputRoots({});  // cases that confine set their own roots
      const auto t0 = std::chrono::steady_clock::now();
      const flyp::hostile::Outcome o = c->run();
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
      std::cout.flush();
      std::cerr.flush();
      std::printf("%s%s code=%d ms=%lld@@\n%s%s", flyp::hostile::kMarker, id.c_str(), o.code,
                  static_cast<long long>(ms.count()), o.message.c_str(), flyp::hostile::kEndMarker);
      std::fflush(stdout);
    }
    return 0;
  }
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new flyp::hostile::TallyPrinter());
  return RUN_ALL_TESTS();
}
