#include "common/spec/spec_yaml.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "flyp/v1/job.pb.h"
#include "flyp/v1/job_spec.pb.h"

namespace flyp {
namespace {

using google::protobuf::util::MessageDifferencer;

TEST(DurationTest, ParsesUnitsAndBareSeconds) {
  int64_t s = 0;
  int32_t ns = 0;
  ASSERT_TRUE(ParseDuration("90s", &s, &ns).ok());
  EXPECT_EQ(s, 90);
  ASSERT_TRUE(ParseDuration("1h30m", &s, &ns).ok());
  EXPECT_EQ(s, 5400);
  ASSERT_TRUE(ParseDuration("250ms", &s, &ns).ok());
  EXPECT_EQ(s, 0);
  EXPECT_EQ(ns, 250000000);
  ASSERT_TRUE(ParseDuration("1.5h", &s, &ns).ok());
  EXPECT_EQ(s, 5400);
  ASSERT_TRUE(ParseDuration("42", &s, &ns).ok());
  EXPECT_EQ(s, 42);
  EXPECT_FALSE(ParseDuration("5 minutes", &s, &ns).ok());
  EXPECT_FALSE(ParseDuration("", &s, &ns).ok());
  EXPECT_FALSE(ParseDuration("m", &s, &ns).ok());
  EXPECT_FALSE(ParseDuration("1.2.3s", &s, &ns).ok());  // std::stold read "1.2" and ignored the rest
  EXPECT_FALSE(ParseDuration(".s", &s, &ns).ok());
}

// std::stoll threw std::out_of_range out of YamlToMessage for these; then
// INT64_MAX seconds was accepted and overflowed every "* 1000" downstream.
TEST(DurationTest, HugeDurationsAreRefusedNotThrown) {
  int64_t s = 0;
  int32_t ns = 0;
  EXPECT_FALSE(ParseDuration("99999999999999999999", &s, &ns).ok());
  EXPECT_FALSE(ParseDuration("-99999999999999999999", &s, &ns).ok());
  EXPECT_FALSE(ParseDuration("9223372036854775807", &s, &ns).ok());
  EXPECT_FALSE(ParseDuration("315576000001", &s, &ns).ok());
  EXPECT_FALSE(ParseDuration("87660000h1s", &s, &ns).ok());
  EXPECT_FALSE(ParseDuration("1e30h", &s, &ns).ok());
  Status st = ParseDuration("99999999999999999999h", &s, &ns);
  EXPECT_EQ(st.message(),
            "duration '99999999999999999999h' is out of range (at most 315576000000s, 10000 years)");
  ASSERT_TRUE(ParseDuration("315576000000", &s, &ns).ok());
  EXPECT_EQ(s, kMaxDurationSeconds);
  ASSERT_TRUE(ParseDuration("87660000h", &s, &ns).ok());
  EXPECT_EQ(s, kMaxDurationSeconds);
  ASSERT_TRUE(ParseDuration("-1.5s", &s, &ns).ok());
  EXPECT_EQ(s, -1);
  EXPECT_EQ(ns, -500000000);
  v1::JobSpec spec;
  std::vector<FieldError> errors;
  EXPECT_FALSE(YamlToMessage("run_policy: {active_deadline: 99999999999999999999}\n", &spec, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "run_policy.active_deadline");
}

TEST(DurationTest, FormatsCanonically) {
  EXPECT_EQ(FormatDuration(5400, 0), "1h30m");
  EXPECT_EQ(FormatDuration(300, 0), "5m");
  EXPECT_EQ(FormatDuration(61, 0), "1m1s");
  EXPECT_EQ(FormatDuration(0, 0), "0s");
  EXPECT_EQ(FormatDuration(0, 250000000), "250ms");
  EXPECT_EQ(FormatDuration(-1, -500000000), "-1500ms");
  EXPECT_EQ(FormatDuration(2, 5), "2000000005ns");
}

// seconds * 1e9 overflowed int64 for long durations with nanoseconds.
TEST(DurationTest, FormatRoundTripsTheWholeRange) {
  for (auto [sec, nanos] : std::vector<std::pair<int64_t, int32_t>>{
           {kMaxDurationSeconds, 999999999}, {-kMaxDurationSeconds + 1, -1}, {9000000000LL, 7}, {1, 1}}) {
    if (sec == kMaxDurationSeconds) nanos = 0;  // the maximum itself has no fraction
    const std::string text = FormatDuration(sec, nanos);
    int64_t s = 0;
    int32_t ns = 0;
    ASSERT_TRUE(ParseDuration(text, &s, &ns).ok()) << text;
    EXPECT_EQ(s, sec) << text;
    EXPECT_EQ(ns, nanos) << text;
  }
}

TEST(EditDistanceTest, SuggestsCloseNames) {
  EXPECT_EQ(EditDistance("learning_rat", "learning_rate"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(ClosestMatch("learning_rat", {"learning_rate", "weight_decay"}), "learning_rate");
  EXPECT_EQ(ClosestMatch("zzz", {"learning_rate", "weight_decay"}), "");
}

TEST(EnumNamesTest, StripPrefixAndLowercase) {
  EXPECT_EQ(EnumYamlName(v1::Activation_descriptor()->FindValueByNumber(v1::ACTIVATION_QUICK_GELU)),
            "quick_gelu");
  EXPECT_EQ(EnumYamlName(v1::LrSchedule_descriptor()->FindValueByNumber(v1::LR_SCHEDULE_COSINE)), "cosine");
  auto names = EnumYamlNames(v1::Method_descriptor());
  EXPECT_EQ(names.size(), 7u);
  EXPECT_EQ(names.front(), "zeroshot");
}

TEST(YamlToMessageTest, ReadsEveryKindOfField) {
  v1::JobSpec spec;
  std::vector<FieldError> errors;
  ASSERT_TRUE(YamlToMessage(R"(
name: demo
priority: -3
model: {preset: tiny, architecture: {activation: quick_gelu, vision: {mlp_ratio: 2.5}}}
method: {name: flyp, local_loss: true}
optim: {learning_rate: 1.0e-5}
data:
  ood:
    - {name: rot, format: fashion_mnist, shifts: [{kind: rotate, severity: 30}]}
run_policy: {collective_timeout: 2m, active_deadline: 1h30m}
wise_ft: {alphas: [0, 0.5, 1]}
)",
                            &spec, &errors))
      << errors.front().ToString();
  EXPECT_EQ(spec.name(), "demo");
  EXPECT_EQ(spec.priority(), -3);
  EXPECT_EQ(spec.model().architecture().activation(), v1::ACTIVATION_QUICK_GELU);
  EXPECT_FLOAT_EQ(spec.model().architecture().vision().mlp_ratio(), 2.5f);
  EXPECT_TRUE(spec.method().local_loss());
  EXPECT_DOUBLE_EQ(spec.optim().learning_rate(), 1e-5);
  ASSERT_EQ(spec.data().ood_size(), 1);
  EXPECT_EQ(spec.data().ood(0).shifts(0).kind(), v1::SHIFT_KIND_ROTATE);
  EXPECT_EQ(spec.run_policy().collective_timeout().seconds(), 120);
  EXPECT_EQ(spec.run_policy().active_deadline().seconds(), 5400);
  ASSERT_EQ(spec.wise_ft().alphas_size(), 3);
  EXPECT_FLOAT_EQ(spec.wise_ft().alphas(1), 0.5f);
  EXPECT_FALSE(spec.has_resources());  // only what the YAML names is set
}

TEST(YamlToMessageTest, CollectsEveryProblemWithPaths) {
  v1::JobSpec spec;
  std::vector<FieldError> errors;
  EXPECT_FALSE(YamlToMessage(R"(
optim: {learning_rat: 1, weight_decay: lots}
resources: {world_size: 1.5, device: tpu}
wise_ft: {alphas: 0.5}
model: tiny
)",
                             &spec, &errors));
  std::vector<FieldError> want = {
      {"optim.learning_rat", "unknown field; did you mean learning_rate?"},
      {"optim.weight_decay", "expected a number, got 'lots'"},
      {"resources.world_size", "expected an integer, got '1.5'"},
      {"resources.device", "unknown value 'tpu'; did you mean cpu? (one of: cpu, cuda)"},
      {"wise_ft.alphas", "expected a list, got '0.5'"},
      {"model", "expected a mapping, got 'tiny'"},
  };
  ASSERT_EQ(errors.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(errors[i], want[i]) << errors[i].ToString();
}

TEST(YamlToMessageTest, PrecisionAndDtypeAreLowercaseEnumNames) {
  v1::JobSpec spec;
  std::vector<FieldError> errors;
  ASSERT_TRUE(YamlToMessage("model: {dtype: float16}\nresources: {precision: bfloat16}\n", &spec, &errors))
      << errors.front().ToString();
  EXPECT_EQ(spec.model().dtype(), v1::DTYPE_FLOAT16);
  EXPECT_EQ(spec.resources().precision(), v1::PRECISION_BFLOAT16);
  const std::string yaml = MessageToYaml(spec);
  EXPECT_NE(yaml.find("dtype: float16"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("precision: bfloat16"), std::string::npos) << yaml;

  EXPECT_FALSE(YamlToMessage("model: {dtype: fp8}\nresources: {precision: BFLOAT16}\n", &spec, &errors));
  std::vector<FieldError> want = {
      {"model.dtype", "unknown value 'fp8' (one of: float32, float16, bfloat16)"},
      {"resources.precision", "unknown value 'BFLOAT16'; did you mean bfloat16? (one of: float32, bfloat16)"},
  };
  ASSERT_EQ(errors.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(errors[i], want[i]) << errors[i].ToString();
}

TEST(YamlToMessageTest, SyntaxErrorNamesLine) {
  v1::JobSpec spec;
  std::vector<FieldError> errors;
  EXPECT_FALSE(YamlToMessage("name: a\nmodel: {preset: tiny\n", &spec, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "");
  EXPECT_NE(errors[0].message.find("YAML syntax error at line"), std::string::npos) << errors[0].message;
}

TEST(MessageToYamlTest, RoundTripsExactly) {
  v1::JobSpec spec;
  spec.set_name("rt");
  spec.mutable_optim()->set_learning_rate(1e-5);
  spec.mutable_optim()->set_weight_decay(0.1);
  spec.mutable_data()->set_crop_scale_min(0.9f);
  spec.mutable_method()->set_name(v1::METHOD_LPFT);
  spec.mutable_method()->add_lp_l2_grid(1e-4f);
  spec.mutable_method()->add_lp_l2_grid(0.3f);
  spec.mutable_run_policy()->mutable_collective_timeout()->set_seconds(5400);
  auto* ood = spec.mutable_data()->add_ood();
  ood->set_name("quote \"me\": yes");
  ood->add_class_names("t-shirt");
  spec.mutable_resources()->set_world_size(0);  // explicit zero survives
  spec.mutable_resources()->set_precision(v1::PRECISION_FLOAT32);
  spec.mutable_model()->set_dtype(v1::DTYPE_BFLOAT16);
  std::string yaml = MessageToYaml(spec);
  v1::JobSpec back;
  std::vector<FieldError> errors;
  ASSERT_TRUE(YamlToMessage(yaml, &back, &errors)) << yaml;
  EXPECT_TRUE(MessageDifferencer::Equals(spec, back)) << yaml << "\n---\n" << MessageToYaml(back);
  EXPECT_EQ(MessageToYaml(back), yaml);
  EXPECT_TRUE(back.resources().has_world_size());
}

}  // namespace
}  // namespace flyp

namespace flyp {
namespace {

// A map iterates in no fixed order; what is printed must not depend on it.
TEST(MessageToYamlTest, MapEntriesAreSortedByKey) {
  v1::ProgressPoint a, b;
  for (const char* k : {"ood_b", "id_test", "ood_a"}) (*a.mutable_eval_accuracy())[k] = 0.5;
  for (const char* k : {"ood_a", "ood_b", "id_test"}) (*b.mutable_eval_accuracy())[k] = 0.5;
  EXPECT_EQ(MessageToYaml(a), MessageToYaml(b));
  EXPECT_EQ(MessageToJson(a), MessageToJson(b));
  const std::string yaml = MessageToYaml(a);
  EXPECT_LT(yaml.find("id_test"), yaml.find("ood_a"));
  EXPECT_LT(yaml.find("ood_a"), yaml.find("ood_b"));
}

}  // namespace
}  // namespace flyp
