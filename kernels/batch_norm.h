// Per-channel reductions and affine maps over channel-blocked activations (nChw16c), the
// building blocks of batch normalisation. Per-channel arrays hold PaddedChannels(C) values
// (padding entries zero, so channel padding stays zero). Work is spread over `pool` by channel
// block (null: the calling thread only).
#ifndef SPARSETRAIN_KERNELS_BATCH_NORM_H_
#define SPARSETRAIN_KERNELS_BATCH_NORM_H_

#include <pthreadpool.h>

#include "kernels/layout.h"

namespace sparsetrain {

// Per channel c, over all images and pixels: sum_a[c] = sum of a, and, when b is not null,
// sum_products[c] = sum of (a - a_center[c]) * (b - b_center[c]). Runs of 256 pixels are summed
// in float, the runs in double.
void ChannelSums(Dims dims, const float* a, const float* a_center, const float* b,
                 const float* b_center, double* sum_a, double* sum_products, pthreadpool_t pool);

// y = a_scale[c] * a + b_scale[c] * b + shift[c]; b may be null (then that term is absent).
// y may equal a or b.
void ChannelAffine(Dims dims, const float* a, const float* a_scale, const float* b,
                   const float* b_scale, const float* shift, float* y, pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_BATCH_NORM_H_
