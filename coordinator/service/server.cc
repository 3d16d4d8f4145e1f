#include "coordinator/service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <thread>

#include "common/file_util.h"
#include "common/grpc_client.h"
#include "common/logging.h"
#include "common/tls.h"
#include "coordinator/launcher/kubernetes_launcher.h"
#include "coordinator/launcher/local_launcher.h"
#include "coordinator/store/sqlite_job_store.h"
#include "coordinator/store/store_lock.h"

#ifndef FLYP_MPIEXEC
#define FLYP_MPIEXEC "mpirun"
#endif

namespace flyp::coord {
namespace {

// Every data root must be an existing directory: a typo would otherwise
// only show as every submitted path being "outside the data roots".
Status CheckDataRoots(const std::vector<std::string>& roots) {
  for (const std::string& r : roots) {
    std::error_code ec;
    const auto st = std::filesystem::status(r, ec);
    if (!std::filesystem::exists(st)) return InvalidArgumentError("data-root '" + r + "': no such directory");
    if (!std::filesystem::is_directory(st))
      return InvalidArgumentError("data-root '" + r + "': not a directory");
    if (r.find(':') != std::string::npos) {
      return InvalidArgumentError("data-root '" + r +
                                  "': must not contain ':' (the roots reach the workers ':'-separated, "
                                  "as FLYP_DATA_ROOTS)");
    }
  }
  return Status::Ok();
}

// What the ranks will dial and expect: dialling the coordinator's own
// listening address, check that `ca_pem` verifies its certificate for
// `server_name`, so a CA or name that cannot work stops the coordinator at
// start instead of failing every job. A connection that fails for other
// reasons is only logged (the job API is up; workers dial another address).
Status CheckWorkersCanVerify(const std::string& listen, int port, const std::string& ca_pem,
                             const std::string& ca_file, const std::string& server_name) {
  std::string host;
  int ignored = 0;
  FLYP_RETURN_IF_ERROR(ParseHostPort(listen, &host, &ignored));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  const std::string dial = host + ":" + std::to_string(port);
  int serving = -1;
  grpc::Status s =
      CheckHealth(MakeClientChannel(dial, ca_pem, server_name), "", std::chrono::seconds(10), &serving);
  if (s.ok()) return Status::Ok();
  if (IsTlsHandshakeFailure(s)) {
    return FailedPreconditionError("ranks could not verify this coordinator: worker-tls-ca '" + ca_file +
                                   "' with name '" + server_name +
                                   "' against tls-cert: " + s.error_message());
  }
  FLYP_LOG(WARNING) << "could not check the TLS setup ranks will see (dialled " << dial
                    << "): " << s.error_message();
  return Status::Ok();
}

std::string SelfDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

}  // namespace

StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(const CoordinatorConfig& config) {
  FLYP_RETURN_IF_ERROR(ValidateCoordinatorConfig(config));
  FLYP_RETURN_IF_ERROR(CheckDataRoots(config.data_roots));
  // TLS files are checked before anything else starts: gRPC itself would
  // only report a bad certificate as "cannot listen".
  std::optional<PemKeyPair> tls;
  std::string worker_ca_pem, worker_ca_file, worker_server_name;
  if (!config.tls_cert.empty()) {
    FLYP_ASSIGN_OR_RETURN(tls, ReadPemKeyPair("tls-cert", config.tls_cert, "tls-key", config.tls_key));
    FLYP_ASSIGN_OR_RETURN(worker_ca_pem, ReadPemCertificates("worker-tls-ca", config.worker_tls_ca));
    worker_ca_file = std::filesystem::absolute(config.worker_tls_ca).string();  // ranks run elsewhere
  }
  std::unique_ptr<CoordinatorServer> s(new CoordinatorServer());
  s->config_ = config;
  if (!config.token_file.empty()) {
    FLYP_ASSIGN_OR_RETURN(s->auth_, TokenAuth::LoadFile(config.token_file));
  } else {
    FLYP_LOG(WARNING) << "no --token-file: every caller is accepted as 'anonymous'";
  }
  std::error_code ec;
  std::filesystem::create_directories(config.artifact_root, ec);
  if (ec) return UnavailableError("artifact-root '" + config.artifact_root + "': " + ec.message());
  const std::string artifact_root = std::filesystem::canonical(config.artifact_root).string();
  // One coordinator per store: a second one would split the jobs' worlds
  // and their writes between two managers.
  FLYP_ASSIGN_OR_RETURN(s->store_lock_, StoreLock::Acquire(config.db_path));
  FLYP_ASSIGN_OR_RETURN(s->store_, SqliteJobStore::Open(config.db_path));
  s->metrics_ = std::make_unique<CoordinatorMetrics>();
  FLYP_RETURN_IF_ERROR(s->metrics_->LoadJobCounts(s->store_.get()));

  if (config.launcher == LauncherKind::kKubernetes) {
    KubernetesLauncherOptions ko;
    ko.api.server = config.k8s_api_server.empty() ? InClusterApiServer() : config.k8s_api_server;
    if (ko.api.server.empty()) {
      return FailedPreconditionError(
          "launcher kubernetes: not in a cluster (no KUBERNETES_SERVICE_HOST); set k8s-api-server");
    }
    ko.api.token_file = config.k8s_token_file;
    ko.api.ca_file = config.k8s_ca_file;
    ko.ns = config.k8s_namespace.empty() ? InClusterNamespace() : config.k8s_namespace;
    ko.image = config.k8s_image;
    ko.pvc = config.k8s_pvc;
    ko.mount_path = config.k8s_mount_path;
    if (!config.worker_binary.empty()) ko.worker_binary = config.worker_binary;
    ko.worker_metrics_port = config.k8s_worker_metrics_port;
    ko.coordinator_ca_pem = worker_ca_pem;
    ko.coordinator_server_name = config.worker_tls_server_name;
    ko.poll_ms = static_cast<int64_t>(config.k8s_poll_s * 1000);
    ko.grace_s = static_cast<int64_t>(config.grace_period_s);
    FLYP_LOG(INFO) << "launcher kubernetes: MPIJobs in namespace " << ko.ns << " via " << ko.api.server;
    s->launcher_ = std::make_unique<KubernetesLauncher>(ko);
  } else {
    LocalLauncherOptions lo;
    lo.mpirun = config.mpirun.empty() ? FLYP_MPIEXEC : config.mpirun;
    lo.worker_binary = config.worker_binary.empty() ? SelfDir() + "/flyp-worker" : config.worker_binary;
    lo.coordinator_ca = worker_ca_file;
    lo.coordinator_server_name = config.worker_tls_server_name;
    s->launcher_ = std::make_unique<LocalLauncher>(lo);
  }

  JobManagerOptions mo;
  mo.capacity.cpu_slots =
      config.cpu_slots > 0 ? config.cpu_slots : static_cast<int>(std::thread::hardware_concurrency());
  mo.capacity.gpus = config.gpus;
  mo.artifact_root = artifact_root;
  mo.grace_ms = static_cast<int64_t>(config.grace_period_s * 1000);
  mo.backoff_base_ms = static_cast<int64_t>(config.backoff_base_s * 1000);
  mo.backoff_max_ms = static_cast<int64_t>(config.backoff_max_s * 1000);
  mo.metrics = s->metrics_.get();
  for (const std::string& r : config.data_roots) {
    std::error_code ec;
    const auto canonical = std::filesystem::canonical(r, ec);
    mo.data_roots.push_back(ec ? r : canonical.string());
  }
  s->manager_ = std::make_unique<JobManager>(mo, s->store_.get(), s->launcher_.get(), &s->clock_);
  s->job_service_ = std::make_unique<JobServiceImpl>(s->manager_.get(), &s->auth_, config.data_roots);
  s->worker_service_ = std::make_unique<WorkerServiceImpl>(s->manager_.get(), s->metrics_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (tls) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({tls->private_key, tls->cert_chain});
    creds = grpc::SslServerCredentials(ssl);
  } else {
    creds = grpc::InsecureServerCredentials();
  }
  // No SO_REUSEPORT: gRPC sets it by default, and a second coordinator on
  // the same port would then start and split the traffic with this one.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(config.listen, creds, &s->port_);
  builder.SetMaxReceiveMessageSize(config.max_receive_mib * 1024 * 1024);
  builder.RegisterService(s->job_service_.get());
  builder.RegisterService(s->worker_service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(s->metrics_->RpcInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || s->port_ == 0) return UnavailableError("cannot listen on '" + config.listen + "'");

  std::string advertise = config.advertise_address;
  if (advertise.empty()) advertise = "127.0.0.1:" + std::to_string(s->port_);
  if (tls) {
    std::string host;
    int port = 0;
    FLYP_RETURN_IF_ERROR(ParseHostPort(advertise, &host, &port));
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    const std::string name = config.worker_tls_server_name.empty() ? host : config.worker_tls_server_name;
    FLYP_RETURN_IF_ERROR(CheckWorkersCanVerify(config.listen, s->port_, worker_ca_pem, worker_ca_file, name));
  }

  if (!config.metrics_listen.empty() && config.metrics_listen != "off") {
    auto ms = MetricsServer::Start(config.metrics_listen, s->metrics_->registry());
    if (ms.ok()) {
      s->metrics_server_ = std::move(*ms);
      FLYP_LOG(INFO) << "metrics on http://" << s->metrics_server_->address() << "/metrics";
    } else if (ms.status().code() == StatusCode::kUnavailable) {
      // The job API matters more than its metrics: a taken port is not fatal.
      FLYP_LOG(ERROR) << ms.status() << "; serving without /metrics";
    } else {
      return ms.status();  // a malformed address or a host that does not resolve
    }
  }
  s->manager_->set_coordinator_address(advertise);
  FLYP_RETURN_IF_ERROR(s->manager_->Start());
  FLYP_LOG(INFO) << "flyp-coordinator serving on port " << s->port_ << " (" << mo.capacity.cpu_slots
                 << " CPU slots, " << mo.capacity.gpus << " GPUs; workers dial " << advertise << ")";
  if (!config.port_file.empty()) {
    // Atomic: readers never see half a number.
    Status wrote = WriteFileAtomic(config.port_file, std::to_string(s->port_) + "\n");
    if (!wrote.ok()) FLYP_LOG(ERROR) << wrote;
  }
  return s;
}

CoordinatorServer::~CoordinatorServer() { Shutdown(); }

void CoordinatorServer::Wait() {
  if (server_) server_->Wait();
}

void CoordinatorServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (manager_) manager_->Stop();
}

}  // namespace flyp::coord
