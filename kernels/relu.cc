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

// out[i] = op(i) for i in [0, count), chunks spread over `pool`; returns how many are zero.
// vector_op(d, i) computes Lanes(d) results from i on, scalar_op(i) one (the tail).
template <class VectorOp, class ScalarOp>
int64_t WriteCountingZeros(float* out, int64_t count, pthreadpool_t pool,
                           const VectorOp& vector_op, const ScalarOp& scalar_op) {
  std::atomic<int64_t> zeros{0};
  ParallelFor(pool, size_t((count + kChunk - 1) / kChunk), [&](size_t chunk) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t lanes = int64_t(hn::Lanes(d));
    const int64_t end = std::min(count, int64_t(chunk + 1) * kChunk);
    int64_t chunk_zeros = 0, i = int64_t(chunk) * kChunk;
    for (; i + lanes <= end; i += lanes) {
      const auto v = vector_op(d, i);
      hn::StoreU(v, d, out + i);
      chunk_zeros += int64_t(hn::CountTrue(d, hn::Eq(v, hn::Zero(d))));
    }
    for (; i < end; ++i) {
      out[i] = scalar_op(i);
      chunk_zeros += out[i] == 0.0f;
    }
    zeros.fetch_add(chunk_zeros, std::memory_order_relaxed);
  });
  return zeros.load();
}

int64_t ReluForwardImpl(const float* x, float* y, int64_t count, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  return WriteCountingZeros(
      y, count, pool,
      [x](auto d, int64_t i) HWY_ATTR { return hn::Max(hn::LoadU(d, x + i), hn::Zero(d)); },
      [x](int64_t i) { return x[i] > 0.0f ? x[i] : 0.0f; });
}

int64_t ReluBackwardImpl(const float* dy, const float* y, float* dx, int64_t count,
                         pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  return WriteCountingZeros(
      dx, count, pool,
      [dy, y](auto d, int64_t i) HWY_ATTR {
        return hn::IfThenElseZero(hn::Gt(hn::LoadU(d, y + i), hn::Zero(d)), hn::LoadU(d, dy + i));
      },
      [dy, y](int64_t i) { return y[i] > 0.0f ? dy[i] : 0.0f; });
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
