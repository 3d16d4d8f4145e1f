#include "worker/train/job_runner.h"

#include <chrono>
#include <filesystem>
#include <optional>

#include "common/json.h"
#include "common/logging.h"
#include "common/spec/spec_yaml.h"
#include "worker/model/checkpoint.h"
#include "worker/model/safetensors.h"
#include "worker/train/job_setup.h"
#include "worker/train/methods.h"
#include "worker/train/wise_ft.h"
#include "worker/train/zeroshot_head.h"

namespace flyp::train {
namespace {

using Clock = std::chrono::steady_clock;

std::string MethodName(v1::Method m) { return EnumYamlName(v1::Method_descriptor()->FindValueByNumber(m)); }

bool IsContrastive(v1::Method m) { return m == v1::METHOD_FLYP || m == v1::METHOD_PRETRAIN; }
bool UsesHead(v1::Method m) {
  return m == v1::METHOD_LP || m == v1::METHOD_FT || m == v1::METHOD_L2SP || m == v1::METHOD_LPFT;
}

optim::NamedTensors ModelParams(model::ClipModel& m) {
  optim::NamedTensors out;
  for (auto& item : m.named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

optim::NamedTensors VisualParams(model::ClipModel& m) {
  optim::NamedTensors out;
  for (auto& item : m.named_parameters()) {
    if (item.key().rfind("visual.", 0) == 0) out.emplace_back(item.key(), item.value());
  }
  return out;
}

optim::NamedTensors HeadParams(LinearHead& h) { return {{"head.weight", h->weight}, {"head.bias", h->bias}}; }

optim::NamedTensors Concat(optim::NamedTensors a, const optim::NamedTensors& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The job's state while it runs; one object so the phases stay readable.
class Run {
 public:
  Run(const v1::JobSpec& spec, dist::Communicator& comm, const RunOptions& options)
      : spec_(spec), comm_(comm), options_(options), method_(spec.method().name()) {}

  JobOutcome Execute() {
    JobOutcome out;
    const auto t0 = Clock::now();
    auto in = SetUpJob(spec_, comm_);
    if (!in.ok()) {
      out.status = in.status();
      return out;
    }
    in_ = std::move(in).value();
    ctx_.emplace(
        StepContext{*in_.model, *in_.tokenizer, comm_, spec_, in_.class_names, in_.templates, in_.device});
    Notify(report::Phase::kStarted, "");
    InitReport();
    out.status = Body();
    report_.timings.total_seconds = Seconds(t0);
    if (out.status.ok()) {
      Stage(report::Stage::kWritingReport);
      if (comm_.rank() == 0) out.status = Output(report::WriteReport(report_, options_.out_dir));
      if (out.status.ok() && comm_.rank() == 0 && options_.observer != nullptr)
        options_.observer->OnReport(report_);
    }
    if (out.status.ok()) Notify(report::Phase::kCompleted, options_.out_dir);
    out.report = report_;
    return out;
  }

 private:
  // A failure to write an output: UNAVAILABLE (retryable), whatever
  // file_util called it, so it is never mistaken for an input fault.
  static Status Output(const Status& s) { return s.ok() ? s : UnavailableError(s.message()); }

  static double Seconds(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }

  void Notify(report::Phase phase, const std::string& msg) {
    if (options_.observer == nullptr) return;
    report::PhaseEvent e;
    e.phase = phase;
    e.message = msg;
    options_.observer->OnPhase(e);
  }

  void Stage(report::Stage stage, const std::string& label = "", const std::string& split = "", int index = 0,
             int count = 0, double alpha = 0) {
    if (options_.observer == nullptr) return;
    report::StageEvent e;
    e.stage = stage;
    e.label = label;
    e.split = split;
    e.index = index;
    e.count = count;
    e.alpha = alpha;
    options_.observer->OnStage(e);
  }

  void InitReport() {
    report_.job = spec_.name();
    report_.method = MethodName(method_);
    report_.model = spec_.model().preset();
    report_.world_size = comm_.world_size();
    for (const auto& s : in_.splits) {
      if (s.is_id_val)
        report_.id_val_split = s.name;
      else if (!s.ood)
        report_.id_test_split = s.name;
    }
    auto& hp = report_.hyperparameters;
    hp["learning_rate"] = Json(spec_.optim().learning_rate());
    hp["weight_decay"] = Json(spec_.optim().weight_decay());
    hp["batch_size"] = Json(static_cast<long long>(spec_.schedule().batch_size()));
    hp["epochs"] = Json(static_cast<long long>(spec_.schedule().epochs()));
    hp["warmup_steps"] = Json(static_cast<long long>(spec_.schedule().warmup_steps()));
    hp["local_loss"] = Json(spec_.method().local_loss());
    hp["mask_same_class"] = Json(spec_.method().mask_same_class());
    hp["templates"] = Json(static_cast<long long>(in_.templates.size()));
    hp["seed"] = Json(static_cast<long long>(spec_.schedule().seed()));
  }

  // ---- evaluation -------------------------------------------------------
  Scorer ContrastiveScorer() {
    auto head = ZeroShotHead(*in_.model, *in_.tokenizer, in_.class_names, in_.templates);
    auto model = in_.model;
    return [model, head](const torch::Tensor& x) {
      return torch::matmul(NormalizeRows(model->encode_image(x)).to(torch::kFloat32), head);
    };
  }

  Scorer HeadScorer(LinearHead head) {
    auto model = in_.model;
    return [model, head](const torch::Tensor& x) mutable { return head->forward(model->encode_image(x)); };
  }

  // Evaluates every split; each result is told to the observer labelled as
  // `label` says (its stage, epoch, alpha), and, when `announce`, each split
  // is announced as the stage first.
  StatusOr<std::vector<report::SplitEval>> EvaluateAll(const Scorer& scorer, const report::EvalEvent& label,
                                                       bool announce = true) {
    const auto t0 = Clock::now();
    const bool was_training = in_.model->is_training();
    in_.model->eval();
    std::vector<report::SplitEval> out;
    for (auto& split : in_.splits) {
      if (announce) Stage(report::Stage::kEvaluating, report::EvalStageLabel(label), split.name);
      FLYP_ASSIGN_OR_RETURN(EvalResult r, EvaluateSplit(split, scorer, comm_, in_.device,
                                                        static_cast<int64_t>(in_.class_names.size())));
      report::SplitEval e;
      e.split = r.split;
      e.is_ood = r.ood;
      e.accuracy = r.accuracy;
      if (spec_.method().macro_f1()) e.macro_f1 = r.macro_f1;
      out.push_back(e);
      if (options_.observer != nullptr) {
        report::EvalEvent event = label;
        event.split = r.split;
        event.accuracy = r.accuracy;
        event.macro_f1 = e.macro_f1;
        options_.observer->OnEval(event);
      }
    }
    if (was_training) in_.model->train();
    report_.timings.eval_seconds += Seconds(t0);
    return out;
  }

  // ---- the method --------------------------------------------------------
  Status Body() {
    const double init_scale = in_.model->logit_scale().exp().item<double>();
    if (method_ != v1::METHOD_PRETRAIN) {
      auto zs_head = ZeroShotHead(*in_.model, *in_.tokenizer, in_.class_names, in_.templates);
      zs_head_ = zs_head;
      FLYP_ASSIGN_OR_RETURN(report_.zeroshot,
                            EvaluateAll(ContrastiveScorer(), Label(report::EvalStage::kZeroShot)));
    }
    zeroshot_state_ = CloneState(ModelParams(*in_.model));

    switch (method_) {
      case v1::METHOD_ZEROSHOT:
        report_.finetuned = report_.zeroshot;
        return Status::Ok();
      case v1::METHOD_PRETRAIN:
      case v1::METHOD_FLYP:
        FLYP_RETURN_IF_ERROR(TrainContrastive());
        break;
      case v1::METHOD_LP:
        FLYP_RETURN_IF_ERROR(TrainLinearProbe(init_scale));
        break;
      case v1::METHOD_FT:
      case v1::METHOD_L2SP:
        head_ = LinearHead(zs_head_, init_scale);
        head_->to(in_.device);
        FLYP_RETURN_IF_ERROR(TrainClassifier());
        break;
      case v1::METHOD_LPFT:
        FLYP_RETURN_IF_ERROR(TrainLinearProbe(init_scale));
        FLYP_RETURN_IF_ERROR(TrainClassifier());
        break;
      default:
        return InvalidArgumentError("method.name: unsupported method " + MethodName(method_));
    }
    if (!in_.splits.empty()) {
      FLYP_ASSIGN_OR_RETURN(report_.finetuned,
                            EvaluateAll(CurrentScorer(), Label(report::EvalStage::kFinal)));
      // The final evaluation is the last epoch's.
      if (!report_.epochs.empty() && report_.epochs.rbegin()->second.evaluations.empty()) {
        report_.epochs.rbegin()->second.evaluations = report_.finetuned;
      }
    }
    FLYP_RETURN_IF_ERROR(SaveFinal());
    if (spec_.wise_ft().enabled()) FLYP_RETURN_IF_ERROR(WiseFt(init_scale));
    return Status::Ok();
  }

  Scorer CurrentScorer() { return IsContrastive(method_) ? ContrastiveScorer() : HeadScorer(head_); }

  static report::EvalEvent Label(report::EvalStage stage, std::optional<int> epoch = std::nullopt,
                                 std::optional<double> alpha = std::nullopt) {
    report::EvalEvent e;
    e.stage = stage;
    e.epoch = epoch;
    e.alpha = alpha;
    return e;
  }

  // Per-step bookkeeping for the report (the training curves, every
  // epoch's last step and loss) and the observer; the epoch's clock starts
  // when its first step does (and again after an epoch's evaluation).
  LoopHooks CommonHooks() {
    LoopHooks hooks;
    hooks.on_step = [this](const report::StepProgress& info) {
      report::StepProgress p = info;
      p.logit_scale = in_.model->logit_scale().exp().item<double>();
      report::EpochReport& er = report_.epochs[p.epoch];
      er.last_step = p.step;
      er.train_loss = p.loss;
      if (p.logged) {
        report_.training.push_back(
            {p.step, p.epoch, p.loss, p.learning_rate, p.logit_scale, p.samples_per_second});
      }
      if (options_.observer != nullptr) options_.observer->OnStep(p);
    };
    hooks.on_checkpoint = [this](const std::string& folder) { Notify(report::Phase::kCheckpoint, folder); };
    hooks.on_epoch_end = [this](int64_t epoch, bool last) -> Status {
      const double secs = Seconds(epoch_clock_);
      report_.epochs[static_cast<int>(epoch)].seconds = secs;
      report_.timings.epoch_seconds.push_back(secs);
      const int every = spec_.schedule().eval_every_epochs();
      if (!last && every > 0 && epoch % every == 0 && !in_.splits.empty() && method_ != v1::METHOD_PRETRAIN) {
        FLYP_ASSIGN_OR_RETURN(
            report_.epochs[static_cast<int>(epoch)].evaluations,
            EvaluateAll(CurrentScorer(), Label(report::EvalStage::kEpoch, static_cast<int>(epoch))));
        Stage(report::Stage::kTraining);
      }
      epoch_clock_ = Clock::now();  // the next epoch's time excludes this evaluation
      return Status::Ok();
    };
    return hooks;
  }

  void Absorb(const LoopResult& r) {
    report_.steps += r.steps;
    report_.samples_per_second = r.samples_per_second;
    report_.final_train_loss = r.final_loss;
    report_.timings.train_seconds += r.train_seconds;
  }

  Status TrainContrastive() {
    in_.model->train();
    LoopConfig cfg;
    cfg.stage = MethodName(method_);
    cfg.trainable = SetTrainable(*in_.model, spec_.method());
    cfg.checkpointed = ModelParams(*in_.model);
    cfg.out_dir = options_.out_dir;
    cfg.resume = options_.resume;
    cfg.resume_anyway = options_.resume_anyway;
    LoopHooks hooks = CommonHooks();
    hooks.step = [this](const data::Batch& b, int64_t step) { return ContrastiveStep(*ctx_, b, step); };
    hooks.after_step = [this] { ClampLogitScale(*in_.model); };
    Stage(report::Stage::kTraining);
    epoch_clock_ = Clock::now();
    FLYP_ASSIGN_OR_RETURN(LoopResult r, RunTrainLoop(spec_, comm_, *in_.train_loader, cfg, hooks));
    Absorb(r);
    in_.model->eval();
    return Status::Ok();
  }

  Status TrainLinearProbe(double scale) {
    if (!in_.train_eval_loader) return InternalError("linear probe without a feature loader");
    const EvalSplit* val = nullptr;
    for (const auto& s : in_.splits) {
      if (s.is_id_val) val = &s;
    }
    if (val == nullptr) return InvalidArgumentError("data.id_val: required for the linear probe");
    in_.model->eval();
    auto model = in_.model;
    auto encoder = [model](const torch::Tensor& x) { return model->encode_image(x); };
    const int64_t dim = in_.model->embed_dim();
    FLYP_ASSIGN_OR_RETURN(auto train_f,
                          ExtractFeatures(*in_.train_eval_loader, encoder, comm_, in_.device, dim));
    FLYP_ASSIGN_OR_RETURN(auto val_f, ExtractFeatures(*val->loader, encoder, comm_, in_.device, dim));
    const auto t0 = Clock::now();
    LinearProbeResult lp = LinearProbe(train_f.first, train_f.second, val_f.first, val_f.second, zs_head_,
                                       scale, spec_.method());
    report_.timings.train_seconds += Seconds(t0);
    report_.lp_l2 = lp.l2;
    head_ = lp.head;
    head_->to(in_.device);
    FLYP_LOG(INFO) << "linear probe: l2 " << lp.l2 << " chosen, id_val accuracy " << lp.val_accuracy;
    return Status::Ok();
  }

  Status TrainClassifier() {
    in_.model->train();
    // The text tower and logit_scale are unused by the classifier; freeze them.
    optim::NamedTensors trainable = SetTrainable(*in_.model, spec_.method());
    L2spAnchor anchor;
    if (spec_.method().l2sp_weight() > 0) {
      for (auto& [name, p] : VisualParams(*in_.model)) anchor.emplace_back(p, p.detach().clone());
    }
    LoopConfig cfg;
    cfg.stage = MethodName(method_) == "lpft" ? "lpft" : MethodName(method_);
    cfg.trainable = Concat(trainable, HeadParams(head_));
    cfg.checkpointed = Concat(VisualParams(*in_.model), HeadParams(head_));
    cfg.out_dir = options_.out_dir;
    cfg.resume = options_.resume;
    cfg.resume_anyway = options_.resume_anyway;
    LoopHooks hooks = CommonHooks();
    hooks.step = [this, anchor](const data::Batch& b, int64_t) {
      return ClassifierStep(*ctx_, head_, anchor, b);
    };
    Stage(report::Stage::kTraining);
    epoch_clock_ = Clock::now();
    FLYP_ASSIGN_OR_RETURN(LoopResult r, RunTrainLoop(spec_, comm_, *in_.train_loader, cfg, hooks));
    Absorb(r);
    in_.model->eval();
    return Status::Ok();
  }

  // ---- artifacts ---------------------------------------------------------
  Status SaveModel(const std::string& name, const std::string& head_name) {
    if (comm_.rank() != 0) return Status::Ok();
    std::map<std::string, std::string> meta = {
        {"job", spec_.name()}, {"method", MethodName(method_)}, {"preset", spec_.model().preset()}};
    FLYP_RETURN_IF_ERROR(Output(model::SaveClipCheckpoint(options_.out_dir + "/" + name, *in_.model, meta)));
    if (UsesHead(method_) && !head_name.empty()) {
      model::NamedTensors tensors = {{"weight", head_->weight.detach().cpu()},
                                     {"bias", head_->bias.detach().cpu()}};
      FLYP_RETURN_IF_ERROR(
          Output(model::WriteSafetensors(options_.out_dir + "/" + head_name, tensors, meta)));
    }
    return Status::Ok();
  }

  Status SaveFinal() {
    if (!spec_.output().save_final()) return Status::Ok();
    return SaveModel("final.safetensors", "head.safetensors");
  }

  // WiSE-FT over the spec's alphas. The state mixed is everything the
  // method changed: the whole CLIP for the contrastive methods (the head is
  // recomputed from the mixed text tower), the image tower and the head for
  // the classifiers (the zero-shot endpoint's head is the zero-shot head).
  Status WiseFt(double init_scale) {
    optim::NamedTensors live = ModelParams(*in_.model);
    StateDict finetuned = CloneState(live);
    StateDict zeroshot = zeroshot_state_;
    LinearHead zs_head{nullptr};
    if (UsesHead(method_)) {
      zs_head = LinearHead(zs_head_, init_scale);
      zs_head->to(in_.device);
      for (auto& [n, t] : CloneState(HeadParams(head_))) finetuned[n] = t;
      for (auto& [n, t] : CloneState(HeadParams(zs_head))) zeroshot[n] = t;
      live = Concat(live, HeadParams(head_));
    }
    const int count = spec_.wise_ft().alphas_size();
    for (int k = 0; k < count; ++k) {
      const float alpha = spec_.wise_ft().alphas(k);
      Stage(report::Stage::kWiseFt, "", "", k + 1, count, alpha);
      FLYP_ASSIGN_OR_RETURN(StateDict mixed, Interpolate(zeroshot, finetuned, alpha));
      FLYP_RETURN_IF_ERROR(LoadState(live, mixed));
      report::WiseFtPoint point;
      point.alpha = alpha;
      FLYP_ASSIGN_OR_RETURN(
          point.evaluations,
          EvaluateAll(CurrentScorer(), Label(report::EvalStage::kWiseFt, std::nullopt, alpha),
                      /*announce=*/false));
      report_.wise_ft.push_back(point);
    }
    FLYP_RETURN_IF_ERROR(report::SelectWiseFtAlpha(&report_));
    if (report_.chosen_alpha) {
      FLYP_ASSIGN_OR_RETURN(StateDict chosen, Interpolate(zeroshot, finetuned, *report_.chosen_alpha));
      FLYP_RETURN_IF_ERROR(LoadState(live, chosen));
      FLYP_RETURN_IF_ERROR(SaveModel("wiseft.safetensors", "wiseft-head.safetensors"));
    }
    // Leave the model as finetuned.
    return LoadState(live, finetuned);
  }

  const v1::JobSpec& spec_;
  dist::Communicator& comm_;
  const RunOptions& options_;
  const v1::Method method_;
  JobInputs in_;
  std::optional<StepContext> ctx_;  // over in_, once set up
  report::RunReport report_;
  Clock::time_point epoch_clock_;  // when the current epoch started
  StateDict zeroshot_state_;
  torch::Tensor zs_head_;
  LinearHead head_{nullptr};
};

}  // namespace

bool IsInputFault(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kDataLoss:
    case StatusCode::kPermissionDenied:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kOutOfRange:
    case StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

JobOutcome RunJob(const v1::JobSpec& spec, dist::Communicator& comm, const RunOptions& options) {
  JobOutcome out;
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) {
    out.status = UnavailableError("cannot create output folder " + options.out_dir + ": " + ec.message());
    return out;
  }
  try {
    out = Run(spec, comm, options).Execute();
  } catch (const c10::Error& e) {
    out.status = InternalError(std::string("LibTorch error: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    out.status = InternalError(e.what());
  }
  out.bad_input = !out.status.ok() && IsInputFault(out.status);
  return out;
}

}  // namespace flyp::train
