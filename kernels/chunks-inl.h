// Per-target loops over flat float arrays, split into chunks across the caller's thread pool.
// Include after hwy/highway.h, inside no namespace.

#if defined(SPARSETRAIN_KERNELS_CHUNKS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SPARSETRAIN_KERNELS_CHUNKS_INL_H_
#undef SPARSETRAIN_KERNELS_CHUNKS_INL_H_
#else
#define SPARSETRAIN_KERNELS_CHUNKS_INL_H_
#endif

#include <hwy/highway.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cstdint>

#include "kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int64_t kChunk = 16384;  // floats per work item: big enough to amortise scheduling

// Calls body(d, begin, end) on chunks of [0, count) spread over `pool`.
template <class Body>
void ForEachChunk(int64_t count, pthreadpool_t pool, const Body& body) {
  ParallelFor(pool, size_t((count + kChunk - 1) / kChunk), [&](size_t chunk) HWY_ATTR {
    const hn::ScalableTag<float> d;
    body(d, int64_t(chunk) * kChunk, std::min(count, int64_t(chunk + 1) * kChunk));
  });
}

// Calls update(d, i) for every whole vector of [0, count) and update(one-lane tag, i) for the
// elements left over.
template <class Update>
void ForEachElement(int64_t count, pthreadpool_t pool, const Update& update) {
  ForEachChunk(count, pool, [&](auto d, int64_t i, int64_t end) HWY_ATTR {
    const hn::CappedTag<float, 1> d1;
    for (; i + int64_t(hn::Lanes(d)) <= end; i += int64_t(hn::Lanes(d))) update(d, i);
    for (; i < end; ++i) update(d1, i);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#endif  // SPARSETRAIN_KERNELS_CHUNKS_INL_H_
