#include "worker/train/eval_metrics.h"

namespace flyp::train {

torch::Tensor ConfusionMatrix(const torch::Tensor& labels, const torch::Tensor& predictions,
                              int64_t num_classes) {
  auto flat = labels.to(torch::kInt64) * num_classes + predictions.to(torch::kInt64);
  return torch::bincount(flat.cpu(), {}, num_classes * num_classes).view({num_classes, num_classes});
}

double Accuracy(const torch::Tensor& confusion) {
  double total = confusion.sum().item<double>();
  return total > 0 ? confusion.diagonal().sum().item<double>() / total : 0.0;
}

double MacroF1(const torch::Tensor& confusion) {
  auto c = confusion.to(torch::kFloat64);
  auto tp = c.diagonal();
  auto actual = c.sum(1);
  auto predicted = c.sum(0);
  double sum = 0;
  int n = 0;
  for (int64_t k = 0; k < c.size(0); ++k) {
    double a = actual[k].item<double>(), p = predicted[k].item<double>(), t = tp[k].item<double>();
    if (a == 0 && p == 0) continue;
    ++n;
    if (t > 0) sum += 2 * t / (a + p);  // = 2PR/(P+R)
  }
  return n ? sum / n : 0.0;
}

}  // namespace flyp::train
