#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/batch_norm.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>

#include "kernels/batch_norm.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

constexpr int64_t kRun = 256;  // pixels summed in float before adding into the double sums

void ChannelSumsImpl(Dims dims, const float* a, const float* a_center, const float* b,
                     const float* b_center, double* sum_a, double* sum_products,
                     pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t blocks = BlocksOf(dims.c), pixels = dims.h * dims.w;
  ParallelFor(pool, size_t(blocks), [&](size_t cb) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t lanes = int64_t(hn::Lanes(d));
    double block_a[kChannelBlock] = {}, block_products[kChannelBlock] = {};
    HWY_ALIGN float run_a[kChannelBlock], run_products[kChannelBlock];
    for (int64_t lane = 0; lane < kChannelBlock; lane += lanes) {
      const int64_t channel = int64_t(cb) * kChannelBlock + lane;
      const auto ca = hn::LoadU(d, a_center + channel);
      const auto cb_vec = b ? hn::LoadU(d, b_center + channel) : hn::Zero(d);
      for (int64_t n = 0; n < dims.n; ++n) {
        const int64_t plane = ((n * blocks + int64_t(cb)) * pixels) * kChannelBlock + lane;
        for (int64_t begin = 0; begin < pixels; begin += kRun) {
          const int64_t end = std::min(pixels, begin + kRun);
          auto acc_a = hn::Zero(d), acc_products = hn::Zero(d);
          for (int64_t i = begin; i < end; ++i) {
            const auto va = hn::LoadU(d, a + plane + i * kChannelBlock);
            acc_a = hn::Add(acc_a, va);
            if (b) {
              const auto vb = hn::LoadU(d, b + plane + i * kChannelBlock);
              acc_products = hn::MulAdd(hn::Sub(va, ca), hn::Sub(vb, cb_vec), acc_products);
            }
          }
          hn::Store(acc_a, d, run_a + lane);
          hn::Store(acc_products, d, run_products + lane);
          for (int64_t j = lane; j < lane + lanes; ++j) {
            block_a[j] += run_a[j];
            block_products[j] += run_products[j];
          }
        }
      }
    }
    const int64_t first = int64_t(cb) * kChannelBlock;
    const int64_t channels = std::min(kChannelBlock, PaddedChannels(dims.c) - first);
    std::copy(block_a, block_a + channels, sum_a + first);
    if (b) std::copy(block_products, block_products + channels, sum_products + first);
  });
}

void ChannelAffineImpl(Dims dims, const float* a, const float* a_scale, const float* b,
                       const float* b_scale, const float* shift, float* y, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t blocks = BlocksOf(dims.c), pixels = dims.h * dims.w;
  ParallelFor(pool, size_t(dims.n * blocks), [&](size_t plane) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t channel = (int64_t(plane) % blocks) * kChannelBlock;
    const int64_t base = int64_t(plane) * pixels * kChannelBlock;
    for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(hn::Lanes(d))) {
      const auto sa = hn::LoadU(d, a_scale + channel + lane);
      const auto sh = hn::LoadU(d, shift + channel + lane);
      if (b) {
        const auto sb = hn::LoadU(d, b_scale + channel + lane);
        for (int64_t i = base + lane; i < base + pixels * kChannelBlock; i += kChannelBlock) {
          const auto v =
              hn::MulAdd(sa, hn::LoadU(d, a + i), hn::MulAdd(sb, hn::LoadU(d, b + i), sh));
          hn::StoreU(v, d, y + i);
        }
      } else {
        for (int64_t i = base + lane; i < base + pixels * kChannelBlock; i += kChannelBlock) {
          hn::StoreU(hn::MulAdd(sa, hn::LoadU(d, a + i), sh), d, y + i);
        }
      }
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(ChannelSumsImpl);
HWY_EXPORT(ChannelAffineImpl);

void ChannelSums(Dims dims, const float* a, const float* a_center, const float* b,
                 const float* b_center, double* sum_a, double* sum_products, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(ChannelSumsImpl)(dims, a, a_center, b, b_center, sum_a, sum_products, pool);
}

void ChannelAffine(Dims dims, const float* a, const float* a_scale, const float* b,
                   const float* b_scale, const float* shift, float* y, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(ChannelAffineImpl)(dims, a, a_scale, b, b_scale, shift, y, pool);
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
