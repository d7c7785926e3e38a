// Optimiser updates over flat parameter arrays, with PyTorch's formulas (torch.optim.SGD, Adam,
// AdamW in 1.13), so a model trained here and one trained in PyTorch follow the same path.
// Work is spread over `pool` (null: the calling thread only).
#ifndef SPARSETRAIN_KERNELS_OPTIMIZER_UPDATE_H_
#define SPARSETRAIN_KERNELS_OPTIMIZER_UPDATE_H_

#include <pthreadpool.h>

#include <cstdint>

namespace sparsetrain {

struct SgdStep {
  float lr = 0.01f, momentum = 0.0f, weight_decay = 0.0f;
  bool nesterov = false;
};

// g = grad + weight_decay * param; velocity = momentum * velocity + g (a velocity starting at
// zero makes the first step's velocity g, as PyTorch's);
// param -= lr * (nesterov ? g + momentum * velocity : velocity). With momentum 0 the velocity is
// not used and may be null.
void SgdUpdate(float* param, const float* grad, float* velocity, int64_t count, const SgdStep& step,
               pthreadpool_t pool);

struct AdamStep {
  float lr = 0.001f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
  bool decoupled = false;  // AdamW: decay the parameter directly instead of adding to the gradient
  int64_t step = 1;        // 1 on the first update, for the bias corrections
};

// Adam / AdamW on param with moment estimates m and v.
void AdamUpdate(float* param, const float* grad, float* m, float* v, int64_t count,
                const AdamStep& step, pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_OPTIMIZER_UPDATE_H_
