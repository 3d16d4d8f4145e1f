// flyp-coordinator: parses flags, serves until SIGINT/SIGTERM.
#include <csignal>
#include <iostream>
#include <thread>

#include "common/exception_edge.h"
#include "common/logging.h"
#include "coordinator/config.h"
#include "coordinator/service/server.h"

namespace {

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << "usage: flyp-coordinator [--config FILE] [flags]\n\n"
                << flyp::coord::CoordinatorConfigHelp();
      return 0;
    }
  }
  auto config = flyp::coord::ParseCoordinatorConfig(args);
  if (!config.ok()) {
    std::cerr << "flyp-coordinator: " << config.status().message() << "\n";
    return 2;
  }
  // Signals are taken by a sigwait below, never by handlers on other threads.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = flyp::coord::CoordinatorServer::Start(*config);
  if (!server.ok()) {
    std::cerr << "flyp-coordinator: " << server.status() << "\n";
    return 1;
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  FLYP_LOG(INFO) << "signal " << sig << ": shutting down (running jobs are recovered on the next start)";
  (*server)->Shutdown();
  return 0;
}

}  // namespace

// An exception nothing else caught is an error message and exit 1, not an abort.
int main(int argc, char** argv) {
  return flyp::CatchAtMain("flyp-coordinator", 1, [&] { return Main(argc, argv); });
}
