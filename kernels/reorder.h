// Reorders between the layouts of kernels/layout.h (Highway kernels, dispatched at run time).
#ifndef SPARSETRAIN_KERNELS_REORDER_H_
#define SPARSETRAIN_KERNELS_REORDER_H_

#include <pthreadpool.h>

#include "kernels/base/status.h"
#include "kernels/layout.h"

namespace sparsetrain {

// Writes the tensor of logical shape `dims` held in `src` (layout `from`) to `dst` (layout `to`),
// writing zeros into channel padding. Activation layouts (kNCHW, kNChw16c) convert among
// themselves; weight layouts (kNCHW as (K,C,R,S), kOIhw16i16o, kIOhw16o16i) among themselves.
// `src` and `dst` hold StorageFloats(dims, from / to) floats and must not overlap. Work is
// spread over `pool` (null: the calling thread only).
Status Reorder(const float* src, Layout from, float* dst, Layout to, Dims dims,
               pthreadpool_t pool = nullptr);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_REORDER_H_
