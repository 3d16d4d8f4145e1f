#include "tests/testing/netns_hosts.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tests/testing/test_env.h"

namespace flyp::testing {
namespace {

// A zombie (killed, not yet reaped) counts as gone.
bool ProcessAlive(int pid) {
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// Runs `cmd`; true on exit code 0, else false with the output in *error.
bool Run(const std::string& cmd, std::string* error = nullptr) {
  CommandResult r = RunCommand(cmd);
  if (r.code == 0) return true;
  if (error != nullptr) *error = cmd + ": " + r.out;
  return false;
}

std::vector<int> NetnsPids(const std::string& ns) {
  std::vector<int> pids;
  std::istringstream in(RunCommand("ip netns pids " + ns).out);
  int pid;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

void KillNetns(const std::string& ns) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::vector<int> pids = NetnsPids(ns);
    if (pids.empty()) return;
    for (int pid : pids) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Removes namespaces and links named flyp<pid>... whose creating process is
// gone (a test binary that crashed before its destructor ran).
void RemoveLeftovers() {
  static const std::regex kName(R"(^flyp(\d+)(h\d+|br|v\d+)$)");
  std::istringstream ns_list(RunCommand("ip netns list").out);
  std::string line;
  while (std::getline(ns_list, line)) {
    std::string name = line.substr(0, line.find(' '));
    std::smatch m;
    if (std::regex_match(name, m, kName) && !ProcessAlive(std::stoi(m[1]))) {
      KillNetns(name);
      Run("ip netns del " + name);
    }
  }
  std::istringstream links(RunCommand("ip -o link show").out);
  while (std::getline(links, line)) {
    // "7: flyp123br: <...>" or "8: flyp123v1@if2: <...>"
    size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    std::string name = line.substr(colon + 2);
    name = name.substr(0, name.find_first_of(":@"));
    std::smatch m;
    if (std::regex_match(name, m, kName) && !ProcessAlive(std::stoi(m[1]))) Run("ip link del " + name);
  }
}

// A /24 of 198.18.0.0/16 that no interface here has an address in.
int FreeSubnet() {
  std::set<int> used;
  std::istringstream in(RunCommand("ip -4 -o addr show").out);
  std::string line;
  static const std::regex kAddr(R"(inet 198\.18\.(\d+)\.)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, kAddr)) used.insert(std::stoi(m[1]));
  }
  const int start = 1 + static_cast<int>(getpid() % 250);
  for (int k = 0; k < 254; ++k) {
    int s = 1 + (start - 1 + k) % 254;
    if (!used.count(s)) return s;
  }
  return -1;
}

uint64_t ReadCounter(const std::string& path) {
  std::ifstream in(path);
  uint64_t v = 0;
  in >> v;
  return v;
}

}  // namespace

std::unique_ptr<NetnsHosts> NetnsHosts::Create(int count, std::string* why_not) {
  if (count < 1 || count > 9) {
    *why_not = "NetnsHosts: 1..9 hosts";
    return nullptr;
  }
  if (geteuid() != 0) {
    *why_not = "network namespaces need root (CAP_NET_ADMIN); run the test as root";
    return nullptr;
  }
  if (RunCommand("command -v ip").code != 0) {
    *why_not = "iproute2's `ip` is not installed";
    return nullptr;
  }
  RemoveLeftovers();
  std::unique_ptr<NetnsHosts> h(new NetnsHosts());
  h->tag_ = "flyp" + std::to_string(getpid());
  const int s = FreeSubnet();
  if (s < 0) {
    *why_not = "no free /24 left in 198.18.0.0/16";
    return nullptr;
  }
  const std::string net = "198.18." + std::to_string(s) + ".";
  h->subnet_ = net + "0/24";
  h->bridge_address_ = net + "1";
  std::string error;
  const std::string bridge = h->tag_ + "br";
  if (!Run("ip link add " + bridge + " type bridge", &error)) {
    *why_not = "cannot create a bridge (no network namespace support here?): " + error;
    return nullptr;
  }
  h->bridge_ = bridge;  // from here on the destructor cleans up
  if (!Run("ip addr add " + h->bridge_address_ + "/24 dev " + bridge + " && ip link set " + bridge + " up",
           &error)) {
    *why_not = error;
    return nullptr;
  }
  for (int k = 1; k <= count; ++k) {
    Host host;
    host.name = "h" + std::to_string(k);
    host.netns = h->tag_ + host.name;
    host.address = net + std::to_string(10 + k);
    host.veth = h->tag_ + "v" + std::to_string(k);
    if (!Run("ip netns add " + host.netns, &error)) {
      *why_not = "cannot create a network namespace: " + error;
      return nullptr;
    }
    h->hosts_.push_back(host);
    const std::string in_ns = "ip netns exec " + host.netns + " ";
    if (!Run("ip link add " + host.veth + " type veth peer name eth0 netns " + host.netns, &error) ||
        !Run("ip link set " + host.veth + " master " + bridge + " up", &error) ||
        !Run(in_ns + "ip addr add " + host.address + "/24 dev eth0", &error) ||
        !Run(in_ns + "ip link set eth0 up", &error) || !Run(in_ns + "ip link set lo up", &error)) {
      *why_not = "cannot wire host " + host.name + ": " + error;
      return nullptr;
    }
  }
  return h;
}

NetnsHosts::~NetnsHosts() { TearDown(); }

void NetnsHosts::TearDown() {
  for (const Host& host : hosts_) {
    KillNetns(host.netns);
    Run("ip netns del " + host.netns);  // the veth pair goes with it
  }
  hosts_.clear();
  if (!bridge_.empty()) Run("ip link del " + bridge_);
  bridge_.clear();
}

std::string NetnsHosts::ExecPrefix(int i) const { return "ip netns exec " + host(i).netns; }

std::string NetnsHosts::EnterPrefix(int i) const { return "nsenter --net=/run/netns/" + host(i).netns; }

bool NetnsHosts::StartSshd(const std::string& dir, int port, std::string* error) {
  const std::string sshd = "/usr/sbin/sshd";
  if (access(sshd.c_str(), X_OK) != 0) {
    *error = sshd + " is missing (Debian's openssh-server; scripts/install-deps installs it)";
    return false;
  }
  if (!Run("mkdir -p /run/sshd " + dir + " && rm -f " + dir + "/client_key* " + dir + "/host_key*", error) ||
      !Run("ssh-keygen -q -t ed25519 -N '' -f " + dir + "/client_key", error) ||
      !Run("ssh-keygen -q -t ed25519 -N '' -f " + dir + "/host_key", error) ||
      !Run("cp " + dir + "/client_key.pub " + dir + "/authorized_keys", error)) {
    return false;
  }
  for (size_t i = 0; i < hosts_.size(); ++i) {
    const std::string config = dir + "/sshd_config." + hosts_[i].name;
    std::ofstream out(config);
    out << "Port " << port << "\nListenAddress 0.0.0.0\nPidFile " << dir << "/sshd." << hosts_[i].name
        << ".pid\nHostKey " << dir << "/host_key\nAuthorizedKeysFile " << dir
        << "/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
           "PubkeyAuthentication yes\nStrictModes no\nUsePAM no\nPermitRootLogin yes\n"
           "AcceptEnv FLYP_* OMP_* OPENBLAS_*\n";
    out.close();
    if (!Run(ExecPrefix(static_cast<int>(i)) + " " + sshd + " -f " + config + " -E " + dir + "/sshd." +
                 hosts_[i].name + ".log",
             error)) {
      return false;
    }
  }
  rsh_agent_ = "ssh -i " + dir + "/client_key -p " + std::to_string(port) +
               " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
               " -o LogLevel=ERROR -o ConnectTimeout=5";
  // sshd forks into the background before it listens: wait until each answers.
  for (const Host& host : hosts_) {
    bool up = false;
    for (int attempt = 0; attempt < 50 && !up; ++attempt) {
      up = RunCommand(rsh_agent_ + " root@" + host.address + " true").code == 0;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!up) {
      *error = "sshd on " + host.name + " (" + host.address + ") does not answer; see " + dir + "/sshd." +
               host.name + ".log";
      rsh_agent_.clear();
      return false;
    }
  }
  return true;
}

bool NetnsHosts::SetLink(int i, bool up) {
  return Run("ip link set " + host(i).veth + (up ? " up" : " down"));
}

uint64_t NetnsHosts::LinkBytes(int i) const {
  const std::string stats = "/sys/class/net/" + host(i).veth + "/statistics/";
  return ReadCounter(stats + "rx_bytes") + ReadCounter(stats + "tx_bytes");
}

void NetnsHosts::KillAll(int i) { KillNetns(host(i).netns); }

std::vector<int> NetnsHosts::Pids(int i) const { return NetnsPids(host(i).netns); }

}  // namespace flyp::testing
