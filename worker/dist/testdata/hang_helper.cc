// dist_hang_helper: run under mpirun by watchdog_test.cc. Every rank loops on
// small all-reduces (step = iteration) with a short collective_timeout; the
// rank --kill_rank raises SIGKILL at step --kill_step, so the others block in
// a collective that never completes and their watchdog must abort the world.
//   dist_hang_helper --timeout_ms N --kill_rank R --kill_step S --pid_dir DIR
//                    [--signal KILL|STOP]   (STOP: the rank hangs instead of dying)
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "worker/dist/create_communicator.h"

int main(int argc, char** argv) {
  int timeout_ms = 2000, kill_rank = 1, kill_step = 20, signal = SIGKILL;
  std::string pid_dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--timeout_ms")
      timeout_ms = std::atoi(argv[i + 1]);
    else if (flag == "--kill_rank")
      kill_rank = std::atoi(argv[i + 1]);
    else if (flag == "--kill_step")
      kill_step = std::atoi(argv[i + 1]);
    else if (flag == "--pid_dir")
      pid_dir = argv[i + 1];
    else if (flag == "--signal")
      signal = std::string(argv[i + 1]) == "STOP" ? SIGSTOP : SIGKILL;
    else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  flyp::dist::CommunicatorOptions options;
  options.collective_timeout = std::chrono::milliseconds(timeout_ms);
  auto comm = flyp::dist::CreateCommunicator(torch::kCPU, options);
  if (!comm.ok()) {
    std::cerr << comm.status() << "\n";
    return 1;
  }
  flyp::dist::Communicator& c = **comm;
  if (!pid_dir.empty())
    std::ofstream(pid_dir + "/rank" + std::to_string(c.rank()) + ".pid") << getpid() << "\n";
  torch::Tensor t = torch::ones({16});
  for (int step = 0; step < 100000; ++step) {
    c.SetStep(step);
    if (c.rank() == kill_rank && step == kill_step) raise(signal);
    c.AllReduce(t, flyp::dist::ReduceOp::kAvg);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::cerr << "rank " << c.rank() << ": loop ended without a hang\n";
  return 0;
}
