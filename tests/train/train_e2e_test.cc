// End to end through the real flyp-worker binary: pretrain a small CLIP from
// scratch on captioned Fashion-MNIST (1 process), then FLYP-finetune it as a
// 2-rank MPI world on a disjoint split, and check the numbers and artifacts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/json.h"
#include "tests/testing/test_env.h"
#include "worker/report/report.h"

namespace {
namespace fs = std::filesystem;

using Result = flyp::testing::CommandResult;
Result RunCmd(const std::string& cmd) { return flyp::testing::RunCommand(cmd); }

// A small CLIP for 28x28 images: 16 patches of 7x7, 2-layer towers.
const char kModel[] =
    "model:\n"
    "  preset: custom\n"
    "  vocab: byte\n"
    "  architecture:\n"
    "    embed_dim: 64\n"
    "    activation: gelu\n"
    "    vision: {width: 64, layers: 2, heads: 2, patch_size: 7, image_size: 28}\n"
    "    text: {width: 64, layers: 2, heads: 2, context_length: 24, vocab_size: 514}\n";

std::string Write(const std::string& dir, const std::string& name, const std::string& text) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(TrainEndToEnd, PretrainThenFlypFinetune) {
  const std::string dir = flyp::testing::TempDir();
  const std::string worker = std::getenv("FLYP_WORKER");
  const std::string mpirun = std::getenv("FLYP_MPIEXEC");

  const std::string pretrain = Write(dir, "pretrain.yaml", std::string(kModel) + R"(
name: e2e-pretrain
method: {name: pretrain}
data:
  train: {format: fashion_mnist, split: train, limit: 12800}
  templates: {builtin: simple}
optim: {learning_rate: 0.002, weight_decay: 0.05}
schedule: {epochs: 2, batch_size: 128, warmup_steps: 10, log_every_steps: 50}
run_policy: {checkpoint_every: 100}
output: {dir: )" + dir + "/pretrain}\n");
  Result pre = RunCmd("FLYP_THREADS=2 " + worker + " --spec " + pretrain);
  ASSERT_EQ(pre.code, 0) << pre.out;
  ASSERT_TRUE(fs::exists(dir + "/pretrain/final.safetensors")) << pre.out;

  // flyp-worker encode on the pretrained model is deterministic.
  const std::string model_spec = Write(
      dir, "model.yaml", std::string(kModel) + "  checkpoint: " + dir + "/pretrain/final.safetensors\n");
  const std::string texts = Write(dir, "texts.txt", "a photo of a sneaker.\na photo of a bag.\n");
  Result enc1 =
      RunCmd(worker + " encode --spec " + model_spec + " --texts " + texts + " --out " + dir + "/e1.st");
  Result enc2 =
      RunCmd(worker + " encode --spec " + model_spec + " --texts " + texts + " --out " + dir + "/e2.st");
  ASSERT_EQ(enc1.code, 0) << enc1.out;
  ASSERT_EQ(enc2.code, 0) << enc2.out;
  EXPECT_EQ(flyp::testing::ReadFileOrDie(dir + "/e1.st"), flyp::testing::ReadFileOrDie(dir + "/e2.st"));
  EXPECT_NE(enc1.out.find("2 texts"), std::string::npos) << enc1.out;

  const std::string flyp = Write(
      dir, "flyp.yaml", std::string(kModel) + "  checkpoint: " + dir + "/pretrain/final.safetensors\n" + R"(
name: e2e-flyp
method: {name: flyp}
data:
  train: {format: fashion_mnist, split: train, offset: 20000, limit: 3840}
  id_val: {name: id_val, format: fashion_mnist, split: train, offset: 50000, limit: 1000}
  id_test: {name: id_test, format: fashion_mnist, split: test, limit: 2000}
  ood:
    - {name: inverted, format: fashion_mnist, split: test, limit: 1000, shifts: [{kind: invert}]}
    - {name: rotated, format: fashion_mnist, split: test, limit: 1000, shifts: [{kind: rotate, severity: 30}]}
  templates: {builtin: simple}
optim: {learning_rate: 0.0005}
schedule: {epochs: 1, batch_size: 128, warmup_steps: 5, log_every_steps: 10}
resources: {world_size: 2}
wise_ft: {alphas: [0, 0.5, 1]}
output: {dir: )" + dir + "/flyp}\n");
  Result ft = RunCmd(mpirun + " --allow-run-as-root --oversubscribe -np 2 " + worker + " --spec " + flyp);
  ASSERT_EQ(ft.code, 0) << ft.out;
  // Each rank says which OpenBLAS kernels run. Where Debian's OpenBLAS does
  // not know the CPU, the worker re-executed itself under mpirun with
  // OPENBLAS_CORETYPE (device_util.h) and the generic kernels are gone.
  EXPECT_NE(ft.out.find("OpenBLAS kernels: "), std::string::npos) << ft.out;
  if (ft.out.find("(OPENBLAS_CORETYPE set by flyp-worker)") != std::string::npos) {
    EXPECT_EQ(ft.out.find("OpenBLAS kernels: Prescott"), std::string::npos) << ft.out;
  }

  auto report = flyp::report::ReadReportJson(dir + "/flyp/report.json");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->world_size, 2);
  EXPECT_EQ(report->method, "flyp");
  const auto* zs = flyp::report::FindIdEval(report->zeroshot, "id_val", "id_test");
  const auto* fin = flyp::report::FindIdEval(report->finetuned, "id_val", "id_test");
  ASSERT_NE(zs, nullptr);
  ASSERT_NE(fin, nullptr);
  std::printf("[ e2e ] zero-shot ID accuracy %.3f, FLYP ID accuracy %.3f (chance 0.100)\n", zs->accuracy,
              fin->accuracy);
  // The pretrained model already classifies zero-shot; FLYP keeps it far above chance.
  EXPECT_GT(zs->accuracy, 0.4);
  EXPECT_GT(fin->accuracy, 0.5);
  ASSERT_EQ(report->wise_ft.size(), 3u);
  ASSERT_TRUE(report->chosen_alpha.has_value());
  // The sweep's endpoints are the zero-shot and the finetuned model.
  EXPECT_DOUBLE_EQ(report->wise_ft.front().evaluations[0].accuracy, report->zeroshot[0].accuracy);
  EXPECT_DOUBLE_EQ(report->wise_ft.back().evaluations[0].accuracy, report->finetuned[0].accuracy);
  for (const char* f :
       {"report.md", "wiseft.svg", "final.safetensors", "wiseft.safetensors", "events.jsonl", "spec.yaml"}) {
    EXPECT_TRUE(fs::exists(dir + "/flyp/" + f)) << f;
  }
  std::string md = flyp::testing::ReadFileOrDie(dir + "/flyp/report.md");
  EXPECT_NE(md.find("FLYP"), std::string::npos) << md;
  std::printf("%s\n", md.c_str());
}

TEST(TrainEndToEnd, BadInputsExitWithCodeFourAndNameTheProblem) {
  const std::string dir = flyp::testing::TempDir();
  const std::string worker = std::getenv("FLYP_WORKER");
  const std::string spec =
      Write(dir, "bad.yaml", std::string(kModel) + "  checkpoint: " + dir + "/missing.safetensors\n" + R"(
name: bad
data:
  train: {format: fashion_mnist}
  id_val: {format: fashion_mnist}
output: {dir: )" + dir + "/bad}\n");
  Result r = RunCmd(worker + " --spec " + spec);
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("missing.safetensors"), std::string::npos) << r.out;

  const std::string bad_data = Write(dir, "bad-data.yaml", std::string(kModel) + R"(
name: bad-data
method: {name: pretrain}
data:
  train: {format: image_folder, path: /nonexistent/images}
output: {dir: )" + dir + "/bad-data}\n");
  r = RunCmd(worker + " --spec " + bad_data);
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("/nonexistent/images"), std::string::npos) << r.out;

  const std::string invalid = Write(dir, "invalid.yaml", "method: {name: lp}\n");
  r = RunCmd(worker + " --spec " + invalid);
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("data.id_val: required for method lp"), std::string::npos) << r.out;
}

// The defect "Slurm direct launch trains N separate models": a task that
// srun started as rank 0 of 2 but that MPI left alone (no PMIx joined it)
// must not train a model of its own. Run as a plain process with srun's
// variables, MPI_Init gives a world of 1: refused, exit 6, nothing written.
TEST(TrainEndToEnd, ATaskOfALargerLaunchedWorldNeverTrainsAlone) {
  const std::string dir = flyp::testing::TempDir();
  const std::string worker = std::getenv("FLYP_WORKER");
  const std::string spec = Write(dir, "alone.yaml", std::string(kModel) + R"(
name: alone
method: {name: pretrain}
data:
  train: {format: fashion_mnist, split: train, limit: 64}
schedule: {epochs: 1, batch_size: 32}
resources: {world_size: 2}
output: {dir: )" + dir + "/alone}\n");
  Result r = RunCmd(
      "env -u OMPI_COMM_WORLD_SIZE -u PMIX_RANK SLURM_JOB_ID=7 SLURM_STEP_ID=0 "
      "SLURM_STEP_NUM_TASKS=2 SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_STEP_TASKS_PER_NODE='1(x2)' " +
      worker + " --spec " + spec);
  EXPECT_EQ(r.code, 6) << r.out;
  EXPECT_NE(r.out.find("srun started this process as rank 0 of 2 (SLURM_STEP_NUM_TASKS=2), but MPI joined it "
                       "into a world of 1"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("srun --mpi=pmix"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/alone/report.json"));
  EXPECT_FALSE(fs::exists(dir + "/alone/checkpoints"));
}

}  // namespace
