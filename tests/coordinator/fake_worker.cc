// A stand-in for flyp-worker in coordinator tests: a real MPI program started
// by the coordinator's real mpirun, talking to it over real gRPC with the same
// environment variables and exit codes as flyp-worker. What it does is chosen
// by the spec's name:
//   fake-ok         report STARTED, 5 progress points, an evaluation (stage,
//                   id_test 0.75, ood 0.5), the result, write report.json
//                   (a RunReport with those numbers), COMPLETED, exit 0
//   fake-quick      as fake-ok with no pause
//   fake-sleep      report STARTED and progress every 200 ms for up to 60 s
//   fake-flaky      attempt 1: rank 1 exits 1 after STARTED; later attempts: fake-ok
//   fake-permanent  rank 1 exits 3 (invalid spec) after STARTED
//   fake-slow       20 progress points 250 ms apart; resumes after the last
//                   "checkpoint" (a file in the artifact dir), like flyp-worker
//   fake-eval       a trial of a sweep: schedule.epochs epochs of 300 ms
//                   (fake-eval-slow: 1 s), each ending in an evaluation of
//                   id_val reported as a progress point with its epoch, of
//                   accuracy optim.learning_rate + 0.01 * epoch (the rate
//                   is the test's knob of a trial's quality); then a
//                   report.json (worker/report) with that accuracy at the
//                   last epoch as the finetuned id_val evaluation
// A sweep's trials are named "<name>-t<index>": the suffix is not part of
// the mode.
// Every rank appends "attempt rank pid" to <artifact_dir>/pids.txt and
// writes what it was given to <artifact_dir>/env.<attempt>.<rank>: the
// variables the launcher sets per rank or pins (CUDA_VISIBLE_DEVICES,
// FLYP_METRICS_ADDRESS, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
// OMP_WAIT_POLICY), its Cpus_allowed_list, its host's addresses, and whether
// it could bind its /metrics port (it holds it until it exits, as a worker
// serving /metrics does).
#include <grpcpp/grpcpp.h>
#define OMPI_SKIP_MPICXX 1  // C API only
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <mpi.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/env.h"
#include "common/exit_codes.h"
#include "common/spec/job_spec.h"
#include "flyp/v1/service.grpc.pb.h"
#include "worker/report/report.h"

namespace {

struct Reporter {
  std::unique_ptr<flyp::v1::WorkerService::Stub> stub;
  std::string job, token;
  int attempt = 0;

  bool State(flyp::v1::WorkerPhase phase, const std::string& msg = "", bool permanent = false) {
    flyp::v1::ReportStateRequest req;
    req.set_job_id(job);
    req.set_attempt(attempt);
    req.set_phase(phase);
    req.set_message(msg);
    req.set_permanent(permanent);
    flyp::v1::ReportAck ack;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    grpc::Status s = stub->ReportState(&ctx, req, &ack);
    if (!s.ok()) std::cerr << "ReportState: " << s.error_message() << std::endl;
    return s.ok() && !ack.stop();
  }
  bool Point(const flyp::v1::ProgressPoint& point) {
    flyp::v1::ReportProgressRequest req;
    req.set_job_id(job);
    req.set_attempt(attempt);
    *req.mutable_progress() = point;
    flyp::v1::ReportAck ack;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    grpc::Status s = stub->ReportProgress(&ctx, req, &ack);
    return s.ok() && !ack.stop();
  }
  // An epoch-end evaluation of id_val, as flyp-worker's CoordinatorReporter sends it.
  bool Eval(int epoch, double accuracy) {
    flyp::v1::ProgressPoint p;
    (*p.mutable_eval_accuracy())["id_val"] = accuracy;
    p.set_eval_stage("epoch " + std::to_string(epoch));
    p.set_epoch(epoch);
    return Point(p);
  }
  bool Progress(int64_t step, int64_t total) {
    flyp::v1::ProgressPoint p;
    p.set_step(step);
    p.set_total_steps(total);
    p.set_epoch(1);
    p.set_loss(1.0 / static_cast<double>(step + 1));
    p.set_samples_per_second(100.0);
    p.set_eta_seconds(static_cast<double>(total - step) * 0.1);
    return Point(p);
  }
  // What flyp-worker reports after training: the final evaluation of
  // id_test and ood, then the result.
  void EvaluateAndResult() {
    for (const auto& [split, acc] : {std::make_pair("id_test", 0.75), std::make_pair("ood", 0.5)}) {
      flyp::v1::ProgressPoint stage;
      stage.set_stage(flyp::v1::STAGE_EVALUATING);
      stage.set_eval_stage("final");
      stage.set_eval_split(split);
      Point(stage);
      flyp::v1::ProgressPoint eval;
      (*eval.mutable_eval_accuracy())[split] = acc;
      eval.set_eval_stage("final");
      Point(eval);
    }
    flyp::v1::ProgressPoint result;
    result.set_stage(flyp::v1::STAGE_WRITING_REPORT);
    auto* r = result.mutable_result();
    r->set_model("FLYP");
    r->set_id_split("id_test");
    r->set_id_accuracy(0.75);
    r->set_avg_ood_accuracy(0.5);
    r->set_ood_splits(1);
    Point(result);
  }
};

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "<unset>";
}

// Binds and listens on the port of FLYP_METRICS_ADDRESS ("host:port"); the
// socket stays open until exit. "ok", "none" or why not.
std::string HoldMetricsPort() {
  const char* addr = std::getenv("FLYP_METRICS_ADDRESS");
  if (!addr) return "none";
  const std::string a = addr;
  const int port = std::atoi(a.substr(a.rfind(':') + 1).c_str());
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 4) != 0) {
    return std::string("bind failed: ") + std::strerror(errno);
  }
  return "ok";  // fd stays open: the port is ours until we exit
}

void RecordEnvironment(const std::string& dir, int attempt, int rank) {
  std::ofstream out(dir + "/env." + std::to_string(attempt) + "." + std::to_string(rank));
  for (const char* v : {"CUDA_VISIBLE_DEVICES", "FLYP_METRICS_ADDRESS", "OMP_NUM_THREADS",
                        "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY", "FLYP_JOB_ID"}) {
    out << v << "=" << Env(v) << "\n";
  }
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Cpus_allowed_list:", 0) == 0) {
      out << "Cpus_allowed_list=" << line.substr(line.find_first_not_of(" \t", 18)) << "\n";
    }
  }
  std::string addresses;
  ifaddrs* ifs = nullptr;
  if (getifaddrs(&ifs) == 0) {
    for (ifaddrs* i = ifs; i; i = i->ifa_next) {
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
      char buf[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof(buf));
      addresses += (addresses.empty() ? "" : ",") + std::string(buf);
    }
    freeifaddrs(ifs);
  }
  out << "addresses=" << addresses << "\n";
  out << "metrics_port=" << HoldMetricsPort() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::string spec_path;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--spec") spec_path = argv[i + 1];
  }
  flyp::SpecLoad load = flyp::LoadJobSpecFile(spec_path);
  if (!load.ok()) {
    std::cerr << load.ErrorText();
    return flyp::kWorkerExitInvalidSpec;
  }
  std::string mode = load.spec.name();
  if (const size_t t = mode.rfind("-t"); t != std::string::npos && t + 2 < mode.size() &&
                                         mode.find_first_not_of("0123456789", t + 2) == std::string::npos) {
    mode.resize(t);  // a sweep's trial
  }
  const std::string dir = flyp::EnvString(flyp::env::kArtifactDir);
  Reporter r;
  r.job = flyp::EnvString(flyp::env::kJobId);
  r.token = flyp::EnvString(flyp::env::kWorkerToken);
  r.attempt = static_cast<int>(flyp::EnvInt(flyp::env::kAttempt));
  std::ofstream(dir + "/pids.txt", std::ios::app) << r.attempt << " " << rank << " " << getpid() << "\n";
  RecordEnvironment(dir, r.attempt, rank);
  std::cout << "rank " << rank << " of " << size << " attempt " << r.attempt << " mode " << mode << std::endl;
  if (rank == 0) {
    r.stub = flyp::v1::WorkerService::NewStub(
        grpc::CreateChannel(flyp::EnvString(flyp::env::kCoordinator), grpc::InsecureChannelCredentials()));
    if (!r.State(flyp::v1::WORKER_PHASE_STARTED)) return flyp::kWorkerExitFailure;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (mode == "fake-permanent" && rank == 1) {
    std::cerr << "invalid spec (on purpose)" << std::endl;
    return flyp::kWorkerExitInvalidSpec;
  }
  if (mode == "fake-flaky" && r.attempt == 1 && rank == 1) {
    Sleep(200);
    std::cerr << "rank 1 crashing (on purpose)" << std::endl;
    return flyp::kWorkerExitFailure;
  }
  if (mode == "fake-eval" || mode == "fake-eval-slow") {
    const int epochs = load.spec.schedule().epochs();
    const double lr = load.spec.optim().learning_rate();
    double accuracy = 0;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      Sleep(mode == "fake-eval" ? 300 : 1000);
      accuracy = lr + 0.01 * epoch;
      if (rank == 0 && !r.Eval(epoch, accuracy)) {
        std::cerr << "told to stop after epoch " << epoch << std::endl;
        MPI_Abort(MPI_COMM_WORLD, flyp::kWorkerExitFailure);
      }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
      flyp::report::RunReport report;
      report.job = load.spec.name();
      report.method = "ft";
      report.world_size = size;
      report.finetuned.push_back({"id_val", false, accuracy, std::nullopt});
      std::ofstream(dir + "/report.json") << flyp::report::ReportToJson(report);
      r.State(flyp::v1::WORKER_PHASE_COMPLETED);
    }
    MPI_Finalize();
    return flyp::kWorkerExitOk;
  }
  int steps = 5, pause = 100, start = 0;
  if (mode == "fake-quick") pause = 0;
  if (mode == "fake-sleep") steps = 300, pause = 200;
  if (mode == "fake-slow") {
    steps = 20, pause = 250;
    std::ifstream ck(dir + "/checkpoint.txt");
    ck >> start;
  }
  for (int step = start + 1; step <= steps; ++step) {
    Sleep(pause);
    if (rank == 0) {
      if (!r.Progress(step, steps)) {
        std::cerr << "told to stop" << std::endl;
        MPI_Abort(MPI_COMM_WORLD, flyp::kWorkerExitFailure);
      }
      if (mode == "fake-slow" && step % 4 == 0) {
        std::ofstream(dir + "/checkpoint.txt") << step << "\n";
        r.State(flyp::v1::WORKER_PHASE_CHECKPOINT, dir + "/checkpoint.txt");
      }
      std::cout << "step " << step << " loss " << 1.0 / (step + 1) << std::endl;
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    r.EvaluateAndResult();
    // A report.json in the schema flyp-worker writes (worker/report/report.h).
    std::ofstream(dir + "/report.json")
        << "{\"schema_version\": 2, \"job\": \"" << mode << " attempt " << r.attempt
        << "\", \"method\": \"flyp\", \"model\": \"tiny\", \"world_size\": " << size
        << ", \"steps\": " << steps
        << ", \"finetuned\": [{\"split\": \"id_test\", \"ood\": false, \"accuracy\": 0.75}, "
           "{\"split\": \"ood\", \"ood\": true, \"accuracy\": 0.5}]}\n";
    r.State(flyp::v1::WORKER_PHASE_COMPLETED);
  }
  MPI_Finalize();
  return flyp::kWorkerExitOk;
}
