// Fully connected layer kernels: x is (rows, in), weights (out, in) as in PyTorch, y (rows, out),
// all row-major. Work is spread over `pool` (null: the calling thread only).
#ifndef SPARSETRAIN_KERNELS_LINEAR_H_
#define SPARSETRAIN_KERNELS_LINEAR_H_

#include <pthreadpool.h>

#include <cstdint>

namespace sparsetrain {

struct LinearShape {
  int64_t rows = 1, in = 1, out = 1;
};

// y = x w^T + bias (bias: `out` floats, or null).
void LinearForward(LinearShape shape, const float* x, const float* w, const float* bias, float* y,
                   pthreadpool_t pool);

// dx = dy w.
void LinearBackwardData(LinearShape shape, const float* dy, const float* w, float* dx,
                        pthreadpool_t pool);

// dw = dy^T x; dbias (or null) = column sums of dy.
void LinearBackwardWeights(LinearShape shape, const float* x, const float* dy, float* dw,
                           float* dbias, pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_LINEAR_H_
