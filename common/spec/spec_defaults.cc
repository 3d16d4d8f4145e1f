#include "common/spec/spec_defaults.h"

#include "common/env.h"

namespace flyp {
namespace {

// Sets `field` to `value` only when the optional field is unset.
#define FLYP_DEFAULT(msg, field, value)                   \
  do {                                                    \
    if (!(msg)->has_##field()) (msg)->set_##field(value); \
  } while (0)

bool IsFinetune(v1::Method m) {
  return m == v1::METHOD_LP || m == v1::METHOD_FT || m == v1::METHOD_L2SP || m == v1::METHOD_LPFT ||
         m == v1::METHOD_FLYP;
}

void DataSourceDefaults(v1::DataSource* d, const char* default_split) {
  if (d->format() == v1::DATA_FORMAT_FASHION_MNIST) {
    FLYP_DEFAULT(d, path, EnvString(env::kFashionMnistDir));
    FLYP_DEFAULT(d, split, default_split);
  }
  FLYP_DEFAULT(d, offset, 0);
  FLYP_DEFAULT(d, limit, 0);
  FLYP_DEFAULT(d, k_shot, 0);
  FLYP_DEFAULT(d, seed, 0);
  for (auto& s : *d->mutable_shifts()) FLYP_DEFAULT(&s, severity, 1.0f);
}

}  // namespace

std::vector<float> DefaultWiseFtAlphas() {
  std::vector<float> a;
  for (int i = 0; i <= 10; ++i) a.push_back(static_cast<float>(i) / 10.0f);
  return a;
}

void ApplyJobSpecDefaults(v1::JobSpec* spec) {
  FLYP_DEFAULT(spec, name, "flyp-job");
  FLYP_DEFAULT(spec, priority, 0);

  // method first: other defaults depend on it.
  auto* m = spec->mutable_method();
  FLYP_DEFAULT(m, name, v1::METHOD_FLYP);
  const v1::Method method = m->name();
  const bool contrastive = method == v1::METHOD_FLYP || method == v1::METHOD_PRETRAIN;
  const bool trains_image = method != v1::METHOD_ZEROSHOT && method != v1::METHOD_LP;
  FLYP_DEFAULT(m, local_loss, false);
  FLYP_DEFAULT(m, mask_same_class, false);
  FLYP_DEFAULT(m, train_image_tower, trains_image);
  FLYP_DEFAULT(m, train_text_tower, contrastive);
  FLYP_DEFAULT(m, train_logit_scale, contrastive);
  FLYP_DEFAULT(m, l2sp_weight, method == v1::METHOD_L2SP ? 0.1f : 0.0f);
  if (m->lp_l2_grid_size() == 0 && (method == v1::METHOD_LP || method == v1::METHOD_LPFT)) {
    for (float l2 : {0.0f, 1e-4f, 1e-3f, 1e-2f, 1e-1f}) m->add_lp_l2_grid(l2);
  }
  FLYP_DEFAULT(m, lp_steps, 200);
  FLYP_DEFAULT(m, lp_learning_rate, 1e-3f);
  FLYP_DEFAULT(m, label_smoothing, 0.0f);
  FLYP_DEFAULT(m, macro_f1, false);

  auto* model = spec->mutable_model();
  FLYP_DEFAULT(model, preset, "ViT-B-16");
  FLYP_DEFAULT(model, checkpoint, "");
  FLYP_DEFAULT(model, vocab, "");
  FLYP_DEFAULT(model, dtype, v1::DTYPE_FLOAT32);

  auto* data = spec->mutable_data();
  // Only sources the user configured; an absent source stays absent.
  if (data->has_train()) DataSourceDefaults(data->mutable_train(), "train");
  if (data->has_id_val()) DataSourceDefaults(data->mutable_id_val(), "train");
  if (data->has_id_test()) DataSourceDefaults(data->mutable_id_test(), "test");
  for (auto& d : *data->mutable_ood()) DataSourceDefaults(&d, "test");
  FLYP_DEFAULT(data->mutable_templates(), builtin, "simple");
  FLYP_DEFAULT(data, loader_threads, 0);
  FLYP_DEFAULT(data, prefetch_batches, 4);
  FLYP_DEFAULT(data, crop_scale_min, 0.9f);
  FLYP_DEFAULT(data, crop_scale_max, 1.0f);

  // FLYP's ImageNet hyperparameters (Goyal et al. 2023, §5): AdamW, lr 1e-5,
  // wd 0.1, batch 512, 10 epochs, 500 warmup steps, cosine decay.
  auto* o = spec->mutable_optim();
  FLYP_DEFAULT(o, name, v1::OPTIMIZER_ADAMW);
  FLYP_DEFAULT(o, learning_rate, 1e-5);
  FLYP_DEFAULT(o, weight_decay, 0.1);
  FLYP_DEFAULT(o, beta1, 0.9);
  FLYP_DEFAULT(o, beta2, 0.999);
  FLYP_DEFAULT(o, eps, 1e-8);
  FLYP_DEFAULT(o, momentum, 0.9);
  FLYP_DEFAULT(o, exclude_bias_norm_from_decay, true);
  // The cross-entropy baselines clip gradients at 1.0 as the paper does.
  const bool ce = method == v1::METHOD_FT || method == v1::METHOD_L2SP || method == v1::METHOD_LPFT;
  FLYP_DEFAULT(o, grad_clip_norm, ce ? 1.0 : 0.0);
  FLYP_DEFAULT(o, accum_steps, 1);

  auto* s = spec->mutable_schedule();
  FLYP_DEFAULT(s, epochs, 10);
  FLYP_DEFAULT(s, max_steps, 0);
  FLYP_DEFAULT(s, warmup_steps, 500);
  FLYP_DEFAULT(s, batch_size, 512);
  FLYP_DEFAULT(s, lr_schedule, v1::LR_SCHEDULE_COSINE);
  FLYP_DEFAULT(s, eval_every_epochs, 1);
  FLYP_DEFAULT(s, seed, 0);
  FLYP_DEFAULT(s, log_every_steps, 10);

  auto* r = spec->mutable_resources();
  FLYP_DEFAULT(r, world_size, 1);
  FLYP_DEFAULT(r, device, v1::DEVICE_CPU);
  FLYP_DEFAULT(r, slots_per_rank, 1);
  FLYP_DEFAULT(r, threads_per_rank, 0);
  FLYP_DEFAULT(r, precision, r->device() == v1::DEVICE_CUDA ? v1::PRECISION_BFLOAT16 : v1::PRECISION_FLOAT32);
  FLYP_DEFAULT(r, bucket_mib, 25);
  FLYP_DEFAULT(r, activation_checkpointing, false);
  FLYP_DEFAULT(r, ranks_per_host, 0);

  auto* p = spec->mutable_run_policy();
  FLYP_DEFAULT(p, backoff_limit, 3);
  if (!p->has_active_deadline()) p->mutable_active_deadline()->set_seconds(0);
  FLYP_DEFAULT(p, checkpoint_every, 500);
  if (!p->has_collective_timeout()) p->mutable_collective_timeout()->set_seconds(300);

  auto* w = spec->mutable_wise_ft();
  FLYP_DEFAULT(w, enabled, IsFinetune(method));
  if (w->alphas_size() == 0) {
    for (float a : DefaultWiseFtAlphas()) w->add_alphas(a);
  }

  auto* out = spec->mutable_output();
  FLYP_DEFAULT(out, dir, "runs/" + spec->name());
  FLYP_DEFAULT(out, save_final, true);
}

#undef FLYP_DEFAULT

}  // namespace flyp
