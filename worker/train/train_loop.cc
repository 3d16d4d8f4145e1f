#include "worker/train/train_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/logging.h"
#include "worker/dist/gradient_reducer.h"
#include "worker/optim/fused_adamw.h"
#include "worker/optim/lr_schedule.h"
#include "worker/train/train_state.h"

namespace flyp::train {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

StatusOr<LoopResult> RunTrainLoop(const v1::JobSpec& spec, dist::Communicator& comm, data::Loader& loader,
                                  const LoopConfig& config, const LoopHooks& hooks) {
  const auto& sched = spec.schedule();
  const int64_t per_epoch = loader.num_batches();
  if (per_epoch < 1) {
    return InvalidArgumentError("data.train: too few examples for one batch of " +
                                std::to_string(sched.batch_size()) + " (global)");
  }
  const int64_t epochs = sched.epochs();
  int64_t total = epochs * per_epoch;
  if (sched.max_steps() > 0) total = std::min<int64_t>(total, sched.max_steps());

  auto params = optim::TensorsOf(config.trainable);
  auto optimizer = optim::BuildOptimizer(
      optim::SplitDecayGroups(config.trainable, spec.optim().exclude_bias_norm_from_decay()), spec.optim());
  optim::LrScheduleParams lr{spec.optim().learning_rate(), sched.warmup_steps(), total, sched.lr_schedule()};

  LoopResult result;
  TrainPosition pos{config.stage, 0, 0, 0};
  if (config.resume) {
    FLYP_ASSIGN_OR_RETURN(
        auto found, LoadLatestTrainCheckpoint(config.out_dir, config.stage, config.checkpointed, *optimizer,
                                              ResumeCheck{&spec, config.resume_anyway}));
    if (found) {
      pos = *found;
      result.resumed = true;
      result.resumed_from_step = pos.step;
      FLYP_LOG(INFO) << "resuming " << config.stage << " at step " << pos.step << " (epoch " << pos.epoch + 1
                     << ", batch " << pos.batch << ")";
    }
  }

  std::unique_ptr<dist::GradientReducer> reducer;
  if (comm.world_size() > 1) {
    dist::GradientReducerOptions ro;
    ro.bucket_mib = spec.resources().bucket_mib();
    // Accumulation gives a parameter several gradients per step: all-reduce
    // after the last one instead of from backward hooks.
    ro.overlap_with_backward = spec.optim().accum_steps() <= 1;
    reducer = std::make_unique<dist::GradientReducer>(params, comm, ro);
  }

  const int64_t global_batch = sched.batch_size();
  int64_t grad_bytes = 0;
  if (reducer) {
    for (const auto& p : params) grad_bytes += p.numel() * static_cast<int64_t>(p.element_size());
  }
  const auto start = Clock::now();
  int64_t step = pos.step;
  double ema_rate = 0;
  for (int64_t epoch = pos.epoch; epoch < epochs && step < total; ++epoch) {
    const int64_t first_batch = epoch == pos.epoch ? pos.batch : 0;
    FLYP_RETURN_IF_ERROR(loader.StartEpoch(epoch, first_batch));
    int64_t batch_index = first_batch;
    while (step < total) {
      const auto t_wait = Clock::now();
      FLYP_ASSIGN_OR_RETURN(auto next, loader.Next());
      if (!next) break;
      const auto t0 = Clock::now();
      comm.SetStep(step);
      const double rate = optim::LearningRateAt(lr, step);
      optim::SetLearningRate(*optimizer, rate);
      optim::ClearGradients(params);  // the backward hands its buffers to .grad
      StepLoss loss = hooks.step(*next, step);
      if (!std::isfinite(loss.value)) {
        // Every rank sees the same (all-reduced) loss, so every rank stops here.
        return InvalidArgumentError("the loss is " + std::to_string(loss.value) + " at step " +
                                    std::to_string(step + 1) +
                                    ": training diverged (lower optim.learning_rate, or set "
                                    "optim.grad_clip_norm)");
      }
      const auto t_fwd = Clock::now();
      if (loss.backward.defined()) loss.backward.backward();
      const auto t_bwd = Clock::now();
      if (reducer) reducer->Finish();
      const auto t_red = Clock::now();
      if (spec.optim().grad_clip_norm() > 0) optim::ClipGradNorm(params, spec.optim().grad_clip_norm());
      optimizer->step();
      if (hooks.after_step) hooks.after_step();
      const auto t_end = Clock::now();
      ++step;
      ++batch_index;
      result.final_loss = loss.value;
      const double secs = Seconds(t0, t_end);
      const double inst = secs > 0 ? static_cast<double>(global_batch) / secs : 0;
      ema_rate = ema_rate == 0 ? inst : 0.9 * ema_rate + 0.1 * inst;
      report::StepProgress info;
      info.step = step;
      info.total_steps = total;
      info.epoch = static_cast<int>(epoch + 1);
      info.total_epochs = static_cast<int>(epochs);
      info.loss = loss.value;
      info.learning_rate = rate;
      info.samples_per_second = ema_rate;
      info.logged = step % sched.log_every_steps() == 0 || step == total;
      info.seconds = secs;
      info.times.data = Seconds(t_wait, t0);
      info.times.forward = Seconds(t0, t_fwd);
      info.times.backward = Seconds(t_fwd, t_bwd);
      info.times.allreduce = Seconds(t_bwd, t_red);
      info.times.optimizer = Seconds(t_red, t_end);
      info.samples = next->labels.size(0);
      info.collective_bytes = loss.collective_bytes + grad_bytes;
      info.captions_encoded = loss.captions_encoded;
      info.caption_tokens = loss.caption_tokens;
      result.mean_data += info.times.data;
      result.mean_forward += info.times.forward;
      result.mean_backward += info.times.backward;
      result.mean_allreduce += info.times.allreduce;
      result.mean_optimizer += info.times.optimizer;
      if (hooks.on_step) hooks.on_step(info);
      const bool epoch_done = batch_index >= per_epoch;
      const int64_t every = spec.run_policy().checkpoint_every();
      if (every > 0 && step % every == 0 && step < total) {
        TrainPosition at{config.stage, step, epoch_done ? epoch + 1 : epoch, epoch_done ? 0 : batch_index};
        if (comm.rank() == 0) {
          FLYP_ASSIGN_OR_RETURN(
              std::string folder,
              SaveTrainCheckpoint(config.out_dir, at, config.checkpointed, *optimizer, &spec));
          if (hooks.on_checkpoint) hooks.on_checkpoint(folder);
        }
        comm.Barrier();  // no rank runs ahead of a checkpoint it might resume from
      }
    }
    const bool last = step >= total || epoch + 1 == epochs;
    if (hooks.on_epoch_end) FLYP_RETURN_IF_ERROR(hooks.on_epoch_end(epoch + 1, last));
  }
  result.steps = step;
  result.train_seconds = Seconds(start, Clock::now());
  const int64_t done = step - pos.step;
  if (done > 0) {
    for (double* m : {&result.mean_data, &result.mean_forward, &result.mean_backward, &result.mean_allreduce,
                      &result.mean_optimizer}) {
      *m /= static_cast<double>(done);
    }
    // bench/step_breakdown reads this line.
    char buf[256];
    std::snprintf(
        buf, sizeof(buf),
        "step time breakdown over %lld steps (mean ms/step): data %.2f forward+gather %.2f backward %.2f "
        "allreduce %.2f optimizer %.2f",
        static_cast<long long>(done), 1e3 * result.mean_data, 1e3 * result.mean_forward,
        1e3 * result.mean_backward, 1e3 * result.mean_allreduce, 1e3 * result.mean_optimizer);
    if (comm.rank() == 0) FLYP_LOG(INFO) << buf;
  }
  result.samples_per_second =
      result.train_seconds > 0 ? static_cast<double>(done * global_batch) / result.train_seconds : 0;
  return result;
}

}  // namespace flyp::train
