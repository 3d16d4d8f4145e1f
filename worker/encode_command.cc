// flyp-worker encode: L2-normalised embeddings of images and/or texts with a
// spec's model, written to a safetensors file ("image_embeddings",
// "text_embeddings"), optionally with the image x text similarity matrix.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>

#include "common/exit_codes.h"
#include "common/file_util.h"
#include "common/spec/job_spec.h"
#include "worker/commands.h"
#include "worker/data/decode.h"
#include "worker/data/transform.h"
#include "worker/model/checkpoint.h"
#include "worker/model/safetensors.h"
#include "worker/text/tokenizer.h"
#include "worker/train/classifier.h"
#include "worker/train/zeroshot_head.h"

namespace flyp::worker {
namespace {
namespace fs = std::filesystem;

// --texts holds one text per line, all encoded in one batch.
constexpr size_t kMaxTextsFileBytes = 64 * kMiB;

int Usage(const std::string& problem) {
  std::cerr << "flyp-worker encode: " << problem << "\nRun 'flyp-worker encode --help' for usage.\n";
  return kWorkerExitUsage;
}

bool IsImage(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

}  // namespace

Command EncodeCommand() {
  return {
      "encode", "embed images and/or texts with a model",
      "L2-normalised embeddings of images and/or texts with a spec's model, written to a safetensors file "
      "(image_embeddings [N,D], text_embeddings [M,D]), optionally with the image x text similarity matrix.",
      [](FlagSet& f) {
        auto o = std::make_shared<EncodeFlags>();
        f.String(
            "spec", &o->spec, "FILE",
            "a job spec; only its model section is used (preset/architecture, checkpoint, vocab); required");
        f.Strings("images", &o->images, "PATH", "an image file or a folder of .jpg/.jpeg/.png (sorted)");
        f.String("texts", &o->texts, "FILE", "one text per line");
        f.String("out", &o->out, "FILE", "the safetensors output; required");
        f.Switch("similarity", &o->similarity, "print the image x text cosine similarity matrix");
        return [o] { return RunEncodeCommand(*o); };
      }};
}

int RunEncodeCommand(const EncodeFlags& flags) {
  const std::string& spec_path = flags.spec;
  const std::string& texts_path = flags.texts;
  const std::string& out_path = flags.out;
  const std::vector<std::string>& image_args = flags.images;
  const bool similarity = flags.similarity;
  if (spec_path.empty()) return Usage("--spec is required");
  if (out_path.empty()) return Usage("--out is required");
  if (image_args.empty() && texts_path.empty()) return Usage("give --images and/or --texts");

  // Only the model section matters; parse the YAML without the job-level
  // checks (an encode spec needs no data or method).
  v1::JobSpec spec;
  std::vector<FieldError> errors;
  StatusOr<std::string> yaml = ReadFileToString(spec_path, kMaxConfigFileBytes);
  if (!yaml.ok()) return Usage("--spec: " + yaml.status().message());
  if (!YamlToMessage(*yaml, &spec, &errors)) {
    for (const auto& e : errors) std::cerr << e.ToString() << "\n";
    return kWorkerExitInvalidSpec;
  }
  ApplyJobSpecDefaults(&spec);
  auto model_or = model::BuildClipModel(spec.model());
  if (!model_or.ok()) {
    std::cerr << "flyp-worker encode: " << model_or.status().message() << "\n";
    return kWorkerExitBadInput;
  }
  auto& model = **model_or;
  model.eval();
  torch::NoGradGuard no_grad;

  model::NamedTensors out;
  torch::Tensor img_emb, txt_emb;
  std::vector<std::string> image_files;
  for (const auto& a : image_args) {
    if (fs::is_directory(a)) {
      std::vector<std::string> found;
      for (const auto& e : fs::recursive_directory_iterator(a)) {
        if (e.is_regular_file() && IsImage(e.path())) found.push_back(e.path().string());
      }
      std::sort(found.begin(), found.end());
      image_files.insert(image_files.end(), found.begin(), found.end());
    } else {
      image_files.push_back(a);
    }
  }
  if (!image_files.empty()) {
    data::TransformOptions topts;
    topts.resolution = static_cast<int>(model.image_size());
    const int64_t r = model.image_size();
    auto batch = torch::empty({static_cast<int64_t>(image_files.size()), 3, r, r});
    for (size_t i = 0; i < image_files.size(); ++i) {
      auto image = data::DecodeImageFile(image_files[i]);
      if (!image.ok()) {
        std::cerr << "flyp-worker encode: " << image.status().message() << "\n";
        return kWorkerExitBadInput;
      }
      data::TransformImage(*image, topts, static_cast<int64_t>(i), 0,
                           batch[static_cast<int64_t>(i)].data_ptr<float>());
    }
    img_emb =
        train::NormalizeRows(model.encode_image(batch.to(model.logit_scale().dtype())).to(torch::kFloat32));
    out.emplace_back("image_embeddings", img_emb.contiguous());
  }
  std::vector<std::string> texts;
  if (!texts_path.empty()) {
    StatusOr<std::string> lines = ReadFileToString(texts_path, kMaxTextsFileBytes);
    if (!lines.ok()) {
      std::cerr << "flyp-worker encode: --texts: " << lines.status().message() << "\n";
      return kWorkerExitBadInput;
    }
    for (size_t start = 0; start < lines->size();) {
      const size_t end = std::min(lines->find('\n', start), lines->size());
      if (end > start) texts.push_back(lines->substr(start, end - start));
      start = end + 1;
    }
    auto tok = text::Tokenizer::Load(spec.model().vocab().empty() ? "byte" : spec.model().vocab());
    if (!tok.ok()) {
      std::cerr << "flyp-worker encode: " << tok.status().message() << "\n";
      return kWorkerExitBadInput;
    }
    auto ids = train::TokenizeToTensor(*tok, texts, model.context_length(), torch::kCPU);
    txt_emb = train::NormalizeRows(model.encode_text(ids).to(torch::kFloat32));
    out.emplace_back("text_embeddings", txt_emb.contiguous());
  }
  Status s = model::WriteSafetensors(out_path, out, {{"checkpoint", spec.model().checkpoint()}});
  if (!s.ok()) {
    std::cerr << "flyp-worker encode: " << s.message() << "\n";
    return kWorkerExitFailure;
  }
  std::cerr << "wrote " << out_path << " (" << image_files.size() << " images, " << texts.size()
            << " texts)\n";
  if (similarity && img_emb.defined() && txt_emb.defined()) {
    auto sim = torch::matmul(img_emb, txt_emb.t());
    std::cout << std::fixed << std::setprecision(4);
    for (int64_t i = 0; i < sim.size(0); ++i) {
      std::cout << fs::path(image_files[static_cast<size_t>(i)]).filename().string();
      for (int64_t j = 0; j < sim.size(1); ++j) std::cout << "\t" << sim[i][j].item<float>();
      std::cout << "\n";
    }
  }
  return kWorkerExitOk;
}

}  // namespace flyp::worker
