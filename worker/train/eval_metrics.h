// Classification metrics from a confusion matrix. The matrix is the unit of
// distributed evaluation: ranks add theirs with one all-reduce.
#pragma once

#include <torch/torch.h>

namespace flyp::train {

// confusion[true][pred] += 1 for each pair; int64 [C, C].
torch::Tensor ConfusionMatrix(const torch::Tensor& labels, const torch::Tensor& predictions,
                              int64_t num_classes);

// Top-1 accuracy in [0,1]: trace / total (0 for an empty matrix).
double Accuracy(const torch::Tensor& confusion);

// Macro-F1 in [0,1]: the mean over classes of 2·P·R/(P+R), where a class
// with no true and no predicted examples is left out and one with either but
// no true positives scores 0 (sklearn's convention for classes present).
double MacroF1(const torch::Tensor& confusion);

}  // namespace flyp::train
