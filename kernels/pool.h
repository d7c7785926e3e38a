// Pooling over channel-blocked activations (nChw16c): max and average pooling with any square
// window, stride and padding, in floor or ceil mode (PyTorch's MaxPool2d and AvgPool2d), and
// global average pooling.
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
  // Ceil mode: a last, partial window where floor mode would leave input unread (PyTorch's rule:
  // it must start inside the input or its left padding).
  bool ceil_mode = false;
  // Average pooling's divisor: the window's size within the padded input (PyTorch's default),
  // or, when false, the input pixels it covers.
  bool count_include_pad = true;

  int64_t p() const { return OutputSize(input.h); }
  int64_t q() const { return OutputSize(input.w); }
  Dims output() const { return {input.n, input.c, p(), q()}; }
  int64_t OutputSize(int64_t size) const {
    const int64_t span = size + 2 * pad - window;
    int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= size + pad) --out;
    return out;
  }
};

// OK if sizes are positive, the window fits the padded input and pad <= window / 2 (as PyTorch).
Status Validate(const PoolShape& shape);

// y = the mean of each window, divided as count_include_pad says. Shapes are trusted.
void AvgPoolForward(const PoolShape& shape, const float* x, float* y, pthreadpool_t pool);

// dx = each window's dy shared out over the pixels it averaged (summed where windows overlap).
void AvgPoolBackward(const PoolShape& shape, const float* dy, float* dx, pthreadpool_t pool);

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
