// NetnsHosts: a small cluster of "hosts" on this machine, for tests of what
// crosses a network (multi-host MPI worlds, launchers over ssh, Slurm nodes,
// link cuts).
//
// Each host is a Linux network namespace with one veth interface ("eth0")
// joined to a bridge in the root namespace. Addresses come from the RFC 2544
// benchmarking range 198.18.0.0/15 only: the bridge (the root namespace, where
// a test's coordinator runs) is 198.18.S.1/24 and host k (1-based) is
// 198.18.S.(10+k), with S a /24 no interface on this machine uses yet. Nothing
// is routed anywhere else.
//
// Needs root (CAP_NET_ADMIN) and iproute2: Create() returns nullptr and says
// why otherwise, so a test does `GTEST_SKIP() << why`. The destructor tears
// everything down — every process left in a host (sshd, ranks, daemons) is
// killed, then the namespaces, veths and bridge are deleted — also when the
// test failed. Names carry the creating process's pid, so Create() also
// removes what a crashed test process left behind.
//
// Thread safety: none; one test thread drives a NetnsHosts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace flyp::testing {

class NetnsHosts {
 public:
  struct Host {
    std::string name;     // "h1", "h2", ... (also its UTS host name where a test sets one)
    std::string netns;    // the namespace, as `ip netns` names it
    std::string address;  // its IPv4 address on the bridge
    std::string veth;     // the root-namespace end of its link (counters, link cuts)
  };

  // `count` hosts (1..9). nullptr with *why_not set when namespaces cannot be
  // made here.
  static std::unique_ptr<NetnsHosts> Create(int count, std::string* why_not);
  ~NetnsHosts();
  NetnsHosts(const NetnsHosts&) = delete;
  NetnsHosts& operator=(const NetnsHosts&) = delete;

  const std::vector<Host>& hosts() const { return hosts_; }
  const Host& host(int i) const { return hosts_.at(static_cast<size_t>(i)); }  // 0-based
  // The root namespace's address on the bridge (what hosts dial to reach a
  // coordinator running in the test process's namespace).
  const std::string& bridge_address() const { return bridge_address_; }
  // "198.18.S.0/24", for --mca btl_tcp_if_include / oob_tcp_if_include.
  const std::string& subnet() const { return subnet_; }

  // The command-line prefix that runs a command inside host i's network
  // namespace ("ip netns exec <ns>"; note that it also gives the command a
  // private /sys — daemons that need the real one use EnterPrefix).
  std::string ExecPrefix(int i) const;
  // "nsenter --net=/run/netns/<ns>": the network namespace only.
  std::string EnterPrefix(int i) const;

  // Starts a real sshd (Debian's openssh-server) on port `port` of every host,
  // with a host key and a client key pair generated under `dir`. False with
  // *error when sshd is missing or does not come up.
  bool StartSshd(const std::string& dir, int port, std::string* error);
  // The ssh command line that logs into any host as root without prompts
  // (for mpirun's plm_rsh_agent or a launcher's rsh agent); empty before
  // StartSshd.
  const std::string& RshAgent() const { return rsh_agent_; }

  // Cuts (up = false) or restores host i's link. The host's processes keep
  // running; packets to and from it are dropped, as when a cable is pulled.
  bool SetLink(int i, bool up);
  // Bytes that crossed host i's link so far (received + sent, read from the
  // bridge side's counters).
  uint64_t LinkBytes(int i) const;
  // A power cut: SIGKILL to every process in host i's namespace.
  void KillAll(int i);
  // Pids of the processes in host i's namespace.
  std::vector<int> Pids(int i) const;

 private:
  NetnsHosts() = default;
  void TearDown();

  std::string tag_;  // "flyp<pid>": prefix of every name this instance made
  std::string bridge_;
  std::string bridge_address_;
  std::string subnet_;
  std::vector<Host> hosts_;
  std::string rsh_agent_;
};

}  // namespace flyp::testing
