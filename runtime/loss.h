// Softmax cross-entropy, the training loss of classifiers (PyTorch's CrossEntropyLoss, mean over
// the batch).
#ifndef SPARSETRAIN_RUNTIME_LOSS_H_
#define SPARSETRAIN_RUNTIME_LOSS_H_

#include <cstdint>

#include "kernels/base/status.h"

namespace sparsetrain {

// logits: rows x classes, row-major; labels: rows class indices. Writes the mean loss, the number
// of rows whose largest logit is the label's, and (if dlogits is not null) the gradient of the
// mean loss, (softmax - one_hot) / rows. A label outside [0, classes) is kInvalidArgument.
Status SoftmaxCrossEntropy(const float* logits, const int32_t* labels, int64_t rows,
                           int64_t classes, double* loss, int64_t* correct, float* dlogits);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_LOSS_H_
