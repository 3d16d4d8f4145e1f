#include "coordinator/service/job_service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>

#include "common/crc32c.h"
#include "common/file_util.h"
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

// INVALID_ARGUMENT "<field>: at most N bytes (got M)" when over budget.
Status CheckBytes(const char* field, const std::string& value, size_t max) {
  if (value.size() <= max) return Status::Ok();
  return InvalidArgumentError(std::string(field) + ": at most " + std::to_string(max) + " bytes (got " +
                              std::to_string(value.size()) + ")");
}

// The ranks' lines of the world log, read incrementally with bounded memory:
// a line of the file longer than kMaxLogLineBytes is cut there ("... [cut]")
// and the rest of it skipped; WorldLogParser puts the pieces of a rank's
// line back together (coordinator/service/log_lines.h).
class LogReader {
 public:
  explicit LogReader(std::string path) : path_(std::move(path)) {}

  // Calls `emit` for each rank line completed by what was appended since the
  // last call; `flush`: also the pieces whose line never ended (the world is
  // gone). Stops early (returning false) when `emit` does.
  template <typename F>
  bool ReadNew(F&& emit, bool flush) {
    auto feed = [&](const std::string& file_line) {
      for (v1::LogLine& l : parser_.Feed(file_line))
        if (!emit(std::move(l))) return false;
      return true;
    };
    if (!in_.is_open()) in_.open(path_, std::ios::binary);
    if (in_.is_open()) {
      in_.clear();
      char buf[8192];
      while (in_.read(buf, sizeof(buf)) || in_.gcount() > 0) {
        const size_t n = static_cast<size_t>(in_.gcount());
        for (size_t i = 0; i < n; ++i) {
          if (buf[i] == '\n') {
            const bool go = skipping_ || feed(partial_);
            partial_.clear();
            skipping_ = false;
            if (!go) return false;
          } else if (!skipping_) {
            partial_.push_back(buf[i]);
            if (partial_.size() >= kMaxLogLineBytes) {
              partial_ += " ... [cut]";
              const bool go = feed(partial_);
              partial_.clear();
              skipping_ = true;
              if (!go) return false;
            }
          }
        }
        if (in_.eof()) break;
      }
    }
    if (flush) {
      if (!partial_.empty() && !skipping_ && !feed(partial_)) return false;
      partial_.clear();
      for (v1::LogLine& l : parser_.Flush())
        if (!emit(std::move(l))) return false;
    }
    return true;
  }

 private:
  std::string path_;
  std::ifstream in_;
  std::string partial_;    // the line of the file being read
  bool skipping_ = false;  // the rest of a line that was cut
  WorldLogParser parser_;
};

}  // namespace

const std::string* AuthorizationHeader(grpc::ServerContext* ctx, std::string* storage) {
  const auto& md = ctx->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return nullptr;
  storage->assign(it->second.data(), it->second.size());
  return storage;
}

StatusOr<Principal> JobServiceImpl::Caller(grpc::ServerContext* ctx) const {
  std::string storage;
  return auth_->Authenticate(AuthorizationHeader(ctx, &storage));
}

StatusOr<JobRecord> JobServiceImpl::VisibleJob(const Principal& caller, const std::string& id) {
  const Status not_found = NotFoundError("job '" + QuoteForError(id) + "' not found");
  if (id.size() > kMaxJobIdBytes) return not_found;  // too long to exist
  StatusOr<JobRecord> rec = manager_->store()->GetJob(id);
  if (!rec.ok()) return rec.status().code() == StatusCode::kNotFound ? not_found : rec.status();
  if (!caller.MaySee(rec->job.owner())) return not_found;  // as if it did not exist
  return rec;
}

#define FLYP_AUTH_OR_RETURN(ctx) \
  auto _caller = Caller(ctx);    \
  if (!_caller.ok()) return ToGrpcStatus(_caller.status())

// `rec` = the job `id` the caller may see, or return its status.
#define FLYP_VISIBLE_JOB_OR_RETURN(rec, id) \
  auto rec = VisibleJob(*_caller, id);      \
  if (!rec.ok()) return ToGrpcStatus(rec.status())

grpc::Status JobServiceImpl::SubmitJob(grpc::ServerContext* ctx, const v1::SubmitJobRequest* req,
                                       v1::SubmitJobResponse* resp) {
  FLYP_AUTH_OR_RETURN(ctx);
  if (Status s = CheckBytes("idempotency_key", req->idempotency_key(), kMaxIdempotencyKeyBytes); !s.ok())
    return ToGrpcStatus(s);
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
  auto job = manager_->Submit(load.spec, JobSpecToYaml(load.spec), _caller->name, req->idempotency_key());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *resp->mutable_job() = *job;
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetJob(grpc::ServerContext* ctx, const v1::GetJobRequest* req, v1::Job* resp) {
  FLYP_AUTH_OR_RETURN(ctx);
  FLYP_VISIBLE_JOB_OR_RETURN(rec, req->id());
  *resp = rec->job;
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext* ctx, const v1::ListJobsRequest* req,
                                      v1::ListJobsResponse* resp) {
  FLYP_AUTH_OR_RETURN(ctx);
  if (Status s = CheckBytes("name_contains", req->name_contains(), kMaxNameFilterBytes); !s.ok())
    return ToGrpcStatus(s);
  if (req->states_size() > v1::JobState_ARRAYSIZE)
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "states: at most one entry per state");
  ListQuery q;
  for (int s : req->states()) q.states.push_back(static_cast<v1::JobState>(s));
  q.name_contains = req->name_contains();
  q.sweep_id = req->sweep_id();
  if (_caller->role != Role::kAdmin) q.owner = _caller->name;
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
  if (Status s = CheckBytes("reason", req->reason(), kMaxCancelReasonBytes); !s.ok()) return ToGrpcStatus(s);
  FLYP_VISIBLE_JOB_OR_RETURN(rec, req->id());
  auto job = manager_->Cancel(req->id(), req->reason());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *resp = *job;
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::WatchJob(grpc::ServerContext* ctx, const v1::WatchJobRequest* req,
                                      grpc::ServerWriter<v1::WatchJobEvent>* writer) {
  FLYP_AUTH_OR_RETURN(ctx);
  uint64_t seen = manager_->version();
  FLYP_VISIBLE_JOB_OR_RETURN(rec, req->id());
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
  if (req->tail() < 0 || req->tail() > kMaxLogTailLines) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "tail: must be in [0, " +
                                                                std::to_string(kMaxLogTailLines) + "] (got " +
                                                                std::to_string(req->tail()) + ")");
  }
  FLYP_VISIBLE_JOB_OR_RETURN(rec, req->id());
  const int world = rec->job.spec().resources().world_size();
  if (req->has_rank() && (req->rank() < -1 || req->rank() >= world)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "rank " + std::to_string(req->rank()) + " is outside the world of " + req->id() +
                            " (world size " + std::to_string(world) + ": ranks 0.." +
                            std::to_string(world - 1) + "; -1 is mpirun's own output)");
  }
  const int64_t since = req->has_since() ? req->since().seconds() : 0;
  auto wanted = [&](const v1::LogLine& l) {
    if (req->has_rank() && l.rank() != req->rank()) return false;
    return since == 0 || (l.has_time() && l.time().seconds() >= since);
  };
  LogReader log(rec->job.artifact_dir() + "/logs/world.log");
  // What is there now: every line, or only the last `tail` (held in a
  // window of that size, so a huge log costs no more memory).
  std::deque<v1::LogLine> window;
  const bool ok = log.ReadNew(
      [&](v1::LogLine l) {
        if (!wanted(l)) return true;
        if (req->tail() == 0) return writer->Write(l);
        window.push_back(std::move(l));
        if (window.size() > static_cast<size_t>(req->tail())) window.pop_front();
        return true;
      },
      /*flush=*/IsTerminal(rec->job.status().state()));
  if (!ok) return grpc::Status::OK;  // the client went away
  for (const auto& l : window) {
    if (!writer->Write(l)) return grpc::Status::OK;
  }
  if (!req->follow() || IsTerminal(rec->job.status().state())) return grpc::Status::OK;
  uint64_t seen = manager_->version();
  while (!ctx->IsCancelled()) {
    seen = manager_->WaitForChange(seen, kWaitMs);
    auto now = manager_->store()->GetJob(req->id());
    bool done = now.ok() && IsTerminal(now->job.status().state());
    if (!log.ReadNew([&](v1::LogLine l) { return !wanted(l) || writer->Write(l); }, done))
      return grpc::Status::OK;
    if (done) break;  // the world is gone: everything it wrote was read above
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListArtifacts(grpc::ServerContext* ctx, const v1::ListArtifactsRequest* req,
                                           v1::ListArtifactsResponse* resp) {
  FLYP_AUTH_OR_RETURN(ctx);
  FLYP_VISIBLE_JOB_OR_RETURN(rec, req->id());
  const fs::path dir(rec->job.artifact_dir());
  std::error_code ec;
  std::vector<v1::Artifact> out;
  // Directory symlinks are not descended into (the iterator's default) and
  // file symlinks are not listed: GetArtifact would not serve them.
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    if (out.size() >= kMaxListedArtifacts) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "job " + req->id() + " has more than " + std::to_string(kMaxListedArtifacts) +
                              " artifacts; fetch them by path with GetArtifact");
    }
    v1::Artifact a;
    a.set_path(fs::relative(it->path(), dir).string());
    a.set_size_bytes(static_cast<int64_t>(it->file_size(ec)));
    struct stat st;
    if (lstat(it->path().c_str(), &st) == 0) {
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
  if (Status s = CheckBytes("path", req->path(), kMaxArtifactPathBytes); !s.ok()) return ToGrpcStatus(s);
  FLYP_VISIBLE_JOB_OR_RETURN(rec, req->id());
  // No symlink is followed in any component: a link planted in the folder
  // (leak-dir -> /etc) cannot serve what lies outside it.
  StatusOr<UniqueFd> fd = OpenFileBeneath(rec->job.artifact_dir(), req->path());
  if (!fd.ok()) {
    if (fd.status().code() == StatusCode::kInvalidArgument) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "path: '" + QuoteForError(req->path()) +
                              "' must be relative to the job's artifact folder and stay inside it");
    }
    if (fd.status().code() == StatusCode::kNotFound) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "artifact '" + QuoteForError(req->path()) + "' not found in job " + req->id());
    }
    return ToGrpcStatus(fd.status());
  }
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return ToGrpcStatus(InternalError(std::strerror(errno)));
  const int64_t total = static_cast<int64_t>(st.st_size);
  std::string buf(kChunkBytes, '\0');
  int64_t offset = 0;
  uint32_t crc = 0;
  for (;;) {
    const ssize_t n = ::read(fd->get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ToGrpcStatus(DataLossError("reading artifact: " + std::string(std::strerror(errno))));
    v1::ArtifactChunk chunk;
    chunk.set_data(buf.data(), static_cast<size_t>(n));
    chunk.set_offset(offset);
    chunk.set_total_size(total);
    offset += n;
    crc = Crc32cExtend(crc, buf.data(), static_cast<size_t>(n));
    const bool last = n == 0 || offset >= total;
    if (last) {  // the end: what the client must have received
      chunk.set_last(true);
      chunk.set_crc32c(crc);
    }
    if (!writer->Write(chunk)) return grpc::Status::OK;
    if (last || ctx->IsCancelled()) break;
  }
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
