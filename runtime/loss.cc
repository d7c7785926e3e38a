#include "runtime/loss.h"

#include <cmath>
#include <string>

namespace sparsetrain {

Status SoftmaxCrossEntropy(const float* logits, const int32_t* labels, int64_t rows,
                           int64_t classes, double* loss, int64_t* correct, float* dlogits) {
  for (int64_t r = 0; r < rows; ++r) {
    if (labels[r] < 0 || labels[r] >= classes) {
      return InvalidArgument("label " + std::to_string(labels[r]) + " of example " +
                             std::to_string(r) + " is outside [0, " + std::to_string(classes) +
                             ")");
    }
  }
  double total = 0.0;
  int64_t right = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* z = logits + r * classes;
    int64_t best = 0;
    for (int64_t k = 1; k < classes; ++k) best = z[k] > z[best] ? k : best;
    right += best == labels[r];
    // log-sum-exp shifted by the maximum, in double.
    double sum = 0.0;
    for (int64_t k = 0; k < classes; ++k) sum += std::exp(double(z[k]) - z[best]);
    total += std::log(sum) + z[best] - z[labels[r]];
    if (dlogits != nullptr) {
      for (int64_t k = 0; k < classes; ++k) {
        const double p = std::exp(double(z[k]) - z[best]) / sum;
        dlogits[r * classes + k] = float((p - (k == labels[r] ? 1.0 : 0.0)) / double(rows));
      }
    }
  }
  *loss = total / double(rows);
  *correct = right;
  return Status::Ok();
}

}  // namespace sparsetrain
