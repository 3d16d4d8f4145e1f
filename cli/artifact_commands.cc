// flypctl artifacts / download / report, and fetching an artifact (job_io.h).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/job_io.h"
#include "common/crc32c.h"
#include "common/file_util.h"
#include "common/progress_bar.h"
#include "worker/report/report.h"

namespace flyp::cli {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxReportBytes = 16 * kMiB;

// Receives one artifact: every chunk goes to `sink`; the total size and the
// CRC32C of what arrived are checked against what the server sent.
// `progress(received, total)` after each chunk.
Status Receive(const Session& session, const std::string& id, const std::string& path,
               const std::function<Status(const std::string&)>& sink,
               const std::function<void(int64_t, int64_t)>& progress = nullptr) {
  v1::GetArtifactRequest req;
  req.set_id(id);
  req.set_path(path);
  auto ctx = session.Context(0);
  auto reader = session.stub()->GetArtifact(ctx.get(), req);
  v1::ArtifactChunk chunk;
  int64_t got = 0, total = -1;
  uint32_t crc = 0;
  bool last = false;
  std::optional<uint32_t> server_crc;
  Status written;
  while (reader->Read(&chunk)) {
    total = chunk.total_size();
    crc = Crc32cExtend(crc, chunk.data().data(), chunk.data().size());
    got += static_cast<int64_t>(chunk.data().size());
    if (written.ok()) written = sink(chunk.data());
    if (chunk.last()) {
      last = true;
      server_crc = chunk.crc32c();
    }
    if (progress) progress(got, total);
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpc(s);
  FLYP_RETURN_IF_ERROR(written);
  if (!last || !server_crc) return DataLossError(path + ": the download ended before its last chunk");
  if (*server_crc != crc) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "checksum mismatch (CRC32C received %08x, the server sent %08x)", crc,
                  *server_crc);
    return DataLossError(path + ": " + buf);
  }
  if (total >= 0 && got != total) {
    return DataLossError(path + ": received " + std::to_string(got) + " of " + std::to_string(total) +
                         " bytes");
  }
  return Status::Ok();
}

// One file to `dest` ('-': stdout), atomically, with a progress bar on a
// terminal (stderr).
Status DownloadFile(const Session& session, const std::string& id, const std::string& path,
                    const std::string& dest, StatusLine* line) {
  std::optional<AtomicFileWriter> file;
  if (dest != "-") {
    std::error_code ec;
    const fs::path parent = fs::path(dest).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) return PermissionDeniedError("cannot create " + parent.string() + ": " + ec.message());
    FLYP_ASSIGN_OR_RETURN(AtomicFileWriter w, AtomicFileWriter::Create(dest));
    file.emplace(std::move(w));
  }
  const auto start = std::chrono::steady_clock::now();
  auto progress = [&](int64_t got, int64_t total) {
    if (!line->redraws()) return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string text =
        FormatBytes(static_cast<double>(got)) + " / " + FormatBytes(static_cast<double>(total)) +
        " \xC2\xB7 " + FormatBytes(secs > 0 ? static_cast<double>(got) / secs : 0) + "/s \xC2\xB7 " + path;
    line->Update(ProgressBar(total > 0 ? static_cast<double>(got) / static_cast<double>(total) : 1.0, text,
                             line->columns()));
  };
  int64_t bytes = 0;
  FLYP_RETURN_IF_ERROR(Receive(
      session, id, path,
      [&](const std::string& data) {
        bytes += static_cast<int64_t>(data.size());
        if (file) return file->Append(data);
        std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
        return std::cout ? Status::Ok() : DataLossError("writing to stdout failed");
      },
      progress));
  if (file) FLYP_RETURN_IF_ERROR(file->Commit());
  if (dest != "-")
    line->Print("wrote " + dest + " (" + FormatBytes(static_cast<double>(bytes)) + ", CRC32C checked)");
  return Status::Ok();
}

}  // namespace

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

StatusOr<std::string> FetchArtifact(const Session& session, const std::string& id, const std::string& path,
                                    size_t max_bytes) {
  std::string out;
  FLYP_RETURN_IF_ERROR(Receive(session, id, path, [&](const std::string& data) {
    if (out.size() + data.size() > max_bytes) {
      return ResourceExhaustedError(path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out += data;
    return Status::Ok();
  }));
  return out;
}

int RunArtifacts(const std::string& id) {
  auto session = Session::Open();
  if (!session) return kExitUsage;
  v1::ListArtifactsRequest req;
  req.set_id(id);
  v1::ListArtifactsResponse resp;
  grpc::Status s = session->stub()->ListArtifacts(session->Context().get(), req, &resp);
  if (!s.ok()) return ReportRpcError(s);
  std::printf("%-11s %12s  %s\n", "KIND", "BYTES", "PATH");
  for (const auto& a : resp.artifacts()) {
    std::printf("%-11s %12lld  %s\n", a.kind().c_str(), static_cast<long long>(a.size_bytes()),
                a.path().c_str());
  }
  return kExitOk;
}

int RunDownload(const DownloadOptions& o) {
  if (!o.out.empty() && (o.paths.size() != 1 || !o.dir.empty())) {
    std::cerr << "flypctl download: --out takes exactly one PATH and no --dir\n";
    return kExitUsage;
  }
  auto session = Session::Open();
  if (!session) return kExitUsage;
  v1::ListArtifactsRequest req;
  req.set_id(o.id);
  v1::ListArtifactsResponse resp;
  grpc::Status s = session->stub()->ListArtifacts(session->Context().get(), req, &resp);
  if (!s.ok()) return ReportRpcError(s);
  // (job path, local path) of every file to fetch.
  std::vector<std::pair<std::string, std::string>> files;
  const std::string dir = !o.dir.empty() ? o.dir : o.paths.empty() ? o.id : ".";
  if (o.paths.empty()) {
    for (const auto& a : resp.artifacts()) files.emplace_back(a.path(), (fs::path(dir) / a.path()).string());
  }
  for (std::string p : o.paths) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    bool found = false;
    for (const auto& a : resp.artifacts()) {
      if (a.path() == p) {  // a file: by its name
        files.emplace_back(a.path(),
                           !o.out.empty() ? o.out : (fs::path(dir) / fs::path(p).filename()).string());
        found = true;
      } else if (a.path().rfind(p + "/", 0) == 0) {  // a folder: its files, with their relative paths
        files.emplace_back(a.path(),
                           (fs::path(dir) / fs::path(p).filename() / a.path().substr(p.size() + 1)).string());
        found = true;
      }
    }
    if (!found) {
      std::cerr << "flypctl download: " << o.id << " has no artifact '" << p << "' (flypctl artifacts "
                << o.id << " lists them)\n";
      return kExitFailure;
    }
  }
  if (!o.out.empty() && files.size() != 1) {
    std::cerr << "flypctl download: --out needs a single file, and '" << o.paths[0] << "' is a folder\n";
    return kExitUsage;
  }
  StatusLine line(stderr);
  for (const auto& [path, dest] : files) {
    Status st = DownloadFile(*session, o.id, path, dest, &line);
    if (!st.ok()) {
      line.Finish();
      std::cerr << "flypctl download: " << st.message() << "\n";
      return kExitFailure;
    }
  }
  return kExitOk;
}

int RunReport(const ReportOptions& o) {
  auto session = Session::Open();
  if (!session) return kExitUsage;
  if (o.markdown) {
    StatusOr<std::string> md = FetchArtifact(*session, o.id, "report.md", kMaxReportBytes);
    if (!md.ok()) {
      std::cerr << "flypctl report: " << md.status().message() << "\n";
      return kExitFailure;
    }
    std::cout << *md;
    return kExitOk;
  }
  StatusOr<std::string> json = FetchArtifact(*session, o.id, "report.json", kMaxReportBytes);
  if (!json.ok()) {
    std::cerr << "flypctl report: " << json.status().message()
              << (json.status().code() == StatusCode::kNotFound
                      ? " (the report is written when the job succeeds)"
                      : "")
              << "\n";
    return kExitFailure;
  }
  if (Globals().output == "json") {
    std::cout << *json;
    return kExitOk;
  }
  StatusOr<report::RunReport> r = report::ReportFromJson(*json, o.id + "/report.json");
  if (!r.ok()) {
    std::cerr << "flypctl report: " << r.status().message() << "\n";
    return kExitFailure;
  }
  std::cout << report::RenderReportText(*r);
  return kExitOk;
}

}  // namespace flyp::cli
