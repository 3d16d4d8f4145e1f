// flyp-worker [train] --spec FILE: runs one job on this rank.
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "common/env.h"
#include "common/logging.h"
#include "common/spec/job_spec.h"
#include "worker/commands.h"
#include "worker/coordinator_reporter.h"
#include "worker/dist/create_communicator.h"
#include "worker/exit_codes.h"
#include "worker/metrics/worker_metrics.h"
#include "worker/openblas.h"
#include "worker/report/progress.h"
#include "worker/train/job_runner.h"
#include "worker/train/train_state.h"

namespace flyp::worker {
namespace {

struct TrainFlags {
  std::string spec;
  std::string output;
  std::string device;
  bool resume = true;
};

int Usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "flyp-worker: " << problem << "\n";
  std::cerr << "usage: flyp-worker [train] --spec FILE [--output DIR] [--device cpu|cuda] [--no-resume]\n"
               "  --spec FILE     the job spec (YAML; see examples/)\n"
               "  --output DIR    artifact folder (default: the spec's output.dir; FLYP_ARTIFACT_DIR wins)\n"
               "  --device D      override resources.device\n"
               "  --no-resume     ignore checkpoints in the artifact folder\n"
               "Run with mpirun -np N for N data-parallel ranks.\n";
  return kExitUsage;
}

// Threads for LibTorch: the spec's threads_per_rank, else FLYP_THREADS,
// else the machine's cores shared by the ranks on this host.
int ThreadsFor(const v1::JobSpec& spec, int local_world) {
  if (spec.resources().threads_per_rank() > 0) return spec.resources().threads_per_rank();
  if (EnvInt(env::kThreads) > 0) return static_cast<int>(EnvInt(env::kThreads));
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, local_world));
}

// Every rank learns which ranks asked for /metrics but could not serve it
// (one all-gather of a flag); rank 0 reports them to the coordinator.
std::vector<int> RanksWithoutMetrics(dist::Communicator& comm, const WorkerMetrics* metrics) {
  const int64_t mine = !metrics ? -1 : metrics->serving() ? 1 : 0;  // off, failed, serving
  std::vector<int64_t> all = comm.AllGatherSizes(mine);
  std::vector<int> failed;
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r] == 0) failed.push_back(static_cast<int>(r));
  }
  return failed;
}

int LocalWorldSize() {
  const char* v = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");  // set by OpenMPI's mpirun
  return v ? std::max(1, std::atoi(v)) : 1;
}

}  // namespace

int RunTrainCommand(const Args& args) {
  TrainFlags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    if (a == "--spec") {
      if (!value(&flags.spec)) return Usage("--spec needs a file");
    } else if (a == "--output") {
      if (!value(&flags.output)) return Usage("--output needs a folder");
    } else if (a == "--device") {
      if (!value(&flags.device)) return Usage("--device needs cpu or cuda");
    } else if (a == "--no-resume")
      flags.resume = false;
    else if (a == "-h" || a == "--help") {
      Usage("");
      return kExitOk;
    } else
      return Usage("unknown argument '" + a + "'");
  }
  if (flags.spec.empty()) return Usage("--spec is required");

  LogLevel level;
  if (ParseLogLevel(EnvString(env::kLogLevel), &level)) SetLogLevel(level);

  v1::JobSpec raw;
  SpecLoad load = LoadJobSpecFile(flags.spec);
  if (load.ok() && !flags.device.empty()) {
    if (flags.device != "cpu" && flags.device != "cuda") return Usage("--device must be cpu or cuda");
    raw = load.spec;
    raw.mutable_resources()->set_device(flags.device == "cuda" ? v1::DEVICE_CUDA : v1::DEVICE_CPU);
    if (!raw.mutable_resources()->has_precision() || flags.device == "cpu")
      raw.mutable_resources()->clear_precision();
    load = NormalizeJobSpec(raw);
  }
  if (!load.ok()) {
    std::cerr << load.ErrorText() << flags.spec << ": invalid job spec\n";
    return kExitInvalidSpec;
  }
  const v1::JobSpec& spec = load.spec;

  dist::CommunicatorOptions copts;
  const auto& t = spec.run_policy().collective_timeout();
  copts.collective_timeout = std::chrono::milliseconds(t.seconds() * 1000 + t.nanos() / 1000000);
  torch::Device device =
      spec.resources().device() == v1::DEVICE_CUDA ? torch::Device(torch::kCUDA) : torch::kCPU;
  auto comm_or = dist::CreateCommunicator(device, copts);
  if (!comm_or.ok()) {
    std::cerr << "flyp-worker: " << comm_or.status() << "\n";
    return kExitFailure;
  }
  auto comm = std::move(comm_or).value();
  if (comm->world_size() != spec.resources().world_size()) {
    FLYP_LOG(WARNING) << "resources.world_size is " << spec.resources().world_size() << " but "
                      << comm->world_size()
                      << " ranks were launched; the launched world wins (global batch stays "
                      << spec.schedule().batch_size() << ")";
    if (spec.schedule().batch_size() % comm->world_size() != 0) {
      std::cerr << "flyp-worker: schedule.batch_size " << spec.schedule().batch_size()
                << " is not divisible by the " << comm->world_size() << " launched ranks\n";
      return kExitInvalidSpec;
    }
  }
  const std::string job_id = EnvIsSet(env::kJobId) ? EnvString(env::kJobId) : spec.name();
  SetLogContext(job_id, comm->world_size() > 1 ? comm->rank() : -1);
  torch::set_num_threads(ThreadsFor(spec, LocalWorldSize()));

  train::RunOptions options;
  options.out_dir = EnvIsSet(env::kArtifactDir) ? EnvString(env::kArtifactDir)
                    : !flags.output.empty()     ? flags.output
                                                : spec.output().dir();
  options.resume = flags.resume;

  // Every rank serves /metrics when FLYP_METRICS_PORT is set (base + local
  // rank); a rank whose port cannot be bound trains without it (warned).
  std::unique_ptr<WorkerMetrics> metrics = WorkerMetrics::FromEnv(job_id, comm->rank(), comm->local_rank());
  const std::vector<int> ranks_without_metrics = RanksWithoutMetrics(*comm, metrics.get());
  if (metrics) {
    if (metrics->serving()) FLYP_LOG(INFO) << "serving /metrics on port " << metrics->port();
    options.callbacks.on_step = [&](const train::StepInfo& s) {
      StepTimes t;
      t.data = s.data_seconds;
      t.forward = s.forward_seconds;
      t.backward = s.backward_seconds;
      t.allreduce = s.allreduce_seconds;
      t.optimizer = s.optimizer_seconds;
      metrics->OnStep(t, s.loss, s.lr, s.logit_scale, s.samples);
      metrics->AddCollectiveBytes(s.collective_bytes);
    };
  }

  // Rank 0 speaks: progress on stderr, events in the artifact folder, and
  // the coordinator when launched by one.
  report::FanoutSink sinks;
  std::unique_ptr<CoordinatorReporter> reporter;
  report::EtaEstimator eta;
  const auto t_start = std::chrono::steady_clock::now();
  if (comm->rank() == 0) {
    std::filesystem::create_directories(options.out_dir);
    Status wrote = train::WriteFileAtomic(options.out_dir + "/spec.yaml", JobSpecToYaml(spec));
    if (!wrote.ok()) FLYP_LOG(WARNING) << wrote;
    sinks.Add(std::make_unique<report::ProgressPrinter>(stderr));
    auto events = report::EventWriter::Open(options.out_dir + "/events.jsonl");
    if (events.ok())
      sinks.Add(std::move(events).value());
    else
      FLYP_LOG(WARNING) << events.status();
    if (EnvIsSet(env::kCoordinator)) {
      auto connected = CoordinatorReporter::Connect(CoordinatorEndpoint::FromEnv(), job_id,
                                                    static_cast<int>(EnvInt(env::kAttempt)));
      if (!connected.ok()) {
        // Nothing could be reported: the exit code alone tells the launcher
        // that a retry cannot help.
        std::cerr << "flyp-worker: " << connected.status().message() << "\n";
        return kExitUntrustedCoordinator;
      }
      reporter = std::move(connected).value();
      reporter->set_ranks_without_metrics(ranks_without_metrics);
      sinks.Add(reporter.get());
    }
    options.callbacks.on_progress = [&](const train::StepInfo& s) {
      report::ProgressEvent e;
      e.step = s.step;
      e.total_steps = s.total_steps;
      e.epoch = static_cast<int>(s.epoch);
      e.total_epochs = static_cast<int>(s.epochs);
      e.loss = s.loss;
      e.learning_rate = s.lr;
      e.logit_scale = s.logit_scale;
      const double now = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
      eta.Observe(s.step, now, s.step * spec.schedule().batch_size());
      e.samples_per_second = eta.has_rate() ? eta.samples_per_second() : s.samples_per_second;
      e.eta_seconds = eta.EtaSeconds(s.total_steps);
      sinks.OnProgress(e);
    };
    options.callbacks.on_eval = [&](const std::string& split, double acc) {
      if (metrics) metrics->OnEval(split, acc);
      report::EvalEvent e;
      e.split = split;
      e.accuracy = acc;
      sinks.OnEval(e);
    };
    options.callbacks.on_state = [&](const std::string& phase, const std::string& message) {
      report::StateEvent e;
      e.phase = phase == "started"      ? report::Phase::kStarted
                : phase == "checkpoint" ? report::Phase::kCheckpoint
                                        : report::Phase::kCompleted;
      e.message = message;
      sinks.OnState(e);
    };
  }

  FLYP_LOG(INFO) << "job " << spec.name() << ": method "
                 << EnumYamlName(v1::Method_descriptor()->FindValueByNumber(spec.method().name())) << ", "
                 << comm->world_size() << " rank(s) on " << comm->backend() << ", "
                 << torch::get_num_threads() << " thread(s) each, artifacts in " << options.out_dir;
  if (const std::string blas = OpenBlasCoreName(); !blas.empty()) {
    FLYP_LOG(INFO) << "OpenBLAS kernels: " << blas
                   << (OpenBlasTunedByReexec() ? " (OPENBLAS_CORETYPE set by flyp-worker)" : "");
  }
  train::JobOutcome outcome = train::RunJob(spec, *comm, options);
  if (!outcome.status.ok()) {
    std::cerr << "flyp-worker: " << (outcome.bad_input ? "bad input: " : "failed: ")
              << outcome.status.message() << "\n";
    if (comm->rank() == 0) {
      report::StateEvent e;
      e.phase = report::Phase::kFailed;
      e.message = outcome.status.message();
      sinks.OnState(e);
      if (reporter) reporter->ReportFailure(outcome.status.message(), outcome.bad_input);
    }
    return outcome.bad_input ? kExitBadInput : kExitFailure;
  }
  if (comm->rank() == 0) {
    std::cerr << "report: " << options.out_dir << "/report.md\n";
  }
  return kExitOk;
}

}  // namespace flyp::worker
