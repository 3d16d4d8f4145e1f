// A real flyp-coordinator process with the Kubernetes launcher, talking to
// FakeKubeApi (there is no cluster here) over HTTP on 127.0.0.1. When the API
// server hangs, the coordinator's other work goes on: SubmitJob, GetJob and
// a running job's ReportProgress each answer within 100 ms (their gRPC
// deadline) while a launch waits on the API.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/coordinator/harness.h"
#include "tests/testing/fake_kube_api.h"
#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace {

const char kJobs[] = "/apis/kubeflow.org/v2beta1/namespaces/ml/mpijobs";
const char kSecrets[] = "/api/v1/namespaces/ml/secrets";
constexpr int kDeadlineMs = 100;

bool Eventually(const std::function<bool()>& cond, double timeout_s = 20) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

std::unique_ptr<grpc::ClientContext> Within(int ms, const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
  return ctx;
}

// FakeSpec with its data inside the data root (ranks see only the data roots).
std::string Spec(const std::string& name) {
  std::string s = FakeSpec(name, 2);
  for (const char* split : {"train: {format: fashion_mnist", "id_val: {format: fashion_mnist"}) {
    const size_t at = s.find(split);
    s.insert(at + std::string(split).size(), ", path: fashion-mnist");
  }
  return s;
}

class KubernetesCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir() + "/k8s-coordinator";
    std::filesystem::create_directories(dir_ + "/data/fashion-mnist");
    CoordinatorOptions o;
    o.dir = dir_;
    o.cpu_slots = 8;
    o.extra_flags = {"--launcher=kubernetes",
                     "--k8s-image=registry.example/flyp:1.0",
                     "--k8s-api-server=" + api_.url(),
                     "--k8s-token-file=",
                     "--k8s-ca-file=",
                     "--k8s-namespace=ml",
                     "--k8s-mount-path=" + dir_,
                     "--k8s-poll-s=0.1"};
    o.data_roots = {dir_ + "/data"};
    coord_ = std::make_unique<CoordinatorProcess>(o);
    coord_->Start();
  }
  void TearDown() override {
    api_.SetHang(false);
    coord_.reset();
  }

  FakeKubeApi api_;
  std::string dir_;
  std::unique_ptr<CoordinatorProcess> coord_;
};

TEST_F(KubernetesCoordinatorTest, AHangingApiServerDoesNotBlockSubmitGetJobOrReportProgress) {
  auto jobs = coord_->Client();
  auto workers = v1::WorkerService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(coord_->port()), grpc::InsecureChannelCredentials()));
  // Job A is launched while the API answers; its rank 0 reports in.
  const std::string a = Submit(jobs.get(), Spec("first"));
  const std::string name = "flyp-" + a + "-a1";
  ASSERT_TRUE(Eventually([&] { return api_.Get(kSecrets, name + "-token").has_value(); }))
      << "the MPIJob and its token Secret were not created";
  ASSERT_TRUE(api_.Get(kJobs, name).has_value());
  const std::string token =
      api_.Get(kSecrets, name + "-token")->Find("stringData")->Find("token")->as_string();
  {
    v1::ReportStateRequest started;
    started.set_job_id(a);
    started.set_attempt(1);
    started.set_phase(v1::WORKER_PHASE_STARTED);
    v1::ReportAck ack;
    grpc::Status s = workers->ReportState(Ctx(token).get(), started, &ack);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  WaitForState(jobs.get(), a, {v1::JOB_STATE_RUNNING});

  // From now on the API server answers nothing.
  api_.SetHang(true);
  const size_t before = api_.requests().size();
  auto check_all = [&](const std::string& round) {
    SCOPED_TRACE(round);
    v1::SubmitJobRequest sub;
    sub.set_spec_yaml(Spec("second"));
    v1::SubmitJobResponse sub_resp;
    grpc::Status s = jobs->SubmitJob(Within(kDeadlineMs, "usertoken").get(), sub, &sub_resp);
    EXPECT_TRUE(s.ok()) << "SubmitJob: " << s.error_message();
    for (const std::string& id : {a, sub_resp.job().id()}) {
      v1::GetJobRequest get;
      get.set_id(id);
      v1::Job job;
      s = jobs->GetJob(Within(kDeadlineMs, "usertoken").get(), get, &job);
      EXPECT_TRUE(s.ok()) << "GetJob " << id << ": " << s.error_message();
    }
    v1::ReportProgressRequest progress;
    progress.set_job_id(a);
    progress.set_attempt(1);
    progress.mutable_progress()->set_step(10);
    progress.mutable_progress()->set_total_steps(100);
    progress.mutable_progress()->set_loss(1.5);
    v1::ReportAck ack;
    s = workers->ReportProgress(Within(kDeadlineMs, token).get(), progress, &ack);
    EXPECT_TRUE(s.ok()) << "ReportProgress: " << s.error_message();
    return sub_resp.job().id();
  };
  const std::string b = check_all("while the second job is admitted");
  // Its launch is now waiting on the API server (the request came in, no
  // answer goes out)...
  ASSERT_TRUE(Eventually([&] {
    const std::vector<FakeKubeApi::Request> reqs = api_.requests();
    for (size_t i = before; i < reqs.size(); ++i) {
      const FakeKubeApi::Request& r = reqs[i];
      if (r.method == "POST" && r.path == kJobs && r.body.find("flyp-" + b + "-a1") != std::string::npos)
        return true;
    }
    return false;
  })) << "the second job's launch never reached the API server";
  // ...and everything else still answers.
  check_all("while a launch hangs");
  v1::GetJobRequest get;
  get.set_id(a);
  v1::Job job;
  ASSERT_TRUE(jobs->GetJob(Ctx().get(), get, &job).ok());
  EXPECT_EQ(job.status().state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(job.status().latest_progress().step(), 10) << job.DebugString();
}

}  // namespace
}  // namespace flyp::testing
