#include "worker/report/progress.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/json.h"
#include "tests/testing/test_env.h"

namespace flyp::report {
namespace {

using std::chrono::milliseconds;

// 2024-05-01T12:34:56.789Z
WallTime FixedTime() { return WallTime(milliseconds(1714566896789LL)); }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Everything written to a tmpfile-backed FILE*.
std::string Drain(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  return out;
}

StepProgress SampleProgress() {
  StepProgress e;
  e.step = 120;
  e.total_steps = 2000;
  e.epoch = 1;
  e.total_epochs = 3;
  e.loss = 2.31344;
  e.learning_rate = 9.87e-5;
  e.logit_scale = 14.2857;
  e.samples_per_second = 312.42;
  e.eta_seconds = 252;
  e.seconds = 0.41;
  e.time = FixedTime();
  return e;
}

TEST(FormatDurationTest, Exact) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(0.4), "0s");
  EXPECT_EQ(FormatDuration(0.5), "1s");
  EXPECT_EQ(FormatDuration(59), "59s");
  EXPECT_EQ(FormatDuration(59.6), "1m00s");
  EXPECT_EQ(FormatDuration(60), "1m00s");
  EXPECT_EQ(FormatDuration(252), "4m12s");
  EXPECT_EQ(FormatDuration(245), "4m05s");
  EXPECT_EQ(FormatDuration(3599), "59m59s");
  EXPECT_EQ(FormatDuration(3600), "1h00m");
  EXPECT_EQ(FormatDuration(3720), "1h02m");
  EXPECT_EQ(FormatDuration(3779), "1h02m");  // minutes truncated
  EXPECT_EQ(FormatDuration(86399), "23h59m");
  EXPECT_EQ(FormatDuration(86400 * 2 + 3 * 3600 + 59), "2d03h");
  EXPECT_EQ(FormatDuration(-1), "?");
  EXPECT_EQ(FormatDuration(NAN), "?");
  EXPECT_EQ(FormatDuration(INFINITY), "?");
}

TEST(FormatRfc3339Test, Exact) {
  EXPECT_EQ(FormatRfc3339(FixedTime()), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(FormatRfc3339(WallTime(milliseconds(0))), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(WallTime(milliseconds(-1))), "1969-12-31T23:59:59.999Z");
}

TEST(ProgressLineTest, Exact) {
  EXPECT_EQ(FormatProgressLine(SampleProgress()),
            "step 120/2000 (6.0%) epoch 1/3 loss 2.3134 lr 9.87e-05 scale 14.29 312.4 samples/s ETA 4m12s");
  StepProgress unknown = SampleProgress();
  unknown.total_steps = 0;
  unknown.total_epochs = 0;
  unknown.eta_seconds = -1;
  EXPECT_EQ(FormatProgressLine(unknown),
            "step 120 epoch 1 loss 2.3134 lr 9.87e-05 scale 14.29 312.4 samples/s ETA ?");
}

EvalEvent Ev(const std::string& split, double accuracy, EvalStage stage = EvalStage::kFinal,
             std::optional<int> epoch = std::nullopt, std::optional<double> alpha = std::nullopt) {
  EvalEvent e;
  e.split = split;
  e.accuracy = accuracy;
  e.stage = stage;
  e.epoch = epoch;
  e.alpha = alpha;
  return e;
}

TEST(ProgressLineTest, EvalAndState) {
  EvalEvent ev = Ev("id_test", 0.71234, EvalStage::kEpoch, 2);
  ev.macro_f1 = 0.6;
  EXPECT_EQ(FormatEvalLine(ev), "epoch 2 \u00b7 id_test 71.2 % \u00b7 macro-F1 60.0 %");
  EXPECT_EQ(FormatEvalLine(Ev("id_test", 0.768, EvalStage::kZeroShot)), "zero-shot \u00b7 id_test 76.8 %");
  EXPECT_EQ(FormatEvalLine(Ev("rotated", 0.5)), "final \u00b7 rotated 50.0 %");
  EXPECT_EQ(FormatEvalLine(Ev("ood", 0.4, EvalStage::kWiseFt, std::nullopt, 0.5)),
            "WiSE-FT alpha=0.5 \u00b7 ood 40.0 %");
  StageEvent wise;
  wise.stage = Stage::kWiseFt;
  wise.index = 3;
  wise.count = 11;
  wise.alpha = 0.2;
  EXPECT_EQ(FormatStage(wise), "WiSE-FT alpha 3 of 11 (0.2)");
  EXPECT_EQ(FormatStageHeading(wise), "== WiSE-FT sweep (11 alphas)");
  StageEvent eval;
  eval.stage = Stage::kEvaluating;
  eval.label = "zero-shot";
  eval.split = "id_val";
  EXPECT_EQ(FormatStage(eval), "evaluating zero-shot \u00b7 id_val");
  EXPECT_EQ(FormatStageHeading(eval), "== evaluating zero-shot");
  EXPECT_EQ(FormatPhaseLine(PhaseEvent{Phase::kCheckpoint, "/ckpt/step_100", false, {}}),
            "state checkpoint: /ckpt/step_100");
  EXPECT_EQ(FormatPhaseLine(PhaseEvent{Phase::kCompleted, "", false, {}}), "state completed");
}

TEST(EtaEstimatorTest, MovingAverageOfSecondsPerStep) {
  EtaEstimator eta(0.5);
  EXPECT_FALSE(eta.has_rate());
  EXPECT_EQ(eta.EtaSeconds(100), -1);
  eta.Observe(0, 100.0, 0);  // baseline only (start-up time ignored)
  EXPECT_FALSE(eta.has_rate());
  eta.Observe(10, 110.0, 320);  // 1 s/step, 32 samples/s: initialises
  EXPECT_DOUBLE_EQ(eta.seconds_per_step(), 1.0);
  EXPECT_DOUBLE_EQ(eta.samples_per_second(), 32.0);
  EXPECT_DOUBLE_EQ(eta.EtaSeconds(100), 90.0);
  eta.Observe(20, 140.0, 640);  // 3 s/step: 1 + 0.5 * (3 - 1) = 2
  EXPECT_DOUBLE_EQ(eta.seconds_per_step(), 2.0);
  // samples/s: 32 + 0.5 * (320/30 - 32)
  EXPECT_DOUBLE_EQ(eta.samples_per_second(), 32 + 0.5 * (320.0 / 30.0 - 32));
  EXPECT_DOUBLE_EQ(eta.EtaSeconds(100), 160.0);  // 80 steps * 2 s
  eta.Observe(20, 150.0, 640);                   // no new step: ignored
  eta.Observe(25, 140.0, 700);                   // time went backwards: ignored
  EXPECT_DOUBLE_EQ(eta.seconds_per_step(), 2.0);
  eta.Observe(100, 300.0, 3200);
  EXPECT_EQ(eta.EtaSeconds(100), 0);
}

TEST(EventJsonTest, ProgressFields) {
  StatusOr<Json> j = ParseJson(StepProgressJson(SampleProgress(), WallTime{}));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->Find("type")->as_string(), "progress");
  EXPECT_EQ(j->Find("step")->as_int64(), 120);
  EXPECT_EQ(j->Find("total_steps")->as_int64(), 2000);
  EXPECT_EQ(j->Find("epoch")->as_int64(), 1);
  EXPECT_DOUBLE_EQ(j->Find("loss")->as_double(), 2.31344);
  EXPECT_DOUBLE_EQ(j->Find("lr")->as_double(), 9.87e-5);
  EXPECT_DOUBLE_EQ(j->Find("logit_scale")->as_double(), 14.2857);
  EXPECT_DOUBLE_EQ(j->Find("samples_per_second")->as_double(), 312.42);
  EXPECT_DOUBLE_EQ(j->Find("eta_seconds")->as_double(), 252);
  EXPECT_DOUBLE_EQ(j->Find("step_seconds")->as_double(), 0.41);
  EXPECT_EQ(j->Find("time")->as_string(), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(j->Find("captions_encoded"), nullptr);  // not counted: absent
  EXPECT_EQ(j->Find("caption_tokens"), nullptr);

  StepProgress counted = SampleProgress();
  counted.captions_encoded = 9;
  counted.caption_tokens = 99;
  j = ParseJson(StepProgressJson(counted, WallTime{}));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->Find("captions_encoded")->as_int64(), 9);
  EXPECT_EQ(j->Find("caption_tokens")->as_int64(), 99);

  StepProgress unstamped = SampleProgress();
  unstamped.time = WallTime{};
  unstamped.eta_seconds = -1;
  unstamped.loss = NAN;
  j = ParseJson(StepProgressJson(unstamped, FixedTime()));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_TRUE(j->Find("eta_seconds")->is_null());
  EXPECT_TRUE(j->Find("loss")->is_null());
  EXPECT_EQ(j->Find("time")->as_string(), "2024-05-01T12:34:56.789Z");
}

TEST(EventWriterTest, LinesParseBackWithTheExpectedFields) {
  const std::string path = flyp::testing::TempDir() + "/run/events.jsonl";
  {
    StatusOr<std::unique_ptr<EventWriter>> w = EventWriter::Open(path);
    ASSERT_TRUE(w.ok()) << w.status();
    (*w)->OnPhase(PhaseEvent{Phase::kStarted, "world size 2", false, FixedTime()});
    (*w)->OnStep(SampleProgress());
    // Flushed per line: visible before the writer is closed.
    EXPECT_EQ(Lines(flyp::testing::ReadFileOrDie(path)).size(), 2u);
    EvalEvent e = Ev("rotated \"90\"", 0.625, EvalStage::kEpoch, 1);
    e.time = FixedTime();
    (*w)->OnEval(e);
    (*w)->OnPhase(PhaseEvent{Phase::kCompleted, "", false, {}});
    EXPECT_TRUE((*w)->status().ok());
  }
  {
    // Appends: a restarted job continues the file.
    StatusOr<std::unique_ptr<EventWriter>> w = EventWriter::Open(path);
    ASSERT_TRUE(w.ok()) << w.status();
    (*w)->OnPhase(PhaseEvent{Phase::kFailed, "rank 1 exited", false, FixedTime()});
  }
  const std::vector<std::string> lines = Lines(flyp::testing::ReadFileOrDie(path));
  ASSERT_EQ(lines.size(), 5u);
  std::vector<Json> events;
  for (const std::string& line : lines) {
    StatusOr<Json> j = ParseJson(line);
    ASSERT_TRUE(j.ok()) << line << ": " << j.status();
    ASSERT_NE(j->Find("time"), nullptr) << line;
    events.push_back(*j);
  }
  EXPECT_EQ(events[0].Find("type")->as_string(), "state");
  EXPECT_EQ(events[0].Find("phase")->as_string(), "started");
  EXPECT_EQ(events[0].Find("message")->as_string(), "world size 2");
  EXPECT_EQ(events[1].Find("type")->as_string(), "progress");
  EXPECT_EQ(events[1].Find("step")->as_int64(), 120);
  EXPECT_EQ(events[2].Find("type")->as_string(), "eval");
  EXPECT_EQ(events[2].Find("split")->as_string(), "rotated \"90\"");
  EXPECT_DOUBLE_EQ(events[2].Find("accuracy")->as_double(), 0.625);
  EXPECT_EQ(events[2].Find("epoch")->as_int64(), 1);
  EXPECT_EQ(events[2].Find("stage")->as_string(), "epoch");
  EXPECT_EQ(events[2].Find("label")->as_string(), "epoch 1");
  EXPECT_EQ(events[2].Find("macro_f1"), nullptr);
  EXPECT_EQ(events[3].Find("phase")->as_string(), "completed");
  EXPECT_EQ(events[3].Find("time")->as_string().size(), std::string("2024-05-01T12:34:56.789Z").size());
  EXPECT_EQ(events[4].Find("phase")->as_string(), "failed");
  EXPECT_EQ(events[4].Find("message")->as_string(), "rank 1 exited");
}

TEST(EventWriterTest, OpenFailureNamesThePath) {
  const std::string file = flyp::testing::TempDir() + "/not_a_dir";
  std::ofstream(file) << "x";
  StatusOr<std::unique_ptr<EventWriter>> w = EventWriter::Open(file + "/events.jsonl");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find(file), std::string::npos) << w.status();
}

TEST(ProgressPrinterTest, OneLinePerUpdateWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressPrinter p(f, ProgressPrinter::Mode::kAuto);  // a file: not a TTY
    EXPECT_FALSE(p.redraws());
    p.OnPhase(PhaseEvent{Phase::kStarted, "", false, {}});
    p.OnStep(SampleProgress());
    StageEvent st;
    st.stage = Stage::kEvaluating;
    st.label = "final";
    for (const char* split : {"id_test", "ood"}) {  // one heading for the evaluation, not per split
      st.split = split;
      p.OnStage(st);
      p.OnEval(Ev(split, 0.5));
    }
  }
  EXPECT_EQ(Drain(f),
            "state started\n"
            "step 120/2000 (6.0%) epoch 1/3 loss 2.3134 lr 9.87e-05 scale 14.29 312.4 samples/s ETA 4m12s\n"
            "== evaluating final\n"
            "final \u00b7 id_test 50.0 %\n"
            "final \u00b7 ood 50.0 %\n");
  std::fclose(f);
}

TEST(ProgressPrinterTest, RedrawsOneLineOnATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  StepProgress a = SampleProgress();
  StepProgress b = SampleProgress();
  b.step = 140;
  b.total_steps = 0;
  b.total_epochs = 0;
  {
    ProgressPrinter p(f, ProgressPrinter::Mode::kRedraw);
    p.OnStep(a);
    p.OnStep(b);
    p.OnEval(Ev("id_test", 0.5, EvalStage::kZeroShot));
    p.OnStep(b);
  }  // the destructor ends the pending line
  // The bar for a known total; none for an unknown one (99 columns).
  const std::string la = FormatProgressBarLine(a, 99);
  const std::string lb = FormatProgressBarLine(b, 99);
  // 6 % of the 19 cells a 99-column line gives the bar: 9.12 eighths, one full cell and 1/8.
  EXPECT_EQ(
      la, "   6% \u2588\u258F" + std::string(17, ' ') +
              "  step 120/2000 \u00b7 epoch 1/3 \u00b7 loss 2.3134 \u00b7 312.4 samples/s \u00b7 ETA 4m12s");
  EXPECT_EQ(lb.rfind("step 140 \u00b7 epoch 1 \u00b7 loss", 0), 0u) << lb;
  EXPECT_EQ(Drain(f), "\r" + la + "\x1b[K" + "\r" + lb + "\x1b[K" + "\r\x1b[K" +
                          "zero-shot \u00b7 id_test 50.0 %\n" + "\r" + lb + "\x1b[K" + "\n");
  std::fclose(f);
}

// Records events, for ObserverFanout.
class Recorder : public TrainObserver {
 public:
  explicit Recorder(std::vector<std::string>* log, std::string name) : log_(log), name_(std::move(name)) {}
  void OnStep(const StepProgress& e) override {
    char eta[32];
    std::snprintf(eta, sizeof(eta), "%.1f", e.eta_seconds);
    log_->push_back(name_ + ":step " + std::to_string(e.step) + " eta " + eta);
  }
  void OnEval(const EvalEvent& e) override { log_->push_back(name_ + ":eval " + e.split); }
  void OnPhase(const PhaseEvent& e) override { log_->push_back(name_ + ":phase " + PhaseName(e.phase)); }

 private:
  std::vector<std::string>* log_;
  std::string name_;
};

TEST(ObserverFanoutTest, EveryStepObserversSeeAllStepsLoggedOnesOnlyLoggedSteps) {
  std::vector<std::string> log;
  Recorder metrics(&log, "m");
  ObserverFanout fan(/*global_batch=*/64);
  EXPECT_TRUE(fan.empty());
  fan.Add(&metrics, ObserverFanout::Steps::kEvery);
  fan.Add(std::make_unique<Recorder>(&log, "out"), ObserverFanout::Steps::kLogged);
  fan.Add(static_cast<TrainObserver*>(nullptr), ObserverFanout::Steps::kLogged);
  EXPECT_FALSE(fan.empty());
  fan.OnPhase(PhaseEvent{Phase::kStarted, "", false, {}});
  for (int64_t step = 1; step <= 4; ++step) {
    StepProgress p;
    p.step = step;
    p.total_steps = 4;
    p.logged = step % 2 == 0;
    fan.OnStep(p);
  }
  fan.OnEval(Ev("ood", 0.1));
  // The first logged step only starts the ETA's clock (unknown, -1); at the
  // last step the ETA is 0. Every-step observers get the trainer's own
  // numbers untouched.
  EXPECT_EQ(log, (std::vector<std::string>{"m:phase started", "out:phase started", "m:step 1 eta -1.0",
                                           "m:step 2 eta -1.0", "out:step 2 eta -1.0", "m:step 3 eta -1.0",
                                           "m:step 4 eta -1.0", "out:step 4 eta 0.0", "m:eval ood",
                                           "out:eval ood"}));
}

TEST(ObserverFanoutTest, LoggedStepsGetTheEstimatorsRate) {
  struct Last : TrainObserver {
    StepProgress p;
    void OnStep(const StepProgress& s) override { p = s; }
    void OnEval(const EvalEvent&) override {}
    void OnPhase(const PhaseEvent&) override {}
  } last;
  ObserverFanout fan(/*global_batch=*/100);
  fan.Add(&last, ObserverFanout::Steps::kLogged);
  StepProgress p;
  p.total_steps = 1000;
  p.logged = true;
  p.samples_per_second = 7;  // the loop's own figure: kept until the estimator has one
  p.step = 10;
  fan.OnStep(p);
  EXPECT_EQ(last.p.samples_per_second, 7);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  p.step = 20;
  fan.OnStep(p);
  // 10 steps of 100 samples in >= 50 ms: at most 20000 samples/s, and the
  // ETA covers the remaining 980 steps at the measured rate.
  EXPECT_GT(last.p.samples_per_second, 0);
  EXPECT_LE(last.p.samples_per_second, 1000 / 0.05);
  EXPECT_NEAR(last.p.eta_seconds, 980 * 100 / last.p.samples_per_second, 1e-6 * last.p.eta_seconds);
}

}  // namespace
}  // namespace flyp::report
