// flyp-coordinator: parses flags, serves until SIGINT/SIGTERM.
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

#include "common/exception_edge.h"
#include "common/flags.h"
#include "common/logging.h"
#include "common/version.h"
#include "coordinator/config.h"
#include "coordinator/service/server.h"

namespace {

int Serve(const flyp::coord::GivenFlags& given) {
  auto config = flyp::coord::ConfigFromFlags(given);
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

flyp::Program CoordinatorProgram() {
  flyp::Program p;
  p.name = "flyp-coordinator";
  p.summary =
      "accepts flyp jobs over gRPC, stores them in SQLite, gang-schedules and launches their MPI worlds";
  p.description =
      "Serves until SIGINT or SIGTERM; jobs still running are recovered on the next start. Every flag can "
      "also be "
      "given in the --config YAML file, with '_' for '-' (listen: 0.0.0.0:50051, data_roots: [/data]); flags "
      "win "
      "over the file. See docs/coordinator.md.";
  p.version = flyp::VersionString();
  p.setup = [](flyp::FlagSet& f) {
    auto given = std::make_shared<flyp::coord::GivenFlags>();
    flyp::coord::DeclareCoordinatorFlags(f, given.get());
    return [given] { return Serve(*given); };
  };
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  // An exception nothing else caught is an error message and exit 1, not an abort.
  return flyp::CatchAtMain("flyp-coordinator", 1, [&] {
    return flyp::RunProgram(CoordinatorProgram(), std::vector<std::string>(argv + 1, argv + argc), std::cout,
                            std::cerr);
  });
}
