// Element-wise kernels over flat float arrays (any layout: channel padding holds zeros and stays
// zero through every op here). Work is spread over `pool` (null: the calling thread only).
#ifndef SPARSETRAIN_KERNELS_ELEMENTWISE_H_
#define SPARSETRAIN_KERNELS_ELEMENTWISE_H_

#include <pthreadpool.h>

#include <cstdint>

namespace sparsetrain {

// ReLU, counting the zeros it writes: the sparsity the next convolution pass will see, measured
// where it is produced, for the dense/sparse choice (conv_choice.h).
// y = max(x, 0) over `count` floats (y may equal x); returns how many elements of y are zero.
int64_t ReluForward(const float* x, float* y, int64_t count, pthreadpool_t pool);

// dx = dy where y > 0, else 0 (dx may equal dy); returns how many elements of dx are zero.
int64_t ReluBackward(const float* dy, const float* y, float* dx, int64_t count, pthreadpool_t pool);

// How many of the `count` floats are zero (+0.0 or -0.0).
int64_t CountZeros(const float* x, int64_t count, pthreadpool_t pool);

// y = a + b (y may equal a or b).
void Add(const float* a, const float* b, float* y, int64_t count, pthreadpool_t pool);

// y = a * b (y may equal a or b), and its gradients da = dy * b, db = dy * a (either may be null).
void Multiply(const float* a, const float* b, float* y, int64_t count, pthreadpool_t pool);
void MultiplyBackward(const float* a, const float* b, const float* dy, float* da, float* db,
                      int64_t count, pthreadpool_t pool);

// Inverted dropout: y[i] = x[i] * (1 / (1 - drop)) if element i is kept, else 0 (y may equal x).
// Element i is dropped with probability `drop` in [0, 1), decided by a hash of (seed, i): the
// backward pass applies the same mask to dy by calling this with the same seed. Returns how many
// elements of y are zero.
int64_t Dropout(const float* x, float* y, int64_t count, float drop, uint64_t seed,
                pthreadpool_t pool);

// Sum of x[i]^2: runs of 256 are summed in float, the runs in double.
double SumOfSquares(const float* x, int64_t count, pthreadpool_t pool);

// x *= alpha.
void Scale(float* x, int64_t count, float alpha, pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_ELEMENTWISE_H_
