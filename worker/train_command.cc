// flyp-worker [train] --spec FILE: runs one job on this rank.
#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "common/confine.h"
#include "common/env.h"
#include "common/exit_codes.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/spec/job_spec.h"
#include "worker/commands.h"
#include "worker/coordinator_reporter.h"
#include "worker/dist/create_communicator.h"
#include "worker/metrics/worker_metrics.h"
#include "worker/openblas.h"
#include "worker/report/observer.h"
#include "worker/report/progress.h"
#include "worker/report/tensorboard.h"
#include "worker/train/job_runner.h"
#include "worker/train/job_setup.h"
#include "worker/train/train_state.h"

namespace flyp::worker {
namespace {

// The normalised spec with --device applied; false after printing every
// problem.
bool LoadSpec(const TrainFlags& flags, v1::JobSpec* spec) {
  SpecLoad load = LoadJobSpecFile(flags.spec);
  if (load.ok() && !flags.device.empty()) {
    v1::JobSpec raw = load.spec;
    raw.mutable_resources()->set_device(flags.device == "cuda" ? v1::DEVICE_CUDA : v1::DEVICE_CPU);
    if (!raw.mutable_resources()->has_precision() || flags.device == "cpu")
      raw.mutable_resources()->clear_precision();
    load = NormalizeJobSpec(raw);
  }
  if (!load.ok()) {
    std::cerr << load.ErrorText() << flags.spec << ": invalid job spec\n";
    return false;
  }
  *spec = load.spec;
  return true;
}

// The MPI world (NCCL on CUDA) with the spec's collective timeout; null
// with *exit_code set when it cannot run this spec.
std::unique_ptr<dist::Communicator> StartWorld(const v1::JobSpec& spec, int* exit_code) {
  dist::CommunicatorOptions copts;
  const auto& t = spec.run_policy().collective_timeout();
  copts.collective_timeout = std::chrono::milliseconds(t.seconds() * 1000 + t.nanos() / 1000000);
  if (EnvIsSet(env::kCoordinator)) {
    // The coordinator ends the world if the abort cannot (a peer host lost
    // with its link keeps mpirun waiting for many minutes).
    copts.on_collective_timeout = [](const std::string& message) {
      ReportCollectiveTimeout(CoordinatorEndpoint::FromEnv(), EnvString(env::kJobId),
                              static_cast<int>(EnvInt(env::kAttempt)), dist::LaunchedWorldRank(), message);
    };
  }
  torch::Device device =
      spec.resources().device() == v1::DEVICE_CUDA ? torch::Device(torch::kCUDA) : torch::kCPU;
  auto comm = dist::CreateCommunicator(device, copts);
  if (!comm.ok()) {
    std::cerr << "flyp-worker: " << comm.status() << "\n";
    // MPI that could not start may on a retry; a world that is not the one
    // the launcher started, or a device this build lacks, never will.
    *exit_code =
        comm.status().code() == StatusCode::kUnavailable ? kWorkerExitFailure : kWorkerExitUnusableWorld;
    return nullptr;
  }
  const int world = (*comm)->world_size();
  if (world != spec.resources().world_size()) {
    FLYP_LOG(WARNING) << "resources.world_size is " << spec.resources().world_size() << " but " << world
                      << " ranks were launched; the launched world wins (global batch stays "
                      << spec.schedule().batch_size() << ")";
    if (spec.schedule().batch_size() % world != 0) {
      std::cerr << "flyp-worker: schedule.batch_size " << spec.schedule().batch_size()
                << " is not divisible by the " << world << " launched ranks\n";
      *exit_code = kWorkerExitInvalidSpec;
      return nullptr;
    }
  }
  return std::move(comm).value();
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

// Everyone who hears about the run, behind one fan-out: every rank's
// /metrics (every step) and, on rank 0, the console, events.jsonl and the
// coordinator (logged steps). Owns them all.
class Telemetry {
 public:
  explicit Telemetry(const v1::JobSpec& spec) : fanout_(spec.schedule().batch_size()) {}

  // kWorkerExitOk, or the exit code when the run must not start (rank 0 cannot
  // verify the coordinator).
  int Start(const v1::JobSpec& spec, dist::Communicator& comm, const std::string& job_id,
            const std::string& out_dir) {
    // FLYP_METRICS_PORT: base + local rank; a rank whose port cannot be
    // bound trains without it (warned, and counted by the coordinator).
    metrics_ = WorkerMetrics::FromEnv(job_id, comm.rank(), comm.local_rank());
    const std::vector<int> ranks_without_metrics = RanksWithoutMetrics(comm, metrics_.get());
    if (metrics_ && metrics_->serving()) FLYP_LOG(INFO) << "serving /metrics on port " << metrics_->port();
    fanout_.Add(metrics_.get(), report::ObserverFanout::Steps::kEvery);
    if (comm.rank() != 0) return kWorkerExitOk;

    Status wrote = WriteFileAtomic(out_dir + "/spec.yaml", JobSpecToYaml(spec));
    if (!wrote.ok()) FLYP_LOG(WARNING) << wrote;
    fanout_.Add(std::make_unique<report::ProgressPrinter>(stderr), report::ObserverFanout::Steps::kLogged);
    auto events = report::EventWriter::Open(out_dir + "/events.jsonl");
    if (events.ok()) {
      fanout_.Add(std::move(events).value(), report::ObserverFanout::Steps::kLogged);
    } else {
      FLYP_LOG(WARNING) << events.status();
    }
    // TensorBoard: `tensorboard --logdir` on the artifact root shows each job as a run.
    auto tensorboard = report::TensorBoardWriter::Open(out_dir);
    if (tensorboard.ok()) {
      fanout_.Add(std::move(tensorboard).value(), report::ObserverFanout::Steps::kLogged);
    } else {
      FLYP_LOG(WARNING) << tensorboard.status();
    }
    if (!EnvIsSet(env::kCoordinator)) return kWorkerExitOk;
    auto reporter = CoordinatorReporter::Connect(CoordinatorEndpoint::FromEnv(), job_id,
                                                 static_cast<int>(EnvInt(env::kAttempt)));
    if (!reporter.ok()) {
      // Nothing could be reported: the exit code alone tells the launcher
      // that a retry cannot help.
      std::cerr << "flyp-worker: " << reporter.status().message() << "\n";
      return kWorkerExitUntrustedCoordinator;
    }
    (*reporter)->set_ranks_without_metrics(ranks_without_metrics);
    fanout_.Add(std::move(reporter).value(), report::ObserverFanout::Steps::kLogged);
    return kWorkerExitOk;
  }

  report::TrainObserver* observer() { return &fanout_; }

 private:
  std::unique_ptr<WorkerMetrics> metrics_;  // outlives fanout_, which points at it
  report::ObserverFanout fanout_;
};

void LogJobStart(const v1::JobSpec& spec, const dist::Communicator& comm, const std::string& out_dir) {
  FLYP_LOG(INFO) << "job " << spec.name() << ": method "
                 << EnumYamlName(v1::Method_descriptor()->FindValueByNumber(spec.method().name())) << ", "
                 << comm.world_size() << " rank(s) on " << comm.backend() << ", " << torch::get_num_threads()
                 << " thread(s) each, artifacts in " << out_dir;
  const bool cpu = spec.resources().device() != v1::DEVICE_CUDA;
  if (!cpu) return;
  const std::string isa = CpuIsaName();
  if (const std::string blas = OpenBlasCoreName(); !blas.empty()) {
    FLYP_LOG(INFO) << "CPU " << isa << ", OpenBLAS kernels: " << blas
                   << (OpenBlasTunedByReexec() ? " (OPENBLAS_CORETYPE set by flyp-worker)" : "");
  }
  if (spec.resources().precision() == v1::PRECISION_BFLOAT16 && !CpuHasNativeBf16(isa)) {
    FLYP_LOG(WARNING) << "resources.precision bfloat16 on a CPU without native bf16 (" << isa
                      << "): LibTorch emulates its matmuls, slower than float32";
  }
}

// The exit code of a finished run; a failure is told to every observer
// (the coordinator learns whether it is permanent).
int Finish(const train::JobOutcome& outcome, const dist::Communicator& comm, report::TrainObserver* observer,
           const std::string& out_dir) {
  if (outcome.status.ok()) {
    if (comm.rank() == 0) std::cerr << "report: " << out_dir << "/report.md\n";
    return kWorkerExitOk;
  }
  std::cerr << "flyp-worker: " << (outcome.bad_input ? "bad input: " : "failed: ") << outcome.status.message()
            << "\n";
  report::PhaseEvent failed;
  failed.phase = report::Phase::kFailed;
  failed.message = outcome.status.message();
  failed.permanent = outcome.bad_input;
  observer->OnPhase(failed);
  return outcome.bad_input ? kWorkerExitBadInput : kWorkerExitFailure;
}

// The output folder exists (created if needed) and takes files; checked
// before anything is trained, not at the first checkpoint. Exit code 4 for
// a folder that cannot be one (a file, below a file, read-only, no
// permission), 1 for a full disk (a retry may find room).
int CheckOutputDir(const std::string& dir) {
  if (dir.empty()) {
    std::cerr << "flyp-worker: no output folder (set output.dir, --output or FLYP_ARTIFACT_DIR)\n";
    return kWorkerExitInvalidSpec;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  Status s = ec ? Status(ec == std::errc::no_space_on_device ? StatusCode::kResourceExhausted
                                                             : StatusCode::kPermissionDenied,
                         "cannot create '" + dir + "': " + ec.message())
                : WriteFileAtomic(dir + "/.flyp-write-check", "");
  if (s.ok()) {
    std::filesystem::remove(dir + "/.flyp-write-check", ec);
    return kWorkerExitOk;
  }
  const bool full = s.code() == StatusCode::kResourceExhausted;
  std::cerr << "flyp-worker: output folder '" << dir << "' is not writable: " << s.message() << "\n";
  return full ? kWorkerExitFailure : kWorkerExitBadInput;
}

}  // namespace

Command TrainCommand() {
  return {
      "train", "run a job spec on this rank (the default: flyp-worker --spec FILE)",
      "Run with mpirun -np N for N data-parallel ranks; the coordinator's launchers do. Exit codes: 0 done, "
      "1 "
      "failed (retryable), 2 bad command line, 3 invalid spec, 4 bad input (not retried), 5 the coordinator "
      "cannot be verified.",
      [](FlagSet& f) {
        auto flags = std::make_shared<TrainFlags>();
        f.String("spec", &flags->spec, "FILE", "the job spec (YAML; see examples/); required");
        f.String("output", &flags->output, "DIR",
                 "artifact folder (default: the spec's output.dir; FLYP_ARTIFACT_DIR wins)");
        f.Custom("device", "cpu|cuda", "override resources.device", [flags](const std::string& v) {
          if (v != "cpu" && v != "cuda")
            return InvalidArgumentError("--device must be cpu or cuda (got '" + v + "')");
          flags->device = v;
          return Status::Ok();
        });
        f.Custom("no-resume", "", "ignore checkpoints in the artifact folder", [flags](const std::string& v) {
          flags->resume = v != "true";
          return Status::Ok();
        });
        f.Switch("resume-anyway", &flags->resume_anyway,
                 "resume a checkpoint even if it was written with a different spec (the fields that differ "
                 "are logged)");
        return [flags] { return RunTrainCommand(*flags); };
      }};
}

int RunTrainCommand(const TrainFlags& flags) {
  if (flags.spec.empty()) {
    std::cerr << "flyp-worker train: --spec is required\nRun 'flyp-worker train --help' for usage.\n";
    return kWorkerExitUsage;
  }
  LogLevel level;
  if (ParseLogLevel(EnvString(env::kLogLevel), &level)) SetLogLevel(level);
  v1::JobSpec spec;
  if (!LoadSpec(flags, &spec)) return kWorkerExitInvalidSpec;
  // Every input file the job opens must lie inside these (common/confine.h).
  if (Status roots = SetInputRootsFromEnv(); !roots.ok()) {
    std::cerr << "flyp-worker: " << roots.message() << "\n";
    return kWorkerExitBadInput;
  }
  int code = kWorkerExitOk;
  std::unique_ptr<dist::Communicator> comm = StartWorld(spec, &code);
  if (!comm) return code;
  const std::string job_id = EnvIsSet(env::kJobId) ? EnvString(env::kJobId) : spec.name();
  SetLogContext(job_id, comm->world_size() > 1 ? comm->rank() : -1);
  torch::set_num_threads(train::RankThreads(spec));

  train::RunOptions options;
  options.out_dir = EnvIsSet(env::kArtifactDir) ? EnvString(env::kArtifactDir)
                    : !flags.output.empty()     ? flags.output
                                                : spec.output().dir();
  options.resume = flags.resume;
  options.resume_anyway = flags.resume_anyway;
  if (comm->rank() == 0) {
    if ((code = CheckOutputDir(options.out_dir)) != kWorkerExitOk) return code;
  }
  Telemetry telemetry(spec);
  if ((code = telemetry.Start(spec, *comm, job_id, options.out_dir)) != kWorkerExitOk) return code;
  options.observer = telemetry.observer();
  LogJobStart(spec, *comm, options.out_dir);
  return Finish(train::RunJob(spec, *comm, options), *comm, options.observer, options.out_dir);
}

}  // namespace flyp::worker
