// Benchmark data, as benchmarking.md prescribes: values in +-[0.1, 1] (no denormals) with a given
// fraction of exact zeros at uniformly random positions, in 64-byte aligned buffers.
#ifndef SPARSETRAIN_BENCH_BENCH_DATA_H_
#define SPARSETRAIN_BENCH_BENCH_DATA_H_

#include <cstdint>
#include <random>

#include "kernels/aligned.h"
#include "kernels/layout.h"
#include "kernels/reorder.h"

namespace sparsetrain {

inline AlignedFloats RandomTensor(int64_t count, double zeros, std::mt19937& rng) {
  std::uniform_real_distribution<float> magnitude(0.1f, 1.0f);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  AlignedFloats v(count);
  for (float& x : v) {
    const float sign = unit(rng) < 0.5 ? -1.0f : 1.0f;
    x = unit(rng) < zeros ? 0.0f : sign * magnitude(rng);
  }
  return v;
}

// `nchw` (logical shape `dims`) converted to `layout`.
inline AlignedFloats Blocked(const AlignedFloats& nchw, Dims dims, Layout layout) {
  AlignedFloats out(StorageFloats(dims, layout));
  (void)Reorder(nchw.data(), Layout::kNCHW, out.data(), layout, dims);
  return out;
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_BENCH_BENCH_DATA_H_
