// flyp-worker encode: L2-normalised embeddings of images and/or texts with a
// spec's model, written to a safetensors file ("image_embeddings",
// "text_embeddings"), optionally with the image x text similarity matrix.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>

#include "common/confine.h"
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

// --texts holds one text per line.
constexpr size_t kMaxTextsFileBytes = 64 * kMiB;
// Images or texts encoded at once.
constexpr size_t kEncodeBatch = 64;

int Usage(const std::string& problem) {
  std::cerr << "flyp-worker encode: " << problem << "\nRun 'flyp-worker encode --help' for usage.\n";
  return kWorkerExitUsage;
}

bool IsImage(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// The model, then the embeddings in batches of kEncodeBatch (so the memory
// needed does not grow with the number of inputs), then the output.
int Encode(const v1::JobSpec& spec, const std::vector<std::string>& image_files,
           const std::vector<std::string>& texts, const std::string& out_path, bool similarity) {
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
  if (!image_files.empty()) {
    data::TransformOptions topts;
    topts.resolution = static_cast<int>(model.image_size());
    const int64_t r = model.image_size();
    std::vector<torch::Tensor> parts;
    for (size_t first = 0; first < image_files.size(); first += kEncodeBatch) {
      const size_t n = std::min<size_t>(kEncodeBatch, image_files.size() - first);
      auto batch = torch::empty({static_cast<int64_t>(n), 3, r, r});
      for (size_t i = 0; i < n; ++i) {
        auto image = data::DecodeImageFile(image_files[first + i]);
        if (!image.ok()) {
          std::cerr << "flyp-worker encode: " << image.status().message() << "\n";
          return kWorkerExitBadInput;
        }
        data::TransformImage(*image, topts, static_cast<int64_t>(first + i), 0,
                             batch[static_cast<int64_t>(i)].data_ptr<float>());
      }
      parts.push_back(train::NormalizeRows(
          model.encode_image(batch.to(model.logit_scale().dtype())).to(torch::kFloat32)));
    }
    img_emb = torch::cat(parts);
    out.emplace_back("image_embeddings", img_emb.contiguous());
  }
  if (!texts.empty()) {
    auto tok = text::Tokenizer::Load(spec.model().vocab().empty() ? "byte" : spec.model().vocab());
    if (!tok.ok()) {
      std::cerr << "flyp-worker encode: " << tok.status().message() << "\n";
      return kWorkerExitBadInput;
    }
    std::vector<torch::Tensor> parts;
    for (size_t first = 0; first < texts.size(); first += kEncodeBatch) {
      const size_t n = std::min<size_t>(kEncodeBatch, texts.size() - first);
      const std::vector<std::string> chunk(texts.begin() + static_cast<long>(first),
                                           texts.begin() + static_cast<long>(first + n));
      auto ids = train::TokenizeToTensor(*tok, chunk, model.context_length(), torch::kCPU);
      parts.push_back(train::NormalizeRows(model.encode_text(ids).to(torch::kFloat32)));
    }
    txt_emb = torch::cat(parts);
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
  StatusOr<std::string> yaml = ReadFileToString(spec_path, kMaxSpecYamlBytes);
  if (!yaml.ok()) return Usage("--spec: " + yaml.status().message());
  if (!YamlToMessage(*yaml, &spec, &errors)) {
    for (const auto& e : errors) std::cerr << e.ToString() << "\n";
    return kWorkerExitInvalidSpec;
  }
  ApplyJobSpecDefaults(&spec);
  if (std::vector<FieldError> bad = ValidateModelSpec(spec.model()); !bad.empty()) {
    for (const auto& e : bad) std::cerr << e.ToString() << "\n";
    return kWorkerExitInvalidSpec;
  }
  if (Status roots = SetInputRootsFromEnv(); !roots.ok()) {
    std::cerr << "flyp-worker encode: " << roots.message() << "\n";
    return kWorkerExitBadInput;
  }
  std::vector<std::string> image_files;
  for (const auto& a : image_args) {
    std::error_code ec;
    if (fs::is_directory(a, ec)) {
      std::vector<std::string> found;
      for (fs::recursive_directory_iterator it(a, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code type_ec;
        if (it->is_regular_file(type_ec) && IsImage(it->path())) found.push_back(it->path().string());
      }
      if (ec) {
        std::cerr << "flyp-worker encode: --images " << a << ": " << ec.message() << "\n";
        return kWorkerExitBadInput;
      }
      std::sort(found.begin(), found.end());
      image_files.insert(image_files.end(), found.begin(), found.end());
    } else {
      image_files.push_back(a);
    }
  }
  std::vector<std::string> texts;
  if (!texts_path.empty()) {
    StatusOr<std::string> lines = ReadInputFile(texts_path, kMaxTextsFileBytes);
    if (!lines.ok()) {
      std::cerr << "flyp-worker encode: --texts: " << lines.status().message() << "\n";
      return kWorkerExitBadInput;
    }
    for (size_t start = 0; start < lines->size();) {
      const size_t end = std::min(lines->find('\n', start), lines->size());
      if (end > start) texts.push_back(lines->substr(start, end - start));
      start = end + 1;
    }
  }
  try {
    return Encode(spec, image_files, texts, out_path, similarity);
  } catch (const c10::Error& e) {
    std::cerr << "flyp-worker encode: LibTorch error: " << e.what_without_backtrace() << "\n";
    return kWorkerExitFailure;
  }
}

}  // namespace flyp::worker
