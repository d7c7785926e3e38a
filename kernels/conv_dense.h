// Dense direct convolution: forward, backward by input and backward by weights.
//
// Tensors are channel-blocked (kernels/layout.h): activations and their gradients nChw16c,
// forward weights and the weight gradient OIhw16i16o, and backward-by-input takes the weights
// transposed (IOhw16o16i). Channel padding must hold zeros on input and is written as zeros.
// Work is spread over `pool` (null: the calling thread only). Each pass takes a workspace of at
// least ConvWorkspaceFloatsDense(pass, shape, ThreadCount(pool)) floats (kernels/workspace.h).
#ifndef SPARSETRAIN_KERNELS_CONV_DENSE_H_
#define SPARSETRAIN_KERNELS_CONV_DENSE_H_

#include <pthreadpool.h>

#include "kernels/base/status.h"
#include "kernels/conv_shape.h"
#include "kernels/workspace.h"

namespace sparsetrain {

// Floats of workspace `pass` needs for `shape` on a pool of `threads` threads, on the active ISA.
int64_t ConvWorkspaceFloatsDense(Pass pass, const ConvShape& shape, int64_t threads);

// y = conv(x, w) + bias; `bias` has shape.k floats, or is null for none.
Status ConvForwardDense(const ConvShape& shape, const float* x, const float* w, const float* bias,
                        float* y, Workspace workspace, pthreadpool_t pool);

// dx = conv_transpose(dy, w); `w_transposed` is the forward weights in IOhw16o16i.
Status ConvBackwardDataDense(const ConvShape& shape, const float* dy, const float* w_transposed,
                             float* dx, Workspace workspace, pthreadpool_t pool);

// dw = sum over the batch of dy (x) x; `dbias` (shape.k floats, or null) = sum of dy per channel.
Status ConvBackwardWeightsDense(const ConvShape& shape, const float* x, const float* dy, float* dw,
                                float* dbias, Workspace workspace, pthreadpool_t pool);

// dbias[k] = sum of dy (nChw16c) over the batch and pixels, for k < shape.k. Shapes are trusted.
void ConvBiasGradient(const ConvShape& shape, const float* dy, float* dbias, pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_CONV_DENSE_H_
