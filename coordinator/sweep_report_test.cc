// The sweep report from a hand-made sweep and hand-made trial reports: the
// choice per group, the rows' means and spreads, and the comparisons'
// intervals, checked against numbers computed by hand.
#include "coordinator/sweep_report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/json.h"

namespace flyp::coord {
namespace {

using report::RunReport;
using report::SplitEval;

SplitEval E(const char* split, bool ood, double accuracy) {
  SplitEval e;
  e.split = split;
  e.is_ood = ood;
  e.accuracy = accuracy;
  return e;
}

// Two groups (ft, flyp) x two learning rates x seeds 0, 1, 2.
class SweepReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sweep_.set_id("sweep-000001");
    sweep_.mutable_spec()->set_name("table1");
    sweep_.mutable_spec()->add_group_by("method.name");
    sweep_.mutable_spec()->add_replicate_by("schedule.seed");
    sweep_.mutable_spec()->mutable_objective()->set_metric("id_val");
    sweep_.mutable_spec()->mutable_objective()->set_goal(v1::OBJECTIVE_GOAL_MAXIMIZE);
    sweep_.mutable_status()->set_state(v1::SWEEP_STATE_SUCCEEDED);
    // method, lr, seed, objective (NaN: early-stopped), id_test, rotated, WiSE-FT (id_test, rotated) at alpha
    // 0.5
    struct T {
      const char* method;
      const char* lr;
      int seed;
      double objective, id, ood;
    };
    const std::vector<T> trials = {
        {"ft", "1e-4", 0, 0.70, 0.69, 0.43},   {"ft", "1e-4", 1, 0.71, 0.70, 0.44},
        {"ft", "1e-4", 2, 0.72, 0.71, 0.45},   {"ft", "1e-3", 0, 0.74, 0.72, 0.40},
        {"ft", "1e-3", 1, 0.75, 0.73, 0.42},   {"ft", "1e-3", 2, 0.73, 0.71, 0.38},
        {"flyp", "1e-4", 0, 0.76, 0.74, 0.41}, {"flyp", "1e-4", 1, 0.77, 0.76, 0.40},
        {"flyp", "1e-4", 2, 0.78, 0.75, 0.42}, {"flyp", "1e-3", 0, 0.60, 0.59, 0.30},
        {"flyp", "1e-3", 1, 0.61, 0.60, 0.31}, {"flyp", "1e-3", 2, NAN, 0, 0},
    };
    for (size_t i = 0; i < trials.size(); ++i) {
      const T& t = trials[i];
      v1::Trial* p = sweep_.add_trials();
      p->set_index(static_cast<int>(i));
      p->set_job_id("job-" + std::to_string(i));
      p->set_group(std::string("method.name=") + t.method);
      for (auto [path, value] : {std::make_pair("optim.learning_rate", std::string(t.lr)),
                                 std::make_pair("schedule.seed", std::to_string(t.seed))}) {
        auto* tp = p->add_parameters();
        tp->set_path(path);
        tp->set_value(value);
      }
      if (std::isnan(t.objective)) {
        p->set_state(v1::TRIAL_STATE_EARLY_STOPPED);
        p->set_reason("EarlyStopped");
        p->set_message("rung 0");
        continue;
      }
      p->set_state(v1::TRIAL_STATE_SUCCEEDED);
      p->set_objective(t.objective);
      RunReport r;
      r.method = t.method;
      r.zeroshot = {E("id_val", false, 0.66), E("id_test", false, 0.65), E("rotated", true, 0.45)};
      r.finetuned = {E("id_val", false, t.objective), E("id_test", false, t.id), E("rotated", true, t.ood)};
      const std::vector<SplitEval> half = {E("id_val", false, t.objective + 0.001),
                                           E("id_test", false, t.id - 0.01),
                                           E("rotated", true, t.ood + 0.02)};
      r.wise_ft = {{0, r.zeroshot}, {0.5, half}, {1, r.finetuned}};
      EXPECT_TRUE(report::SelectWiseFtAlpha(&r).ok());  // 0.5: its id_val is the best
      reports_[static_cast<int>(i)] = r;
    }
  }
  v1::Sweep sweep_;
  std::map<int, RunReport> reports_;
};

TEST_F(SweepReportTest, ChoosesEachGroupsConfigurationByTheObjectiveOnly) {
  const SweepReportData d = BuildSweepReport(sweep_, reports_);
  ASSERT_EQ(d.groups.size(), 2u);
  const auto& ft = d.groups[0];
  EXPECT_EQ(ft.label, "FT");
  ASSERT_EQ(ft.configs.size(), 2u);
  // ft lr 1e-4 has the better test and OOD numbers, lr 1e-3 the better ID
  // validation accuracy: 1e-3 is chosen.
  EXPECT_EQ(ft.configs[ft.chosen].key, "optim.learning_rate=1e-3");
  EXPECT_NEAR(ft.configs[ft.chosen].interval.mean, 0.74, 1e-12);
  ASSERT_TRUE(ft.margin.has_value());
  EXPECT_NEAR(ft.margin->mean, 0.03, 1e-12);  // (0.04 + 0.04 + 0.01) / 3
  const auto& flyp = d.groups[1];
  EXPECT_EQ(flyp.configs[flyp.chosen].key, "optim.learning_rate=1e-4");
  // The early-stopped trial takes no part: lr 1e-3 has 2 of 3.
  EXPECT_EQ(flyp.configs[1].succeeded.size(), 2u);
  EXPECT_EQ(flyp.configs[1].trials.size(), 3u);
}

TEST_F(SweepReportTest, RowsAreMeansOverReplicatesAndComparisonsPairThem) {
  const SweepReportData d = BuildSweepReport(sweep_, reports_);
  ASSERT_EQ(d.rows.size(), 5u);
  EXPECT_EQ(d.rows[0].label, "Zeroshot (the trials' starting model)");
  EXPECT_EQ(d.rows[1].label, "FT");
  EXPECT_EQ(d.rows[2].label, "FT + WiSE-FT");
  EXPECT_EQ(d.rows[3].label, "FLYP");
  EXPECT_EQ(d.rows[4].label, "FLYP + WiSE-FT");
  EXPECT_EQ(d.id_split, "id_test");
  EXPECT_FALSE(d.id_is_validation);
  EXPECT_EQ(d.rows[1].id, (std::vector<double>{0.72, 0.73, 0.71}));
  EXPECT_EQ(d.rows[2].alpha, (std::vector<double>{0.5, 0.5, 0.5}));
  EXPECT_EQ(d.ood_splits, (std::vector<std::string>{"rotated"}));

  // ID: FLYP leads (0.75 mean). FLYP - FT per seed: 0.02, 0.03, 0.04.
  const SweepReportData::Comparison* c = nullptr;
  for (const auto& x : d.comparisons)
    if (x.metric == "ID" && d.rows[x.leader].label == "FLYP" && d.rows[x.other].label == "FT") c = &x;
  ASSERT_NE(c, nullptr);
  const double half = 4.302653 * 0.01 / std::sqrt(3.0);
  EXPECT_EQ(c->diff.n, 3);
  EXPECT_NEAR(c->diff.mean, 0.03, 1e-12);
  EXPECT_NEAR(c->diff.low, 0.03 - half, 1e-6);
  EXPECT_NEAR(c->diff.high, 0.03 + half, 1e-6);
  EXPECT_EQ(c->diff.Sign(), 1);
  EXPECT_EQ(c->pairing, "paired by schedule.seed");

  // Avg OOD: the zero-shot model (one run, 0.45) leads; against FLYP
  // (0.41, 0.40, 0.42) the differences are 0.04, 0.05, 0.03.
  const SweepReportData::Comparison* z = nullptr;
  for (const auto& x : d.comparisons)
    if (x.metric == "Avg OOD" && d.rows[x.other].label == "FLYP") z = &x;
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(d.rows[z->leader].label, "Zeroshot (the trials' starting model)");
  EXPECT_EQ(z->pairing, "against a single run");
  EXPECT_NEAR(z->diff.mean, 0.04, 1e-12);

  const std::string md = RenderSweepMarkdown(d);
  EXPECT_NE(md.find("| FT | 72.0 ± 1.0 | 40.0 ± 2.0 | 40.0 ± 2.0 | 3 | - |"), std::string::npos) << md;
  EXPECT_NE(md.find("| FT + WiSE-FT | 71.0 ± 1.0 | 42.0 ± 2.0 | 42.0 ± 2.0 | 3 | 0.50 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| ID | FLYP | FT | +3.00 [+0.52, +5.48] | 3 | **FLYP better** than FT |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| optim.learning_rate=1e-3 | 2/3 | 60.5 ± 0.7 |  |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 11 | job-11 | EARLY_STOPPED |"), std::string::npos) << md;
  EXPECT_NE(md.find("EarlyStopped: rung 0"), std::string::npos) << md;
}

TEST_F(SweepReportTest, IntervalsThatIncludeZeroAreNoWin) {
  // FLYP's ID = FT's -0.01, +0.01, -0.01 by seed: FT leads by 0.33 points,
  // with an interval that includes 0.
  for (int i : {6, 7, 8}) {
    reports_[i].finetuned[1].accuracy = reports_[i - 3].finetuned[1].accuracy + (i % 2 ? 0.01 : -0.01);
  }
  const SweepReportData d = BuildSweepReport(sweep_, reports_);
  int found = 0;
  for (const auto& c : d.comparisons) {
    if (c.metric != "ID" || d.rows[c.other].label != "FLYP" || d.rows[c.leader].label != "FT") continue;
    ++found;
    EXPECT_NEAR(c.diff.mean, 0.01 / 3, 1e-12);
    EXPECT_LT(c.diff.low, 0);
    EXPECT_GT(c.diff.high, 0);
    EXPECT_EQ(c.diff.Sign(), 0);
  }
  EXPECT_EQ(found, 1);
  const std::string md = RenderSweepMarkdown(d);
  EXPECT_NE(md.find("| ID | FT | FLYP | +0.33 ["), std::string::npos) << md;
  EXPECT_NE(md.find("not separated: the interval includes 0"), std::string::npos) << md;
  EXPECT_EQ(md.find("**FT better** than FLYP"), std::string::npos) << md;
}

TEST_F(SweepReportTest, JsonAndSvgCarryTheSameNumbers) {
  const SweepReportData d = BuildSweepReport(sweep_, reports_);
  auto json = ParseJson(RenderSweepJson(d));
  ASSERT_TRUE(json.ok()) << json.status();
  const Json* rows = json->Find("rows");
  ASSERT_NE(rows, nullptr);
  ASSERT_EQ(rows->size(), 5u);
  const Json& ft = rows->as_array()[1];
  EXPECT_EQ(ft.Find("label")->as_string(), "FT");
  EXPECT_NEAR(ft.Find("id")->Find("mean")->as_double(), 0.72, 1e-12);
  EXPECT_NEAR(ft.Find("id")->Find("std")->as_double(), 0.01, 1e-12);
  const Json* trials = json->Find("trials");
  ASSERT_EQ(trials->size(), 12u);
  EXPECT_EQ(trials->as_array()[11].Find("state")->as_string(), "TRIAL_STATE_EARLY_STOPPED");
  EXPECT_TRUE(trials->as_array()[11].Find("objective")->is_null());
  const std::string svg = RenderSweepSvg(d);
  EXPECT_NE(svg.find(">FT<"), std::string::npos) << svg.substr(0, 2000);
  EXPECT_NE(svg.find(">FLYP<"), std::string::npos);
  ASSERT_EQ(d.curves.size(), 2u);
  EXPECT_EQ(d.curves[0].alpha, (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(d.curves[0].chosen_alpha, 0.5);
  EXPECT_NEAR(d.curves[0].id[1], 0.71, 1e-12);  // mean of 0.72-0.01, 0.73-0.01, 0.71-0.01
}

TEST(SweepReport, WithoutATestSplitTheIdColumnSaysItIsValidation) {
  v1::Sweep s;
  s.set_id("sweep-000002");
  s.mutable_spec()->mutable_objective()->set_metric("id_val");
  v1::Trial* t = s.add_trials();
  t->set_state(v1::TRIAL_STATE_SUCCEEDED);
  t->set_objective(0.5);
  RunReport r;
  r.method = "ft";
  r.finetuned = {E("id_val", false, 0.5)};
  const SweepReportData d = BuildSweepReport(s, {{0, r}});
  EXPECT_TRUE(d.id_is_validation);
  EXPECT_NE(RenderSweepMarkdown(d).find("the objective itself"), std::string::npos);
}

TEST(SweepReport, GroupLabelsNameTheMethodAndOnlySwitchesThatAreOn) {
  EXPECT_EQ(GroupLabel("method.name=flyp, method.mask_same_class=true"), "FLYP, mask_same_class=true");
  EXPECT_EQ(GroupLabel("method.name=lpft, method.mask_same_class=false"), "LP-FT");
  EXPECT_EQ(GroupLabel("data.train.k_shot=4, method.name=ft, method.mask_same_class=false"), "k_shot=4, FT");
  EXPECT_EQ(GroupLabel("method.mask_same_class=false"), "method.mask_same_class=false");
  EXPECT_EQ(GroupLabel(""), "all trials");
}

}  // namespace
}  // namespace flyp::coord
