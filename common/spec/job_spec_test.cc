#include "common/spec/job_spec.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "flyp/v1/job.pb.h"
#include "tests/testing/test_env.h"

namespace flyp {
namespace {

using google::protobuf::util::MessageDifferencer;

// A minimal valid FLYP spec, in pieces a case can replace.
const char kModel[] = "model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}\n";
const char kData[] =
    "data:\n"
    "  train: {format: fashion_mnist}\n"
    "  id_val: {format: fashion_mnist, split: train, offset: 50000}\n";

std::string Spec(const std::string& extra, const char* model = kModel, const char* data = kData) {
  return std::string(model) + data + extra;
}

TEST(JobSpecTest, MinimalSpecIsValidAndGetsDefaults) {
  SpecLoad load = LoadJobSpecYaml(Spec(""));
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  const v1::JobSpec& s = load.spec;
  EXPECT_EQ(s.method().name(), v1::METHOD_FLYP);
  EXPECT_TRUE(s.method().train_image_tower());
  EXPECT_TRUE(s.method().train_text_tower());
  EXPECT_TRUE(s.method().train_logit_scale());
  EXPECT_DOUBLE_EQ(s.optim().learning_rate(), 1e-5);
  EXPECT_DOUBLE_EQ(s.optim().weight_decay(), 0.1);
  EXPECT_DOUBLE_EQ(s.optim().grad_clip_norm(), 0.0);
  EXPECT_EQ(s.schedule().batch_size(), 512);
  EXPECT_EQ(s.schedule().epochs(), 10);
  EXPECT_EQ(s.schedule().warmup_steps(), 500);
  EXPECT_EQ(s.resources().world_size(), 1);
  EXPECT_EQ(s.run_policy().collective_timeout().seconds(), 300);
  EXPECT_TRUE(s.wise_ft().enabled());
  EXPECT_EQ(s.wise_ft().alphas_size(), 11);
  EXPECT_EQ(s.data().train().split(), "train");
  EXPECT_EQ(s.data().train().path(), "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(s.output().dir(), "runs/flyp-job");
  EXPECT_EQ(s.model().dtype(), v1::DTYPE_FLOAT32);
  EXPECT_EQ(s.resources().precision(), v1::PRECISION_FLOAT32);  // cpu
  SpecLoad cuda = LoadJobSpecYaml(Spec("resources: {device: cuda}\n"));
  ASSERT_TRUE(cuda.ok()) << cuda.ErrorText();
  EXPECT_EQ(cuda.spec.resources().precision(), v1::PRECISION_BFLOAT16);
  // bf16 autocast on a CPU is the user's choice (fast with AVX-512-BF16 / AMX).
  SpecLoad cpu_bf16 = LoadJobSpecYaml(Spec("resources: {precision: bfloat16}\n"));
  ASSERT_TRUE(cpu_bf16.ok()) << cpu_bf16.ErrorText();
  EXPECT_EQ(cpu_bf16.spec.resources().precision(), v1::PRECISION_BFLOAT16);
}

TEST(JobSpecTest, MethodDependentDefaults) {
  SpecLoad ft = LoadJobSpecYaml(Spec("method: {name: ft}\n"));
  ASSERT_TRUE(ft.ok()) << ft.ErrorText();
  EXPECT_TRUE(ft.spec.method().train_image_tower());
  EXPECT_FALSE(ft.spec.method().train_text_tower());
  EXPECT_DOUBLE_EQ(ft.spec.optim().grad_clip_norm(), 1.0);  // the paper's FT clips at 1.0
  SpecLoad lp = LoadJobSpecYaml(Spec("method: {name: lp}\n"));
  ASSERT_TRUE(lp.ok()) << lp.ErrorText();
  EXPECT_FALSE(lp.spec.method().train_image_tower());
  EXPECT_EQ(lp.spec.method().lp_l2_grid_size(), 5);
  SpecLoad zs = LoadJobSpecYaml(
      Spec("method: {name: zeroshot}\n", kModel, "data: {id_test: {format: fashion_mnist}}\n"));
  ASSERT_TRUE(zs.ok()) << zs.ErrorText();
  EXPECT_FALSE(zs.spec.wise_ft().enabled());
  EXPECT_EQ(zs.spec.data().id_test().split(), "test");
}

TEST(JobSpecTest, ExplicitValuesBeatDefaults) {
  SpecLoad load = LoadJobSpecYaml(Spec("optim: {weight_decay: 0, grad_clip_norm: 0.5}\n"));
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  EXPECT_DOUBLE_EQ(load.spec.optim().weight_decay(), 0.0);
  EXPECT_DOUBLE_EQ(load.spec.optim().grad_clip_norm(), 0.5);
}

TEST(JobSpecTest, EveryExampleLoadsValidatesAndRoundTrips) {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& entry : fs::directory_iterator(testing::SourceDir() + "/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = entry.path().filename().string();
    if (name.size() > 11 && name.compare(name.size() - 11, 11, ".sweep.yaml") == 0)
      continue;  // sweep_spec_test
    ++n;
    SCOPED_TRACE(entry.path().string());
    SpecLoad load = LoadJobSpecFile(entry.path().string());
    ASSERT_TRUE(load.ok()) << load.ErrorText();
    // YAML -> proto -> YAML -> proto is the identity, and the YAML is stable.
    std::string yaml = JobSpecToYaml(load.spec);
    SpecLoad again = LoadJobSpecYaml(yaml);
    ASSERT_TRUE(again.ok()) << again.ErrorText() << yaml;
    EXPECT_TRUE(MessageDifferencer::Equals(load.spec, again.spec)) << yaml;
    EXPECT_EQ(JobSpecToYaml(again.spec), yaml);
  }
  EXPECT_GE(n, 3);
}

TEST(JobSpecTest, PaperHyperparametersInImagenetExample) {
  SpecLoad load = LoadJobSpecFile(testing::SourceDir() + "/examples/imagenet-vit-b16-flyp.yaml");
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  EXPECT_DOUBLE_EQ(load.spec.optim().learning_rate(), 1e-5);
  EXPECT_DOUBLE_EQ(load.spec.optim().weight_decay(), 0.1);
  EXPECT_EQ(load.spec.schedule().batch_size(), 512);
  EXPECT_EQ(load.spec.schedule().epochs(), 10);
  EXPECT_EQ(load.spec.schedule().warmup_steps(), 500);
}

// kModel + kData as a message, as a gRPC client would send it.
v1::JobSpec MinimalSpecMessage() {
  v1::JobSpec spec;
  spec.mutable_model()->set_preset("tiny");
  spec.mutable_model()->set_vocab("byte");
  spec.mutable_model()->set_checkpoint("x.safetensors");
  spec.mutable_data()->mutable_train()->set_format(v1::DATA_FORMAT_FASHION_MNIST);
  spec.mutable_data()->mutable_id_val()->set_format(v1::DATA_FORMAT_FASHION_MNIST);
  return spec;
}

TEST(JobSpecTest, NormalizeFillsUnsetProtoFields) {
  v1::JobSpec spec = MinimalSpecMessage();
  spec.mutable_optim()->set_weight_decay(0.0);  // explicit zero kept
  SpecLoad load = NormalizeJobSpec(spec);
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  EXPECT_DOUBLE_EQ(load.spec.optim().weight_decay(), 0.0);
  EXPECT_DOUBLE_EQ(load.spec.optim().learning_rate(), 1e-5);
}

// A gRPC client can send an explicit UNSPECIFIED or a number this build does
// not know; validation names it instead of taking a default.
TEST(JobSpecTest, EnumValuesOutsideTheClosedSetAreNamed) {
  v1::JobSpec spec = MinimalSpecMessage();
  spec.mutable_model()->set_dtype(v1::DTYPE_UNSPECIFIED);
  spec.mutable_resources()->set_precision(static_cast<v1::Precision>(7));
  SpecLoad load = NormalizeJobSpec(spec);
  std::vector<std::string> got;
  for (const auto& e : load.errors) got.push_back(e.ToString());
  std::vector<std::string> want = {"model.dtype: must be one of float32, float16, bfloat16 (got unspecified)",
                                   "resources.precision: must be float32 or bfloat16 (got value 7)"};
  EXPECT_EQ(got, want);
}

TEST(JobSpecTest, MissingFileIsOneError) {
  SpecLoad load = LoadJobSpecFile("/nonexistent/job.yaml");
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_EQ(load.errors[0].ToString(),
            "spec file: cannot open '/nonexistent/job.yaml': No such file or directory");
  EXPECT_EQ(SpecLoadStatus(load).code(), StatusCode::kInvalidArgument);
}

struct InvalidCase {
  const char* label;
  std::string yaml;
  std::string path;
  std::string message;
};

std::vector<InvalidCase> InvalidCases() {
  return {
      {"world size zero", Spec("resources: {world_size: 0}\n"), "resources.world_size",
       "must be >= 1 (got 0)"},
      {"misspelt key", Spec("optim: {learning_rat: 0.001}\n"), "optim.learning_rat",
       "unknown field; did you mean learning_rate?"},
      {"unknown method", Spec("method: {name: flip}\n"), "method.name",
       "unknown value 'flip'; did you mean flyp? (one of: zeroshot, lp, ft, l2sp, lpft, flyp, pretrain)"},
      {"unknown preset", Spec("", "model: {preset: ViT-B-33, vocab: byte, checkpoint: c}\n"), "model.preset",
       "unknown preset 'ViT-B-33'; did you mean ViT-B-32?"},
      {"wrong type", Spec("resources: {world_size: two}\n"), "resources.world_size",
       "expected an integer, got 'two'"},
      {"lp trains text tower", Spec("method: {name: lp, train_text_tower: true}\n"),
       "method.train_text_tower",
       "must be false for method lp (only flyp and pretrain use the text tower in training)"},
      {"lp without validation data",
       Spec("method: {name: lp}\nwise_ft: {enabled: false}\n", kModel,
            "data: {train: {format: fashion_mnist}, id_test: {format: fashion_mnist}}\n"),
       "data.id_val", "required for method lp (the L2 strength is chosen on it)"},
      {"negative learning rate", Spec("optim: {learning_rate: -1}\n"), "optim.learning_rate",
       "must be > 0 (got -1)"},
      {"negative weight decay", Spec("optim: {weight_decay: -0.1}\n"), "optim.weight_decay",
       "must be >= 0 (got -0.1)"},
      {"beta1 of one", Spec("optim: {beta1: 1}\n"), "optim.beta1", "must be in [0, 1) (got 1)"},
      {"batch not divisible", Spec("schedule: {batch_size: 10}\nresources: {world_size: 3}\n"),
       "schedule.batch_size",
       "must be divisible by resources.world_size x optim.accum_steps (got 10 and 3 x 1)"},
      {"zero epochs", Spec("schedule: {epochs: 0}\n"), "schedule.epochs", "must be >= 1 (got 0)"},
      {"ranks per host do not divide the world",
       Spec("schedule: {batch_size: 12}\nresources: {world_size: 3, ranks_per_host: 2}\n"),
       "resources.ranks_per_host", "resources.world_size 3 must be divisible by it (got 2)"},
      {"negative ranks per host", Spec("resources: {ranks_per_host: -1}\n"), "resources.ranks_per_host",
       "must be >= 0 (got -1)"},
      {"alpha out of range", Spec("wise_ft: {alphas: [0, 0.5, 1.5]}\n"), "wise_ft.alphas[2]",
       "must be in [0, 1] (got 1.5)"},
      {"wise-ft on zeroshot",
       Spec("method: {name: zeroshot}\nwise_ft: {enabled: true}\n", kModel,
            "data: {id_val: {format: fashion_mnist}}\n"),
       "wise_ft.enabled", "needs a finetuning method (got zeroshot)"},
      {"heads do not divide width",
       Spec("", "model: {preset: tiny, vocab: byte, checkpoint: c, architecture: {vision: {heads: 7}}}\n"),
       "model.architecture.vision.heads", "must divide vision.width (got 7 and 64)"},
      {"custom without embed_dim",
       Spec("",
            "model: {preset: custom, vocab: byte, checkpoint: c, architecture: {vision: {width: 64, layers: "
            "2, "
            "heads: 2, patch_size: 4, image_size: 32}, text: {width: 64, layers: 2, heads: 2, "
            "context_length: 16, vocab_size: 514}}}\n"),
       "model.architecture.embed_dim", "required when model.preset is custom"},
      {"missing vocab", Spec("", "model: {preset: tiny, checkpoint: c}\n"), "model.vocab",
       "required: a CLIP vocab file (bpe_simple_vocab_16e6.txt.gz), a HuggingFace tokenizer folder, a file "
       "from "
       "`flyp-worker train-bpe`, or \"byte\""},
      {"flyp without checkpoint", Spec("", "model: {preset: tiny, vocab: byte}\n"), "model.checkpoint",
       "required for method flyp (it starts from a pretrained model); only pretrain may start from random "
       "weights"},
      {"missing train data",
       Spec("wise_ft: {enabled: false}\n", kModel, "data: {id_test: {format: fashion_mnist}}\n"),
       "data.train", "required for method flyp"},
      {"data source without format",
       Spec("", kModel, "data: {train: {path: /x}, id_val: {format: fashion_mnist}}\n"), "data.train.format",
       "required (one of: fashion_mnist, image_folder, csv_label, csv_caption)"},
      {"image folder without path",
       Spec("", kModel, "data: {train: {format: image_folder}, id_val: {format: fashion_mnist}}\n"),
       "data.train.path", "required for format image_folder"},
      {"captions for a labelled method",
       Spec("", kModel,
            "data: {train: {format: csv_caption, path: c.csv}, id_val: {format: fashion_mnist}}\n"),
       "data.train.format", "method flyp needs labelled data (got csv_caption)"},
      {"bad fashion-mnist split",
       Spec("", kModel,
            "data: {train: {format: fashion_mnist, split: validation}, id_val: {format: fashion_mnist}}\n"),
       "data.train.split", "must be train or test for fashion_mnist (got 'validation')"},
      {"duplicate split names",
       Spec("", kModel,
            "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist},\n"
            "       ood: [{name: rot, format: fashion_mnist}, {name: rot, format: fashion_mnist}]}\n"),
       "data.ood[1].name", "duplicate split name 'rot' (also used by data.ood[0])"},
      {"noise severity",
       Spec("", kModel,
            "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist},\n"
            "       ood: [{name: n, format: fashion_mnist, shifts: [{kind: noise, severity: 2}]}]}\n"),
       "data.ood[0].shifts[0].severity", "must be in [0, 1] (got 2)"},
      {"unknown template set",
       Spec("", kModel,
            "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist}, templates: {builtin: "
            "imagenet}}\n"),
       "data.templates.builtin", "unknown template set 'imagenet' (one of: simple, openai_imagenet, custom)"},
      {"template without placeholder",
       Spec("", kModel,
            "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist},\n"
            "       templates: {builtin: custom, custom: ['a photo of a {}.', 'a photo']}}\n"),
       "data.templates.custom[1]", "must contain exactly one {} for the class name (got 'a photo')"},
      {"negative backoff", Spec("run_policy: {backoff_limit: -1}\n"), "run_policy.backoff_limit",
       "must be >= 0 (got -1)"},
      {"zero collective timeout", Spec("run_policy: {collective_timeout: 0s}\n"),
       "run_policy.collective_timeout", "must be > 0"},
      {"bad duration", Spec("run_policy: {active_deadline: soon}\n"), "run_policy.active_deadline",
       "expected a duration such as 30s, 5m or 2h, got 'soon'"},
      {"float16 autocast", Spec("resources: {precision: float16}\n"), "resources.precision",
       "unknown value 'float16'; did you mean bfloat16? (one of: float32, bfloat16)"},
      {"local loss on ft", Spec("method: {name: ft, local_loss: true}\n"), "method.local_loss",
       "only applies to the contrastive methods flyp and pretrain (got ft)"},
      {"priority out of range", Spec("priority: 1000\n"), "priority", "must be in [-100, 100] (got 1000)"},
      {"bad model dtype", Spec("", "model: {preset: tiny, vocab: byte, checkpoint: c, dtype: fp8}\n"),
       "model.dtype", "unknown value 'fp8' (one of: float32, float16, bfloat16)"},
      {"no evaluation split",
       Spec("wise_ft: {enabled: false}\n", kModel, "data: {train: {format: fashion_mnist}}\n"), "data",
       "method flyp needs at least one evaluation split (id_val, id_test or ood)"},
      {"ood split without name",
       Spec("", kModel,
            "data: {train: {format: fashion_mnist}, id_val: {format: fashion_mnist}, ood: [{format: "
            "fashion_mnist}]}\n"),
       "data.ood[0].name", "required for OOD splits (it labels the report)"},
      {"bad spec name", Spec("name: 'my job!'\n"), "name",
       "may contain only letters, digits, '-', '_' and '.' (got 'my job!')"},
      {"l2sp weight on flyp", Spec("method: {l2sp_weight: 0.5}\n"), "method.l2sp_weight",
       "only applies to method l2sp (got flyp)"},
      {"wise-ft needs id_val",
       Spec("", kModel, "data: {train: {format: fashion_mnist}, id_test: {format: fashion_mnist}}\n"),
       "data.id_val", "required when wise_ft.enabled (alpha is chosen on ID validation accuracy)"},
      {"empty spec", "", "", "the spec is empty"},
      {"accumulation below 1", Spec("optim: {accum_steps: 0}\n"), "optim.accum_steps",
       "must be >= 1 (got 0)"},
      {"batch not divisible by accumulation", Spec("optim: {accum_steps: 3}\nschedule: {batch_size: 8}\n"),
       "schedule.batch_size",
       "must be divisible by resources.world_size x optim.accum_steps (got 8 and 1 x 3)"},
  };
}

TEST(JobSpecTest, EachInvalidSpecGivesExactlyItsError) {
  auto cases = InvalidCases();
  ASSERT_GE(cases.size(), 20u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    SpecLoad load = LoadJobSpecYaml(c.yaml);
    ASSERT_EQ(load.errors.size(), 1u) << c.yaml << "\n" << load.ErrorText();
    EXPECT_EQ(load.errors[0].path, c.path);
    EXPECT_EQ(load.errors[0].message, c.message);
  }
}

TEST(JobSpecTest, AllProblemsReportedAtOnce) {
  SpecLoad load = LoadJobSpecYaml(Spec("resources: {world_size: 0}\noptim: {learning_rate: 0, beta2: 2}\n"));
  std::vector<std::string> got;
  for (const auto& e : load.errors) got.push_back(e.ToString());
  std::vector<std::string> want = {"optim.learning_rate: must be > 0 (got 0)",
                                   "optim.beta2: must be in [0, 1) (got 2)",
                                   "resources.world_size: must be >= 1 (got 0)"};
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace flyp

namespace flyp {
namespace {

TEST(JobSpecDocumentTest, OverridesAreTypedBySchemaAndNameTheirPath) {
  SpecLoad load = LoadJobSpecDocument(
      Spec(""), {"optim.learning_rate=3e-4", "schedule.epochs=2", "method.name=ft",
                 "wise_ft.alphas=[0, 0.5, 1]", "run_policy.collective_timeout=90s",
                 "model.checkpoint=base: v2.safetensors", "data.ood[0]={name: blur, format: fashion_mnist}",
                 "data.ood[0].limit=100", "resources.activation_checkpointing=true"});
  ASSERT_TRUE(load.ok()) << load.ErrorText();
  EXPECT_DOUBLE_EQ(load.spec.optim().learning_rate(), 3e-4);
  EXPECT_EQ(load.spec.schedule().epochs(), 2);
  EXPECT_EQ(load.spec.method().name(), v1::METHOD_FT);
  EXPECT_DOUBLE_EQ(load.spec.optim().grad_clip_norm(), 1.0);  // FT's default: overrides come before defaults
  ASSERT_EQ(load.spec.wise_ft().alphas_size(), 3);
  EXPECT_FLOAT_EQ(load.spec.wise_ft().alphas(1), 0.5f);
  EXPECT_EQ(load.spec.run_policy().collective_timeout().seconds(), 90);
  EXPECT_EQ(load.spec.model().checkpoint(), "base: v2.safetensors");
  ASSERT_EQ(load.spec.data().ood_size(), 1);
  EXPECT_EQ(load.spec.data().ood(0).name(), "blur");
  EXPECT_EQ(load.spec.data().ood(0).limit(), 100);
  EXPECT_TRUE(load.spec.resources().activation_checkpointing());

  SpecLoad bad =
      LoadJobSpecDocument(Spec(""), {"optim.learning_rat=1", "schedule.epochs=many", "method.name=flip",
                                     "optim.learning_rate.x=1", "data.ood[3].name=x", "nothing"});
  EXPECT_EQ(
      bad.ErrorText(),
      "--set optim.learning_rat: unknown field; did you mean learning_rate?\n"
      "--set schedule.epochs: expected an integer, got 'many'\n"
      "--set method.name: unknown value 'flip'; did you mean flyp? (one of: zeroshot, lp, ft, l2sp, lpft, "
      "flyp, pretrain)\n"
      "--set optim.learning_rate: is a value, not a section\n"
      "--set data.ood[3]: index 3 is past the end (the list has 0 elements)\n"
      "--set: expected PATH=VALUE (e.g. optim.learning_rate=1e-5), got 'nothing'\n");
}

TEST(JobSpecDocumentTest, AJobAsPrintedIsResubmittable) {
  SpecLoad first = LoadJobSpecYaml(Spec("name: again\n"));
  ASSERT_TRUE(first.ok()) << first.ErrorText();
  v1::Job job;
  job.set_id("job-000007");
  job.set_owner("alice");
  *job.mutable_spec() = first.spec;
  job.mutable_status()->set_state(v1::JOB_STATE_SUCCEEDED);
  job.mutable_status()->mutable_create_time()->set_seconds(1700000000);
  for (const std::string& text :
       std::vector<std::string>{MessageToYaml(job), MessageToJson(job), MessageToJson(first.spec)}) {
    SpecLoad again = LoadJobSpecDocument(text);
    ASSERT_TRUE(again.ok()) << again.ErrorText() << "\n" << text;
    EXPECT_TRUE(MessageDifferencer::Equals(again.spec, first.spec)) << text;
  }
  // JSON uses the spec files' names: snake_case fields, short enum names, durations.
  const std::string json = MessageToJson(first.spec);
  EXPECT_NE(json.find("\"learning_rate\": 1e-05"), std::string::npos) << json;
  EXPECT_NE(json.find("\"name\": \"flyp\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"collective_timeout\": \"5m\""), std::string::npos) << json;
  // A document that is neither is read as a spec, whose reader names the key.
  SpecLoad odd = LoadJobSpecDocument("spec: {}\nweird: 1\n");
  EXPECT_NE(odd.ErrorText().find("spec: unknown field"), std::string::npos) << odd.ErrorText();
}

}  // namespace
}  // namespace flyp
