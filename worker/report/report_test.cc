#include "worker/report/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/json.h"
#include "tests/testing/test_env.h"
#include "worker/report/svg_plot.h"

namespace flyp::report {
namespace {

SplitEval Id(const std::string& split, double acc) { return {split, false, acc, std::nullopt}; }
SplitEval Ood(const std::string& split, double acc) { return {split, true, acc, std::nullopt}; }

std::vector<SplitEval> Evals(double val, double test, double rotated, double inverted) {
  return {Id("id_val", val), Id("id_test", test), Ood("rotated", rotated), Ood("inverted", inverted)};
}

// A FLYP run on two epochs with a WiSE-FT sweep (alpha 0.7 listed before 0.5
// and tied with it on id_val).
RunReport SampleReport() {
  RunReport r;
  r.job = "fmnist-flyp";
  r.method = "flyp";
  r.model = "tiny";
  r.world_size = 2;
  r.timings.total_seconds = 3725;
  r.timings.train_seconds = 3300;
  r.timings.eval_seconds = 425;
  r.timings.epoch_seconds = {1650, 1650};
  r.steps = 1200;
  r.samples_per_second = 312.44;
  r.final_train_loss = 0.12344;
  r.hyperparameters = {
      {"lr", Json(1e-05)}, {"wd", Json(0.1)}, {"batch", Json(512)}, {"optimizer", Json("adamw")}};
  r.zeroshot = Evals(0.6012, 0.6785, 0.5, 0.25);
  r.finetuned = Evals(0.9, 0.91249, 0.6, 0.3);
  r.epochs[1] = {600, 0.5, 1650, {Id("id_test", 0.85), Ood("rotated", 0.55), Ood("inverted", 0.28)}};
  r.epochs[2] = {1200, 0.12344, 1650, {Id("id_test", 0.91249), Ood("rotated", 0.6), Ood("inverted", 0.3)}};
  for (int64_t step = 100; step <= 1200; step += 100) {
    r.training.push_back(
        {step, step <= 600 ? 1 : 2, 2.0 / static_cast<double>(step), 1e-5, 14.0 + step / 100.0, 300});
  }
  r.wise_ft = {{0.0, r.zeroshot},
               {0.7, Evals(0.92, 0.92, 0.62, 0.33)},
               {0.5, Evals(0.92, 0.93, 0.65, 0.35)},
               {1.0, r.finetuned}};
  EXPECT_TRUE(SelectWiseFtAlpha(&r).ok());
  return r;
}

TEST(FormatPercentTest, RoundsHalfAwayFromZeroOnTheDecimalValue) {
  EXPECT_EQ(FormatPercent(0.6785), "67.9");
  EXPECT_EQ(FormatPercent(0.67849), "67.8");
  EXPECT_EQ(FormatPercent(0.91249), "91.2");
  EXPECT_EQ(FormatPercent(0.0005), "0.1");
  EXPECT_EQ(FormatPercent(0.00049), "0.0");
  EXPECT_EQ(FormatPercent(0.0), "0.0");
  EXPECT_EQ(FormatPercent(1.0), "100.0");
  EXPECT_EQ(FormatPercent(0.9995), "100.0");
  EXPECT_EQ(FormatPercent(0.123), "12.3");
  EXPECT_EQ(FormatPercent(NAN), "-");
}

TEST(MethodDisplayNameTest, PaperNames) {
  EXPECT_EQ(MethodDisplayName("flyp"), "FLYP");
  EXPECT_EQ(MethodDisplayName("lpft"), "LP-FT");
  EXPECT_EQ(MethodDisplayName("l2sp"), "L2-SP");
  EXPECT_EQ(MethodDisplayName("zeroshot"), "Zeroshot");
  EXPECT_EQ(MethodDisplayName("custom"), "custom");
}

TEST(ChooseAlphaTest, ArgmaxOfIdValTieGoesToTheSmallerAlpha) {
  const RunReport r = SampleReport();
  const std::optional<size_t> i = ChooseAlphaIndex(r.wise_ft, "id_val");
  ASSERT_TRUE(i.has_value());
  EXPECT_EQ(r.wise_ft[*i].alpha, 0.5);  // 0.7 ties at 0.92 but is larger
  ASSERT_TRUE(r.chosen_alpha.has_value());
  EXPECT_EQ(*r.chosen_alpha, 0.5);
  EXPECT_EQ(r.chosen, r.wise_ft[2].evaluations);

  // Strictly better wins regardless of order.
  std::vector<WiseFtPoint> sweep = {{0.2, {Id("v", 0.5)}}, {0.9, {Id("v", 0.8)}}, {0.4, {Id("v", 0.7)}}};
  EXPECT_EQ(ChooseAlphaIndex(sweep, "v"), std::optional<size_t>(1));
  // Points without the split are skipped; none at all -> nullopt.
  sweep[1].evaluations = {Id("other", 1.0)};
  EXPECT_EQ(ChooseAlphaIndex(sweep, "v"), std::optional<size_t>(2));
  EXPECT_EQ(ChooseAlphaIndex(sweep, "missing"), std::nullopt);
  EXPECT_EQ(ChooseAlphaIndex({}, "v"), std::nullopt);
}

TEST(ChooseAlphaTest, SelectFailsWithoutValidationSplit) {
  RunReport r;
  r.wise_ft = {{0.5, {Id("id_test", 0.9)}}};
  r.chosen_alpha = 0.3;
  const Status s = SelectWiseFtAlpha(&r);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("'id_val'"), std::string::npos) << s;
  EXPECT_FALSE(r.chosen_alpha.has_value());
  r.wise_ft.clear();
  EXPECT_TRUE(SelectWiseFtAlpha(&r).ok());
}

TEST(ReportMarkdownTest, HandBuiltReport) {
  const std::string expected =
      "# Report: fmnist-flyp\n"
      "\n"
      "- method: flyp\n"
      "- model: tiny\n"
      "- world size: 2\n"
      "- steps: 1200 (312.4 samples/s)\n"
      "- time: total 1h02m, train 55m00s, eval 7m05s\n"
      "- final train loss: 0.1234\n"
      "- hyperparameters: batch=512, lr=1e-05, optimizer=adamw, wd=0.1\n"
      "\n"
      "## Accuracy (%)\n"
      "\n"
      "| Method | ID (id_test) | rotated | inverted | Avg OOD |\n"
      "|:---|---:|---:|---:|---:|\n"
      "| Zeroshot | 67.9 | 50.0 | 25.0 | 37.5 |\n"
      "| FLYP | 91.2 | 60.0 | 30.0 | 45.0 |\n"
      "| FLYP + WiSE-FT (alpha=0.5) | 93.0 | 65.0 | 35.0 | 50.0 |\n"
      "\n"
      "## Plots\n"
      "\n"
      "![training curves: loss, learning rate, logit scale, samples/s](training.svg)\n"
      "\n"
      "![accuracy per split](evaluation.svg)\n"
      "\n"
      "![WiSE-FT: ID vs OOD accuracy over alpha](wiseft.svg)\n"
      "\n"
      "## Training per epoch\n"
      "\n"
      "| Epoch | Last step | Train loss | Time |\n"
      "|:---|---:|---:|---:|\n"
      "| 1 | 600 | 0.5000 | 27m30s |\n"
      "| 2 | 1200 | 0.1234 | 27m30s |\n"
      "\n"
      "## Per epoch (accuracy %)\n"
      "\n"
      "| Epoch | ID (id_test) | rotated | inverted | Avg OOD |\n"
      "|:---|---:|---:|---:|---:|\n"
      "| 1 | 85.0 | 55.0 | 28.0 | 41.5 |\n"
      "| 2 | 91.2 | 60.0 | 30.0 | 45.0 |\n"
      "\n"
      "## WiSE-FT alpha sweep (accuracy %; alpha chosen on id_val)\n"
      "\n"
      "| alpha | id_val | ID (id_test) | rotated | inverted | Avg OOD |\n"
      "|:---|---:|---:|---:|---:|---:|\n"
      "| 0 | 60.1 | 67.9 | 50.0 | 25.0 | 37.5 |\n"
      "| 0.5 (chosen) | 92.0 | 93.0 | 65.0 | 35.0 | 50.0 |\n"
      "| 0.7 | 92.0 | 92.0 | 62.0 | 33.0 | 47.5 |\n"
      "| 1 | 90.0 | 91.2 | 60.0 | 30.0 | 45.0 |\n";
  EXPECT_EQ(RenderReportMarkdown(SampleReport()), expected);
}

TEST(ReportMarkdownTest, LpStrengthMacroF1AndFallbackToIdVal) {
  RunReport r;
  r.job = "lp|run";
  r.method = "lp";
  r.model = "ViT-B-32";
  r.lp_l2 = 0.001;
  r.finetuned = {{"id_val", false, 0.8, 0.75}, {"camera", true, 0.4, 0.25}};
  const std::string expected =
      "# Report: lp\\|run\n"
      "\n"
      "- method: lp\n"
      "- model: ViT-B-32\n"
      "- world size: 1\n"
      "- steps: 0 (0.0 samples/s)\n"
      "- time: total 0s, train 0s, eval 0s\n"
      "- LP L2 strength (chosen on id_val): 0.001\n"
      "\n"
      "## Accuracy (%)\n"
      "\n"
      "| Method | ID (id_val) | camera | Avg OOD |\n"
      "|:---|---:|---:|---:|\n"
      "| LP | 80.0 | 40.0 | 40.0 |\n"
      "\n"
      "## Macro-F1 (%)\n"
      "\n"
      "| Method | ID (id_val) | camera | Avg OOD |\n"
      "|:---|---:|---:|---:|\n"
      "| LP | 75.0 | 25.0 | 25.0 |\n"
      "\n"
      "## Plots\n"
      "\n"
      "![accuracy per split](evaluation.svg)\n";  // no sweep: no WiSE-FT plot
  EXPECT_EQ(RenderReportMarkdown(r), expected);
}

TEST(ReportMarkdownTest, ZeroshotRunShowsOneRow) {
  RunReport r;
  r.method = "zeroshot";
  r.zeroshot = {Id("id_test", 0.5), Ood("o", 0.25)};
  r.finetuned = r.zeroshot;
  const std::string table =
      "| Method | ID (id_test) | o | Avg OOD |\n"
      "|:---|---:|---:|---:|\n"
      "| Zeroshot | 50.0 | 25.0 | 25.0 |\n";
  EXPECT_NE(RenderReportMarkdown(r).find("## Accuracy (%)\n\n" + table), std::string::npos)
      << RenderReportMarkdown(r);
  EXPECT_EQ(RenderComparisonTable({r}), table);
}

TEST(ComparisonTableTest, RowsPerRunUnionOfOodColumns) {
  RunReport flyp = SampleReport();
  RunReport ft;
  ft.job = "fmnist-ft";
  ft.method = "ft";
  ft.zeroshot = {Id("id_test", 0.1)};  // not shown: the first run's zero-shot row is used
  ft.finetuned = {Id("id_test", 0.88), Ood("rotated", 0.52), Ood("blurred", 0.7)};
  ft.extra_rows = {{"FT (no aug)", "ft", false, {Id("id_test", 0.86), Ood("rotated", 0.5)}}};
  const std::string expected =
      "| Method | ID (id_test) | rotated | inverted | blurred | Avg OOD |\n"
      "|:---|---:|---:|---:|---:|---:|\n"
      "| Zeroshot | 67.9 | 50.0 | 25.0 | - | - |\n"
      "| FLYP | 91.2 | 60.0 | 30.0 | - | - |\n"
      "| FLYP + WiSE-FT (alpha=0.5) | 93.0 | 65.0 | 35.0 | - | - |\n"
      "| FT | 88.0 | 52.0 | - | 70.0 | - |\n"
      "| FT (no aug) | 86.0 | 50.0 | - | - | - |\n";
  EXPECT_EQ(RenderComparisonTable({flyp, ft}), expected);

  ft.finetuned.push_back(Ood("inverted", 0.2));
  ft.finetuned.erase(ft.finetuned.begin() + 2);  // drop blurred
  ft.extra_rows.clear();
  const std::string expected2 =
      "| Method | ID (id_test) | rotated | inverted | Avg OOD |\n"
      "|:---|---:|---:|---:|---:|\n"
      "| Zeroshot | 67.9 | 50.0 | 25.0 | 37.5 |\n"
      "| FLYP | 91.2 | 60.0 | 30.0 | 45.0 |\n"
      "| FLYP + WiSE-FT (alpha=0.5) | 93.0 | 65.0 | 35.0 | 50.0 |\n"
      "| FT | 88.0 | 52.0 | 20.0 | 36.0 |\n";
  EXPECT_EQ(RenderComparisonTable({flyp, ft}), expected2);
  EXPECT_EQ(RenderComparisonTable({}), "(no results)\n");
}

TEST(ReportJsonTest, WriteReadRoundTrip) {
  const std::string dir = flyp::testing::TempDir() + "/artifacts/report";
  RunReport r = SampleReport();
  r.job = "job \"quoted\" \xC3\xA9\xE2\x9C\x93";  // quotes and UTF-8
  r.lp_l2 = 1e-4;
  r.finetuned[1].macro_f1 = 0.123456789012345;
  r.extra_rows = {{"FT", "ft", false, {Id("id_test", 0.8)}}, {"FT + WiSE-FT", "ft", true, {}}};
  ASSERT_TRUE(WriteReport(r, dir).ok());

  StatusOr<RunReport> back = ReadReportJson(dir + "/report.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
  EXPECT_EQ(ReportToJson(*back), ReportToJson(r));

  // Optional values absent round-trip as absent.
  RunReport bare;
  bare.job = "bare";
  bare.method = "zeroshot";
  bare.zeroshot = {Id("id_test", 0.5)};
  ASSERT_TRUE(WriteReport(bare, dir).ok());  // overwrites
  back = ReadReportJson(dir + "/report.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, bare);
  EXPECT_FALSE(back->final_train_loss.has_value());
  EXPECT_FALSE(back->chosen_alpha.has_value());

  // The files of the bare report and nothing else: no temporaries left
  // behind, and the first report's training and WiSE-FT plots are gone (a
  // run without a sweep has no WiSE-FT plot, not an empty one).
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"evaluation.svg", "report.json", "report.md"}));
  EXPECT_EQ(flyp::testing::ReadFileOrDie(dir + "/report.md"), RenderReportMarkdown(bare));
}

TEST(ReportJsonTest, NumbersAreNumbersAndKeysAreStable) {
  StatusOr<Json> j = ParseJson(ReportToJson(SampleReport()));
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->Find("schema_version")->as_int64(), 2);
  EXPECT_EQ(j->Find("world_size")->as_int64(), 2);
  EXPECT_EQ(j->Find("steps")->as_int64(), 1200);
  EXPECT_DOUBLE_EQ(j->Find("timings")->Find("total_seconds")->as_double(), 3725);
  const Json& ft0 = j->Find("finetuned")->as_array()[1];
  EXPECT_EQ(ft0.Find("split")->as_string(), "id_test");
  EXPECT_FALSE(ft0.Find("ood")->as_bool());
  EXPECT_DOUBLE_EQ(ft0.Find("accuracy")->as_double(), 0.91249);
  EXPECT_TRUE(ft0.Find("macro_f1")->is_null());
  EXPECT_DOUBLE_EQ(j->Find("wise_ft")->Find("chosen_alpha")->as_double(), 0.5);
  EXPECT_EQ(j->Find("wise_ft")->Find("sweep")->size(), 4u);
  EXPECT_EQ(j->Find("epochs")->as_array()[1].Find("epoch")->as_int64(), 2);
  // Typed: numbers as numbers, strings as strings.
  EXPECT_DOUBLE_EQ(j->Find("hyperparameters")->Find("lr")->as_double(), 1e-05);
  EXPECT_EQ(j->Find("hyperparameters")->Find("batch")->as_int64(), 512);
  EXPECT_EQ(j->Find("hyperparameters")->Find("optimizer")->as_string(), "adamw");
  // Every epoch, with its last step, loss and time; every logged step.
  const Json& e1 = j->Find("epochs")->as_array()[0];
  EXPECT_EQ(e1.Find("last_step")->as_int64(), 600);
  EXPECT_DOUBLE_EQ(e1.Find("train_loss")->as_double(), 0.5);
  EXPECT_DOUBLE_EQ(e1.Find("seconds")->as_double(), 1650);
  ASSERT_EQ(j->Find("training")->size(), 12u);
  EXPECT_EQ(j->Find("training")->as_array()[11].Find("step")->as_int64(), 1200);
  EXPECT_DOUBLE_EQ(j->Find("training")->as_array()[11].Find("logit_scale")->as_double(), 26);
  EXPECT_TRUE(j->Find("lp_l2")->is_null());
}

TEST(ReportJsonTest, BadInputNamesFileAndField) {
  struct Case {
    std::string json;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{\"format_version\": 1, \"finetuned\": [{\"split\": \"a\", \"accuracy\": \"high\"}]}",
       "r.json: finetuned[0].accuracy: expected a number"},
      {"{\"format_version\": 1, \"finetuned\": [{\"accuracy\": 0.5}]}",
       "r.json: finetuned[0]: missing \"split\""},
      {"{\"format_version\": 1, \"world_size\": 1.5}", "r.json: world_size: expected an integer"},
      {"{\"format_version\": 1, \"world_size\": 0}", "r.json: world_size: must be in [1, 1000000]"},
      {"{\"format_version\": 1, \"wise_ft\": {\"sweep\": [{\"alpha\": true}]}}",
       "r.json: wise_ft.sweep[0].alpha: expected a number"},
      {"{\"format_version\": 1, \"epochs\": [{\"epoch\": 1}, {\"epoch\": 1}]}",
       "r.json: epochs[1].epoch: epoch 1 appears twice"},
      {"{\"format_version\": 1, \"hyperparameters\": {\"lr\": 0.1}}",
       "r.json: hyperparameters.lr: expected a string"},
      {"{\"format_version\": 2}", "r.json: format_version: unsupported version 2"},
      {"{\"schema_version\": 3}", "r.json: schema_version: unsupported version 3 (this build reads 2"},
      {"{\"schema_version\": 2, \"hyperparameters\": {\"lr\": [1]}}",
       "r.json: hyperparameters.lr: expected a number, true/false or a string"},
      {"{\"schema_version\": 2, \"training\": [{\"step\": \"1\"}]}",
       "r.json: training[0].step: expected an integer"},
      {"[]", "r.json: (root): expected an object"},
      {"{\"job\": \"j\"}", "r.json: schema_version: missing"},
      {"{\"format_version\": 1,}", "r.json: JSON line 1, column 22"},
  };
  for (const Case& c : cases) {
    StatusOr<RunReport> r = ReportFromJson(c.json, "r.json");
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.json;
    EXPECT_EQ(r.status().message().rfind(c.message, 0), 0u) << r.status().message();
  }
  // Unknown keys are ignored.
  StatusOr<RunReport> ok =
      ReportFromJson("{\"format_version\": 1, \"future\": [1, 2], \"job\": \"j\"}", "r.json");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->job, "j");
  EXPECT_EQ(ReadReportJson("/nonexistent/report.json").status().code(), StatusCode::kNotFound);
}

TEST(ReportSvgTest, EverySweepPointIsPlotted) {
  const std::string svg = RenderWiseFtSvg(SampleReport());
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  // (ID %, Avg OOD %) for alpha 0, 0.5, 0.7, 1.
  for (const char* point : {"(67.85, 37.5) \xCE\xB1=0<", "(93, 50) \xCE\xB1=0.5<", "(92, 47.5) \xCE\xB1=0.7<",
                            "(91.249, 45) \xCE\xB1=1<"}) {
    EXPECT_NE(svg.find(std::string("<title>FLYP: ") + point), std::string::npos) << point;
  }
  EXPECT_NE(svg.find("ID accuracy (%) [id_test]"), std::string::npos);
  // Only the chosen alpha (0.5) is circled.
  const size_t ring = svg.find("<circle class=\"highlight\"");
  ASSERT_NE(ring, std::string::npos);
  EXPECT_EQ(svg.find("<circle class=\"highlight\"", ring + 1), std::string::npos);
  EXPECT_LT(svg.rfind("\xCE\xB1=0.5</title>", ring), ring);
  EXPECT_GT(svg.rfind("\xCE\xB1=0.5</title>", ring), svg.rfind("<g class=\"point\">", ring));
}

TEST(ReportSvgTest, AlphaCurvesOneSeriesPerRun) {
  RunReport ft;
  ft.job = "ft";
  ft.method = "ft";
  ft.zeroshot = {Id("id_test", 0.5), Ood("o", 0.4)};
  ft.finetuned = {Id("id_test", 0.9), Ood("o", 0.3)};
  const std::string svg = RenderAlphaCurves({SampleReport(), ft});
  EXPECT_NE(svg.find("<title>FLYP: (93, 50) \xCE\xB1=0.5</title>"), std::string::npos);
  // Without a sweep: the zero-shot (alpha 0) and finetuned (alpha 1) points.
  EXPECT_NE(svg.find("<title>FT: (50, 40) \xCE\xB1=0</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>FT: (90, 30) \xCE\xB1=1</title>"), std::string::npos);
  size_t points = 0;
  for (size_t p = svg.find("<g class=\"point\">"); p != std::string::npos;
       p = svg.find("<g class=\"point\">", p + 1)) {
    ++points;
  }
  EXPECT_EQ(points, 6u);
}

}  // namespace
}  // namespace flyp::report

namespace flyp::report {
namespace {

TEST(ReportPlotsTest, TrainingCurvesEvaluationBarsAndNoEmptySweepPlot) {
  const RunReport r = SampleReport();
  EXPECT_EQ(ReportPlotFiles(r), (std::vector<std::string>{"training.svg", "evaluation.svg", "wiseft.svg"}));
  const std::string training = RenderTrainingSvg(r);
  for (const char* panel : {"fmnist-flyp: loss", "fmnist-flyp: learning rate", "fmnist-flyp: logit scale",
                            "fmnist-flyp: throughput"}) {
    EXPECT_NE(training.find(panel), std::string::npos) << panel;
  }
  // Four panels, one point per logged step each.
  size_t points = 0;
  for (size_t at = training.find("class=\"point\""); at != std::string::npos;
       at = training.find("class=\"point\"", at + 1)) {
    ++points;
  }
  EXPECT_EQ(points, 4 * r.training.size());
  const std::string bars = RenderEvaluationSvg(r);
  // One bar per (row, split): 3 rows x 4 splits; each labelled with its value.
  size_t n = 0;
  for (size_t at = bars.find("<g class=\"bar\">"); at != std::string::npos;
       at = bars.find("<g class=\"bar\">", at + 1)) {
    ++n;
  }
  EXPECT_EQ(n, 12u);
  EXPECT_NE(bars.find("<title>FLYP \xC2\xB7 id_test: 91.2</title>"), std::string::npos) << bars;

  RunReport pretrain;
  pretrain.job = "pre";
  pretrain.method = "pretrain";
  pretrain.training = r.training;
  EXPECT_EQ(ReportPlotFiles(pretrain), (std::vector<std::string>{"training.svg"}));
}

TEST(ReportPlotsTest, LegendsAreNeverClipped) {
  std::vector<flyp::svg::PlotSeries> series(1);
  series[0].name = std::string(80, 'W');
  series[0].points = {{0, 0, "", false}, {1, 1, "", false}};
  flyp::svg::PlotOptions opt;
  const std::string doc = flyp::svg::RenderSvgPlot(opt, series);
  const double width = std::atof(doc.c_str() + doc.find(" width=\"") + 8);
  // The legend text starts 30 px after the key; its estimated end fits.
  const size_t text_at = doc.rfind("<text x=\"");
  const double text_x = std::atof(doc.c_str() + text_at + 9);
  EXPECT_LE(text_x + flyp::svg::kLegendCharWidth * 80, width) << doc.substr(text_at, 200);
  EXPECT_GT(width, 640);  // widened beyond the requested width
}

TEST(ReportTextTest, TableAndHeadline) {
  const RunReport r = SampleReport();
  const std::optional<Headline> h = HeadlineOf(r);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->model, "FLYP + WiSE-FT (alpha=0.5)");
  EXPECT_EQ(h->id_split, "id_test");
  EXPECT_DOUBLE_EQ(h->id_accuracy, 0.93);
  EXPECT_DOUBLE_EQ(*h->avg_ood, 0.5);  // (0.65 + 0.35) / 2
  EXPECT_EQ(h->ood_splits, 2);
  EXPECT_DOUBLE_EQ(*h->chosen_alpha, 0.5);
  EXPECT_EQ(RenderReportText(r),
            "fmnist-flyp: FLYP on tiny, 2 ranks, 1200 steps, 312.4 samples/s, final loss 0.1234\n"
            "\n"
            "Accuracy (%)\n"
            "                            ID (id_test)  rotated  inverted  Avg OOD\n"
            "Zeroshot                            67.9     50.0      25.0     37.5\n"
            "FLYP                                91.2     60.0      30.0     45.0\n"
            "FLYP + WiSE-FT (alpha=0.5)          93.0     65.0      35.0     50.0\n"
            "\n"
            "Result: FLYP + WiSE-FT (alpha=0.5): id_test 93.0 %, OOD 50.0 % (mean of 2 splits)\n");
  RunReport none;
  EXPECT_FALSE(HeadlineOf(none).has_value());
}

TEST(ReportJsonTest, FormatVersionOneStillReads) {
  StatusOr<RunReport> r = ReportFromJson(
      "{\"format_version\": 1, \"hyperparameters\": {\"lr\": \"1e-05\"}, "
      "\"epochs\": [{\"epoch\": 2, \"evaluations\": [{\"split\": \"a\", \"accuracy\": 0.5}]}]}",
      "old.json");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->hyperparameters.at("lr").as_string(), "1e-05");
  EXPECT_DOUBLE_EQ(r->epochs.at(2).evaluations[0].accuracy, 0.5);
}

}  // namespace
}  // namespace flyp::report
