#include "common/spec/kube_fields.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "common/spec/job_spec.h"

namespace flyp::kube {
namespace {

int64_t Millis(const char* q) {
  auto v = ParseCpuMillis(q);
  EXPECT_TRUE(v.ok()) << q << ": " << v.status();
  return v.ok() ? *v : -1;
}
int64_t Bytes(const char* q) {
  auto v = ParseMemoryBytes(q);
  EXPECT_TRUE(v.ok()) << q << ": " << v.status();
  return v.ok() ? *v : -1;
}

// Values as resource.Quantity gives them (MilliValue() for cpu, Value() for
// memory: both round up).
TEST(KubeQuantity, ParsesEverySuffixAndRoundsUp) {
  EXPECT_EQ(Millis("4"), 4000);
  EXPECT_EQ(Millis("250m"), 250);
  EXPECT_EQ(Millis("1.5"), 1500);
  EXPECT_EQ(Millis(".5"), 500);
  EXPECT_EQ(Millis("2."), 2000);
  EXPECT_EQ(Millis("+3"), 3000);
  EXPECT_EQ(Millis("0.0001"), 1);  // below a millicore: rounded up
  EXPECT_EQ(Millis("1500u"), 2);   // 1.5 m -> 2 m
  EXPECT_EQ(Millis("1e3"), 1000000);
  EXPECT_EQ(Millis("5E-1"), 500);
  EXPECT_EQ(Millis("0"), 0);
  EXPECT_EQ(Millis("-0"), 0);
  EXPECT_EQ(Bytes("16Gi"), int64_t{16} << 30);
  EXPECT_EQ(Bytes("1Ki"), 1024);
  EXPECT_EQ(Bytes("1.5Mi"), 1572864);
  EXPECT_EQ(Bytes("1k"), 1000);
  EXPECT_EQ(Bytes("2G"), 2000000000);
  EXPECT_EQ(Bytes("1P"), 1000000000000000);
  EXPECT_EQ(Bytes("128974848"), 128974848);
  EXPECT_EQ(Bytes("129e6"), 129000000);
  EXPECT_EQ(Bytes("100m"), 1);                                         // 0.1 byte rounds up to one
  EXPECT_EQ(Bytes("1.000000000000000000000000Gi"), int64_t{1} << 30);  // zeros are not digits
}

TEST(KubeQuantity, RejectsWhatTheApiServerRejects) {
  for (const char* bad : {"", "m", "4 cpu", "4cores", "1.2.3", "Gi", "1ki", "1KiB", "1e", "1e1.5", "--1",
                          "-1", "-250m", "0x10", "1234567890123456789", "9Ei", "1e400", "1E"}) {
    auto v = ParseCpuMillis(bad);
    EXPECT_FALSE(v.ok()) << "'" << bad << "' parsed as " << (v.ok() ? *v : 0);
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    }
  }
  auto v = ParseMemoryBytes("16GB");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(),
            "'16GB' is not a Kubernetes quantity (unknown suffix 'GB'; e.g. 4, 500m, 16Gi)");
  EXPECT_NE(ParseMemoryBytes("9Ei").status().message().find("too large"), std::string::npos);
}

TEST(KubeNames, SubdomainsLabelKeysAndValues) {
  EXPECT_EQ(Dns1123SubdomainProblem("high-priority"), "");
  EXPECT_EQ(Dns1123SubdomainProblem("registry.example.com"), "");
  EXPECT_NE(Dns1123SubdomainProblem("High"), "");
  EXPECT_NE(Dns1123SubdomainProblem("a..b"), "");
  EXPECT_NE(Dns1123SubdomainProblem("-a"), "");
  EXPECT_NE(Dns1123SubdomainProblem(std::string(254, 'a')), "");
  EXPECT_EQ(LabelKeyProblem("cloud.google.com/gke-accelerator"), "");
  EXPECT_EQ(LabelKeyProblem("nvidia.com/gpu.product"), "");
  EXPECT_EQ(LabelKeyProblem("pool"), "");
  EXPECT_EQ(LabelKeyProblem("Pool_A.b"), "");
  EXPECT_NE(LabelKeyProblem("/gpu"), "");
  EXPECT_NE(LabelKeyProblem("Example.com/gpu"), "");
  EXPECT_NE(LabelKeyProblem("a/b/c"), "");
  EXPECT_NE(LabelKeyProblem(std::string(64, 'a')), "");
  EXPECT_EQ(LabelValueProblem(""), "");
  EXPECT_EQ(LabelValueProblem("NVIDIA-A100-SXM4-80GB"), "");
  EXPECT_NE(LabelValueProblem("a b"), "");
  EXPECT_NE(LabelValueProblem("a-"), "");
}

TEST(KubeNames, EnumsUseKubernetesSpelling) {
  EXPECT_STREQ(TolerationOperatorName(v1::TOLERATION_OPERATOR_EXISTS), "Exists");
  EXPECT_STREQ(TolerationOperatorName(v1::TOLERATION_OPERATOR_EQUAL), "Equal");
  EXPECT_STREQ(TaintEffectName(v1::TAINT_EFFECT_PREFER_NO_SCHEDULE), "PreferNoSchedule");
  EXPECT_STREQ(TaintEffectName(v1::TAINT_EFFECT_UNSPECIFIED), "");
}

// A spec with every resources.kubernetes field: YAML -> proto -> YAML.
const char kPlacement[] = R"(model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}
data:
  train: {format: fashion_mnist}
  id_val: {format: fashion_mnist, split: train, offset: 50000}
resources:
  device: cuda
  world_size: 4
  slots_per_rank: 2
  kubernetes:
    node_selector: {cloud.google.com/gke-accelerator: nvidia-h100-80gb, pool: gpu}
    tolerations:
      - {key: nvidia.com/gpu, operator: exists, effect: no_schedule}
      - {key: dedicated, value: ml, effect: no_execute, toleration_seconds: 600}
    priority_class: training-high
    image_pull_secrets: [regcred]
    scheduler_name: volcano
    scheduling_queue: research
    cpu_request: "8"
    memory_request: 64Gi
    cpu_limit: "16"
    memory_limit: 96Gi
)";

TEST(KubernetesSpec, EveryFieldLoadsAndRoundTrips) {
  SpecLoad load = LoadJobSpecYaml(kPlacement);
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  const v1::KubernetesSpec& k = load.spec.resources().kubernetes();
  ASSERT_EQ(k.node_selector_size(), 2);
  EXPECT_EQ(k.node_selector().at("cloud.google.com/gke-accelerator"), "nvidia-h100-80gb");
  ASSERT_EQ(k.tolerations_size(), 2);
  EXPECT_EQ(k.tolerations(0).operator_(), v1::TOLERATION_OPERATOR_EXISTS);
  EXPECT_EQ(k.tolerations(0).effect(), v1::TAINT_EFFECT_NO_SCHEDULE);
  EXPECT_EQ(k.tolerations(1).toleration_seconds(), 600);
  EXPECT_EQ(k.priority_class(), "training-high");
  EXPECT_EQ(k.image_pull_secrets(0), "regcred");
  EXPECT_EQ(k.scheduler_name(), "volcano");
  EXPECT_EQ(k.scheduling_queue(), "research");
  EXPECT_EQ(k.memory_request(), "64Gi");
  const std::string yaml = JobSpecToYaml(load.spec);
  // Map keys come out sorted, whatever the order in memory.
  EXPECT_LT(yaml.find("cloud.google.com/gke-accelerator"), yaml.find("\"pool\"")) << yaml;
  SpecLoad again = LoadJobSpecYaml(yaml);
  ASSERT_TRUE(again.ok()) << again.ErrorText() << "\n" << yaml;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(again.spec, load.spec)) << yaml;
}

std::vector<FieldError> Errors(const std::string& kubernetes_block) {
  std::string yaml =
      "model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}\n"
      "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist}}\n"
      "resources:\n  kubernetes:\n" +
      kubernetes_block;
  return LoadJobSpecYaml(yaml).errors;
}

TEST(KubernetesSpec, EachProblemNamesItsField) {
  struct Case {
    const char* block;
    FieldError want;
  };
  const std::string k = "resources.kubernetes.";
  for (const Case& c : std::vector<Case>{
           {"    node_selector: {Bad Key: x}\n",
            {k + "node_selector[Bad Key]",
             "label key name may contain only letters, digits, '-', '_' and '.'"}},
           {"    node_selector: {pool: \"a b\"}\n",
            {k + "node_selector[pool]", "label value may contain only letters, digits, '-', '_' and '.'"}},
           {"    node_selector: {pool: a, pool: b}\n", {k + "node_selector[pool]", "key given twice"}},
           {"    node_selector: [pool]\n", {k + "node_selector", "expected a mapping, got a list"}},
           {"    tolerations: [{operator: equal, value: x}]\n",
            {k + "tolerations[0].key",
             "required unless operator is exists (which then tolerates every taint)"}},
           {"    tolerations: [{key: a, operator: exists, value: x}]\n",
            {k + "tolerations[0].value", "must be empty when operator is exists"}},
           {"    tolerations: [{key: a, effect: no_schedule, toleration_seconds: 5}]\n",
            {k + "tolerations[0].toleration_seconds", "only applies to effect no_execute"}},
           {"    tolerations: [{key: a, effect: NoSchedule}]\n",
            {k + "tolerations[0].effect",
             "unknown value 'NoSchedule'; did you mean no_schedule? (one of: no_schedule, "
             "prefer_no_schedule, "
             "no_execute)"}},
           {"    priority_class: High\n",
            {k + "priority_class",
             "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', each dot-separated part "
             "beginning and ending with a letter or digit (got 'High')"}},
           {"    image_pull_secrets: [a, a]\n", {k + "image_pull_secrets[1]", "given twice"}},
           {"    cpu_request: 4cores\n",
            {k + "cpu_request",
             "'4cores' is not a Kubernetes quantity (unknown suffix 'cores'; e.g. 4, 500m, 16Gi)"}},
           {"    memory_request: \"0\"\n", {k + "memory_request", "must be > 0 (got '0')"}},
           {"    cpu_request: \"4\"\n    cpu_limit: 3500m\n",
            {k + "cpu_request", "must not exceed cpu_limit (4 > 3500m)"}},
           {"    memory_request: 2Gi\n    memory_limit: 2G\n",
            {k + "memory_request", "must not exceed memory_limit (2Gi > 2G)"}},
           {"    nodeSelector: {a: b}\n", {k + "nodeSelector", "unknown field; did you mean node_selector?"}},
       }) {
    SCOPED_TRACE(c.block);
    EXPECT_EQ(Errors(c.block), std::vector<FieldError>{c.want});
  }
}

}  // namespace
}  // namespace flyp::kube
