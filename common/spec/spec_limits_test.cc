// Hostile specs: every budget of the front end and every bound of the
// validation, each with the input that broke the old code.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "common/spec/job_spec.h"

namespace flyp {
namespace {

const char kValid[] =
    "model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}\n"
    "data:\n"
    "  train: {format: fashion_mnist}\n"
    "  id_val: {format: fashion_mnist, split: train, offset: 50000}\n";

std::string Spec(const std::string& extra) { return std::string(kValid) + extra; }

// The errors of `yaml` as "path: message" lines.
std::string Errors(const std::string& yaml) {
  SpecLoad load = LoadJobSpecYaml(yaml);
  return load.ErrorText();
}

bool HasError(const SpecLoad& load, const std::string& path, const std::string& part) {
  for (const auto& e : load.errors) {
    if (e.path == path && e.message.find(part) != std::string::npos) return true;
  }
  return false;
}

// 65536 x 65536 wrapped to 0 in 32 bits; the remainder by it raised SIGFPE
// in flypctl and in the coordinator.
TEST(SpecLimitsTest, WorldTimesAccumDoesNotWrap) {
  SpecLoad load = LoadJobSpecYaml(Spec("resources: {world_size: 65536}\noptim: {accum_steps: 65536}\n"));
  ASSERT_FALSE(load.ok());
  EXPECT_TRUE(HasError(load, "resources.world_size", "must be <= 4096 (got 65536)")) << load.ErrorText();
  SpecLoad big = LoadJobSpecYaml(Spec("resources: {world_size: 4096}\noptim: {accum_steps: 1048576}\n"));
  EXPECT_TRUE(
      HasError(big, "schedule.batch_size", "must be divisible by resources.world_size x optim.accum_steps"))
      << big.ErrorText();
}

TEST(SpecLimitsTest, OffsetPlusLimitMustNotOverflow) {
  SpecLoad load = LoadJobSpecYaml(
      "model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}\n"
      "data:\n"
      "  train: {format: fashion_mnist, offset: 9223372036854775807, limit: 10}\n"
      "  id_val: {format: fashion_mnist}\n");
  EXPECT_TRUE(HasError(load, "data.train.limit", "offset + limit overflows 64 bits")) << load.ErrorText();
}

TEST(SpecLimitsTest, UpperBoundsOfResourcesAndSchedule) {
  for (const auto& [yaml, path] : std::vector<std::pair<std::string, std::string>>{
           {"resources: {slots_per_rank: 100000}\n", "resources.slots_per_rank"},
           {"resources: {threads_per_rank: 100000}\n", "resources.threads_per_rank"},
           {"resources: {bucket_mib: 2147483647}\n", "resources.bucket_mib"},
           {"data: {loader_threads: 100000}\n", "data.loader_threads"},
           {"data: {prefetch_batches: 1000000000}\n", "data.prefetch_batches"},
           {"schedule: {batch_size: 2147483647}\n", "schedule.batch_size"},
           {"schedule: {epochs: 2147483647}\n", "schedule.epochs"},
           {"run_policy: {backoff_limit: 2147483647}\n", "run_policy.backoff_limit"},
           {"method: {lp_steps: 2147483647}\n", "method.lp_steps"},
       }) {
    std::string text = kValid;
    // Merge the extra block into the valid spec (the data block already exists).
    if (yaml.rfind("data:", 0) == 0) {
      text =
          "model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}\n"
          "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist}, " +
          yaml.substr(7, yaml.size() - 9) + "}\n";
    } else {
      text += yaml;
    }
    SpecLoad load = LoadJobSpecYaml(text);
    EXPECT_TRUE(HasError(load, path, "must be <=")) << yaml << load.ErrorText();
  }
}

TEST(SpecLimitsTest, ArchitectureIsBounded) {
  const std::string custom =
      "model:\n  preset: custom\n  vocab: byte\n  checkpoint: x.safetensors\n  architecture:\n"
      "    embed_dim: 64\n"
      "    vision: {width: 64, layers: 2, heads: 2, patch_size: 8, image_size: 32}\n"
      "    text: {width: 64, layers: 2, heads: 2, context_length: 16, vocab_size: 600}\n";
  const std::string data = "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist}}\n";
  ASSERT_TRUE(LoadJobSpecYaml(custom + data).ok()) << Errors(custom + data);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = custom;
    s.replace(s.find(from), from.size(), to);
    return LoadJobSpecYaml(s + data);
  };
  EXPECT_TRUE(
      HasError(with("width: 64, layers: 2, heads: 2, patch", "width: 1048576, layers: 2, heads: 2, patch"),
               "model.architecture.vision.width", "must be <= 16384"));
  EXPECT_TRUE(HasError(with("patch_size: 8, image_size: 32", "patch_size: 1, image_size: 4096"),
                       "model.architecture.vision.patch_size", "image tokens"));
  // Each dimension is in range, the whole model is not.
  SpecLoad huge =
      with("width: 64, layers: 2, heads: 2, context", "width: 16384, layers: 256, heads: 2, context");
  EXPECT_TRUE(HasError(huge, "model.architecture", "parameters, more than the limit")) << huge.ErrorText();
}

TEST(SpecLimitsTest, ListsAndNamesAreBounded) {
  std::string alphas = "wise_ft: {alphas: [";
  for (int i = 0; i < 200; ++i) alphas += (i ? ", " : "") + std::string("0.5");
  alphas += "]}\n";
  EXPECT_TRUE(HasError(LoadJobSpecYaml(Spec(alphas)), "wise_ft.alphas", "at most 101 entries"));
  SpecLoad name = LoadJobSpecYaml(Spec("name: " + std::string(1000, 'n') + "\n"));
  EXPECT_TRUE(HasError(name, "name", "must be at most 128 bytes (got 1000)")) << name.ErrorText();
}

// yaml-cpp shares an anchored node, but the walk expanded every use: 20 000
// aliases of a 20 000-name list (here 5 000 of 5 000) grew flypctl, the worker and the
// coordinator without bound.
TEST(SpecLimitsTest, AliasBombIsRefusedQuickly) {
  std::string yaml = "names: &n [";
  for (int i = 0; i < 5000; ++i) yaml += (i ? "," : "") + std::string("c") + std::to_string(i);
  yaml += "]\nmodel: {preset: tiny, vocab: byte, checkpoint: b.safetensors}\ndata:\n  ood:\n";
  for (int i = 0; i < 5000; ++i) yaml += "  - {name: o, format: fashion_mnist, class_names: *n}\n";
  ASSERT_LT(yaml.size(), kMaxSpecYamlBytes);  // 25 million names once expanded
  const auto t0 = std::chrono::steady_clock::now();
  v1::JobSpec spec;
  std::vector<FieldError> errors;
  EXPECT_FALSE(YamlToMessage(yaml, &spec, &errors));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 10.0);
  bool budget = false;
  for (const auto& e : errors)
    budget |= e.message.find("aliases count every time they are used") != std::string::npos;
  EXPECT_TRUE(budget) << (errors.empty() ? "" : errors[0].ToString());
  EXPECT_LE(errors.size(), kMaxSpecErrors + 1);
  // What was read stays within the budget.
  size_t names = 0;
  for (const auto& o : spec.data().ood()) names += static_cast<size_t>(o.class_names_size());
  EXPECT_LE(names, kMaxSpecNodes);
}

TEST(SpecLimitsTest, TextAndScalarsAreBounded) {
  SpecLoad big = LoadJobSpecYaml(Spec("# " + std::string(kMaxSpecYamlBytes, 'x') + "\n"));
  ASSERT_EQ(big.errors.size(), 1u);
  EXPECT_NE(big.errors[0].message.find("more than the limit of 1048576"), std::string::npos);
  SpecLoad scalar = LoadJobSpecYaml(Spec("name: " + std::string(kMaxSpecScalarBytes + 1, 'x') + "\n"));
  EXPECT_TRUE(HasError(scalar, "name", "bytes is longer than the limit of 65536")) << scalar.ErrorText();
}

// A second `optim:` block replaced learning_rate without a word.
TEST(SpecLimitsTest, DuplicateKeysNameBothLines) {
  SpecLoad load = LoadJobSpecYaml(
      Spec("optim: {learning_rate: 0.1}\nschedule: {epochs: 1}\noptim: {learning_rate: 5}\n"));
  ASSERT_FALSE(load.ok());
  EXPECT_TRUE(HasError(load, "optim", "given twice (line 5 and line 7)")) << load.ErrorText();
  SpecLoad inner = LoadJobSpecYaml(Spec("optim:\n  learning_rate: 0.1\n  learning_rate: 0.2\n"));
  EXPECT_TRUE(HasError(inner, "optim.learning_rate", "given twice (line 6 and line 7)")) << inner.ErrorText();
}

// yaml-cpp read malformed bytes as U+FFFD, so the spec that ran was not the
// one submitted.
TEST(SpecLimitsTest, InvalidUtf8IsRefusedWithItsOffset) {
  SpecLoad load = LoadJobSpecYaml("name: caf\xE9\n");
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].message, "the spec: invalid UTF-8 at byte 9 (line 1, column 10): 0xE9");
}

// yaml-cpp read a NUL byte in a value as another character (a\0b became
// "a\x08 "): control characters are refused with their position.
TEST(SpecLimitsTest, ControlCharactersAreRefused) {
  SpecLoad nul = LoadJobSpecYaml(std::string("name: a\0b\n", 10));
  ASSERT_EQ(nul.errors.size(), 1u) << nul.ErrorText();
  EXPECT_EQ(nul.errors[0].message,
            "the spec: control character 0x00 at byte 7 (line 1, column 8) (YAML does not allow it)");
  EXPECT_FALSE(LoadJobSpecYaml("name: a\x01b\n").ok());
  EXPECT_FALSE(LoadJobSpecYaml("name: a\x7f\n").ok());
  EXPECT_FALSE(LoadJobSpecYaml("name: a\xC2\x81\n").ok());  // C1 control U+0081
  // Tabs, CR LF and NEL are fine.
  EXPECT_TRUE(LoadJobSpecYaml(Spec("name: \"a\tb\"\r\n")).errors.size() <= 1);
  // What YAML escapes can still express is refused where it would misname a file.
  SpecLoad escaped = LoadJobSpecYaml(Spec("output: {dir: \"/tmp/ok\\0/../x\"}\n"));
  EXPECT_TRUE(HasError(escaped, "output.dir", "must not contain a NUL character")) << escaped.ErrorText();
}

TEST(SpecLimitsTest, DeepNestingIsAnError) {
  SpecLoad deep = LoadJobSpecYaml("x: " + std::string(3000, '[') + std::string(3000, ']') + "\n");
  ASSERT_EQ(deep.errors.size(), 1u);
  EXPECT_NE(deep.errors[0].message.find("YAML nested too deeply"), std::string::npos) << deep.ErrorText();
}

TEST(SpecLimitsTest, ErrorsQuoteABoundedPrefix) {
  const std::string key(100000, 'k');
  SpecLoad load = LoadJobSpecYaml(Spec(key + ": 1\nmodel2: {preset: " + std::string(100000, 'p') + "}\n"));
  ASSERT_FALSE(load.ok());
  EXPECT_LT(load.ErrorText().size(), 2000u) << load.ErrorText().substr(0, 300);
  // Many problems: at most kMaxSpecErrors are listed, then a count.
  std::string many;
  for (int i = 0; i < 500; ++i) many += "bad" + std::to_string(i) + ": 1\n";
  SpecLoad lots = LoadJobSpecYaml(Spec(many));
  ASSERT_EQ(lots.errors.size(), kMaxSpecErrors + 1);
  EXPECT_EQ(lots.errors.back().message, "... and 400 more problems");
}

TEST(SpecLimitsTest, FloatsOutOfTheirTypeAreRefused) {
  EXPECT_TRUE(HasError(LoadJobSpecYaml(Spec("wise_ft: {alphas: [1e39]}\n")), "wise_ft.alphas[0]", "finite"));
  EXPECT_TRUE(HasError(LoadJobSpecYaml(Spec("optim: {eps: 1e-400}\n")), "optim.eps", "magnitude at least"));
  EXPECT_TRUE(HasError(LoadJobSpecYaml(Spec("method: {label_smoothing: 1e-50}\n")), "method.label_smoothing",
                       "magnitude at least"));
}

// What a gRPC client can send that YAML cannot say.
TEST(SpecLimitsTest, MessagesFromClientsAreChecked) {
  SpecLoad base = LoadJobSpecYaml(kValid);
  ASSERT_TRUE(base.ok()) << base.ErrorText();
  v1::JobSpec nan = base.spec;
  nan.mutable_optim()->set_learning_rate(std::nan(""));
  EXPECT_TRUE(HasError(NormalizeJobSpec(nan), "optim.learning_rate", "must be a finite number"));
  v1::JobSpec inf = base.spec;
  inf.mutable_wise_ft()->set_alphas(0, std::numeric_limits<float>::infinity());
  EXPECT_TRUE(HasError(NormalizeJobSpec(inf), "wise_ft.alphas[0]", "must be a finite number"));
  v1::JobSpec dur = base.spec;
  dur.mutable_run_policy()->mutable_active_deadline()->set_seconds(INT64_MAX);
  EXPECT_TRUE(HasError(NormalizeJobSpec(dur), "run_policy.active_deadline", "not a valid duration"));
  v1::JobSpec mixed = base.spec;
  mixed.mutable_run_policy()->mutable_collective_timeout()->set_seconds(5);
  mixed.mutable_run_policy()->mutable_collective_timeout()->set_nanos(-1);
  EXPECT_TRUE(HasError(NormalizeJobSpec(mixed), "run_policy.collective_timeout", "not a valid duration"));
  v1::JobSpec utf = base.spec;
  utf.set_name("bad\xFF");
  EXPECT_TRUE(HasError(NormalizeJobSpec(utf), "name", "invalid UTF-8 at byte 3"));
  v1::JobSpec names = base.spec;
  for (size_t i = 0; i <= kMaxSpecListItems; ++i) names.mutable_data()->mutable_train()->add_class_names("c");
  EXPECT_TRUE(HasError(NormalizeJobSpec(names), "data.train.class_names", "longer than the limit"));
}

}  // namespace
}  // namespace flyp
