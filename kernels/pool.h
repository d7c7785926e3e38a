// Pooling over channel-blocked activations (nChw16c): max pooling with any square window,
// stride and padding (PyTorch's MaxPool2d, floor mode), and global average pooling.
// Work is spread over `pool` (null: the calling thread only).
#ifndef SPARSETRAIN_KERNELS_POOL_H_
#define SPARSETRAIN_KERNELS_POOL_H_

#include <pthreadpool.h>

#include <cstdint>

#include "kernels/base/status.h"
#include "kernels/layout.h"

namespace sparsetrain {

struct PoolShape {
  Dims input;  // (N, C, H, W)
  int64_t window = 2, stride = 2, pad = 0;
  // Also apply a ReLU before pooling: relu(max) = max(relu), so y = max(0, window max), at the
  // cost of max pooling alone. Windows with no positive value get argmax -1 (no gradient).
  bool relu = false;

  int64_t p() const { return (input.h + 2 * pad - window) / stride + 1; }
  int64_t q() const { return (input.w + 2 * pad - window) / stride + 1; }
  Dims output() const { return {input.n, input.c, p(), q()}; }
};

// OK if sizes are positive, the window fits the padded input and pad <= window / 2 (as PyTorch).
Status Validate(const PoolShape& shape);

// y = max over each window (padding never wins). `argmax` receives, per element of y's storage,
// the position r * window + s of the maximum in its window (the first on ties; -1 for a fused
// ReLU's zero), for the backward pass. Returns how many elements of y are zero. Shapes are trusted
// (Validate first).
int64_t MaxPoolForward(const PoolShape& shape, const float* x, float* y, int32_t* argmax,
                       pthreadpool_t pool);

// dx = dy routed to the maximum of each window (summed where windows overlap). Returns how many
// elements of dx are zero.
int64_t MaxPoolBackward(const PoolShape& shape, const float* dy, const int32_t* argmax, float* dx,
                        pthreadpool_t pool);

// y[n][c] = mean of x over the pixels of channel c; x is nChw16c of `dims`, y is N x C (NCHW with
// 1x1 pixels).
void GlobalAvgPoolForward(Dims dims, const float* x, float* y, pthreadpool_t pool);

// dx[n][c][h][w] = dy[n][c] / (H * W), channel padding zero.
void GlobalAvgPoolBackward(Dims dims, const float* dy, float* dx, pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_POOL_H_
