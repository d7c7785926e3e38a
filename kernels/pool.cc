#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/pool.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <string>

#include "kernels/isa.h"
#include "kernels/parallel.h"
#include "kernels/pool.h"

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Calls body(plane) for each (image, channel block) plane of an nChw16c tensor of `dims`.
template <class Body>
void ForEachPlane(Dims dims, pthreadpool_t pool, const Body& body) {
  ParallelFor(pool, size_t(dims.n * BlocksOf(dims.c)), body);
}

// Calls tap(j, pixel) for each window position j = r * window + s of output (p, q) that falls
// inside the input, with the input pixel's index in its plane.
template <class Tap>
HWY_INLINE void ForEachTap(const PoolShape& shape, int64_t p, int64_t q, const Tap& tap) {
  for (int64_t r = 0; r < shape.window; ++r) {
    const int64_t h = p * shape.stride - shape.pad + r;
    if (h < 0 || h >= shape.input.h) continue;
    for (int64_t s = 0; s < shape.window; ++s) {
      const int64_t w = q * shape.stride - shape.pad + s;
      if (w >= 0 && w < shape.input.w) tap(int32_t(r * shape.window + s), h * shape.input.w + w);
    }
  }
}

int64_t MaxPoolForwardImpl(const PoolShape& shape, const float* x, float* y, int32_t* argmax,
                           pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const Dims in = shape.input;
  const int64_t p_count = shape.p(), q_count = shape.q();
  const int64_t in_plane = in.h * in.w * kChannelBlock,
                out_plane = p_count * q_count * kChannelBlock;
  std::atomic<int64_t> zeros{0};
  ForEachPlane(in, pool, [&](size_t plane) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const hn::RebindToSigned<decltype(d)> di;
    const float* x_plane = x + int64_t(plane) * in_plane;
    float* y_plane = y + int64_t(plane) * out_plane;
    int32_t* arg_plane = argmax + int64_t(plane) * out_plane;
    int64_t plane_zeros = 0;
    for (int64_t p = 0; p < p_count; ++p) {
      for (int64_t q = 0; q < q_count; ++q) {
        const int64_t out = (p * q_count + q) * kChannelBlock;
        for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(hn::Lanes(d))) {
          const float floor = shape.relu ? 0.0f : -std::numeric_limits<float>::infinity();
          auto best = hn::Set(d, floor);
          auto best_at = hn::Set(di, shape.relu ? -1 : 0);
          ForEachTap(shape, p, q, [&](int32_t j, int64_t pixel) HWY_ATTR {
            const auto v = hn::LoadU(d, x_plane + pixel * kChannelBlock + lane);
            const auto better = hn::Gt(v, best);
            best = hn::IfThenElse(better, v, best);
            best_at = hn::IfThenElse(hn::RebindMask(di, better), hn::Set(di, j), best_at);
          });
          hn::StoreU(best, d, y_plane + out + lane);
          hn::StoreU(best_at, di, arg_plane + out + lane);
          plane_zeros += int64_t(hn::CountTrue(d, hn::Eq(best, hn::Zero(d))));
        }
      }
    }
    zeros.fetch_add(plane_zeros, std::memory_order_relaxed);
  });
  return zeros.load();
}

int64_t MaxPoolBackwardImpl(const PoolShape& shape, const float* dy, const int32_t* argmax,
                            float* dx, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const Dims in = shape.input;
  const int64_t p_count = shape.p(), q_count = shape.q();
  const int64_t in_plane = in.h * in.w * kChannelBlock,
                out_plane = p_count * q_count * kChannelBlock;
  std::atomic<int64_t> zeros{0};
  ForEachPlane(in, pool, [&](size_t plane) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const hn::RebindToSigned<decltype(d)> di;
    const int64_t lanes = int64_t(hn::Lanes(d));
    float* dx_plane = dx + int64_t(plane) * in_plane;
    const float* dy_plane = dy + int64_t(plane) * out_plane;
    const int32_t* arg_plane = argmax + int64_t(plane) * out_plane;
    std::fill(dx_plane, dx_plane + in_plane, 0.0f);
    for (int64_t p = 0; p < p_count; ++p) {
      for (int64_t q = 0; q < q_count; ++q) {
        const int64_t out = (p * q_count + q) * kChannelBlock;
        for (int64_t lane = 0; lane < kChannelBlock; lane += lanes) {
          const auto g = hn::LoadU(d, dy_plane + out + lane);
          const auto at = hn::LoadU(di, arg_plane + out + lane);
          ForEachTap(shape, p, q, [&](int32_t j, int64_t pixel) HWY_ATTR {
            const auto here = hn::RebindMask(d, hn::Eq(at, hn::Set(di, j)));
            float* target = dx_plane + pixel * kChannelBlock + lane;
            hn::StoreU(hn::Add(hn::LoadU(d, target), hn::IfThenElseZero(here, g)), d, target);
          });
        }
      }
    }
    int64_t plane_zeros = 0;
    for (int64_t i = 0; i < in_plane; i += lanes) {
      plane_zeros += int64_t(hn::CountTrue(d, hn::Eq(hn::LoadU(d, dx_plane + i), hn::Zero(d))));
    }
    zeros.fetch_add(plane_zeros, std::memory_order_relaxed);
  });
  return zeros.load();
}

// The divisor of average-pooling output (p, q): the window clipped to the padded input, or to
// the input itself when padding does not count.
HWY_INLINE float AvgDivisor(const PoolShape& shape, int64_t p, int64_t q) {
  const auto extent = [&](int64_t out, int64_t size) {
    const int64_t start = out * shape.stride - shape.pad;
    const int64_t end = std::min(start + shape.window, size + shape.pad);
    return shape.count_include_pad ? end - start
                                   : std::min(end, size) - std::max<int64_t>(start, 0);
  };
  return float(extent(p, shape.input.h) * extent(q, shape.input.w));
}

void AvgPoolForwardImpl(const PoolShape& shape, const float* x, float* y, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const Dims in = shape.input;
  const int64_t p_count = shape.p(), q_count = shape.q();
  const int64_t in_plane = in.h * in.w * kChannelBlock,
                out_plane = p_count * q_count * kChannelBlock;
  ForEachPlane(in, pool, [&](size_t plane) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const float* x_plane = x + int64_t(plane) * in_plane;
    float* y_plane = y + int64_t(plane) * out_plane;
    for (int64_t p = 0; p < p_count; ++p) {
      for (int64_t q = 0; q < q_count; ++q) {
        const auto scale = hn::Set(d, 1.0f / AvgDivisor(shape, p, q));
        for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(hn::Lanes(d))) {
          auto sum = hn::Zero(d);
          ForEachTap(shape, p, q, [&](int32_t, int64_t pixel) HWY_ATTR {
            sum = hn::Add(sum, hn::LoadU(d, x_plane + pixel * kChannelBlock + lane));
          });
          hn::StoreU(hn::Mul(sum, scale), d, y_plane + (p * q_count + q) * kChannelBlock + lane);
        }
      }
    }
  });
}

void AvgPoolBackwardImpl(const PoolShape& shape, const float* dy, float* dx, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const Dims in = shape.input;
  const int64_t p_count = shape.p(), q_count = shape.q();
  const int64_t in_plane = in.h * in.w * kChannelBlock,
                out_plane = p_count * q_count * kChannelBlock;
  ForEachPlane(in, pool, [&](size_t plane) HWY_ATTR {
    const hn::ScalableTag<float> d;
    float* dx_plane = dx + int64_t(plane) * in_plane;
    const float* dy_plane = dy + int64_t(plane) * out_plane;
    std::fill(dx_plane, dx_plane + in_plane, 0.0f);
    for (int64_t p = 0; p < p_count; ++p) {
      for (int64_t q = 0; q < q_count; ++q) {
        const auto scale = hn::Set(d, 1.0f / AvgDivisor(shape, p, q));
        for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(hn::Lanes(d))) {
          const auto share =
              hn::Mul(hn::LoadU(d, dy_plane + (p * q_count + q) * kChannelBlock + lane), scale);
          ForEachTap(shape, p, q, [&](int32_t, int64_t pixel) HWY_ATTR {
            float* target = dx_plane + pixel * kChannelBlock + lane;
            hn::StoreU(hn::Add(hn::LoadU(d, target), share), d, target);
          });
        }
      }
    }
  });
}

void GlobalAvgPoolForwardImpl(Dims dims, const float* x, float* y, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t pixels = dims.h * dims.w, blocks = BlocksOf(dims.c);
  ForEachPlane(dims, pool, [&](size_t plane) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t n = int64_t(plane) / blocks, cb = int64_t(plane) % blocks;
    const float* x_plane = x + int64_t(plane) * pixels * kChannelBlock;
    HWY_ALIGN float mean[kChannelBlock];
    for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(hn::Lanes(d))) {
      auto sum = hn::Zero(d);
      for (int64_t i = 0; i < pixels; ++i)
        sum = hn::Add(sum, hn::LoadU(d, x_plane + i * kChannelBlock + lane));
      hn::Store(hn::Div(sum, hn::Set(d, float(pixels))), d, mean + lane);
    }
    const int64_t channels = std::min(kChannelBlock, dims.c - cb * kChannelBlock);
    std::copy(mean, mean + channels, y + n * dims.c + cb * kChannelBlock);
  });
}

void GlobalAvgPoolBackwardImpl(Dims dims, const float* dy, float* dx, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t pixels = dims.h * dims.w, blocks = BlocksOf(dims.c);
  ForEachPlane(dims, pool, [&](size_t plane) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t n = int64_t(plane) / blocks, cb = int64_t(plane) % blocks;
    HWY_ALIGN float share[kChannelBlock] = {};
    const int64_t channels = std::min(kChannelBlock, dims.c - cb * kChannelBlock);
    for (int64_t i = 0; i < channels; ++i)
      share[i] = dy[n * dims.c + cb * kChannelBlock + i] / float(pixels);
    float* dx_plane = dx + int64_t(plane) * pixels * kChannelBlock;
    for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(hn::Lanes(d))) {
      const auto v = hn::Load(d, share + lane);
      for (int64_t i = 0; i < pixels; ++i) hn::StoreU(v, d, dx_plane + i * kChannelBlock + lane);
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(MaxPoolForwardImpl);
HWY_EXPORT(MaxPoolBackwardImpl);
HWY_EXPORT(AvgPoolForwardImpl);
HWY_EXPORT(AvgPoolBackwardImpl);
HWY_EXPORT(GlobalAvgPoolForwardImpl);
HWY_EXPORT(GlobalAvgPoolBackwardImpl);

Status Validate(const PoolShape& shape) {
  const Dims& in = shape.input;
  if (in.n <= 0 || in.c <= 0 || in.h <= 0 || in.w <= 0 || shape.window <= 0 || shape.stride <= 0) {
    return InvalidArgument("pooling sizes must be positive");
  }
  if (shape.pad < 0 || 2 * shape.pad > shape.window) {
    return InvalidArgument("pooling padding must be in [0, window / 2], got " +
                           std::to_string(shape.pad));
  }
  if (in.h + 2 * shape.pad < shape.window || in.w + 2 * shape.pad < shape.window) {
    return InvalidArgument("pooling window " + std::to_string(shape.window) +
                           " is larger than the padded input " + std::to_string(in.h) + "x" +
                           std::to_string(in.w));
  }
  return Status::Ok();
}

int64_t MaxPoolForward(const PoolShape& shape, const float* x, float* y, int32_t* argmax,
                       pthreadpool_t pool) {
  return HWY_DYNAMIC_DISPATCH(MaxPoolForwardImpl)(shape, x, y, argmax, pool);
}

int64_t MaxPoolBackward(const PoolShape& shape, const float* dy, const int32_t* argmax, float* dx,
                        pthreadpool_t pool) {
  return HWY_DYNAMIC_DISPATCH(MaxPoolBackwardImpl)(shape, dy, argmax, dx, pool);
}

void AvgPoolForward(const PoolShape& shape, const float* x, float* y, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(AvgPoolForwardImpl)(shape, x, y, pool);
}

void AvgPoolBackward(const PoolShape& shape, const float* dy, float* dx, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(AvgPoolBackwardImpl)(shape, dy, dx, pool);
}

void GlobalAvgPoolForward(Dims dims, const float* x, float* y, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(GlobalAvgPoolForwardImpl)(dims, x, y, pool);
}

void GlobalAvgPoolBackward(Dims dims, const float* dy, float* dx, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(GlobalAvgPoolBackwardImpl)(dims, dy, dx, pool);
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
