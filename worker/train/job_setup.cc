#include "worker/train/job_setup.h"

#include <algorithm>

#include "common/cpus.h"
#include "common/env.h"
#include "common/logging.h"
#include "worker/data/open_dataset.h"
#include "worker/dist/create_communicator.h"
#include "worker/dist/gradient_reducer.h"
#include "worker/model/checkpoint.h"
#include "worker/text/templates.h"

namespace flyp::train {
namespace {

StatusOr<std::unique_ptr<data::Loader>> MakeLoader(const v1::JobSpec& spec, const v1::DataSource& src,
                                                   std::shared_ptr<const data::Dataset> ds, int resolution,
                                                   bool train, dist::Communicator& comm) {
  const int64_t per_rank = spec.schedule().batch_size() / comm.world_size();
  data::LoaderOptions opts =
      data::LoaderOptionsFor(spec.data(), src, resolution, train, per_rank, comm.world_size(), comm.rank(),
                             static_cast<uint64_t>(spec.schedule().seed()));
  opts.sampler.shuffle = train;
  // Training drops a trailing partial batch so every step has the global
  // batch the schedule promises; evaluation sees every example.
  opts.drop_last_batch = train;
  // Pinned batches: ContrastiveStep/ClassifierStep copy them to the GPU
  // with non_blocking (ToDevice), overlapping the copy with queued kernels.
  opts.pin_memory = comm.device().is_cuda();
  return data::Loader::Create(std::move(ds), opts);
}

Status CheckSameClasses(const std::vector<std::string>& want, const data::Dataset& ds,
                        const std::string& path) {
  if (ds.class_names() == want) return Status::Ok();
  return InvalidArgumentError(path + ": its classes (" + std::to_string(ds.num_classes()) +
                              ") differ from the training data's (" + std::to_string(want.size()) +
                              "); evaluation splits must use the same class names in the same order");
}

}  // namespace

int RankThreads(const v1::JobSpec& spec) {
  if (spec.resources().threads_per_rank() > 0) return spec.resources().threads_per_rank();
  if (EnvInt(env::kThreads) > 0) return static_cast<int>(EnvInt(env::kThreads));
  const int cores = OnlineCpuCount();
  const int allowed = static_cast<int>(AllowedCpus().size());
  if (allowed < cores) return allowed;
  return std::max(1, cores / std::max(1, dist::LaunchedLocalWorldSize()));
}

StatusOr<JobInputs> SetUpJob(const v1::JobSpec& spec, dist::Communicator& comm) {
  JobInputs in;
  in.device = comm.device();

  FLYP_ASSIGN_OR_RETURN(text::Tokenizer tok, text::Tokenizer::Load(spec.model().vocab()));
  in.tokenizer = std::make_unique<text::Tokenizer>(std::move(tok));

  torch::manual_seed(static_cast<uint64_t>(spec.schedule().seed()));
  FLYP_ASSIGN_OR_RETURN(auto built, model::BuildClipModel(spec.model()));
  in.model = std::shared_ptr<model::ClipModel>(std::move(built));
  if (in.tokenizer->vocab_size() > in.model->vocab_size()) {
    return InvalidArgumentError(
        "model.vocab: the tokenizer has " + std::to_string(in.tokenizer->vocab_size()) +
        " ids but the model's text.vocab_size is " + std::to_string(in.model->vocab_size()) +
        "; set model.architecture.text.vocab_size or use the model's own vocabulary");
  }
  in.model->to(in.device);
  in.model->set_activation_checkpointing(spec.resources().activation_checkpointing());
  {
    std::vector<torch::Tensor> params;
    for (auto& p : in.model->parameters()) params.push_back(p);
    if (comm.world_size() > 1) dist::BroadcastParameters(params, comm, 0);
  }

  FLYP_ASSIGN_OR_RETURN(in.templates, text::LoadTemplates(spec.data().templates()));
  const int resolution = static_cast<int>(in.model->image_size());

  if (spec.data().has_train()) {
    FLYP_ASSIGN_OR_RETURN(auto ds, data::OpenDataset(spec.data().train()));
    in.train = std::shared_ptr<const data::Dataset>(std::move(ds));
    in.class_names = in.train->class_names();
    FLYP_ASSIGN_OR_RETURN(in.train_loader,
                          MakeLoader(spec, spec.data().train(), in.train, resolution, true, comm));
    if (spec.method().name() == v1::METHOD_LP || spec.method().name() == v1::METHOD_LPFT) {
      FLYP_ASSIGN_OR_RETURN(in.train_eval_loader,
                            MakeLoader(spec, spec.data().train(), in.train, resolution, false, comm));
    }
  }

  auto add_split = [&](const v1::DataSource& src, const std::string& path, const std::string& fallback,
                       bool ood, bool id_val) -> Status {
    FLYP_ASSIGN_OR_RETURN(auto ds, data::OpenDataset(src));
    std::shared_ptr<const data::Dataset> shared(std::move(ds));
    if (in.class_names.empty()) in.class_names = shared->class_names();
    FLYP_RETURN_IF_ERROR(CheckSameClasses(in.class_names, *shared, path));
    EvalSplit split;
    split.name = src.name().empty() ? fallback : src.name();
    split.ood = ood;
    split.is_id_val = id_val;
    split.dataset = shared;
    FLYP_ASSIGN_OR_RETURN(split.loader, MakeLoader(spec, src, shared, resolution, false, comm));
    in.splits.push_back(std::move(split));
    return Status::Ok();
  };
  const auto& d = spec.data();
  if (d.has_id_val()) FLYP_RETURN_IF_ERROR(add_split(d.id_val(), "data.id_val", "id_val", false, true));
  if (d.has_id_test()) FLYP_RETURN_IF_ERROR(add_split(d.id_test(), "data.id_test", "id_test", false, false));
  for (int i = 0; i < d.ood_size(); ++i) {
    FLYP_RETURN_IF_ERROR(
        add_split(d.ood(i), "data.ood[" + std::to_string(i) + "]", d.ood(i).name(), true, false));
  }
  if (spec.method().name() != v1::METHOD_PRETRAIN && in.class_names.empty()) {
    return InvalidArgumentError(
        "data: no class names (the training data is unlabelled and no evaluation split is set)");
  }
  return in;
}

}  // namespace flyp::train
