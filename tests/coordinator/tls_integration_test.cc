// Integration: a TLS coordinator (certificates made by openssl at test time)
// runs a real 2-rank flyp-worker job; rank 0 must report over TLS, so the job
// goes RUNNING and its progress points arrive while it trains. A worker that
// cannot verify the coordinator exits with the permanent code 5 naming the
// address and the CA.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/coordinator/harness.h"
#include "tests/testing/test_certs.h"
#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = TempDir() + "/tls";
    pki_ = MakeTestPki(dir + "/pki", {"localhost"}, {"127.0.0.1"});
    ASSERT_FALSE(pki_.ca_cert.empty());
    CoordinatorOptions o;
    o.dir = dir + "/coord";
    o.cpu_slots = 2;
    o.extra_flags = {"--worker-binary=" FLYP_WORKER_BIN, "--tls-cert=" + pki_.server_cert,
                     "--tls-key=" + pki_.server_key, "--worker-tls-ca=" + pki_.ca_cert};
    o.env = {"FLYP_THREADS=1", "OMP_WAIT_POLICY=PASSIVE"};
    o.tls_ca = pki_.ca_cert;
    coordinator_ = std::make_unique<CoordinatorProcess>(o);
    coordinator_->Start();
  }
  TestPki pki_;
  std::unique_ptr<CoordinatorProcess> coordinator_;
};

TEST_F(TlsTest, ARealJobReportsRunningAndProgressOverTls) {
  auto stub = coordinator_->Client();
  const std::string id = Submit(stub.get(), R"(name: tls-pretrain
model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}}
method: {name: pretrain}
data: {train: {format: fashion_mnist, split: train, limit: 640}, templates: {builtin: simple}}
schedule: {epochs: 1, batch_size: 64, warmup_steps: 1, log_every_steps: 1}
resources: {world_size: 2, threads_per_rank: 1}
wise_ft: {enabled: false}
)");
  ASSERT_FALSE(id.empty());
  // Everything the job does, as flypctl watch sees it.
  v1::WatchJobRequest req;
  req.set_id(id);
  auto ctx = Ctx("usertoken", 120);
  auto reader = stub->WatchJob(ctx.get(), req);
  std::vector<v1::StateTransition> transitions;
  std::vector<v1::ProgressPoint> points;
  size_t points_before_end = 0;
  v1::WatchJobEvent e;
  while (reader->Read(&e)) {
    if (e.has_transition()) {
      transitions.push_back(e.transition());
      if (e.transition().state() == v1::JOB_STATE_SUCCEEDED) points_before_end = points.size();
    }
    if (e.has_progress()) points.push_back(e.progress());
  }
  grpc::Status s = reader->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> states;
  for (const auto& t : transitions) states.push_back(v1::JobState_Name(t.state()) + "/" + t.reason());
  EXPECT_NE(std::find(states.begin(), states.end(), "JOB_STATE_RUNNING/WorkerStarted"), states.end())
      << ::testing::PrintToString(states) << "\n"
      << ReadFileOrDie(TempDir() + "/tls/coord/artifacts/" + id + "/logs/world.log");
  ASSERT_FALSE(states.empty());
  EXPECT_EQ(states.back(), "JOB_STATE_SUCCEEDED/Completed");
  // 10 steps of 64 on 2 ranks, reported every step, before the end.
  std::vector<int64_t> steps;
  for (const auto& p : points) {
    if (p.step() > 0) steps.push_back(p.step());
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(points_before_end, points.size());
  for (const auto& p : points) {
    if (p.step() > 0) {
      EXPECT_EQ(p.total_steps(), 10);
    }
  }
}

// The worker's own check, without the coordinator's launcher: the CA it is
// given does not verify the coordinator, or is not a CA file at all.
TEST_F(TlsTest, AWorkerThatCannotVerifyTheCoordinatorExitsPermanently) {
  const std::string dir = TempDir() + "/tls/direct";
  std::filesystem::create_directories(dir);
  const std::string spec = dir + "/spec.yaml";
  std::ofstream(spec) << "name: direct\n"
                      << "model: {preset: tiny, vocab: byte, architecture: {text: {vocab_size: 514}}}\n"
                      << "method: {name: pretrain}\n"
                      << "data: {train: {format: fashion_mnist, split: train, limit: 64}, "
                         "templates: {builtin: simple}}\n"
                      << "schedule: {epochs: 1, batch_size: 64}\n"
                      << "output: {dir: " << dir << "/out}\n";
  const std::string address = "127.0.0.1:" + std::to_string(coordinator_->port());
  const std::string junk = dir + "/junk.pem";
  std::ofstream(junk) << "not a certificate\n";
  for (const std::string& ca : {pki_.other_ca, junk}) {
    CommandResult r =
        RunCommand("FLYP_COORDINATOR=" + address + " FLYP_COORDINATOR_CA=" + ca +
                   " FLYP_JOB_ID=job-000099 FLYP_WORKER_TOKEN=x " FLYP_WORKER_BIN " --spec " + spec);
    EXPECT_EQ(r.code, 5) << r.out;
    EXPECT_NE(r.out.find("cannot verify the coordinator at " + address), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(ca), std::string::npos) << r.out;
  }
  // A name the certificate does not carry.
  CommandResult r = RunCommand("FLYP_COORDINATOR=" + address + " FLYP_COORDINATOR_CA=" + pki_.ca_cert +
                               " FLYP_COORDINATOR_SERVER_NAME=elsewhere.test FLYP_JOB_ID=job-000099 "
                               "FLYP_WORKER_TOKEN=x " FLYP_WORKER_BIN " --spec " +
                               spec);
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.out.find("for the name 'elsewhere.test'"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace flyp::testing
