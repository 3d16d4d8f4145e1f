#include "coordinator/service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "common/cpus.h"
#include "common/env.h"
#include "common/file_util.h"
#include "common/grpc_client.h"
#include "common/logging.h"
#include "common/tls.h"
#include "coordinator/cluster_config.h"
#include "coordinator/launcher/hosts_launcher.h"
#include "coordinator/launcher/kubernetes_launcher.h"
#include "coordinator/launcher/launcher_set.h"
#include "coordinator/launcher/local_launcher.h"
#include "coordinator/launcher/slurm_launcher.h"
#include "coordinator/store/sqlite_job_store.h"
#include "coordinator/store/sqlite_sweep_store.h"
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
  FLYP_ASSIGN_OR_RETURN(s->sweep_store_, SqliteSweepStore::Open(config.db_path));
  FLYP_RETURN_IF_ERROR(s->metrics_->LoadSweepCounts(s->sweep_store_.get()));

  // The CPUs this process may run on: local ranks are pinned among them.
  const std::vector<PoolConfig> pools =
      EffectivePools(config, AllowedCpus(), static_cast<int>(EnvInt(env::kMetricsPort)));
  FLYP_RETURN_IF_ERROR(CheckSharedStorage(pools, artifact_root, config.data_roots));
  std::map<std::string, HostsPoolSettings> hosts_pools;
  std::map<std::string, RshProbeSettings> probes;
  bool kubernetes = false, slurm = false;
  for (const PoolConfig& p : pools) {
    kubernetes |= p.launcher == LauncherKind::kKubernetes;
    slurm |= p.launcher == LauncherKind::kSlurm;
    if (p.launcher != LauncherKind::kHosts) continue;
    HostsPoolSettings hs;
    hs.rsh_agent = p.rsh_agent;
    hs.oob_interface = p.oob_interface;
    hs.btl_interface = p.btl_interface;
    hs.mca = p.mca;
    hosts_pools[p.name] = hs;
    probes[p.name] = RshProbeSettings{
        p.rsh_agent, std::chrono::milliseconds(static_cast<int64_t>(p.probe_timeout_s * 1000))};
  }
  LocalLauncherOptions lo;
  lo.mpirun = config.mpirun.empty() ? FLYP_MPIEXEC : config.mpirun;
  lo.worker_binary = config.worker_binary.empty() ? SelfDir() + "/flyp-worker" : config.worker_binary;
  lo.coordinator_ca = worker_ca_file;
  lo.coordinator_server_name = config.worker_tls_server_name;
  auto set = std::make_unique<LauncherSet>();
  auto add = [&](std::unique_ptr<Launcher> l, const std::string& kind, LauncherKind which) {
    set->AddKind(kind, l.get());
    for (const PoolConfig& p : pools)
      if (p.launcher == which) set->AddPool(p.name, l.get());
    s->launchers_.push_back(std::move(l));
  };
  if (kubernetes) {
    KubernetesLauncherOptions ko;
    ko.api.server = config.k8s_api_server.empty() ? InClusterApiServer() : config.k8s_api_server;
    if (ko.api.server.empty()) {
      return FailedPreconditionError(
          "launcher kubernetes: not in a cluster (no KUBERNETES_SERVICE_HOST); set k8s-api-server");
    }
    ko.api.token_file = config.k8s_token_file;
    ko.api.ca_file = config.k8s_ca_file;
    MpiJobOptions& mj = ko.mpijob;
    mj.ns = config.k8s_namespace.empty() ? InClusterNamespace() : config.k8s_namespace;
    mj.image = config.k8s_image;
    mj.pvc = config.k8s_pvc;
    mj.mount_path = config.k8s_mount_path;
    mj.data_roots = config.data_roots;
    if (!config.worker_binary.empty()) mj.worker_binary = config.worker_binary;
    mj.worker_metrics_port = config.k8s_worker_metrics_port;
    mj.grace_s = static_cast<int64_t>(config.grace_period_s);
    mj.defaults = config.k8s_defaults;
    mj.cuda_defaults = config.k8s_cuda_defaults;
    mj.coordinator_ca_pem = worker_ca_pem;
    mj.coordinator_server_name = config.worker_tls_server_name;
    ko.poll_ms = static_cast<int64_t>(config.k8s_poll_s * 1000);
    FLYP_LOG(INFO) << "launcher kubernetes: MPIJobs in namespace " << mj.ns << " via " << ko.api.server;
    add(std::make_unique<KubernetesLauncher>(ko), "k8s", LauncherKind::kKubernetes);
  }
  if (slurm) {  // the one pool (config validation): Slurm admits and places the gangs
    SlurmLauncherOptions so;
    so.bin_dir = config.slurm_bin_dir;
    so.partition = config.slurm_partition;
    so.account = config.slurm_account;
    so.qos = config.slurm_qos;
    so.mpi = config.slurm_mpi;
    so.worker_binary = config.worker_binary.empty() ? SelfDir() + "/flyp-worker" : config.worker_binary;
    so.coordinator_ca = worker_ca_file;
    so.coordinator_server_name = config.worker_tls_server_name;
    so.poll_ms = static_cast<int64_t>(config.slurm_poll_s * 1000);
    FLYP_LOG(INFO) << "launcher slurm: sbatch" << (so.partition.empty() ? "" : " --partition=" + so.partition)
                   << ", worlds run " << so.worker_binary << " with srun --mpi=" << so.mpi
                   << "; Slurm admits the gangs";
    add(std::make_unique<SlurmLauncher>(so), "slurm", LauncherKind::kSlurm);
  }
  // A local launcher also when no pool is local: it stops the orphans a
  // previous configuration left (Recover of "local:<pid>" handles).
  add(std::make_unique<LocalLauncher>(lo), "local", LauncherKind::kLocal);
  add(std::make_unique<HostsLauncher>(lo, hosts_pools), "hosts", LauncherKind::kHosts);
  s->launcher_ = std::move(set);
  if (!probes.empty()) s->prober_ = std::make_unique<RshProber>(probes);

  JobManagerOptions mo;
  mo.pools = pools;
  mo.prober = s->prober_.get();
  mo.worker_targets_file = config.worker_targets_file.empty() ? artifact_root + "/worker-targets.json"
                                                              : config.worker_targets_file;
  mo.artifact_root = artifact_root;
  mo.grace_ms = static_cast<int64_t>(config.grace_period_s * 1000);
  mo.start_timeout_ms = static_cast<int64_t>(config.start_timeout_s * 1000);
  mo.backoff_base_ms = static_cast<int64_t>(config.backoff_base_s * 1000);
  mo.backoff_max_ms = static_cast<int64_t>(config.backoff_max_s * 1000);
  mo.metrics = s->metrics_.get();
  for (const std::string& r : config.data_roots) {
    std::error_code ec;
    const auto canonical = std::filesystem::canonical(r, ec);
    mo.data_roots.push_back(ec ? r : canonical.string());
  }
  s->manager_ = std::make_unique<JobManager>(mo, s->store_.get(), s->launcher_.get(), &s->clock_);
  SweepManagerOptions so;
  so.artifact_root = artifact_root;
  so.metrics = s->metrics_.get();
  so.cancel_wait_ms = mo.grace_ms + 5000;
  s->sweep_manager_ =
      std::make_unique<SweepManager>(so, s->sweep_store_.get(), s->manager_.get(), &s->clock_);
  s->job_service_ = std::make_unique<JobServiceImpl>(s->manager_.get(), &s->auth_, config.data_roots,
                                                     LauncherKindName(config.launcher));
  s->sweep_service_ = std::make_unique<SweepServiceImpl>(s->sweep_manager_.get(), s->manager_.get(),
                                                         &s->auth_, config.data_roots);
  s->worker_service_ = std::make_unique<WorkerServiceImpl>(s->manager_.get(), s->metrics_.get());
  s->cluster_service_ = std::make_unique<ClusterServiceImpl>(s->manager_.get(), &s->auth_);

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
  builder.RegisterService(s->cluster_service_.get());
  builder.RegisterService(s->sweep_service_.get());
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
    JobManager* manager = s->manager_.get();
    auto ms = MetricsServer::Start(config.metrics_listen, s->metrics_->registry(),
                                   {{"/targets", [manager] { return manager->WorkerTargetsJson(); }}});
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
  FLYP_RETURN_IF_ERROR(s->sweep_manager_->Start());
  int cpu_slots = 0, gpus = 0, hosts = 0;
  for (const PoolConfig& p : pools) {
    for (const HostConfig& h : p.hosts) {
      cpu_slots += h.cpu_slots;
      gpus += static_cast<int>(h.gpus.size());
      ++hosts;
    }
  }
  FLYP_LOG(INFO) << "flyp-coordinator serving on port " << s->port_ << " ("
                 << (s->launcher_->AdmitsGangs()
                         ? std::string("slots: the launcher's")
                         : std::to_string(pools.size()) + " pool(s), " + std::to_string(hosts) +
                               " host(s): " + std::to_string(cpu_slots) + " CPU slots, " +
                               std::to_string(gpus) + " GPUs")
                 << "; workers dial " << advertise << ")";
  if (!config.port_file.empty()) {
    // Atomic: readers never see half a number.
    Status wrote = WriteFileAtomic(config.port_file, std::to_string(s->port_) + "\n");
    if (!wrote.ok()) FLYP_LOG(ERROR) << wrote;
  }
  return s;
}

CoordinatorServer::~CoordinatorServer() {
  Shutdown();
  metrics_server_.reset();  // its /targets page reads the manager, which goes next
}

void CoordinatorServer::Wait() {
  if (server_) server_->Wait();
}

void CoordinatorServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (sweep_manager_) sweep_manager_->Stop();
  if (manager_) manager_->Stop();
}

}  // namespace flyp::coord
