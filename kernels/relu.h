// ReLU forward and backward, counting the zeros they write: the sparsity the next convolution
// pass will see, measured where it is produced, for the dense/sparse choice (conv_choice.h).
#ifndef SPARSETRAIN_KERNELS_RELU_H_
#define SPARSETRAIN_KERNELS_RELU_H_

#include <pthreadpool.h>

#include <cstdint>

namespace sparsetrain {

// y = max(x, 0) over `count` floats (y may equal x); returns how many elements of y are zero.
int64_t ReluForward(const float* x, float* y, int64_t count, pthreadpool_t pool);

// dx = dy where y > 0, else 0 (dx may equal dy); returns how many elements of dx are zero.
int64_t ReluBackward(const float* dy, const float* y, float* dx, int64_t count,
                     pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_RELU_H_
