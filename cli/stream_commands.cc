// flypctl watch / logs / artifacts / download.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "common/file_util.h"
#include "common/numbers.h"

namespace flyp::cli {
namespace {

int Usage(const char* text) {
  std::cerr << text
            << "\nGlobal flags: --server HOST:PORT ($FLYP_SERVER), --token T ($FLYP_TOKEN), "
               "--tls-ca PEM ($FLYP_TLS_CA)\n";
  return kExitUsage;
}

}  // namespace

int RunWatch(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {}, {}, &f) || f.positional.size() != 1) {
    return Usage("usage: flypctl watch ID\nFollows the job until it ends; exit 0 only if it SUCCEEDED.");
  }
  v1::WatchJobRequest req;
  req.set_id(f.positional[0]);
  auto ctx = MakeContext(f, 0);
  auto reader = MakeStub(f)->WatchJob(ctx.get(), req);
  v1::WatchJobEvent ev;
  int state = 0;
  bool tty = isatty(fileno(stdout));
  bool progress_line = false;
  auto end_progress_line = [&] {
    if (progress_line && tty) std::cout << "\n";
    progress_line = false;
  };
  while (reader->Read(&ev)) {
    if (ev.has_job()) {
      state = ev.job().status().state();
      std::cout << ev.job().id() << " " << ev.job().spec().name() << ": " << StateName(state) << std::endl;
    } else if (ev.has_transition()) {
      end_progress_line();
      state = ev.transition().state();
      std::cout << StateName(state) << "  " << ev.transition().reason()
                << (ev.transition().message().empty() ? "" : ": " + ev.transition().message()) << std::endl;
    } else if (ev.has_progress() && ev.progress().eval_accuracy_size() > 0 &&
               ev.progress().total_steps() == 0) {
      // An evaluation result (the worker reports these without a step).
      end_progress_line();
      for (const auto& [split, acc] : ev.progress().eval_accuracy()) {
        char line[160];
        std::snprintf(line, sizeof(line), "eval %s: %.1f%%", split.c_str(), 100.0 * acc);
        std::cout << line << std::endl;
      }
    } else if (ev.has_progress()) {
      const auto& p = ev.progress();
      char line[200];
      std::snprintf(line, sizeof(line), "step %lld/%lld  loss %.4f  %.1f samples/s  ETA %s",
                    static_cast<long long>(p.step()), static_cast<long long>(p.total_steps()), p.loss(),
                    p.samples_per_second(),
                    p.eta_seconds() < 0 ? "?" : FormatDuration(p.eta_seconds()).c_str());
      if (tty) {
        std::cout << "\r\033[K" << line << std::flush;  // one live line on a terminal
        progress_line = true;
      } else {
        std::cout << line << std::endl;  // flushed: watch is often piped into a log
      }
    }
  }
  end_progress_line();
  grpc::Status s = reader->Finish();
  if (!s.ok()) return ReportRpcError(s);
  return state == v1::JOB_STATE_SUCCEEDED ? kExitOk : kExitFailure;
}

int RunLogs(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {"--rank", "--tail"}, {"-f", "--follow"}, &f) || f.positional.size() != 1) {
    return Usage("usage: flypctl logs ID [-f] [--rank R] [--tail N]");
  }
  v1::StreamLogsRequest req;
  req.set_id(f.positional[0]);
  req.set_follow(f.switches.count("-f") || f.switches.count("--follow"));
  if (f.options.count("--rank")) {
    StatusOr<int32_t> rank = ParseInt32(f.options["--rank"], "--rank");
    if (!rank.ok()) return Usage(("flypctl logs: " + rank.status().message()).c_str());
    req.set_has_rank(true);
    req.set_rank(*rank);
  }
  if (f.options.count("--tail")) {
    StatusOr<int32_t> tail = ParseInt32(f.options["--tail"], "--tail", 0);
    if (!tail.ok()) return Usage(("flypctl logs: " + tail.status().message()).c_str());
    req.set_tail(*tail);
  }
  auto ctx = MakeContext(f, 0);
  auto reader = MakeStub(f)->StreamLogs(ctx.get(), req);
  v1::LogLine line;
  while (reader->Read(&line)) {
    if (req.has_rank()) {
      std::cout << line.text() << "\n";
    } else {
      std::cout << (line.rank() < 0 ? std::string("[mpirun] ")
                                    : "[rank " + std::to_string(line.rank()) + "] ")
                << line.text() << "\n";
    }
  }
  grpc::Status s = reader->Finish();
  return s.ok() ? kExitOk : ReportRpcError(s);
}

int RunArtifacts(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {}, {}, &f) || f.positional.size() != 1)
    return Usage("usage: flypctl artifacts ID");
  v1::ListArtifactsRequest req;
  req.set_id(f.positional[0]);
  v1::ListArtifactsResponse resp;
  grpc::Status s = MakeStub(f)->ListArtifacts(MakeContext(f).get(), req, &resp);
  if (!s.ok()) return ReportRpcError(s);
  std::printf("%-11s %12s  %s\n", "KIND", "BYTES", "PATH");
  for (const auto& a : resp.artifacts()) {
    std::printf("%-11s %12lld  %s\n", a.kind().c_str(), static_cast<long long>(a.size_bytes()),
                a.path().c_str());
  }
  return kExitOk;
}

int RunDownload(const Args& args) {
  ClientFlags f;
  if (!ParseClientFlags(args, {"--out"}, {}, &f) || f.positional.size() != 2) {
    return Usage(
        "usage: flypctl download ID PATH [--out FILE]\nWrites to FILE (default: the base name of PATH; "
        "'-' for stdout).");
  }
  std::string path = f.positional[1];
  std::string out_path = f.options.count("--out") ? f.options["--out"] : path.substr(path.rfind('/') + 1);
  v1::GetArtifactRequest req;
  req.set_id(f.positional[0]);
  req.set_path(path);
  // The file appears only once the whole artifact arrived (AtomicFileWriter):
  // a failed download never leaves a partial file or clobbers an old one.
  std::optional<AtomicFileWriter> file;
  if (out_path != "-") {
    StatusOr<AtomicFileWriter> w = AtomicFileWriter::Create(out_path);
    if (!w.ok()) {
      std::cerr << "flypctl: " << w.status().message() << "\n";
      return kExitFailure;
    }
    file.emplace(std::move(w).value());
  }
  auto ctx = MakeContext(f, 0);
  auto reader = MakeStub(f)->GetArtifact(ctx.get(), req);
  v1::ArtifactChunk chunk;
  int64_t got = 0;
  Status written;
  while (reader->Read(&chunk)) {
    if (file) {
      if (written.ok()) written = file->Append(chunk.data());
    } else {
      std::cout.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    }
    got += static_cast<int64_t>(chunk.data().size());
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return ReportRpcError(s);
  if (file && written.ok()) written = file->Commit();
  if (!written.ok()) {
    std::cerr << "flypctl: " << written.message() << "\n";
    return kExitFailure;
  }
  if (out_path != "-") std::cerr << "wrote " << got << " bytes to " << out_path << "\n";
  return kExitOk;
}

}  // namespace flyp::cli
