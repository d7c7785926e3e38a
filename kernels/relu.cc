#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/relu.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <atomic>

#include "kernels/isa.h"
#include "kernels/parallel.h"
#include "kernels/relu.h"

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int64_t kChunk = 16384;  // floats per work item: big enough to amortise scheduling

// Applies op(i, count) -> zeros written to chunks of [0, count), summing the zero counts.
template <class Op>
int64_t ForEachChunk(int64_t count, pthreadpool_t pool, const Op& op) {
  std::atomic<int64_t> zeros{0};
  ParallelFor(pool, size_t((count + kChunk - 1) / kChunk), [&](size_t chunk) HWY_ATTR {
    const int64_t begin = int64_t(chunk) * kChunk;
    zeros.fetch_add(op(begin, std::min(kChunk, count - begin)), std::memory_order_relaxed);
  });
  return zeros.load();
}

int64_t ReluForwardImpl(const float* x, float* y, int64_t count, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  return ForEachChunk(count, pool, [&](int64_t begin, int64_t n) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t lanes = int64_t(hn::Lanes(d));
    const auto zero = hn::Zero(d);
    int64_t zeros = 0, i = begin;
    for (; i + lanes <= begin + n; i += lanes) {
      const auto v = hn::Max(hn::LoadU(d, x + i), zero);
      hn::StoreU(v, d, y + i);
      zeros += int64_t(hn::CountTrue(d, hn::Eq(v, zero)));
    }
    for (; i < begin + n; ++i) {
      y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      zeros += y[i] == 0.0f;
    }
    return zeros;
  });
}

int64_t ReluBackwardImpl(const float* dy, const float* y, float* dx, int64_t count,
                         pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  return ForEachChunk(count, pool, [&](int64_t begin, int64_t n) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t lanes = int64_t(hn::Lanes(d));
    const auto zero = hn::Zero(d);
    int64_t zeros = 0, i = begin;
    for (; i + lanes <= begin + n; i += lanes) {
      const auto g = hn::IfThenElseZero(hn::Gt(hn::LoadU(d, y + i), zero), hn::LoadU(d, dy + i));
      hn::StoreU(g, d, dx + i);
      zeros += int64_t(hn::CountTrue(d, hn::Eq(g, zero)));
    }
    for (; i < begin + n; ++i) {
      dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      zeros += dx[i] == 0.0f;
    }
    return zeros;
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(ReluForwardImpl);
HWY_EXPORT(ReluBackwardImpl);

int64_t ReluForward(const float* x, float* y, int64_t count, pthreadpool_t pool) {
  return HWY_DYNAMIC_DISPATCH(ReluForwardImpl)(x, y, count, pool);
}

int64_t ReluBackward(const float* dy, const float* y, float* dx, int64_t count,
                     pthreadpool_t pool) {
  return HWY_DYNAMIC_DISPATCH(ReluBackwardImpl)(dy, y, dx, count, pool);
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
