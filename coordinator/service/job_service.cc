#include "coordinator/service/job_service.h"

#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>

#include "common/crc32c.h"
#include "common/numbers.h"
#include "common/spec/job_spec.h"
#include "common/version.h"
#include "coordinator/grpc_status.h"
#include "coordinator/proto_time.h"
#include "coordinator/service/log_lines.h"
#include "coordinator/spec_paths.h"

namespace flyp::coord {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kWaitMs = 250;
constexpr size_t kChunkBytes = 1 << 20;

std::string ArtifactKind(const std::string& rel) {
  auto ends = [&](const char* s) {
    std::string suf(s);
    return rel.size() >= suf.size() && rel.compare(rel.size() - suf.size(), suf.size(), suf) == 0;
  };
  if (rel.rfind("logs/", 0) == 0 || ends(".log")) return "log";
  if (ends(".safetensors") || ends(".pt") || ends(".ckpt") || rel.find("checkpoint") != std::string::npos) {
    return "checkpoint";
  }
  if (ends(".json") || ends(".md") || ends(".csv")) return "report";
  if (ends(".png") || ends(".svg")) return "plot";
  if (rel.find("tfevents") != std::string::npos) return "log";  // TensorBoard event files
  return "other";
}

// A relative path inside the job folder, or INVALID_ARGUMENT.
StatusOr<std::string> ArtifactPath(const std::string& dir, const std::string& rel) {
  fs::path p(rel);
  if (rel.empty() || p.is_absolute())
    return InvalidArgumentError("path: must be relative to the job's artifact folder");
  for (const auto& part : p.lexically_normal()) {
    if (part == "..") return InvalidArgumentError("path: '" + rel + "' leaves the job's artifact folder");
  }
  return (fs::path(dir) / p.lexically_normal()).string();
}

}  // namespace

const std::string* AuthorizationHeader(grpc::ServerContext* ctx, std::string* storage) {
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return nullptr;
  storage->assign(it->second.data(), it->second.size());
  return storage;
}

StatusOr<std::string> JobServiceImpl::Caller(grpc::ServerContext* ctx) const {
  std::string storage;
  return auth_->Authenticate(AuthorizationHeader(ctx, &storage));
}

#define FLYP_AUTH_OR_RETURN(ctx) \
  auto _caller = Caller(ctx);    \
  if (!_caller.ok()) return ToGrpcStatus(_caller.status())

grpc::Status JobServiceImpl::SubmitJob(grpc::ServerContext* ctx, const v1::SubmitJobRequest* req,
                                       v1::SubmitJobResponse* resp) {
  FLYP_AUTH_OR_RETURN(ctx);
  SpecLoad load;
  switch (req->source_case()) {
    case v1::SubmitJobRequest::kSpecYaml:
      load = LoadJobSpecYaml(req->spec_yaml());
      break;
    case v1::SubmitJobRequest::kSpec:
      load = NormalizeJobSpec(req->spec());
      break;
    default:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "source: give spec_yaml or spec");
  }
  if (!load.ok()) return ToGrpcStatus(SpecLoadStatus(load));
  Status s = ResolveSpecPaths(data_roots_, &load.spec);
  if (!s.ok()) return ToGrpcStatus(s);
  auto job = manager_->Submit(load.spec, JobSpecToYaml(load.spec), *_caller, req->idempotency_key());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *resp->mutable_job() = *job;
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetJob(grpc::ServerContext* ctx, const v1::GetJobRequest* req, v1::Job* resp) {
  FLYP_AUTH_OR_RETURN(ctx);
  auto rec = manager_->store()->GetJob(req->id());
  if (!rec.ok()) return ToGrpcStatus(rec.status());
  *resp = rec->job;
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext* ctx, const v1::ListJobsRequest* req,
                                      v1::ListJobsResponse* resp) {
  FLYP_AUTH_OR_RETURN(ctx);
  ListQuery q;
  for (int s : req->states()) q.states.push_back(static_cast<v1::JobState>(s));
  q.name_contains = req->name_contains();
  q.sweep_id = req->sweep_id();
  int size = req->page_size() <= 0 ? 50 : std::min(req->page_size(), 500);
  q.limit = size + 1;
  if (!req->page_token().empty()) {
    StatusOr<int64_t> seq = ParseInt64(req->page_token(), "page_token", 0);
    if (!seq.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          seq.status().message() + " (not a token from a previous ListJobs)");
    }
    q.after_seq = *seq;
  }
  auto jobs = manager_->store()->ListJobs(q);
  if (!jobs.ok()) return ToGrpcStatus(jobs.status());
  for (int i = 0; i < static_cast<int>(jobs->size()) && i < size; ++i) *resp->add_jobs() = (*jobs)[i].job;
  if (static_cast<int>(jobs->size()) > size) resp->set_next_page_token(std::to_string((*jobs)[size - 1].seq));
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::CancelJob(grpc::ServerContext* ctx, const v1::CancelJobRequest* req,
                                       v1::Job* resp) {
  FLYP_AUTH_OR_RETURN(ctx);
  auto job = manager_->Cancel(req->id(), req->reason());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *resp = *job;
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::WatchJob(grpc::ServerContext* ctx, const v1::WatchJobRequest* req,
                                      grpc::ServerWriter<v1::WatchJobEvent>* writer) {
  FLYP_AUTH_OR_RETURN(ctx);
  uint64_t seen = manager_->version();
  auto rec = manager_->store()->GetJob(req->id());
  if (!rec.ok()) return ToGrpcStatus(rec.status());
  v1::WatchJobEvent first;
  *first.mutable_job() = rec->job;
  if (!writer->Write(first)) return grpc::Status::OK;
  int sent_history = rec->job.status().history_size();
  // Progress already reported is summarised by the Job's latest_progress.
  auto existing = manager_->store()->GetProgress(req->id(), 0);
  int64_t sent_progress = existing.ok() ? static_cast<int64_t>(existing->size()) : 0;
  bool terminal = IsTerminal(rec->job.status().state());
  while (!terminal && !ctx->IsCancelled()) {
    seen = manager_->WaitForChange(seen, kWaitMs);
    auto progress = manager_->store()->GetProgress(req->id(), sent_progress);
    if (progress.ok()) {
      for (const auto& p : *progress) {
        v1::WatchJobEvent ev;
        *ev.mutable_progress() = p;
        if (!writer->Write(ev)) return grpc::Status::OK;
        ++sent_progress;
      }
    }
    rec = manager_->store()->GetJob(req->id());
    if (!rec.ok()) return ToGrpcStatus(rec.status());
    const auto& hist = rec->job.status().history();
    for (; sent_history < hist.size(); ++sent_history) {
      v1::WatchJobEvent ev;
      *ev.mutable_transition() = hist[sent_history];
      if (!writer->Write(ev)) return grpc::Status::OK;
    }
    terminal = IsTerminal(rec->job.status().state());
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::StreamLogs(grpc::ServerContext* ctx, const v1::StreamLogsRequest* req,
                                        grpc::ServerWriter<v1::LogLine>* writer) {
  FLYP_AUTH_OR_RETURN(ctx);
  auto rec = manager_->store()->GetJob(req->id());
  if (!rec.ok()) return ToGrpcStatus(rec.status());
  const int world = rec->job.spec().resources().world_size();
  if (req->has_rank() && (req->rank() < -1 || req->rank() >= world)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "rank " + std::to_string(req->rank()) + " is outside the world of " + req->id() +
                            " (world size " + std::to_string(world) + ": ranks 0.." +
                            std::to_string(world - 1) + "; -1 is mpirun's own output)");
  }
  const std::string path = rec->job.artifact_dir() + "/logs/world.log";
  const int64_t since = req->has_since() ? req->since().seconds() : 0;
  auto wanted = [&](const v1::LogLine& l) {
    if (req->has_rank() && l.rank() != req->rank()) return false;
    return since == 0 || (l.has_time() && l.time().seconds() >= since);
  };
  std::ifstream in;
  std::string partial;
  WorldLogParser parser;
  // Reads complete lines appended since the last call; `flush`: also the
  // pieces whose line never ended (the world is gone).
  auto read_lines = [&](std::vector<v1::LogLine>* out, bool flush) {
    std::vector<v1::LogLine> lines;
    if (!in.is_open()) in.open(path, std::ios::binary);
    if (in.is_open()) {
      in.clear();
      char buf[8192];
      while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
        partial.append(buf, static_cast<size_t>(in.gcount()));
        if (in.eof()) break;
      }
      size_t start = 0, nl;
      while ((nl = partial.find('\n', start)) != std::string::npos) {
        for (auto& l : parser.Feed(partial.substr(start, nl - start))) lines.push_back(std::move(l));
        start = nl + 1;
      }
      partial.erase(0, start);
    }
    if (flush) {
      if (!partial.empty()) {
        for (auto& l : parser.Feed(partial)) lines.push_back(std::move(l));
        partial.clear();
      }
      for (auto& l : parser.Flush()) lines.push_back(std::move(l));
    }
    for (auto& l : lines) {
      if (wanted(l)) out->push_back(std::move(l));
    }
  };
  std::vector<v1::LogLine> lines;
  read_lines(&lines, /*flush=*/IsTerminal(rec->job.status().state()));
  size_t from = 0;
  if (req->tail() > 0 && lines.size() > static_cast<size_t>(req->tail())) from = lines.size() - req->tail();
  for (size_t i = from; i < lines.size(); ++i) {
    if (!writer->Write(lines[i])) return grpc::Status::OK;
  }
  if (!req->follow() || IsTerminal(rec->job.status().state())) return grpc::Status::OK;
  uint64_t seen = manager_->version();
  while (!ctx->IsCancelled()) {
    seen = manager_->WaitForChange(seen, kWaitMs);
    auto now = manager_->store()->GetJob(req->id());
    bool done = now.ok() && IsTerminal(now->job.status().state());
    lines.clear();
    read_lines(&lines, done);
    for (const auto& l : lines) {
      if (!writer->Write(l)) return grpc::Status::OK;
    }
    if (done) break;  // the world is gone: everything it wrote was read above
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListArtifacts(grpc::ServerContext* ctx, const v1::ListArtifactsRequest* req,
                                           v1::ListArtifactsResponse* resp) {
  FLYP_AUTH_OR_RETURN(ctx);
  auto rec = manager_->store()->GetJob(req->id());
  if (!rec.ok()) return ToGrpcStatus(rec.status());
  const fs::path dir(rec->job.artifact_dir());
  std::error_code ec;
  std::vector<v1::Artifact> out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    v1::Artifact a;
    a.set_path(fs::relative(it->path(), dir).string());
    a.set_size_bytes(static_cast<int64_t>(it->file_size(ec)));
    struct stat st;
    if (stat(it->path().c_str(), &st) == 0) {
      *a.mutable_modify_time() =
          MillisToTimestamp(int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000);
    }
    a.set_kind(ArtifactKind(a.path()));
    out.push_back(std::move(a));
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.path() < y.path(); });
  for (auto& a : out) *resp->add_artifacts() = std::move(a);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetArtifact(grpc::ServerContext* ctx, const v1::GetArtifactRequest* req,
                                         grpc::ServerWriter<v1::ArtifactChunk>* writer) {
  FLYP_AUTH_OR_RETURN(ctx);
  auto rec = manager_->store()->GetJob(req->id());
  if (!rec.ok()) return ToGrpcStatus(rec.status());
  auto path = ArtifactPath(rec->job.artifact_dir(), req->path());
  if (!path.ok()) return ToGrpcStatus(path.status());
  std::error_code ec;
  // Symlinks could point outside the folder: only plain files are served.
  if (!fs::is_regular_file(fs::symlink_status(*path, ec))) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "artifact '" + req->path() + "' not found in job " + req->id());
  }
  std::ifstream in(*path, std::ios::binary);
  const int64_t total = static_cast<int64_t>(fs::file_size(*path, ec));
  std::string buf(kChunkBytes, '\0');
  int64_t offset = 0;
  uint32_t crc = 0;
  do {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    v1::ArtifactChunk chunk;
    chunk.set_data(buf.data(), static_cast<size_t>(in.gcount()));
    chunk.set_offset(offset);
    chunk.set_total_size(total);
    offset += in.gcount();
    crc = Crc32cExtend(crc, buf.data(), static_cast<size_t>(in.gcount()));
    if (!in) {  // the end: what the client must have received
      if (in.bad())
        return grpc::Status(grpc::StatusCode::DATA_LOSS, "reading artifact '" + req->path() + "' failed");
      chunk.set_last(true);
      chunk.set_crc32c(crc);
    }
    if (!writer->Write(chunk)) return grpc::Status::OK;
  } while (in && !ctx->IsCancelled());
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetServerInfo(grpc::ServerContext* ctx, const v1::GetServerInfoRequest*,
                                           v1::ServerInfo* resp) {
  FLYP_AUTH_OR_RETURN(ctx);
  resp->set_version(BuildVersion());
  resp->set_git_sha(BuildGitSha());
  resp->set_launcher(launcher_);
  return grpc::Status::OK;
}

}  // namespace flyp::coord
