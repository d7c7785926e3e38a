// Size limits shared by every layer: what a tensor, a file's tensor or a convolution may hold.
#ifndef SPARSETRAIN_KERNELS_BASE_LIMITS_H_
#define SPARSETRAIN_KERNELS_BASE_LIMITS_H_

#include <cstdint>

namespace sparsetrain {

// Elements of any one tensor, channel padding included. 2^40 floats (4 TiB) is far beyond any
// real tensor, and products of a few such sizes still fit in int64_t and double exactly.
constexpr int64_t kMaxTensorElements = int64_t{1} << 40;

// Threads of one pool (a context's, or any the kernels are given).
constexpr int kMaxThreads = 1024;

// Whether a product of sizes, computed in double so that it cannot overflow, is within the limit.
inline bool WithinTensorLimit(double elements) { return elements <= double(kMaxTensorElements); }

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_BASE_LIMITS_H_
