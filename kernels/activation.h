// Element-wise activation functions beyond ReLU (elementwise.h), as PyTorch defines them, with
// the zero counts the convolution after them uses for its dense/sparse choice.
#ifndef SPARSETRAIN_KERNELS_ACTIVATION_H_
#define SPARSETRAIN_KERNELS_ACTIVATION_H_

#include <pthreadpool.h>

#include <cstdint>

#include "kernels/base/status.h"
#include "kernels/layout.h"

namespace sparsetrain {

enum class ActivationKind {
  kClip,         // min(max(x, lo), hi): ReLU6 is clip(0, 6); gradient 1 strictly inside (Hardtanh)
  kSigmoid,      // 1 / (1 + exp(-x))
  kHardSigmoid,  // clip(alpha x + beta, 0, 1): PyTorch's is alpha 1/6, beta 1/2; ONNX's default 0.2
  kHardSwish,    // x * relu6(x + 3) / 6
  kSilu,         // x * sigmoid(x)
};

struct ActivationFunction {
  ActivationKind kind = ActivationKind::kClip;
  float lo = 0.0f, hi = 6.0f;              // kClip
  float alpha = 1.0f / 6.0f, beta = 0.5f;  // kHardSigmoid
};

// kInvalidArgument unless lo <= hi (clip) and alpha != 0 (hard sigmoid), all finite.
Status Validate(const ActivationFunction& f);

// The name a layer of `f` reports: "relu6" for clip(0, 6), "clip", "sigmoid", "hardsigmoid",
// "hardswish", "silu".
const char* ActivationName(const ActivationFunction& f);

// y = f(x) over a tensor of `dims` held in `layout` (y may equal x). In nChw16c the channel
// padding of y is written as zeros whatever f(0) is. Returns how many stored elements of y are
// zero (padding included).
int64_t ActivationForward(const ActivationFunction& f, const Dims& dims, Layout layout,
                          const float* x, float* y, pthreadpool_t pool);

// dx = dy * f'(x) over `count` floats (dx may equal dy); returns how many elements of dx are zero.
// Where dy is zero (channel padding) dx is zero. For clip, x may be its output y instead: y is
// strictly inside the bounds exactly where x is.
int64_t ActivationBackward(const ActivationFunction& f, const float* x, const float* dy, float* dx,
                           int64_t count, pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_ACTIVATION_H_
