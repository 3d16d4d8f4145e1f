#include "tests/testing/slurm_cluster.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "common/file_util.h"

namespace flyp::testing {
namespace {

namespace fs = std::filesystem;

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool Alive(int pid) {
  if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

int ReadPid(const std::string& path) {
  std::ifstream in(path);
  int pid = 0;
  in >> pid;
  return pid;
}

// Daemons of a test process that died before its destructor ran: their
// command lines name its folder, flyp<pid>-slurm.
void StopLeftovers() {
  static const std::regex kTag(R"(/flyp(\d+)-slurm/)");
  DIR* d = opendir("/proc");
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    char* end;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    const std::string comm = cmdline.substr(0, cmdline.find(' '));
    const std::string name = comm.substr(comm.rfind('/') + 1);
    if (name != "munged" && name != "slurmctld" && name != "slurmd") continue;
    std::smatch m;
    if (std::regex_search(cmdline, m, kTag) && !Alive(std::stoi(m[1]))) kill(static_cast<int>(pid), SIGKILL);
  }
  closedir(d);
}

// The test's folders a node must see although its /tmp is its own.
std::vector<std::string> FoldersUnderTmp() {
  std::vector<std::string> out;
  for (const std::string& p : {TempDir(), BinaryDir(), SourceDir(), SharedDataDir()}) {
    std::error_code ec;
    const fs::path c = fs::canonical(p, ec);
    if (ec || c.string().rfind("/tmp/", 0) != 0) continue;
    bool covered = false;
    for (const std::string& o : out) covered |= c.string() == o || c.string().rfind(o + "/", 0) == 0;
    if (!covered) out.push_back(c.string());
  }
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<SlurmCluster>> SlurmCluster::Start(NetnsHosts* hosts, const std::string& dir,
                                                            SlurmClusterOptions options) {
  if (geteuid() != 0) {
    return FailedPreconditionError(
        "Slurm's daemons (slurmctld, slurmd, munged) need root; run the test as root");
  }
  for (const char* program :
       {"/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch", "/usr/bin/squeue",
        "/usr/bin/scontrol", "/usr/bin/scancel", "/usr/bin/munge"}) {
    if (access(program, X_OK) != 0) {
      return FailedPreconditionError(
          std::string(program) +
          " is missing (Debian's slurm-wlm, slurm-client and munge; scripts/install-deps installs them)");
    }
  }
  if (RunCommand("ls /usr/lib/*/slurm-wlm/mpi_pmix.so").code != 0) {
    return FailedPreconditionError(
        "Slurm's PMIx plugin (mpi_pmix.so, Debian's slurm-wlm-basic-plugins) is missing");
  }
  // A node needs a mount and UTS namespace of its own (a private /tmp, its
  // host name): CAP_SYS_ADMIN, which a container may not grant.
  CommandResult probe = RunCommand("unshare --mount --uts --propagation private sh -c " +
                                   Quote("mount -t tmpfs tmpfs /tmp && hostname flyp-probe"));
  if (probe.code != 0) {
    return FailedPreconditionError(
        "cannot give a Slurm node a private /tmp and host name here (unshare --mount "
        "--uts, mount -t tmpfs: " +
        probe.out + ")");
  }
  StopLeftovers();

  std::unique_ptr<SlurmCluster> c(new SlurmCluster());
  c->hosts_ = hosts;
  c->dir_ = dir + "/flyp" + std::to_string(getpid()) + "-slurm";
  const std::string& d = c->dir_;
  std::error_code ec;
  fs::remove_all(d, ec);
  for (const char* sub : {"munge", "state", "spool", "log"}) fs::create_directories(d + "/" + sub, ec);
  fs::permissions(d + "/munge", fs::perms::owner_all, ec);
  if (ec) {
    return InternalError("cannot create " + d + ": " + ec.message());
  }

  // munged with a key and socket of this process's own.
  std::string key(1024, '\0');
  std::random_device rd;
  for (char& ch : key) ch = static_cast<char>(rd() & 0xff);
  if (Status s = WriteFileAtomic(d + "/munge/munge.key", key, 0600); !s.ok()) {
    return InternalError(s.ToString());
  }
  const std::string socket = d + "/munge/munge.socket";
  c->pid_files_.push_back(d + "/munge/munged.pid");
  CommandResult r = RunCommand(
      "/usr/sbin/munged --force --num-threads=2 --socket=" + Quote(socket) +
      " --key-file=" + Quote(d + "/munge/munge.key") + " --pid-file=" + Quote(d + "/munge/munged.pid") +
      " --log-file=" + Quote(d + "/log/munged.log") + " --seed-file=" + Quote(d + "/munge/munged.seed"));
  if (r.code != 0 || RunCommand("/usr/bin/munge -n -S " + Quote(socket) + " | /usr/bin/unmunge -S " +
                                Quote(socket) + " >/dev/null")
                             .code != 0) {
    return InternalError("munged does not start: " + r.out);
  }

  const int ctld_port = FreeTcpPort(), slurmd_port = FreeTcpPort();
  if (ctld_port == 0 || slurmd_port == 0) {
    return InternalError("no free TCP port for slurmctld/slurmd");
  }
  c->conf_ = d + "/slurm.conf";
  std::ostringstream conf;
  conf << "# A test's own Slurm cluster (tests/testing/slurm_cluster.h).\n"
       << "ClusterName=flyp" << getpid() << "\n"
       << "SlurmctldHost=ctl(" << hosts->bridge_address() << ")\n"
       << "SlurmUser=root\nSlurmdUser=root\n"
       << "SlurmctldPort=" << ctld_port << "\nSlurmdPort=" << slurmd_port << "\n"
       << "AuthType=auth/munge\nCredType=cred/munge\nAuthInfo=socket=" << socket << "\n"
       << "StateSaveLocation=" << d << "/state\nSlurmdSpoolDir=" << d << "/spool/%n\n"
       << "SlurmctldPidFile=" << d << "/slurmctld.pid\nSlurmdPidFile=" << d << "/slurmd.%n.pid\n"
       << "SlurmctldLogFile=" << d << "/log/slurmctld.log\nSlurmdLogFile=" << d << "/log/slurmd.%n.log\n"
       << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
       << "SchedulerType=sched/backfill\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n"
       << "MpiDefault=none\nReturnToService=2\nJobAcctGatherType=jobacct_gather/none\n"
       << "KillWait=" << options.kill_wait_s
       << "\nInactiveLimit=0\n"
       // A job no partition can hold is refused at submission, not left pending.
       << "EnforcePartLimits=ALL\n";
  std::string node_list;
  for (const NetnsHosts::Host& h : hosts->hosts()) {
    conf << "NodeName=" << h.name << " NodeAddr=" << h.address << " CPUs=" << options.cpus_per_node
         << " State=UNKNOWN\n";
    node_list += (node_list.empty() ? "" : ",") + h.name;
    c->nodes_.push_back(h.name);
  }
  conf << "PartitionName=debug Nodes=" << node_list << " Default=YES MaxTime=INFINITE State=UP\n";
  if (Status s = WriteFileAtomic(c->conf_, conf.str()); !s.ok()) {
    return InternalError(s.ToString());
  }

  // slurmctld checks that its host name is SlurmctldHost's.
  c->pid_files_.push_back(d + "/slurmctld.pid");
  r = RunCommand("SLURM_CONF=" + Quote(c->conf_) + " unshare --uts sh -c " +
                 Quote("hostname ctl && exec /usr/sbin/slurmctld -i -f " + Quote(c->conf_)));
  if (r.code != 0) {
    return InternalError("slurmctld does not start: " + r.out + c->Logs());
  }
  const std::vector<std::string> shared = FoldersUnderTmp();
  for (size_t i = 0; i < hosts->hosts().size(); ++i) {
    const std::string& name = hosts->host(static_cast<int>(i)).name;
    // A private /tmp, then the test's folders bound back in through file
    // descriptors opened before it hid them (mount(8) must not resolve the
    // /proc link to the path, which now names the empty tmpfs).
    std::string script = "";
    for (size_t k = 0; k < shared.size(); ++k)
      script += "exec " + std::to_string(3 + k) + "<" + Quote(shared[k]) + "; ";
    script += "hostname " + name + " && mount -t tmpfs -o size=1g,mode=1777 tmpfs /tmp";
    for (size_t k = 0; k < shared.size(); ++k) {
      script += " && mkdir -p " + Quote(shared[k]) + " && mount --no-canonicalize --bind /proc/self/fd/" +
                std::to_string(3 + k) + " " + Quote(shared[k]);
    }
    for (size_t k = 0; k < shared.size(); ++k) script += " && exec " + std::to_string(3 + k) + "<&-";
    script += " && exec /usr/sbin/slurmd -N " + name + " -f " + Quote(c->conf_);
    c->pid_files_.push_back(d + "/slurmd." + name + ".pid");
    r = RunCommand("SLURM_CONF=" + Quote(c->conf_) + " " + hosts->EnterPrefix(static_cast<int>(i)) +
                   " unshare --mount --uts --propagation private sh -c " + Quote(script));
    if (r.code != 0) {
      return InternalError("slurmd on " + name + " does not start: " + r.out + c->Logs());
    }
  }
  std::string error;
  if (!c->WaitForNodes(&error)) {
    return InternalError(error + c->Logs());
  }
  return std::move(c);
}

SlurmCluster::~SlurmCluster() { Shutdown(); }

void SlurmCluster::Shutdown() {
  if (!conf_.empty()) Command("scontrol shutdown >/dev/null 2>&1");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<int> pids;
  for (const std::string& f : pid_files_) pids.push_back(ReadPid(f));
  // munged last: the others talk to it while they shut down.
  for (size_t i = 1; i < pids.size(); ++i) {
    while (Alive(pids[i]) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (Alive(pids[i])) kill(pids[i], SIGKILL);
  }
  if (!pids.empty() && Alive(pids[0])) {
    kill(pids[0], SIGTERM);
    for (int i = 0; i < 100 && Alive(pids[0]); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (Alive(pids[0])) kill(pids[0], SIGKILL);
  }
  pid_files_.clear();
}

bool SlurmCluster::WaitForNodes(std::string* error) {
  std::string last;
  for (int i = 0; i < 300; ++i) {
    CommandResult r = Command("sinfo -h -N -o '%N %T'");
    last = r.out;
    int idle = 0;
    std::istringstream in(r.out);
    for (std::string node, state; in >> node >> state;) idle += state == "idle";
    if (r.code == 0 && idle == static_cast<int>(nodes_.size())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  *error = "the Slurm nodes did not become idle within 30 s; sinfo says:\n" + last;
  return false;
}

CommandResult SlurmCluster::Command(const std::string& command_line) const {
  return RunCommand("SLURM_CONF=" + Quote(conf_) + " " + command_line);
}

std::string SlurmCluster::JobState(const std::string& slurm_job_id) const {
  CommandResult r = Command("squeue -h -t all -j " + slurm_job_id + " -o %T");
  std::string s = r.code == 0 ? r.out : "";
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string SlurmCluster::Logs() const {
  std::string out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/log", ec)) {
    std::ifstream in(e.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
    out += "\n--- " + e.path().filename().string() + "\n" + text;
  }
  return out;
}

}  // namespace flyp::testing
