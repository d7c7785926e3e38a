// Depthwise convolution: every channel convolved with its own filter (groups = input channels =
// output channels, as in MobileNet). Activations are nChw16c; the weights, PyTorch's (C, 1, R, S),
// are held as the nChw16c tensor (1, C, R, S) - per channel block, per tap, 16 channels - so each
// tap of a block is one 16-lane vector. The bias has C floats padded to whole blocks with zeros.
// Work is spread over `pool` (null: the calling thread only).
#ifndef SPARSETRAIN_KERNELS_CONV_DEPTHWISE_H_
#define SPARSETRAIN_KERNELS_CONV_DEPTHWISE_H_

#include <pthreadpool.h>

#include "kernels/base/status.h"
#include "kernels/conv_shape.h"

namespace sparsetrain {

// kInvalidArgument unless `shape` is valid and depthwise (k == c).
Status ValidateDepthwise(const ConvShape& shape);

// y = depthwise(x, w) + bias (bias may be null).
Status DepthwiseForward(const ConvShape& shape, const float* x, const float* w, const float* bias,
                        float* y, pthreadpool_t pool);
// dx from dy (overwritten).
Status DepthwiseBackwardData(const ConvShape& shape, const float* dy, const float* w, float* dx,
                             pthreadpool_t pool);
// dw (and dbias when not null) from x and dy, overwritten.
Status DepthwiseBackwardWeights(const ConvShape& shape, const float* x, const float* dy, float* dw,
                                float* dbias, pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_CONV_DEPTHWISE_H_
