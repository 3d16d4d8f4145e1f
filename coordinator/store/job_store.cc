#include "coordinator/store/job_store.h"

namespace flyp::coord {

std::string OwnerScopedKey(const std::string& owner, const std::string& key) {
  return key.empty() ? "" : std::to_string(owner.size()) + ":" + owner + ":" + key;
}

v1::ProgressPoint MergeProgress(const v1::ProgressPoint& latest, const v1::ProgressPoint& next) {
  v1::ProgressPoint out = latest;
  if (next.step() > 0) {  // a training step: its numbers, and the job is training
    out.set_step(next.step());
    out.set_total_steps(next.total_steps());
    out.set_epoch(next.epoch());
    out.set_loss(next.loss());
    out.set_learning_rate(next.learning_rate());
    out.set_logit_scale(next.logit_scale());
    out.set_samples_per_second(next.samples_per_second());
    out.set_eta_seconds(next.eta_seconds());
    out.set_stage(v1::STAGE_TRAINING);
    out.clear_eval_stage();
    out.clear_eval_split();
    out.clear_wise_ft_index();
    out.clear_wise_ft_count();
    out.clear_wise_ft_alpha();
  }
  for (const auto& [split, accuracy] : next.eval_accuracy()) (*out.mutable_eval_accuracy())[split] = accuracy;
  if (next.stage() != v1::STAGE_UNSPECIFIED) {
    out.set_stage(next.stage());
    out.set_eval_stage(next.eval_stage());
    out.set_eval_split(next.eval_split());
    out.set_wise_ft_index(next.wise_ft_index());
    out.set_wise_ft_count(next.wise_ft_count());
    out.set_wise_ft_alpha(next.wise_ft_alpha());
  }
  if (next.has_result()) *out.mutable_result() = next.result();
  if (next.has_time()) *out.mutable_time() = next.time();
  return out;
}

}  // namespace flyp::coord
