// The sweep spec front end: YAML (with the path -> domain search space)
// to trials, each with its normalised job spec; the errors a user sees.
#include "common/spec/sweep_spec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tests/testing/test_env.h"

namespace flyp {
namespace {

const char kBase[] = R"(name: lr-sweep
base:
  model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}
  method: {name: ft}
  data:
    train: {format: fashion_mnist}
    id_val: {format: fashion_mnist, split: train, offset: 50000, limit: 100}
    ood:
      - {name: rotated, format: fashion_mnist, split: test, limit: 100, shifts: [{kind: rotate, severity: 30}]}
  schedule: {epochs: 4, batch_size: 8}
  resources: {world_size: 1}
)";

SweepLoad Load(const std::string& rest) { return LoadSweepSpecYaml(std::string(kBase) + rest); }

std::string Params(const TrialPlan& t) {
  std::string out;
  for (const auto& p : t.parameters) out += (out.empty() ? "" : " ") + p.path() + "=" + p.value();
  return out;
}

bool HasError(const SweepLoad& load, const std::string& path, const std::string& fragment) {
  for (const auto& e : load.errors)
    if (e.path == path && e.message.find(fragment) != std::string::npos) return true;
  return false;
}

TEST(SweepSpec, AGridIsEveryCombinationWithTheLastParameterFastest) {
  SweepLoad load = Load(R"(search_space:
  method.name: [ft, flyp]
  optim.learning_rate: [1e-5, 1e-4, 1e-3]
)");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  ASSERT_EQ(load.trials.size(), 6u);
  EXPECT_EQ(Params(load.trials[0]), "method.name=ft optim.learning_rate=1e-5");
  EXPECT_EQ(Params(load.trials[1]), "method.name=ft optim.learning_rate=1e-4");
  EXPECT_EQ(Params(load.trials[3]), "method.name=flyp optim.learning_rate=1e-5");
  EXPECT_EQ(Params(load.trials[5]), "method.name=flyp optim.learning_rate=1e-3");
  for (int i = 0; i < 6; ++i) {
    const v1::JobSpec& spec = load.trials[i].spec;
    EXPECT_EQ(load.trials[i].index, i);
    EXPECT_EQ(spec.name(), "lr-sweep-t" + std::to_string(i));
    EXPECT_EQ(spec.method().name(), i < 3 ? v1::METHOD_FT : v1::METHOD_FLYP);
    EXPECT_DOUBLE_EQ(spec.optim().learning_rate(), std::vector<double>({1e-5, 1e-4, 1e-3})[i % 3]);
    // Normalised like any job: the method's defaults (FT clips at 1.0, FLYP trains the text tower).
    EXPECT_EQ(spec.method().train_text_tower(), i >= 3);
    EXPECT_DOUBLE_EQ(spec.optim().grad_clip_norm(), i < 3 ? 1.0 : 0.0);
    EXPECT_EQ(spec.data().train().path(),
              load.trials[0].spec.data().train().path());  // the base's fields stay
  }
  // The sweep's own defaults.
  EXPECT_EQ(load.spec.name(), "lr-sweep");
  EXPECT_EQ(load.spec.algorithm(), v1::SEARCH_ALGORITHM_GRID);
  EXPECT_EQ(load.spec.max_concurrent_trials(), 1);
  EXPECT_EQ(load.spec.objective().metric(), "id_val");
  EXPECT_EQ(load.spec.objective().goal(), v1::OBJECTIVE_GOAL_MAXIMIZE);
  EXPECT_EQ(load.spec.early_stopping().method(), v1::EARLY_STOPPING_METHOD_NONE);
  EXPECT_TRUE(load.spec.replicate_by().empty());
}

TEST(SweepSpec, AUnionOfSpacesRangesAlsoPathsAndMergedMappings) {
  SweepLoad load = Load(R"(search_space:
  - method.name: [zeroshot]
    data.train: [null]
  - {}
  - method: [{name: flyp, mask_same_class: true}]
    schedule.seed: {range: [0, 5, 2], also: [data.train.seed]}
)");
  // zeroshot must not have a train set: setting data.train to null is not a
  // value the job spec takes, so that space is reported.
  EXPECT_FALSE(load.ok());
  EXPECT_TRUE(HasError(load, "search_space[0].data.train.values[0]", "missing value")) << load.ErrorText();

  load = Load(R"(search_space:
  - {}
  - method: [{name: flyp, mask_same_class: true}]
    schedule.seed: {range: [0, 5, 2], also: [data.train.seed]}
)");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  ASSERT_EQ(load.trials.size(), 4u);  // the base, then flyp at seeds 0, 2, 4
  EXPECT_EQ(Params(load.trials[0]), "");
  EXPECT_EQ(load.trials[0].spec.method().name(), v1::METHOD_FT);
  for (int i = 1; i < 4; ++i) {
    const v1::JobSpec& spec = load.trials[i].spec;
    EXPECT_EQ(Params(load.trials[i]),
              "method={name: flyp, mask_same_class: true} schedule.seed=" + std::to_string(2 * (i - 1)));
    EXPECT_EQ(spec.method().name(), v1::METHOD_FLYP);
    EXPECT_TRUE(spec.method().mask_same_class());
    EXPECT_EQ(spec.schedule().seed(), 2 * (i - 1));
    EXPECT_EQ(spec.data().train().seed(), 2 * (i - 1)) << "the also path gets the same value";
  }
  // schedule.seed is searched: it is the replicate by default.
  ASSERT_EQ(load.spec.replicate_by_size(), 1);
  EXPECT_EQ(load.spec.replicate_by(0), "schedule.seed");
  EXPECT_EQ(TrialConfigKey(load.trials[2].parameters, {"schedule.seed"}),
            "method={name: flyp, mask_same_class: true}");
  EXPECT_EQ(TrialReplicateKey(load.trials[2].parameters, {"schedule.seed"}), "schedule.seed=2");
}

TEST(SweepSpec, IndexedPathsReachIntoTheBasesLists) {
  SweepLoad load = Load(R"(search_space:
  data.ood[0].shifts[0].severity: [15, 45]
)");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  ASSERT_EQ(load.trials.size(), 2u);
  EXPECT_FLOAT_EQ(load.trials[1].spec.data().ood(0).shifts(0).severity(), 45);
  EXPECT_EQ(load.trials[1].spec.data().ood(0).name(), "rotated");
  load = Load("search_space:\n  data.ood[3].name: [x]\n");
  EXPECT_TRUE(HasError(load, "trials[0].data.ood[3].name", "the base spec has 1 entries"))
      << load.ErrorText();
}

TEST(SweepSpec, GroupsComeFromTheNormalisedSpec) {
  SweepLoad load = Load(R"(group_by: [method.name, method.mask_same_class]
search_space:
  method: [{name: ft}, {name: flyp}, {name: flyp, mask_same_class: true}]
)");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  ASSERT_EQ(load.trials.size(), 3u);
  EXPECT_EQ(load.trials[0].group, "method.name=ft, method.mask_same_class=false");
  EXPECT_EQ(load.trials[1].group, "method.name=flyp, method.mask_same_class=false");
  EXPECT_EQ(load.trials[2].group, "method.name=flyp, method.mask_same_class=true");
}

TEST(SweepSpec, RandomSearchDrawsMaxTrialsReproduciblyInsideTheDomains) {
  const std::string space = R"(algorithm: random
max_trials: 40
seed: 7
search_space:
  optim.learning_rate: {log_uniform: [1e-5, 1e-2]}
  optim.weight_decay: {uniform: [0, 0.2]}
  method.name: [ft, l2sp]
  schedule.seed: {range: [0, 3]}
)";
  SweepLoad a = Load(space), b = Load(space);
  ASSERT_TRUE(a.ok()) << a.ErrorText();
  ASSERT_EQ(a.trials.size(), 40u);
  std::set<std::string> methods, seeds;
  double lo = 1, hi = 0;
  for (size_t i = 0; i < a.trials.size(); ++i) {
    EXPECT_EQ(Params(a.trials[i]), Params(b.trials[i])) << "same seed, same draws";
    const auto& o = a.trials[i].spec.optim();
    EXPECT_GE(o.learning_rate(), 1e-5);
    EXPECT_LE(o.learning_rate(), 1e-2);
    EXPECT_GE(o.weight_decay(), 0);
    EXPECT_LE(o.weight_decay(), 0.2);
    lo = std::min(lo, o.learning_rate());
    hi = std::max(hi, o.learning_rate());
    methods.insert(a.trials[i].parameters[2].value());
    seeds.insert(a.trials[i].parameters[3].value());
  }
  // Log-uniform over three decades: 40 draws cover more than two of them.
  EXPECT_LT(lo, 1e-4);
  EXPECT_GT(hi, 1e-3);
  EXPECT_EQ(methods, (std::set<std::string>{"ft", "l2sp"}));
  EXPECT_EQ(seeds, (std::set<std::string>{"0", "1", "2"}));
  SweepLoad c =
      Load(space.substr(0, space.find("seed: 7")) + "seed: 8\n" + space.substr(space.find("search_space")));
  ASSERT_TRUE(c.ok()) << c.ErrorText();
  EXPECT_NE(Params(c.trials[0]) + Params(c.trials[1]), Params(a.trials[0]) + Params(a.trials[1]));
}

TEST(SweepSpec, TheYamlFormRoundTrips) {
  SweepLoad load = Load(R"(max_concurrent_trials: 2
group_by: [method.name]
early_stopping: {method: successive_halving, min_epochs: 1, reduction_factor: 2}
search_space:
  - method.name: [ft]
    optim.learning_rate: [1e-4, 0.001]
  - method: [{name: flyp, mask_same_class: true}]
    schedule.seed: {range: [0, 2], also: [data.train.seed]}
)");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  const std::string yaml = SweepSpecToYaml(load.spec);
  SweepLoad again = LoadSweepSpecYaml(yaml);
  ASSERT_TRUE(again.ok()) << again.ErrorText() << "\n" << yaml;
  EXPECT_EQ(again.spec.SerializeAsString(), load.spec.SerializeAsString()) << yaml;
  ASSERT_EQ(again.trials.size(), load.trials.size());
  for (size_t i = 0; i < load.trials.size(); ++i) {
    EXPECT_EQ(Params(again.trials[i]), Params(load.trials[i]));
    EXPECT_EQ(again.trials[i].spec.SerializeAsString(), load.trials[i].spec.SerializeAsString());
  }
  // The message form (a gRPC client's) expands the same way.
  SweepLoad msg = NormalizeSweepSpec(load.spec);
  ASSERT_TRUE(msg.ok()) << msg.ErrorText();
  EXPECT_EQ(msg.trials.size(), load.trials.size());
}

TEST(SweepSpec, ProblemsAreReportedWithTheirPaths) {
  SweepLoad load = Load(R"(max_concurent_trials: 2
search_space:
  optim.learnig_rate: [1e-4]
  optim.weight_decay: [0.1, fast]
  method.name: {values: [ft], rnage: [0, 1]}
)");
  EXPECT_TRUE(HasError(load, "max_concurent_trials", "did you mean max_concurrent_trials?"))
      << load.ErrorText();
  EXPECT_TRUE(HasError(load, "search_space.method.name.rnage", "did you mean range?")) << load.ErrorText();

  load = Load(R"(search_space:
  optim.learnig_rate: [1e-4]
  optim.weight_decay: [0.1, fast]
  optim: [{learning_rate: 1e-4, nesterov: true}]
  optim.learning_rate.x: [1]
  data.ood.name: [x]
  schedule.seed: {uniform: [0, 1]}
  name: [x]
)");
  EXPECT_TRUE(HasError(load, "search_space.optim.learnig_rate", "did you mean learning_rate?"))
      << load.ErrorText();
  EXPECT_TRUE(HasError(load, "search_space.optim.weight_decay.values[1]", "expected a number, got 'fast'"))
      << load.ErrorText();
  EXPECT_TRUE(HasError(load, "search_space.optim.values[0]", "optim.nesterov: unknown field"))
      << load.ErrorText();
  EXPECT_TRUE(HasError(load, "search_space.optim.learning_rate.x", "is a value, not a section"))
      << load.ErrorText();
  EXPECT_TRUE(HasError(load, "search_space.data.ood.name", "give an index, e.g. data.ood[0]"))
      << load.ErrorText();
  EXPECT_TRUE(HasError(load, "search_space.schedule.seed", "needs algorithm random")) << load.ErrorText();
  EXPECT_TRUE(HasError(load, "search_space.name", "trial names are the sweep's")) << load.ErrorText();

  load = Load("algorithm: random\nsearch_space: {optim.learning_rate: [1e-4]}\n");
  EXPECT_TRUE(HasError(load, "max_trials", "required with algorithm random")) << load.ErrorText();
  load = Load(
      "max_trials: 3\nsearch_space: {optim.learning_rate: [1e-4, 1e-3], schedule.seed: {range: [0, 2]}}\n");
  EXPECT_TRUE(HasError(load, "search_space", "the grid has 4 trials, more than max_trials (3)"))
      << load.ErrorText();
  load = Load("search_space: {schedule.seed: {range: [0, 40]}, optim.learning_rate: {range: [1, 100]}}\n");
  EXPECT_TRUE(HasError(load, "search_space", "more than a sweep may have (1000)")) << load.ErrorText();
  load = Load("search_space: {schedule.seed: {range: [3, 3]}}\n");
  EXPECT_TRUE(HasError(load, "search_space.schedule.seed.range", "stop must be > start")) << load.ErrorText();
  load = Load("replicate_by: [optim.learning_rate]\nsearch_space: {schedule.seed: [0, 1]}\n");
  EXPECT_TRUE(HasError(load, "replicate_by[0]", "is not set by the search space")) << load.ErrorText();
  load = Load("group_by: [method]\nsearch_space: {schedule.seed: [0, 1]}\n");
  EXPECT_TRUE(HasError(load, "group_by[0]", "'method' is a section")) << load.ErrorText();
}

TEST(SweepSpec, TrialsAreValidatedLikeJobsAndEachProblemIsReportedOnce) {
  SweepLoad load = Load("search_space: {optim.learning_rate: [1e-4, -1, -2]}\n");
  ASSERT_FALSE(load.ok());
  ASSERT_EQ(load.errors.size(), 2u) << load.ErrorText();
  EXPECT_EQ(load.errors[0].path, "trials[1].optim.learning_rate");
  EXPECT_NE(load.errors[0].message.find("[trial 1: optim.learning_rate=-1]"), std::string::npos)
      << load.ErrorText();
  EXPECT_TRUE(load.trials.empty());

  // A base without ID validation: one line for every trial.
  std::string base = kBase;
  base.erase(base.find("    id_val"), base.find("    ood:") - base.find("    id_val"));
  load = LoadSweepSpecYaml(base + "search_space: {optim.learning_rate: [1e-4, 1e-3, 1e-2]}\n");
  ASSERT_EQ(load.errors.size(), 1u) << load.ErrorText();
  EXPECT_EQ(load.errors[0].path, "trials[0].data.id_val");
  EXPECT_NE(load.errors[0].message.find("and 2 more trials"), std::string::npos) << load.ErrorText();
}

TEST(SweepSpec, TheObjectiveIsTheIdValidationSplit) {
  SweepLoad load = Load("objective: {metric: rotated}\nsearch_space: {optim.learning_rate: [1e-4]}\n");
  EXPECT_TRUE(HasError(load, "objective.metric", "never by test or OOD numbers")) << load.ErrorText();
  load = Load(
      "early_stopping: {method: successive_halving, metric: rotated}\n"
      "search_space: {optim.learning_rate: [1e-4]}\n");
  EXPECT_TRUE(HasError(load, "early_stopping.metric", "not the ID validation split")) << load.ErrorText();
}

TEST(SweepSpec, SuccessiveHalvingNeedsAnEvaluationAtEveryRung) {
  // 4 epochs, rungs at 1 and 2 (eta 2): evaluating every 2 epochs misses rung 1.
  SweepLoad load;
  std::string yaml = std::string(kBase);
  yaml.replace(yaml.find("batch_size: 8}"), 14, "batch_size: 8, eval_every_epochs: 2}");
  load = LoadSweepSpecYaml(yaml +
                           "early_stopping: {method: successive_halving, reduction_factor: 2}\n"
                           "search_space: {optim.learning_rate: [1e-4]}\n");
  EXPECT_TRUE(HasError(load, "trials[0].schedule.eval_every_epochs", "at the rung at epoch 1"))
      << load.ErrorText();
  load = Load(
      "early_stopping: {method: successive_halving, min_epochs: 4}\nsearch_space: {optim.learning_rate: "
      "[1e-4]}\n");
  EXPECT_TRUE(HasError(load, "trials[0].schedule.epochs", "no rung")) << load.ErrorText();
  load = Load("early_stopping: {method: successive_halving}\nsearch_space: {optim.learning_rate: [1e-4]}\n");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  EXPECT_EQ(load.spec.early_stopping().metric(), "id_val");
  EXPECT_EQ(load.spec.early_stopping().min_epochs(), 1);
  EXPECT_EQ(load.spec.early_stopping().reduction_factor(), 3);
  load = Load("early_stopping: {reduction_factor: 2}\nsearch_space: {optim.learning_rate: [1e-4]}\n");
  EXPECT_TRUE(HasError(load, "early_stopping.method", "must be successive_halving")) << load.ErrorText();
}

TEST(SweepSpec, FieldValueTextReadsScalarsByPath) {
  SweepLoad load = Load("search_space: {optim.learning_rate: [1e-4]}\n");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  const v1::JobSpec& spec = load.trials[0].spec;
  EXPECT_EQ(*FieldValueText(spec, "method.name"), "ft");
  EXPECT_EQ(*FieldValueText(spec, "optim.learning_rate"), "1e-04");
  EXPECT_EQ(*FieldValueText(spec, "data.ood[0].shifts[0].severity"), "30");
  EXPECT_EQ(*FieldValueText(spec, "data.ood[4].name"), "-");
  EXPECT_EQ(*FieldValueText(spec, "method.mask_same_class"), "false");
  EXPECT_FALSE(FieldValueText(spec, "optim.lr").ok());
}

// The shipped Table 1 sweep: lp over 5 seeds, a 3-rate grid for each of
// ft, l2sp, lpft, flyp and masked flyp over 5 seeds; 6 groups; seeds are
// replicates; every trial evaluates the full test set.
TEST(SweepSpec, TheShippedTable1SweepIsThePapersProtocol) {
  SweepLoad load = LoadSweepSpecFile(testing::SourceDir() + "/examples/table1-mini.sweep.yaml");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  ASSERT_EQ(load.trials.size(), 5u + 4 * 3 * 5 + 3 * 5);
  std::set<std::string> groups;
  for (const TrialPlan& t : load.trials) {
    groups.insert(t.group);
    EXPECT_EQ(t.spec.data().id_test().limit(), 10000);
    EXPECT_EQ(t.spec.data().id_val().limit(), 10000);
    EXPECT_EQ(t.spec.data().train().seed(), t.spec.schedule().seed()) << t.index;
  }
  EXPECT_EQ(groups.size(), 6u);
  EXPECT_EQ(load.spec.objective().metric(), "id_val");
  ASSERT_EQ(load.spec.replicate_by_size(), 1);
  EXPECT_EQ(load.spec.replicate_by(0), "schedule.seed");
}

// The shipped few-shot sweep: every method at each k, each with its own
// rate chosen on ID validation (3 k x (lp + 5 methods x 3 rates) x 5 seeds).
TEST(SweepSpec, TheShippedFewShotSweepHasEveryMethodAtEveryK) {
  SweepLoad load = LoadSweepSpecFile(testing::SourceDir() + "/examples/fewshot-mini.sweep.yaml");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  ASSERT_EQ(load.trials.size(), 3u * (5 + 5 * 3 * 5));
  std::set<std::string> groups;
  for (const TrialPlan& t : load.trials) {
    groups.insert(t.group);
    const int k = t.spec.data().train().k_shot();
    EXPECT_EQ(t.spec.schedule().batch_size(), std::min(10 * k, 128)) << t.index;
    EXPECT_EQ(t.spec.method().lp_steps(), 200) << "the base's method fields survive the merge";
  }
  EXPECT_EQ(groups.size(), 3u * 6);
}

}  // namespace
}  // namespace flyp
