#include "tests/hostile/cases.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "common/confine.h"
#include "common/numbers.h"
#include "common/spec/job_spec.h"
#include "tests/testing/test_env.h"
#include "worker/data/open_dataset.h"
#include "worker/data/test_images.h"
#include "worker/model/checkpoint.h"
#include "worker/model/safetensors.h"
#include "worker/text/tokenizer.h"
#include "worker/train/train_state.h"

namespace flyp::hostile {
namespace {

namespace fs = std::filesystem;

constexpr int kOk = 0;
constexpr int kInvalid = static_cast<int>(StatusCode::kInvalidArgument);
constexpr int kNotFound = static_cast<int>(StatusCode::kNotFound);
constexpr int kDenied = static_cast<int>(StatusCode::kPermissionDenied);
constexpr int kExhausted = static_cast<int>(StatusCode::kResourceExhausted);
constexpr int kPrecondition = static_cast<int>(StatusCode::kFailedPrecondition);
constexpr int kDataLoss = static_cast<int>(StatusCode::kDataLoss);

Outcome FromStatus(const Status& s) { return {Verdict::kOk, static_cast<int>(s.code()), s.message()}; }

void Put(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// ------------------------------------------------------------------ specs

const char kModel[] = "model: {preset: tiny, vocab: byte, checkpoint: base.safetensors}\n";
const char kTrainVal[] = "train: {format: fashion_mnist}, id_val: {format: fashion_mnist}";

// A valid spec with `extra` top-level blocks (not model or data).
std::string Spec(const std::string& extra) {
  return std::string(kModel) + "data: {" + kTrainVal + "}\n" + extra;
}
// A valid spec whose data block also holds `data_extra` ("key: value, ...").
std::string SpecData(const std::string& data_extra) {
  return std::string(kModel) + "data: {" + kTrainVal + ", " + data_extra + "}\n";
}
// A spec with its own data block.
std::string SpecWithData(const std::string& data) { return std::string(kModel) + data; }

const char kCustomModel[] =
    "model:\n  preset: custom\n  vocab: byte\n  checkpoint: x.safetensors\n  architecture:\n"
    "    embed_dim: 64\n"
    "    vision: {width: VW, layers: VL, heads: 2, patch_size: VP, image_size: VI}\n"
    "    text: {width: 64, layers: 2, heads: 2, context_length: 16, vocab_size: 600}\n";

std::string Custom(const std::string& vw, const std::string& vl, const std::string& vp,
                   const std::string& vi) {
  std::string s = kCustomModel;
  auto sub = [&](const std::string& k, const std::string& v) { s.replace(s.find(k), k.size(), v); };
  sub("VW", vw);
  sub("VL", vl);
  sub("VP", vp);
  sub("VI", vi);
  return s + "data: {" + kTrainVal + "}\n";
}

LibraryCase SpecCase(const std::string& name, const std::string& yaml, int code, const std::string& msg) {
  return {"spec", name,
          [yaml] {
            SpecLoad load = LoadJobSpecYaml(yaml);
            return Outcome{Verdict::kOk, load.ok() ? kOk : kInvalid, load.ErrorText()};
          },
          code, msg};
}

void AddSpecCases(std::vector<LibraryCase>* out) {
  auto add = [&](const std::string& n, const std::string& y, int c, const std::string& m) {
    out->push_back(SpecCase(n, y, c, m));
  };
  // Integer arithmetic on user numbers.
  add("world-times-accum-wraps", Spec("resources: {world_size: 65536}\noptim: {accum_steps: 65536}\n"),
      kInvalid, "resources.world_size: must be <= 4096 (got 65536)");
  add("world-times-accum-indivisible", Spec("resources: {world_size: 4096}\noptim: {accum_steps: 1048576}\n"),
      kInvalid, "schedule.batch_size: must be divisible by resources.world_size x optim.accum_steps");
  add("offset-plus-limit-overflows",
      SpecWithData("data: {train: {format: fashion_mnist, offset: 9223372036854775807, limit: 10}, id_val: "
                   "{format: fashion_mnist}}\n"),
      kInvalid, "data.train.limit: offset + limit overflows 64 bits");
  add("deadline-past-int64", Spec("run_policy: {active_deadline: 99999999999999999999}\n"), kInvalid,
      "run_policy.active_deadline: duration '99999999999999999999' is out of range");
  add("deadline-past-10000-years", Spec("run_policy: {active_deadline: 999999999999h}\n"), kInvalid,
      "is out of range (at most 315576000000s");
  add("deadline-exponent", Spec("run_policy: {active_deadline: 1e30h}\n"), kInvalid,
      "run_policy.active_deadline: expected a duration such as 30s");
  add("deadline-negative", Spec("run_policy: {active_deadline: -5s}\n"), kInvalid,
      "run_policy.active_deadline: must be >= 0");
  add("timeout-words", Spec("run_policy: {collective_timeout: 5 minutes}\n"), kInvalid,
      "run_policy.collective_timeout: expected a duration");
  add("timeout-zero", Spec("run_policy: {collective_timeout: 0s}\n"), kInvalid,
      "run_policy.collective_timeout: must be > 0");
  add("float-overflow", Spec("wise_ft: {alphas: [1e39]}\n"), kInvalid,
      "wise_ft.alphas[0]: expected a finite number, got '1e39'");
  add("double-underflow", Spec("optim: {eps: 1e-400}\n"), kInvalid,
      "optim.eps: expected 0 or a number of magnitude at least");
  add("float-underflow", Spec("method: {label_smoothing: 1e-50}\n"), kInvalid,
      "method.label_smoothing: expected 0 or a number of magnitude at least");
  add("exponent-past-int64", Spec("optim: {learning_rate: 10e9223372036854775807}\n"), kInvalid,
      "optim.learning_rate: expected a finite number, got '10e9223372036854775807'");
  add("nan", Spec("optim: {learning_rate: nan}\n"), kInvalid,
      "optim.learning_rate: expected a finite number, got 'nan'");
  add("yaml-infinity", Spec("optim: {learning_rate: .inf}\n"), kInvalid,
      "optim.learning_rate: expected a number, got '.inf'");
  add("negative-learning-rate", Spec("optim: {learning_rate: -1}\n"), kInvalid,
      "optim.learning_rate: must be > 0");
  add("negative-world", Spec("resources: {world_size: -1}\n"), kInvalid,
      "resources.world_size: must be >= 1 (got -1)");
  add("int32-overflow", Spec("resources: {world_size: 2147483648}\n"), kInvalid,
      "resources.world_size: expected an integer in [-2147483648, 2147483647]");
  add("int64-overflow", Spec("schedule: {max_steps: 9223372036854775808}\n"), kInvalid,
      "schedule.max_steps: expected an integer in");
  add("batch-zero", Spec("schedule: {batch_size: 0}\n"), kInvalid,
      "schedule.batch_size: must be >= 1 (got 0)");
  add("batch-huge", Spec("schedule: {batch_size: 2147483647}\n"), kInvalid,
      "schedule.batch_size: must be <= 16777216");
  add("epochs-zero", Spec("schedule: {epochs: 0}\n"), kInvalid, "schedule.epochs: must be >= 1");
  add("epochs-huge", Spec("schedule: {epochs: 2147483647}\n"), kInvalid,
      "schedule.epochs: must be <= 1000000");
  add("priority-out-of-range", Spec("priority: 1000\n"), kInvalid,
      "priority: must be in [-100, 100] (got 1000)");
  add("backoff-huge", Spec("run_policy: {backoff_limit: 2147483647}\n"), kInvalid,
      "run_policy.backoff_limit: must be <= 1000");
  add("checkpoint-every-negative", Spec("run_policy: {checkpoint_every: -1}\n"), kInvalid,
      "run_policy.checkpoint_every: must be >= 0");
  add("loader-threads-huge", SpecData("loader_threads: 100000"), kInvalid,
      "data.loader_threads: must be <= 256");
  add("prefetch-huge", SpecData("prefetch_batches: 1000000000"), kInvalid,
      "data.prefetch_batches: must be <= 1024");
  add("slots-huge", Spec("resources: {slots_per_rank: 100000}\n"), kInvalid,
      "resources.slots_per_rank: must be <= 1024");
  add("bucket-huge", Spec("resources: {bucket_mib: 2147483647}\n"), kInvalid,
      "resources.bucket_mib: must be <= 4096");
  add("threads-huge", Spec("resources: {threads_per_rank: 100000}\n"), kInvalid,
      "resources.threads_per_rank: must be <= 1024");
  add("lp-steps-huge", Spec("method: {lp_steps: 2147483647}\n"), kInvalid,
      "method.lp_steps: must be <= 1000000");
  add("label-smoothing-one", Spec("method: {label_smoothing: 1}\n"), kInvalid,
      "method.label_smoothing: must be in [0, 1)");
  add("beta1-one", Spec("optim: {beta1: 1}\n"), kInvalid, "optim.beta1: must be in [0, 1)");
  add("float16-autocast", Spec("resources: {precision: float16}\n"), kInvalid,
      "resources.precision: unknown value 'float16'");
  add("k-shot-negative",
      SpecWithData("data: {train: {format: fashion_mnist, k_shot: -1}, id_val: {format: fashion_mnist}}\n"),
      kInvalid, "data.train.k_shot: must be >= 0");
  add("k-shot-huge",
      SpecWithData(
          "data: {train: {format: fashion_mnist, k_shot: 2000000000}, id_val: {format: fashion_mnist}}\n"),
      kInvalid, "data.train.k_shot: must be <= 1048576");
  add("alpha-out-of-range", Spec("wise_ft: {alphas: [1.5]}\n"), kInvalid,
      "wise_ft.alphas[0]: must be in [0, 1]");
  // Unbounded work from small inputs.
  {
    std::string bomb = "names: &n [";
    for (int i = 0; i < 5000; ++i) bomb += (i ? "," : "") + std::string("c") + std::to_string(i);
    bomb += "]\n" + std::string(kModel) + "data:\n  ood:\n";
    for (int i = 0; i < 5000; ++i) bomb += "  - {name: o, format: fashion_mnist, class_names: *n}\n";
    add("alias-bomb", bomb, kInvalid, "aliases count every time they are used");
    std::string list = "names: &n [a, b]\n";
    for (int level = 0; level < 30; ++level) {
      list += "l" + std::to_string(level + 1) + ": &l" + std::to_string(level + 1) + " [" +
              (level ? "*l" + std::to_string(level) : std::string("*n")) + ", " +
              (level ? "*l" + std::to_string(level) : std::string("*n")) + "]\n";
    }
    list += std::string(kModel) +
            "data: {train: {format: fashion_mnist, class_names: *l30}, id_val: {format: "
            "fashion_mnist}}\n";
    add("nested-alias-bomb", list, kInvalid, "data.train.class_names");
  }
  add("deep-flow-nesting", "x: " + std::string(3000, '[') + std::string(3000, ']') + "\n", kInvalid,
      "YAML nested too deeply");
  add("text-over-limit", Spec("# " + std::string(kMaxSpecYamlBytes, 'x') + "\n"), kInvalid,
      "more than the limit of 1048576");
  add("scalar-over-limit", Spec("name: " + std::string(kMaxSpecScalarBytes + 1, 'x') + "\n"), kInvalid,
      "name: value of 65537 bytes is longer than the limit of 65536");
  add("list-over-limit",
      SpecWithData("data: {train: {format: fashion_mnist, class_names: [" + Repeat("c,", 70000) +
                   "c]}, id_val: {format: fashion_mnist}}\n"),
      kInvalid, "data.train.class_names: list of 70001 items is longer than the limit of 65536");
  add("too-many-alphas", Spec("wise_ft: {alphas: [" + Repeat("0.5, ", 200) + "0.5]}\n"), kInvalid,
      "wise_ft.alphas: must have at most 101 entries");
  add("too-many-templates",
      SpecData("templates: {builtin: custom, custom: [" + Repeat("\"a {}\", ", 1100) + "\"a {}\"]}"),
      kInvalid, "data.templates.custom: must have at most 1024 entries");
  {
    std::string ood = "ood: [";
    for (int i = 0; i < 70; ++i)
      ood += (i ? ", " : "") + std::string("{name: o") + std::to_string(i) + ", format: fashion_mnist}";
    add("too-many-ood-splits", SpecData(ood + "]"), kInvalid, "data.ood: must have at most 64 entries");
  }
  add("too-many-shifts",
      SpecData("ood: [{name: o, format: fashion_mnist, shifts: [" + Repeat("{kind: invert}, ", 20) +
               "{kind: invert}]}]"),
      kInvalid, "data.ood[0].shifts: must have at most 16 entries");
  {
    std::string many;
    for (int i = 0; i < 500; ++i) many += "bad" + std::to_string(i) + ": 1\n";
    add("many-problems-capped", Spec(many), kInvalid, "... and 400 more problems");
  }
  // Silent misreads.
  add("duplicate-top-key",
      Spec("optim: {learning_rate: 0.1}\nschedule: {epochs: 1}\noptim: {learning_rate: 5}\n"), kInvalid,
      "optim: given twice (line 3 and line 5)");
  add("duplicate-nested-key", Spec("optim:\n  learning_rate: 0.1\n  learning_rate: 0.2\n"), kInvalid,
      "optim.learning_rate: given twice (line 4 and line 5)");
  add("invalid-utf8", "name: caf\xE9\n" + Spec(""), kInvalid,
      "invalid UTF-8 at byte 9 (line 1, column 10): 0xE9");
  add("overlong-utf8", "name: \xC0\xAF\n" + Spec(""), kInvalid, "invalid UTF-8 at byte 6");
  add("surrogate-utf8", "name: \xED\xA0\x80\n" + Spec(""), kInvalid, "invalid UTF-8 at byte 6");
  add("nul-byte", std::string("name: a\0b\n", 10) + Spec(""), kInvalid, "control character 0x00 at byte 7");
  add("control-character",
      "name: a\x01"
      "b\n" +
          Spec(""),
      kInvalid, "control character 0x01 at byte 7");
  add("del-character", "name: a\x7f\n" + Spec(""), kInvalid, "control character 0x7F at byte 7");
  add("c1-control", "name: a\xC2\x81\n" + Spec(""), kInvalid, "control character U+0081 at byte 7");
  add("escaped-nul-in-path", Spec("output: {dir: \"/tmp/a\\0/../b\"}\n"), kInvalid,
      "output.dir: must not contain a NUL character");
  add("byte-order-mark-accepted", "\xEF\xBB\xBF" + Spec(""), kOk, "");
  add("crlf-accepted", "name: crlf\r\n" + Spec(""), kOk, "");
  add("tab-in-quoted-value-accepted", Spec("output: {dir: \"runs/a\tb\"}\n"), kOk, "");
  add("enum-uppercase", Spec("method: {name: FLYP}\n"), kInvalid, "method.name: unknown value 'FLYP'");
  add("bool-maybe", Spec("method: {local_loss: maybe}\n"), kInvalid,
      "method.local_loss: expected true or false, got 'maybe'");
  add("int-hex", Spec("schedule: {epochs: 0x10}\n"), kInvalid,
      "schedule.epochs: expected an integer, got '0x10'");
  add("int-exponent", Spec("schedule: {epochs: 1e3}\n"), kInvalid,
      "schedule.epochs: expected an integer, got '1e3'");
  add("int-plus", Spec("schedule: {epochs: +5}\n"), kInvalid,
      "schedule.epochs: expected an integer, got '+5'");
  add("float-hex", Spec("optim: {learning_rate: 0x1p3}\n"), kInvalid,
      "optim.learning_rate: expected a number, got '0x1p3'");
  add("scalar-for-list", Spec("wise_ft: {alphas: 0.5}\n"), kInvalid,
      "wise_ft.alphas: expected a list, got '0.5'");
  add("list-for-mapping", Spec("optim: [1, 2]\n"), kInvalid, "optim: expected a mapping, got a list");
  add("null-value", Spec("optim:\n"), kInvalid, "optim: missing value");
  add("empty-document", "", kInvalid, "the spec is empty");
  add("comments-only", "# nothing here\n", kInvalid, "the spec is empty");
  add("scalar-document", "hello\n", kInvalid, "expected a mapping, got 'hello'");
  add("list-document", "- a\n- b\n", kInvalid, "expected a mapping, got a list");
  add("complex-key", Spec("? [a, b]\n: c\n"), kInvalid, "keys must be field names, got a list at line");
  // Echoing unbounded input: quotes are cut at 40 characters.
  add("huge-unknown-key", Spec(std::string(1000, 'k') + ": 1\n"), kInvalid,
      std::string(kMaxQuotedChars, 'k') + "...: unknown field");
  add("key-longer-than-yaml-allows", Spec(std::string(100000, 'k') + ": 1\n"), kInvalid,
      "YAML syntax error at line 3, column 100001");
  add("huge-enum-value", Spec("method: {name: " + std::string(50000, 'x') + "}\n"), kInvalid,
      "method.name: unknown value '" + std::string(kMaxQuotedChars, 'x') + "...'");
  add("huge-bool", Spec("method: {local_loss: " + std::string(50000, 'y') + "}\n"), kInvalid,
      "expected true or false, got '" + std::string(kMaxQuotedChars, 'y') + "...'");
  add("huge-number", Spec("optim: {learning_rate: " + std::string(50000, '9') + "x}\n"), kInvalid,
      "expected a number, got '" + std::string(kMaxQuotedChars, '9') + "...'");
  add("huge-duration", Spec("run_policy: {active_deadline: " + std::string(50000, '5') + "}\n"), kInvalid,
      "duration '" + std::string(kMaxQuotedChars, '5') + "...' is out of range");
  add("name-with-slash", Spec("name: ../../etc\n"), kInvalid, "name: may contain only letters");
  add("name-too-long", Spec("name: " + std::string(1000, 'n') + "\n"), kInvalid,
      "name: must be at most 128 bytes (got 1000)");
  add("path-too-long",
      SpecWithData("data: {train: {format: image_folder, path: /" + std::string(5000, 'p') +
                   "}, id_val: {format: fashion_mnist}}\n"),
      kInvalid, "data.train.path: must be at most 4096 bytes (got 5001)");
  add("preset-unknown",
      "model: {preset: ViT-Z-99, vocab: byte, checkpoint: x}\ndata: {" + std::string(kTrainVal) + "}\n",
      kInvalid, "model.preset: unknown preset 'ViT-Z-99'");
  add("architecture-ok", Custom("64", "2", "8", "32"), kOk, "");
  add("architecture-width-huge", Custom("1048576", "2", "8", "32"), kInvalid,
      "model.architecture.vision.width: must be <= 16384");
  add("architecture-heads-do-not-divide", Custom("63", "2", "8", "32"), kInvalid,
      "model.architecture.vision.heads: must divide vision.width");
  add("architecture-too-many-tokens", Custom("64", "2", "1", "4096"), kInvalid, "image tokens");
  add("architecture-too-many-parameters", Custom("16384", "256", "8", "32"), kInvalid,
      "parameters, more than the limit");
  add("architecture-layers-huge", Custom("64", "100000", "8", "32"), kInvalid,
      "model.architecture.vision.layers: must be <= 256");
  add("template-without-placeholder", SpecData("templates: {builtin: custom, custom: [\"a photo\"]}"),
      kInvalid, "data.templates.custom[0]: must contain exactly one {}");
  add("template-two-placeholders", SpecData("templates: {builtin: custom, custom: [\"{} {}\"]}"), kInvalid,
      "data.templates.custom[0]: must contain exactly one {}");
  add("duplicate-split-names",
      SpecData("ood: [{name: x, format: fashion_mnist}, {name: x, format: fashion_mnist}]"), kInvalid,
      "duplicate split name 'x'");
  add("shift-severity",
      SpecData("ood: [{name: r, format: fashion_mnist, shifts: [{kind: rotate, severity: 400}]}]"), kInvalid,
      "data.ood[0].shifts[0].severity: must be in [-180, 180]");
  add("class-names-and-file",
      SpecWithData(
          "data: {train: {format: fashion_mnist, class_names: [a], class_names_file: f}, id_val: {format: "
          "fashion_mnist}}\n"),
      kInvalid, "data.train.class_names: give class_names or class_names_file, not both");
  add("split-garbage",
      SpecWithData(
          "data: {train: {format: fashion_mnist, split: validation}, id_val: {format: fashion_mnist}}\n"),
      kInvalid, "data.train.split: must be train or test for fashion_mnist (got 'validation')");
  add("dtype-unknown",
      "model: {preset: tiny, vocab: byte, checkpoint: x, dtype: int8}\ndata: {" + std::string(kTrainVal) +
          "}\n",
      kInvalid, "model.dtype: unknown value 'int8'");
  add("syntax-unclosed", Spec("optim: {learning_rate: 1\n"), kInvalid, "YAML syntax error at line");
  add("syntax-tab-indent", "a:\n\t b: 1\n", kInvalid, "YAML syntax error at line 2");
  add("undefined-alias", "x: *nope\n", kInvalid, "the referenced anchor is not defined");
}

// ------------------------------------------------------- checkpoints

std::string Safetensors(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

LibraryCase ReadCase(const std::string& name, const std::string& path, int code, const std::string& msg) {
  return {"checkpoint", name,
          [path] {
            auto r = model::ReadSafetensors(path);
            return FromStatus(r.status());
          },
          code, msg};
}

v1::ModelSpec MicroSpec() {
  v1::ModelSpec m;
  m.set_preset("micro");
  return m;
}

// A one-tensor training state and its optimiser (what LoadLatestTrainCheckpoint needs).
struct Toy {
  optim::NamedTensors params;
  std::unique_ptr<torch::optim::SGD> opt;
  Toy() {
    params = {{"w", torch::zeros({4}, torch::requires_grad())}};
    opt = std::make_unique<torch::optim::SGD>(std::vector<torch::Tensor>{params[0].second},
                                              torch::optim::SGDOptions(0.1));
  }
};

v1::JobSpec ToySpec(double lr) {
  SpecLoad load = LoadJobSpecYaml(Spec("optim: {learning_rate: " + std::to_string(lr) + "}\n"));
  return load.spec;
}

LibraryCase ResumeCase(const std::string& name, const std::string& dir, int code, const std::string& msg,
                       double lr = 0.001) {
  return {"checkpoint", name,
          [dir, lr] {
            Toy toy;
            v1::JobSpec spec = ToySpec(lr);
            auto r = train::LoadLatestTrainCheckpoint(dir, "toy", toy.params, *toy.opt, {&spec, false});
            return FromStatus(r.status());
          },
          code, msg};
}

void MakeCheckpointInputs(const std::string& dir) {
  const std::string c = dir + "/checkpoint";
  Put(c + "/empty.safetensors", "");
  Put(c + "/seven.safetensors", "1234567");
  Put(c + "/long-header.safetensors", std::string("\xE8\x03\0\0\0\0\0\0", 8) + "{}");  // 1000 bytes promised
  {
    // A header length of 200 MiB (over the limit), in a sparse file that holds it.
    const std::string p = c + "/huge-header.safetensors";
    Put(p, std::string("\0\0\x80\x0C\0\0\0\0", 8));
    if (::truncate(p.c_str(), (200LL << 20) + 16) != 0) std::abort();
  }
  Put(c + "/not-json.safetensors", Safetensors("{nope"));
  Put(c + "/array.safetensors", Safetensors("[1,2]"));
  Put(c + "/entry-scalar.safetensors", Safetensors("{\"t\": 5}"));
  Put(c + "/no-dtype.safetensors",
      Safetensors("{\"t\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", "abcd"));
  Put(c + "/long-dtype.safetensors", Safetensors("{\"t\": {\"dtype\": \"" + std::string(10000, 'X') +
                                                     "\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
                                                 "abcd"));
  Put(c + "/negative-shape.safetensors",
      Safetensors("{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", "abcd"));
  Put(c + "/shape-overflow.safetensors",
      Safetensors(
          "{\"t\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4294967296], \"data_offsets\": "
          "[0, 4]}}",
          "abcd"));
  {
    std::string dims = "1";
    for (int i = 0; i < 99; ++i) dims += ", 1";
    Put(c + "/many-dims.safetensors",
        Safetensors("{\"t\": {\"dtype\": \"F32\", \"shape\": [" + dims + "], \"data_offsets\": [0, 4]}}",
                    "abcd"));
  }
  Put(c + "/reversed-offsets.safetensors",
      Safetensors("{\"t\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [8, 4]}}", "abcdefgh"));
  Put(c + "/beyond-data.safetensors",
      Safetensors("{\"t\": {\"dtype\": \"U8\", \"shape\": [400], \"data_offsets\": [0, 400]}}", "abcd"));
  Put(c + "/size-mismatch.safetensors",
      Safetensors("{\"t\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", "abcd"));
  Put(c + "/overlap.safetensors",
      Safetensors(
          "{\"a\": {\"dtype\": \"U8\", \"shape\": [8], \"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"U8\", "
          "\"shape\": [8], \"data_offsets\": [4, 12]}}",
          std::string(12, 'x')));
  Put(c + "/metadata.safetensors", Safetensors("{\"__metadata__\": {\"k\": 5}}"));
  fs::create_directories(c + "/a-directory.safetensors");
  ::mkfifo((c + "/fifo.safetensors").c_str(), 0600);
  {
    // 100 000 one-byte tensors: valid, and must not cost 10^10 steps.
    std::string h = "{";
    for (int i = 0; i < 100000; ++i) {
      h += (i ? "," : "") + std::string("\"t") + std::to_string(i) +
           "\": {\"dtype\": \"U8\", \"shape\": [1], " + "\"data_offsets\": [" + std::to_string(i) + ", " +
           std::to_string(i + 1) + "]}";
    }
    Put(c + "/many-tensors.safetensors", Safetensors(h + "}", std::string(100000, 'x')));
  }
  Put(c + "/deep-json.safetensors", Safetensors(std::string(100000, '[') + std::string(100000, ']')));
  Put(c + "/torchscript-junk.pt", "PK\x03\x04 not really a zip archive");
  {
    auto model = model::BuildClipModel(MicroSpec());
    torch::NoGradGuard no_grad;
    (*model)->named_parameters()[0].value().fill_(std::nanf(""));
    (void)model::SaveClipCheckpoint(c + "/nan.safetensors", **model);
    model::NamedTensors other = {{"visual.conv1.weight", torch::zeros({3, 3})}};
    (void)model::WriteSafetensors(c + "/wrong-model.safetensors", other);
  }
  // Training checkpoints.
  {
    const std::string t = c + "/train";
    Toy toy;
    v1::JobSpec spec = ToySpec(0.001);
    auto good = [&](const std::string& d) {
      auto r = train::SaveTrainCheckpoint(d, {"toy", 1, 0, 1}, toy.params, *toy.opt, &spec);
      if (!r.ok()) std::abort();
      return d + "/checkpoints/toy-step-00000001";
    };
    good(t + "/mismatch");
    Put(good(t + "/escape") + "/../latest", "toy-step-1/../../../../etc\n");
    Put(good(t + "/fields") + "/position.json", "{\"stage\": \"toy\"}");
    Put(good(t + "/negative") + "/position.json",
        "{\"stage\": \"toy\", \"step\": -5, \"epoch\": 0, \"batch\": 0, \"names\": [\"w\"]}");
    Put(good(t + "/not-json") + "/position.json", "{{{");
    Put(good(t + "/garbage-state") + "/state.pt", "not a torch archive");
    toy.params[0].second.data().fill_(std::nanf(""));
    good(t + "/nan-state");
  }
}

void AddCheckpointCases(const std::string& dir, std::vector<LibraryCase>* out) {
  const std::string c = dir + "/checkpoint/";
  auto add = [&](const std::string& n, const std::string& file, int code, const std::string& m) {
    out->push_back(ReadCase(n, c + file, code, m));
  };
  add("empty-file", "empty.safetensors", kDataLoss, "too short for a safetensors header length");
  add("seven-bytes", "seven.safetensors", kDataLoss, "too short for a safetensors header length");
  add("header-longer-than-file", "long-header.safetensors", kDataLoss, "exceeds the file size");
  add("header-over-limit", "huge-header.safetensors", kInvalid, "exceeds the limit of 104857600 bytes");
  add("header-not-json", "not-json.safetensors", kInvalid, "header is not valid JSON");
  add("header-array", "array.safetensors", kInvalid, "header is not a JSON object");
  add("entry-not-object", "entry-scalar.safetensors", kInvalid, "header entry is not an object");
  add("missing-dtype", "no-dtype.safetensors", kInvalid, "missing or non-string 'dtype'");
  add("huge-dtype-name", "long-dtype.safetensors", kInvalid,
      "unsupported safetensors dtype '" + std::string(kMaxQuotedChars, 'X') + "...'");
  add("negative-shape", "negative-shape.safetensors", kInvalid,
      "shape entries must be non-negative integers");
  add("shape-overflow", "shape-overflow.safetensors", kInvalid, "overflows");
  add("too-many-dimensions", "many-dims.safetensors", kInvalid, "shape has 100 dimensions (at most 64)");
  add("reversed-offsets", "reversed-offsets.safetensors", kInvalid, "data_offsets begin 8 > end 4");
  add("offsets-beyond-data", "beyond-data.safetensors", kDataLoss, "extend beyond the data area");
  add("size-mismatch", "size-mismatch.safetensors", kInvalid,
      "data_offsets cover 4 bytes but shape [2] of F32 needs 8");
  add("overlapping-tensors", "overlap.safetensors", kInvalid, "overlap in the data area");
  add("metadata-not-string", "metadata.safetensors", kInvalid, "__metadata__ value for 'k' is not a string");
  add("directory", "a-directory.safetensors", kInvalid, "is a directory, not a safetensors file");
  add("fifo-without-writer", "fifo.safetensors", kInvalid, "is not a regular file");
  add("missing-file", "missing.safetensors", kNotFound, "cannot open");
  add("many-tiny-tensors", "many-tensors.safetensors", kOk, "");
  add("deeply-nested-header", "deep-json.safetensors", kInvalid, "header is not valid JSON");
  out->push_back({"checkpoint", "torchscript-junk",
                  [c] {
                    auto m = model::BuildClipModel(MicroSpec());
                    return FromStatus(model::LoadClipCheckpoint(c + "torchscript-junk.pt", **m));
                  },
                  kDataLoss, "not a loadable TorchScript archive"});
  out->push_back({"checkpoint", "nan-weights",
                  [c] {
                    auto m = model::BuildClipModel(MicroSpec());
                    return FromStatus(model::LoadClipCheckpoint(c + "nan.safetensors", **m));
                  },
                  kInvalid, "holds NaN or infinite values"});
  out->push_back({"checkpoint", "wrong-model",
                  [c] {
                    auto m = model::BuildClipModel(MicroSpec());
                    return FromStatus(model::LoadClipCheckpoint(c + "wrong-model.safetensors", **m));
                  },
                  kInvalid, "tensor 'visual.conv1.weight' has shape [3, 3]"});
  const std::string t = c + "train/";
  out->push_back(ResumeCase("train-latest-escapes", t + "escape", kDataLoss, "not a checkpoint folder"));
  out->push_back(ResumeCase("train-position-fields", t + "fields", kDataLoss,
                            "needs stage, step, epoch, batch and names"));
  out->push_back(ResumeCase("train-position-negative", t + "negative", kDataLoss, "must not be negative"));
  out->push_back(ResumeCase("train-position-not-json", t + "not-json", kDataLoss, "position.json"));
  out->push_back(ResumeCase("train-state-garbage", t + "garbage-state", kDataLoss, "cannot read checkpoint"));
  out->push_back(ResumeCase("train-state-nan", t + "nan-state", kDataLoss, "holds NaN or infinite values"));
  out->push_back(
      ResumeCase("train-spec-mismatch", t + "mismatch", kPrecondition, "(optim.learning_rate differ)", 0.5));
  out->push_back(ResumeCase("train-spec-match", t + "mismatch", kOk, "", 0.001));
}

// ---------------------------------------------------------- datasets

// Opens the source and reads every example, as the loader would; the first
// error is the outcome.
Outcome OpenAndRead(const v1::DataSource& src, const std::vector<std::string>& roots) {
  if (!roots.empty()) {
    Status s = SetInputRoots(roots);
    if (!s.ok()) return FromStatus(s);
  }
  auto ds = data::OpenDataset(src);
  if (!ds.ok()) return FromStatus(ds.status());
  for (int64_t i = 0; i < (*ds)->size(); ++i) {
    auto ex = (*ds)->Get(i);
    if (!ex.ok()) return FromStatus(ex.status());
  }
  return {};
}

LibraryCase DataCase(const std::string& name, v1::DataSource src, int code, const std::string& msg,
                     std::vector<std::string> roots = {}) {
  if (!src.has_name()) src.set_name("s");
  return {"dataset", name, [src, roots] { return OpenAndRead(src, roots); }, code, msg};
}

v1::DataSource Csv(const std::string& path, v1::DataFormat format = v1::DATA_FORMAT_CSV_LABEL) {
  v1::DataSource s;
  s.set_format(format);
  s.set_path(path);
  return s;
}

std::string Png() {
  return data::testing::EncodePng(
      data::testing::MakeImage(4, 4, 3, [](int x, int y, int c) { return (x + y + c) * 10; }));
}

void MakeDataInputs(const std::string& dir) {
  const std::string d = dir + "/dataset";
  const std::string png = Png();
  Put(d + "/root/img.png", png);
  Put(d + "/outside/img.png", png);
  Put(d + "/huge-label.csv", "img.png,999999999\n");
  Put(d + "/three-fields.csv", "img.png,1,2\n");
  Put(d + "/empty-path.csv", ",cat\n");
  Put(d + "/unterminated.csv", "\"img.png,cat\n");
  Put(d + "/after-quote.csv", "\"img.png\"x,cat\n");
  Put(d + "/many-fields.csv", std::string(2000, ',') + "\n");
  Put(d + "/unknown-class.csv", "root/img.png,bird\n");
  Put(d + "/index-out-of-range.csv", "root/img.png,5\n");
  Put(d + "/huge-class.csv", "root/img.png," + std::string(100000, 'z') + "\n");
  Put(d + "/missing-image.csv", "root/img.png,0\nroot/nope.png,0\n");
  Put(d + "/truncated.png", png.substr(0, png.size() / 2));
  Put(d + "/truncated.csv", "truncated.png,0\n");
  {
    // A PNG header claiming 100000 x 100000 pixels (a decompression bomb).
    std::string bomb = png;
    const unsigned char dims[8] = {0x00, 0x01, 0x86, 0xA0, 0x00, 0x01, 0x86, 0xA0};
    for (int i = 0; i < 8; ++i) bomb[16 + static_cast<size_t>(i)] = static_cast<char>(dims[i]);
    // The IHDR CRC covers the chunk type and data (bytes 12..28).
    const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(bomb.data() + 12), 17);
    for (int i = 0; i < 4; ++i)
      bomb[29 + static_cast<size_t>(i)] = static_cast<char>((crc >> (24 - 8 * i)) & 0xFF);
    Put(d + "/bomb.png", bomb);
    Put(d + "/bomb.csv", "bomb.png,0\n");
  }
  Put(d + "/garbage.jpg", "\xFF\xD8\xFF garbage that is not a JPEG");
  Put(d + "/garbage.csv", "garbage.jpg,0\n");
  Put(d + "/empty.png", "");
  Put(d + "/empty-image.csv", "empty.png,0\n");
  Put(d + "/root/outside.csv", "../outside/img.png,0\n");
  Put(d + "/root/etc.csv", "/etc/hostname,0\n");
  fs::create_symlink(d + "/outside/later.png", d + "/root/dangling.png");  // dangles until now
  Put(d + "/outside/later.png", png);
  Put(d + "/root/dangling.csv", "dangling.png,0\n");
  fs::create_directories(d + "/outside/folder/cat");
  Put(d + "/outside/folder/cat/a.png", png);
  fs::create_directory_symlink(d + "/outside/folder", d + "/root/leak");
  fs::create_directories(d + "/empty-folder");
  fs::create_directories(d + "/no-images/cat");
  Put(d + "/no-images/cat/readme.txt", "x");
  Put(d + "/a-file", "x");
  Put(d + "/no-names.txt", "\n\n  \n");
  Put(d + "/many-names.txt", Repeat("n\n", 70000));
  Put(d + "/two.csv", "root/img.png,0\nroot/img.png,1\n");
  ::mkfifo((d + "/fifo.csv").c_str(), 0600);
  fs::create_directories(d + "/dir.csv");
  auto idx = [&](const std::string& name, const std::string& images, const std::string& labels) {
    Put(d + "/" + name + "/train-images-idx3-ubyte", images);
    Put(d + "/" + name + "/train-labels-idx1-ubyte", labels);
  };
  const std::string labels1("\0\0\x08\x01\0\0\0\x01\x03", 9);
  // dims 2^8 x 2^16 x 2^16 x 2^24 multiply to 2^64: 0 in unchecked 64 bits.
  idx("idx-wrap", std::string("\0\0\x08\x04\0\0\x01\0\0\x01\0\0\0\x01\0\0\x01\0\0\0", 20), labels1);
  idx("idx-magic", std::string("\x01\x02\x08\x03", 4) + std::string(12, '\0'), labels1);
  idx("idx-truncated", std::string("\0\0\x08\x03\0\0\0\x01\0\0\0\x1C\0\0\0\x1C", 16) + "short", labels1);
  idx("idx-side",
      std::string("\0\0\x08\x03\0\0\0\x01\0\x01\x86\xA0\0\0\0\x01", 16) + std::string(100000, 'x'), labels1);
}

void AddDataCases(const std::string& dir, std::vector<LibraryCase>* out) {
  const std::string d = dir + "/dataset/";
  const std::vector<std::string> root = {d + "root"};
  auto with_names = [](v1::DataSource s, std::vector<std::string> names) {
    for (auto& n : names) s.add_class_names(n);
    return s;
  };
  out->push_back(DataCase("csv-label-asks-for-a-billion-classes", Csv(d + "huge-label.csv"), kInvalid,
                          "label index 999999999 asks for 1000000000 classes, more than the limit of 65536"));
  out->push_back(DataCase("csv-three-fields", Csv(d + "three-fields.csv"), kInvalid, "expected 2 fields"));
  out->push_back(DataCase("csv-empty-path", Csv(d + "empty-path.csv"), kInvalid, "empty path"));
  out->push_back(
      DataCase("csv-unterminated-quote", Csv(d + "unterminated.csv"), kInvalid, "unterminated quoted field"));
  out->push_back(DataCase("csv-text-after-quote", Csv(d + "after-quote.csv"), kInvalid,
                          "unexpected text after a closing quote"));
  out->push_back(
      DataCase("csv-too-many-fields", Csv(d + "many-fields.csv"), kInvalid, "more than 1024 fields"));
  out->push_back(DataCase("csv-unknown-class", with_names(Csv(d + "unknown-class.csv"), {"cat", "dog"}),
                          kInvalid, "unknown class name 'bird'"));
  out->push_back(DataCase("csv-index-out-of-range",
                          with_names(Csv(d + "index-out-of-range.csv"), {"cat", "dog"}), kInvalid,
                          "label index 5 is out of range for 2 classes"));
  out->push_back(DataCase("csv-huge-class-name", with_names(Csv(d + "huge-class.csv"), {"cat"}), kInvalid,
                          "unknown class name '" + std::string(kMaxQuotedChars, 'z') + "...'"));
  out->push_back(DataCase("csv-missing-image", Csv(d + "missing-image.csv"), kNotFound, "nope.png"));
  out->push_back(DataCase("csv-truncated-png", Csv(d + "truncated.csv"), kInvalid, "truncated.png"));
  out->push_back(DataCase("csv-png-bomb", Csv(d + "bomb.csv"), kInvalid, "too large"));
  out->push_back(DataCase("csv-garbage-jpeg", Csv(d + "garbage.csv"), kInvalid, "garbage.jpg"));
  out->push_back(DataCase("csv-empty-image", Csv(d + "empty-image.csv"), kInvalid, "empty.png"));
  out->push_back(DataCase("confined-csv-path-outside", Csv(d + "root/outside.csv"), kDenied,
                          "outside the data roots", root));
  out->push_back(DataCase("confined-csv-absolute-path", Csv(d + "root/etc.csv"), kDenied,
                          "outside the data roots", root));
  out->push_back(DataCase("confined-dangling-link-now-outside", Csv(d + "root/dangling.csv"), kDenied,
                          "outside/later.png', outside the data roots", root));
  {
    v1::DataSource folder;
    folder.set_format(v1::DATA_FORMAT_IMAGE_FOLDER);
    folder.set_path(d + "root/leak");
    out->push_back(DataCase("confined-folder-link-outside", folder, kDenied, "outside the data roots", root));
    folder.set_path(d + "empty-folder");
    out->push_back(DataCase("folder-without-classes", folder, kInvalid, "has no class sub-folders"));
    folder.set_path(d + "no-images");
    out->push_back(DataCase("folder-class-without-images", folder, kInvalid, "has no .jpg/.jpeg/.png files"));
    folder.set_path(d + "a-file");
    out->push_back(DataCase("folder-is-a-file", folder, kNotFound, "does not exist or is not a directory"));
  }
  {
    v1::DataSource s = Csv(d + "two.csv");
    s.set_class_names_file(d + "no-names.txt");
    out->push_back(DataCase("class-names-file-blank", s, kInvalid, "lists no names"));
    s.set_class_names_file(d + "many-names.txt");
    out->push_back(DataCase("class-names-file-too-many", s, kInvalid, "lists more than 65536 names"));
    s.clear_class_names_file();
    for (int i = 0; i < 70000; ++i) s.add_class_names("c" + std::to_string(i));
    out->push_back(
        DataCase("class-names-too-many", s, kInvalid, "70000 names, more than the limit of 65536"));
  }
  auto fmnist = [&](const std::string& sub) {
    v1::DataSource s;
    s.set_format(v1::DATA_FORMAT_FASHION_MNIST);
    s.set_path(d + sub);
    s.set_split("train");
    return s;
  };
  out->push_back(
      DataCase("idx-dimensions-wrap-64-bits", fmnist("idx-wrap"), kInvalid, "IDX dimensions too large"));
  out->push_back(DataCase("idx-bad-magic", fmnist("idx-magic"), kInvalid, "not an IDX file"));
  out->push_back(DataCase("idx-truncated", fmnist("idx-truncated"), kInvalid, "IDX header promises"));
  out->push_back(DataCase("idx-huge-side", fmnist("idx-side"), kInvalid, "at most 4096 a side"));
  out->push_back(DataCase("fashion-mnist-missing", fmnist("no-such-dir"), kNotFound, "no-such-dir"));
  {
    v1::DataSource s = Csv(d + "two.csv");
    s.set_offset(100);
    out->push_back(DataCase("offset-beyond-the-data", s, kInvalid, "offset 100 is beyond the 2 examples"));
    s.set_offset(1);
    s.set_limit(std::numeric_limits<int64_t>::max());
    out->push_back(DataCase("offset-plus-limit-saturates", s, kOk, ""));
    s = Csv(d + "two.csv");
    s.set_k_shot(5);
    out->push_back(DataCase("k-shot-larger-than-a-class", s, kInvalid, "k_shot 5 is larger than the"));
  }
  out->push_back(DataCase("csv-fifo-without-writer", Csv(d + "fifo.csv"), kInvalid, "no examples"));
  out->push_back(DataCase("csv-device", Csv("/dev/zero"), kInvalid, "is a device or a socket"));
  out->push_back(DataCase("csv-directory", Csv(d + "dir.csv"), kInvalid, "is a directory"));
}

// --------------------------------------------------------- tokenizer

std::string Gzip(const std::string& data) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

LibraryCase TokCase(const std::string& name, const std::string& vocab, const std::string& text, int code,
                    const std::string& msg, std::vector<std::string> roots = {}) {
  return {"tokenizer", name,
          [vocab, text, roots] {
            if (!roots.empty()) {
              Status s = SetInputRoots(roots);
              if (!s.ok()) return FromStatus(s);
            }
            auto tok = text::Tokenizer::Load(vocab);
            if (!tok.ok()) return FromStatus(tok.status());
            auto ids = tok->TokenizeBatch({text}, 77);
            return Outcome{Verdict::kOk, ids.size() == 77 ? kOk : -1, std::to_string(ids.size()) + " ids"};
          },
          code, msg};
}

void MakeTokenizerInputs(const std::string& dir) {
  const std::string t = dir + "/tokenizer";
  Put(t + "/empty.txt", "");
  Put(t + "/bad-header.txt", "not a version line\na b\n");
  Put(t + "/three-parts.txt", "#version: 0.2\na b c\n");
  const std::string good = "#version: 0.2\nh e\nhe llo</w>\n";
  const std::string gz = Gzip(good);
  Put(t + "/corrupt.txt.gz", gz.substr(0, 10) + std::string(20, '\x55') + gz.substr(30));
  Put(t + "/truncated.txt.gz", gz.substr(0, gz.size() / 2));
  Put(t + "/bomb.txt.gz", Gzip(std::string(65u << 20, 'a')));
  fs::create_directories(t + "/hf-empty-dir");
  Put(t + "/hf-not-json/vocab.json", "{nope");
  Put(t + "/hf-not-json/merges.txt", "#version: 0.2\n");
  Put(t + "/hf-huge-id/vocab.json", "{\"a\": 99999999999}");
  Put(t + "/hf-huge-id/merges.txt", "#version: 0.2\n");
  Put(t + "/hf-no-merges/vocab.json", "{\"a\": 1}");
  ::mkfifo((t + "/fifo.txt").c_str(), 0600);
  Put(t + "/root/ok.txt", good);
  Put(t + "/outside.txt", good);
  fs::create_symlink(t + "/outside.txt", t + "/root/link.txt");
}

void AddTokenizerCases(const std::string& dir, std::vector<LibraryCase>* out) {
  const std::string t = dir + "/tokenizer/";
  const std::string clip = testing::SharedDataDir() + "/clip/bpe_simple_vocab_16e6.txt.gz";
  out->push_back(TokCase("vocab-missing", t + "missing.txt", "x", kNotFound, "does not exist"));
  out->push_back(TokCase("vocab-empty", t + "empty.txt", "x", kInvalid, "empty.txt"));
  out->push_back(TokCase("vocab-bad-header", t + "bad-header.txt", "x", kInvalid, "#version"));
  out->push_back(TokCase("merges-three-parts", t + "three-parts.txt", "x", kInvalid,
                         "three-parts.txt:2: a merge line needs exactly two tokens"));
  out->push_back(TokCase("gzip-corrupt", t + "corrupt.txt.gz", "x", kDataLoss, "gzip"));
  out->push_back(TokCase("gzip-truncated", t + "truncated.txt.gz", "x", kDataLoss, "truncated gzip data"));
  out->push_back(
      TokCase("gzip-bomb", t + "bomb.txt.gz", "x", kExhausted, "decompresses to more than 64 MiB"));
  out->push_back(TokCase("hf-folder-without-vocab", t + "hf-empty-dir", "x", kNotFound, "vocab.json"));
  out->push_back(TokCase("hf-vocab-not-json", t + "hf-not-json", "x", kInvalid, "vocab.json"));
  out->push_back(TokCase("hf-vocab-huge-id", t + "hf-huge-id", "x", kInvalid, "vocab.json"));
  out->push_back(TokCase("hf-missing-merges", t + "hf-no-merges", "x", kNotFound, "merges.txt"));
  out->push_back(TokCase("vocab-fifo-without-writer", t + "fifo.txt", "x", kInvalid, "fifo.txt"));
  out->push_back(TokCase("confined-vocab-link-outside", t + "root/link.txt", "x", kDenied,
                         "outside the data roots", {t + "root"}));
  out->push_back(TokCase("confined-vocab-inside", t + "root/ok.txt", "hello", kOk, "", {t + "root"}));
  {
    std::string word;
    for (int64_t i = 0; i < 2000000; ++i) word += static_cast<char>('a' + (i * 7919) % 26);
    out->push_back(TokCase("two-megabyte-word", clip, word, kOk, ""));
  }
  out->push_back(TokCase("invalid-utf8-text-is-repaired", clip, "caf\xE9 \xFF\xFE", kOk, ""));
  out->push_back(TokCase("html-entities", clip, Repeat("&amp;amp;", 200000), kOk, ""));
  out->push_back(TokCase("many-words", clip, Repeat("a photo of a cat. ", 300000), kOk, ""));
  out->push_back(TokCase("special-tokens-only", clip, Repeat("<|endoftext|>", 1000), kOk, ""));
}

}  // namespace

void MakeInputs(const std::string& dir) {
  MakeCheckpointInputs(dir);
  MakeDataInputs(dir);
  MakeTokenizerInputs(dir);
}

std::vector<LibraryCase> LibraryCases(const std::string& dir) {
  std::vector<LibraryCase> out;
  AddSpecCases(&out);
  AddCheckpointCases(dir, &out);
  AddDataCases(dir, &out);
  AddTokenizerCases(dir, &out);
  return out;
}

}  // namespace flyp::hostile
