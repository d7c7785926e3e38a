// Training losses over a model's flat outputs (rows x columns), averaged as PyTorch's losses are
// with reduction "mean": softmax cross-entropy of class labels (optional label smoothing and class
// weights: CrossEntropyLoss), and, of float targets of the outputs' shape, mean squared error
// (MSELoss), L1 (L1Loss) and binary cross-entropy of logits (BCEWithLogitsLoss).
#ifndef SPARSETRAIN_RUNTIME_LOSS_H_
#define SPARSETRAIN_RUNTIME_LOSS_H_

#include <cstdint>
#include <vector>

#include "kernels/base/status.h"

namespace sparsetrain {

enum class LossKind { kSoftmaxCrossEntropy, kMeanSquaredError, kL1, kBinaryCrossEntropyWithLogits };

const char* LossKindName(LossKind kind);  // "softmax_cross_entropy", "mse", "l1", "bce_with_logits"

struct LossConfig {
  LossKind kind = LossKind::kSoftmaxCrossEntropy;
  double label_smoothing = 0.0;      // cross-entropy: in [0, 1]
  std::vector<float> class_weights;  // cross-entropy: one per class, >= 0; empty: all 1
};

// Whether the loss takes class labels (cross-entropy) rather than float targets.
inline bool TakesLabels(LossKind kind) { return kind == LossKind::kSoftmaxCrossEntropy; }

// kInvalidArgument naming the field out of range for a model of `columns` outputs.
Status Validate(const LossConfig& config, int64_t columns);

// The loss of `outputs` (rows x columns, row-major) against `labels` (rows class indices, for
// cross-entropy) or `targets` (rows x columns, for the others), and, when `doutputs` is not null,
// its gradient. `correct` counts the rows whose largest output is their label (cross-entropy;
// 0 otherwise). A label outside [0, columns), or class weights that sum to zero over the batch's
// labels, is kInvalidArgument and nothing is written.
Status ComputeLoss(const LossConfig& config, const float* outputs, const int32_t* labels,
                   const float* targets, int64_t rows, int64_t columns, double* loss,
                   int64_t* correct, float* doutputs);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_LOSS_H_
