// flyp-worker-metrics-probe: stands in for a training world in the
// observability tests. Creates one WorkerMetrics per "rank" in this process,
// serves each on its own port and updates them like a trainer would, every
// --interval-ms, until SIGTERM/SIGINT or --seconds passed.
//
//   flyp-worker-metrics-probe --job J --ranks 2 --port-file F [--base-port P] [--seconds S]
//
// Ports: --base-port P serves rank r on P + r; without it each rank picks a
// free port. The port file gets one port per line (rank order), written once
// every rank serves.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "worker/metrics/worker_metrics.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  std::string job = "probe", port_file;
  int ranks = 2, base_port = 0, interval_ms = 100;
  double seconds = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--job")
      job = v;
    else if (a == "--ranks")
      ranks = std::atoi(v.c_str());
    else if (a == "--base-port")
      base_port = std::atoi(v.c_str());
    else if (a == "--port-file")
      port_file = v;
    else if (a == "--seconds")
      seconds = std::atof(v.c_str());
    else if (a == "--interval-ms")
      interval_ms = std::atoi(v.c_str());
    else {
      std::cerr << "unknown flag " << a << "\n";
      return 2;
    }
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::vector<std::unique_ptr<flyp::worker::WorkerMetrics>> metrics;
  std::string ports;
  for (int r = 0; r < ranks; ++r) {
    auto m = std::make_unique<flyp::worker::WorkerMetrics>(job, r);
    flyp::Status s = m->Serve("127.0.0.1:" + std::to_string(base_port ? base_port + r : 0));
    if (!s.ok()) {
      std::cerr << "flyp-worker-metrics-probe: " << s << "\n";
      return 1;
    }
    ports += std::to_string(m->port()) + "\n";
    metrics.push_back(std::move(m));
  }
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << ports;
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (int step = 1; !g_stop && std::chrono::steady_clock::now() < end; ++step) {
    for (int r = 0; r < ranks; ++r) {
      flyp::worker::StepTimes t{0.001, 0.02 + 0.001 * r, 0.003, 0.04, 0.005, 0.002};
      // Rank r reports loss (r + 1) / step: distinct per rank, checkable.
      metrics[r]->OnStep(t, (r + 1.0) / step, 1e-5, 100.0 - 0.01 * step, 16);
      metrics[r]->AddCollectiveBytes(1 << 20);
      if (step % 10 == 0) {
        metrics[r]->OnEval("id_val", 0.8);
        metrics[r]->OnEval("ood", 0.6);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  return 0;
}
