#include "runtime/loss.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sparsetrain {
namespace {

// Cross-entropy with label smoothing e over K classes and class weights w (PyTorch 1.13):
//   loss = [(1 - e) sum_i w[y_i] (-log p_i,y_i) + (e / K) sum_i sum_k w[k] (-log p_ik)] / W,
// W = sum_i w[y_i], and its gradient
//   dz_ij = [(1 - e) w[y_i] (p_ij - [j = y_i]) + (e / K) (sum_k w[k] p_ij - w[j])] / W.
Status CrossEntropy(const LossConfig& config, const float* logits, const int32_t* labels,
                    int64_t rows, int64_t classes, double* loss, int64_t* correct, float* dlogits) {
  const std::vector<float>& w = config.class_weights;
  const auto weight = [&](int64_t k) { return w.empty() ? 1.0 : double(w[size_t(k)]); };
  double total_weight = 0.0, weight_sum = 0.0;
  for (int64_t k = 0; k < classes; ++k) weight_sum += weight(k);
  for (int64_t r = 0; r < rows; ++r) {
    if (labels[r] < 0 || labels[r] >= classes) {
      return InvalidArgument("label " + std::to_string(labels[r]) + " of example " +
                             std::to_string(r) + " is outside [0, " + std::to_string(classes) +
                             ")");
    }
    total_weight += weight(labels[r]);
  }
  if (!(total_weight > 0.0)) {
    return InvalidArgument("the class weights of the batch's labels sum to zero");
  }
  const double e = config.label_smoothing, smooth = e / double(classes);
  double total = 0.0;
  int64_t right = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* z = logits + r * classes;
    const int64_t y = labels[r];
    int64_t best = 0;
    for (int64_t k = 1; k < classes; ++k) best = z[k] > z[best] ? k : best;
    right += best == y;
    // log-sum-exp shifted by the maximum, in double.
    double sum = 0.0;
    for (int64_t k = 0; k < classes; ++k) sum += std::exp(double(z[k]) - z[best]);
    const double log_sum = std::log(sum) + z[best];
    double smoothed = 0.0;
    if (e > 0.0) {
      for (int64_t k = 0; k < classes; ++k) smoothed += weight(k) * (log_sum - z[k]);
    }
    total += (1.0 - e) * weight(y) * (log_sum - z[y]) + smooth * smoothed;
    if (dlogits != nullptr) {
      for (int64_t k = 0; k < classes; ++k) {
        const double p = std::exp(double(z[k]) - log_sum);
        const double g = (1.0 - e) * weight(y) * (p - (k == y ? 1.0 : 0.0)) +
                         smooth * (weight_sum * p - weight(k));
        dlogits[r * classes + k] = float(g / total_weight);
      }
    }
  }
  *loss = total / total_weight;
  *correct = right;
  return Status::Ok();
}

}  // namespace

const char* LossKindName(LossKind kind) {
  switch (kind) {
    case LossKind::kSoftmaxCrossEntropy:
      return "softmax_cross_entropy";
    case LossKind::kMeanSquaredError:
      return "mse";
    case LossKind::kL1:
      return "l1";
    case LossKind::kBinaryCrossEntropyWithLogits:
      return "bce_with_logits";
  }
  return "unknown";
}

Status Validate(const LossConfig& config, int64_t columns) {
  if (!(config.label_smoothing >= 0.0 && config.label_smoothing <= 1.0)) {
    return InvalidArgument("loss: label_smoothing must be in [0, 1], got " +
                           std::to_string(config.label_smoothing));
  }
  const bool cross_entropy = config.kind == LossKind::kSoftmaxCrossEntropy;
  if (!cross_entropy && (config.label_smoothing != 0.0 || !config.class_weights.empty())) {
    return InvalidArgument(std::string("loss: label smoothing and class weights are for "
                                       "softmax cross-entropy, not ") +
                           LossKindName(config.kind));
  }
  if (!config.class_weights.empty()) {
    if (int64_t(config.class_weights.size()) != columns) {
      return InvalidArgument("loss: " + std::to_string(config.class_weights.size()) +
                             " class weights for " + std::to_string(columns) + " classes");
    }
    for (float w : config.class_weights) {
      if (!(w >= 0.0f) || !std::isfinite(w)) {
        return InvalidArgument("loss: class weights must be finite and >= 0, got " +
                               std::to_string(w));
      }
    }
  }
  return Status::Ok();
}

Status ComputeLoss(const LossConfig& config, const float* outputs, const int32_t* labels,
                   const float* targets, int64_t rows, int64_t columns, double* loss,
                   int64_t* correct, float* doutputs) {
  if (config.kind == LossKind::kSoftmaxCrossEntropy) {
    return CrossEntropy(config, outputs, labels, rows, columns, loss, correct, doutputs);
  }
  const int64_t count = rows * columns;
  const double scale = 1.0 / double(count);
  double total = 0.0;
  for (int64_t i = 0; i < count; ++i) {
    const double z = outputs[i], t = targets[i];
    double value = 0.0, slope = 0.0;
    switch (config.kind) {
      case LossKind::kMeanSquaredError:
        value = (z - t) * (z - t), slope = 2.0 * (z - t);
        break;
      case LossKind::kL1:
        value = std::fabs(z - t), slope = z > t ? 1.0 : z < t ? -1.0 : 0.0;
        break;
      case LossKind::kBinaryCrossEntropyWithLogits:
        // max(z, 0) - z t + log(1 + exp(-|z|)): no overflow for any z.
        value = std::max(z, 0.0) - z * t + std::log1p(std::exp(-std::fabs(z)));
        slope = 1.0 / (1.0 + std::exp(-z)) - t;
        break;
      case LossKind::kSoftmaxCrossEntropy:
        break;
    }
    total += value;
    if (doutputs != nullptr) doutputs[i] = float(slope * scale);
  }
  *loss = total * scale;
  *correct = 0;
  return Status::Ok();
}

}  // namespace sparsetrain
