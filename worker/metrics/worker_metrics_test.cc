#include "worker/metrics/worker_metrics.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <regex>
#include <sstream>

#include "tests/observability/http.h"
#include "tests/testing/exposition.h"

namespace flyp::worker {
namespace {

using flyp::testing::ExpositionValue;

size_t SeriesCount(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) n += !line.empty() && line[0] != '#';
  return n;
}

const std::string kL = "job=\"job-000007\",rank=\"1\"";

report::StepProgress Step(const report::StepTimes& t, double loss, double lr, double scale, int64_t samples,
                          int64_t collective_bytes = 0) {
  report::StepProgress p;
  p.times = t;
  p.loss = loss;
  p.learning_rate = lr;
  p.logit_scale = scale;
  p.samples = samples;
  p.collective_bytes = collective_bytes;
  return p;
}

report::EvalEvent Eval(const std::string& split, double accuracy) {
  report::EvalEvent e;
  e.split = split;
  e.accuracy = accuracy;
  return e;
}

TEST(WorkerMetrics, StepsUpdateEveryFamilyWithExactValues) {
  WorkerMetrics m("job-000007", 1);
  report::StepTimes t;
  t.data = 0.0005;    // below the first bucket (1 ms)
  t.forward = 0.003;  // in (2 ms, 4 ms]
  t.gather = 0;
  t.backward = 0.01;
  t.allreduce = 0.002;  // exactly on a bucket bound: counted in le=0.002
  t.optimizer = 100;    // above every bucket
  m.OnStep(Step(t, 2.5, 1e-5, 100, 32, 4096));
  m.OnStep(Step(t, 1.25, 2e-5, 99.5, 32, -5));  // negative bytes ignored: counters never go down
  m.OnEval(Eval("id_val", 0.75));
  m.OnEval(Eval("ood", 0.5));
  report::EvalEvent zs = Eval("ood", 0.25);  // the same split before training: its own series
  zs.stage = report::EvalStage::kZeroShot;
  m.OnEval(zs);
  const std::string text = m.Render();
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_train_loss{" + kL + "}"), 1.25);
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_train_learning_rate{" + kL + "}"), 2e-5);
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_train_logit_scale{" + kL + "}"), 99.5);
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_train_step_total{" + kL + "}"), 2);
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_train_samples_total{" + kL + "}"), 64);
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_collective_bytes_total{" + kL + "}"), 4096);
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_eval_accuracy{" + kL + ",split=\"id_val\",stage=\"final\"}"),
                   0.75);
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_eval_accuracy{" + kL + ",split=\"ood\",stage=\"final\"}"),
                   0.5);
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_eval_accuracy{" + kL + ",split=\"ood\",stage=\"zeroshot\"}"),
                   0.25);
  // Histograms: two observations per phase; sums and bucket placement.
  for (const char* phase : WorkerMetrics::kPhases) {
    EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_step_seconds_count{" + kL + ",phase=\"" + phase + "\"}"), 2)
        << phase;
  }
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_step_seconds_sum{" + kL + ",phase=\"forward\"}"), 0.006);
  EXPECT_DOUBLE_EQ(
      ExpositionValue(text, "flyp_step_seconds_bucket{" + kL + ",phase=\"forward\",le=\"0.002\"}"), 0);
  EXPECT_DOUBLE_EQ(
      ExpositionValue(text, "flyp_step_seconds_bucket{" + kL + ",phase=\"forward\",le=\"0.004\"}"), 2);
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_step_seconds_bucket{" + kL + ",phase=\"data\",le=\"0.001\"}"),
                   2);
  EXPECT_DOUBLE_EQ(
      ExpositionValue(text, "flyp_step_seconds_bucket{" + kL + ",phase=\"allreduce\",le=\"0.002\"}"), 2);
  EXPECT_DOUBLE_EQ(
      ExpositionValue(text, "flyp_step_seconds_bucket{" + kL + ",phase=\"optimizer\",le=\"65.536\"}"), 0);
  EXPECT_DOUBLE_EQ(
      ExpositionValue(text, "flyp_step_seconds_bucket{" + kL + ",phase=\"optimizer\",le=\"+Inf\"}"), 2);
  // Memory is this process's RSS: within 64 MiB of a fresh reading.
  const double rss = ExpositionValue(text, "flyp_device_memory_bytes{" + kL + "}");
  EXPECT_GT(rss, 1 << 20);
  EXPECT_NEAR(rss, static_cast<double>(ResidentSetBytes()), 64.0 * (1 << 20));
  m.SetDeviceMemory(12345);
  EXPECT_DOUBLE_EQ(ExpositionValue(m.Render(), "flyp_device_memory_bytes{" + kL + "}"), 12345);
}

TEST(WorkerMetrics, UnmeasuredValuesAreNaNNotZero) {
  WorkerMetrics m("j", 0);
  const std::string text = m.Render();
  EXPECT_NE(text.find("flyp_train_loss{job=\"j\",rank=\"0\"} Nan"), std::string::npos) << text;
  EXPECT_NE(text.find("flyp_eval_accuracy{job=\"j\",rank=\"0\",split=\"id_test\",stage=\"final\"} Nan"),
            std::string::npos);
  EXPECT_DOUBLE_EQ(ExpositionValue(text, "flyp_train_step_total{job=\"j\",rank=\"0\"}"), 0);
}

TEST(WorkerMetrics, CardinalityIsBoundedWhateverTheSteps) {
  WorkerMetrics m("j", 0);
  m.OnStep(Step({}, 1, 1, 1, 1));
  const size_t after_one = SeriesCount(m.Render());
  for (int i = 0; i < 500; ++i) m.OnStep(Step({0.001 * i, 0, 0, 0, 0, 0}, 1.0 / (i + 1), 1e-5, 50, 8));
  EXPECT_EQ(SeriesCount(m.Render()), after_one);
  // Unknown splits: at most kMaxExtraSplits distinct ones, then "other".
  for (int i = 0; i < 40; ++i) m.OnEval(Eval("ood/set" + std::to_string(i), 0.1));
  const std::string text = m.Render();
  EXPECT_EQ(SeriesCount(text), after_one + WorkerMetrics::kMaxExtraSplits + 1);
  EXPECT_DOUBLE_EQ(
      ExpositionValue(text, "flyp_eval_accuracy{job=\"j\",rank=\"0\",split=\"other\",stage=\"final\"}"), 0.1);
}

TEST(WorkerMetrics, FromEnvIsOffByDefaultAndServesOnBasePlusLocalRank) {
  unsetenv("FLYP_METRICS_PORT");
  EXPECT_EQ(WorkerMetrics::FromEnv("j", 0, 0), nullptr);
  setenv("FLYP_METRICS_PORT", "0", 1);
  EXPECT_EQ(WorkerMetrics::FromEnv("j", 0, 0), nullptr);

  const int base = testing::FreePort();
  setenv("FLYP_METRICS_PORT", std::to_string(base - 1).c_str(), 1);
  auto on = WorkerMetrics::FromEnv("j", 3, 1);
  ASSERT_NE(on, nullptr);
  ASSERT_TRUE(on->serving());
  EXPECT_EQ(on->port(), base);
  on->OnStep(Step({}, 0.5, 0.1, 10, 4));
  auto reply = testing::HttpGet(base, "/metrics");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_NE(reply->body.find("flyp_train_samples_total{job=\"j\",rank=\"3\"} 4"), std::string::npos)
      << reply->body;
  unsetenv("FLYP_METRICS_PORT");
}

// A port that cannot be served never fails the job: the metrics exist (the
// trainer keeps updating them), unserved.
TEST(WorkerMetrics, FromEnvKeepsUnservedMetricsWhenThePortIsTakenOrInvalid) {
  const int base = testing::FreePort();
  setenv("FLYP_METRICS_PORT", std::to_string(base).c_str(), 1);
  auto first = WorkerMetrics::FromEnv("j", 0, 0);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->serving());
  auto clash = WorkerMetrics::FromEnv("j", 1, 0);  // the same port again
  ASSERT_NE(clash, nullptr);
  EXPECT_FALSE(clash->serving());
  EXPECT_EQ(clash->port(), 0);
  clash->OnStep(Step({}, 0.5, 0.1, 10, 4));
  for (const char* bad : {"abc", "-3", "70000"}) {
    setenv("FLYP_METRICS_PORT", bad, 1);
    auto m = WorkerMetrics::FromEnv("j", 0, 0);
    ASSERT_NE(m, nullptr) << bad;
    EXPECT_FALSE(m->serving()) << bad;
  }
  setenv("FLYP_METRICS_PORT", "65535", 1);
  auto past_the_end = WorkerMetrics::FromEnv("j", 1, 1);  // 65535 + local rank 1
  ASSERT_NE(past_the_end, nullptr);
  EXPECT_FALSE(past_the_end->serving());
  unsetenv("FLYP_METRICS_PORT");
}

}  // namespace
}  // namespace flyp::worker
