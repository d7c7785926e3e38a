#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/channels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <cstring>

#include "kernels/channels.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void ScaleChannelsImpl(const Dims& dims, const float* x, const float* gate, float* y,
                       pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t pixels = dims.h * dims.w;
  ParallelFor(pool, size_t(dims.n * BlocksOf(dims.c)), [&](size_t plane) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const float* g = gate + int64_t(plane) * kChannelBlock;
    const float* xp = x + int64_t(plane) * pixels * kChannelBlock;
    float* yp = y + int64_t(plane) * pixels * kChannelBlock;
    for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(hn::Lanes(d))) {
      const auto factor = hn::LoadU(d, g + lane);
      for (int64_t i = 0; i < pixels; ++i) {
        const int64_t at = i * kChannelBlock + lane;
        hn::StoreU(hn::Mul(hn::LoadU(d, xp + at), factor), d, yp + at);
      }
    }
  });
}

void ScaleChannelsBackwardImpl(const Dims& dims, const float* x, const float* gate, const float* dy,
                               float* dx, float* dgate, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t pixels = dims.h * dims.w;
  ParallelFor(pool, size_t(dims.n * BlocksOf(dims.c)), [&](size_t plane) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t offset = int64_t(plane) * pixels * kChannelBlock;
    for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(hn::Lanes(d))) {
      const auto factor = hn::LoadU(d, gate + int64_t(plane) * kChannelBlock + lane);
      auto sum = hn::Zero(d);
      for (int64_t i = 0; i < pixels; ++i) {
        const int64_t at = offset + i * kChannelBlock + lane;
        const auto g = hn::LoadU(d, dy + at);
        sum = hn::MulAdd(g, hn::LoadU(d, x + at), sum);
        if (dx != nullptr) hn::StoreU(hn::Mul(g, factor), d, dx + at);
      }
      if (dgate != nullptr) hn::StoreU(sum, d, dgate + int64_t(plane) * kChannelBlock + lane);
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(ScaleChannelsImpl);
HWY_EXPORT(ScaleChannelsBackwardImpl);

namespace {

// Calls copy(n, pixel, part_channel, whole_channel, count) for every run of channels that stays
// inside one block of both tensors, so each run is one contiguous copy.
template <class Copy>
void ForEachChannelRun(const Dims& part_dims, int64_t offset, pthreadpool_t pool,
                       const Copy& copy) {
  ParallelFor(pool, size_t(part_dims.n), [&](size_t n) {
    for (int64_t c = 0; c < part_dims.c;) {
      const int64_t whole_c = offset + c;
      const int64_t run = std::min({part_dims.c - c, kChannelBlock - c % kChannelBlock,
                                    kChannelBlock - whole_c % kChannelBlock});
      for (int64_t p = 0; p < part_dims.h * part_dims.w; ++p) copy(int64_t(n), p, c, whole_c, run);
      c += run;
    }
  });
}

// The float index of (n, channel c, pixel p) in an nChw16c tensor of `channels` and `pixels`.
int64_t BlockedIndex(int64_t n, int64_t c, int64_t p, int64_t channels, int64_t pixels) {
  return ((n * BlocksOf(channels) + c / kChannelBlock) * pixels + p) * kChannelBlock +
         c % kChannelBlock;
}

}  // namespace

void CopyChannelsInto(const Dims& part_dims, const float* part, int64_t channels, int64_t offset,
                      float* whole, pthreadpool_t pool) {
  const int64_t pixels = part_dims.h * part_dims.w;
  ForEachChannelRun(
      part_dims, offset, pool, [&](int64_t n, int64_t p, int64_t c, int64_t whole_c, int64_t run) {
        std::memcpy(whole + BlockedIndex(n, whole_c, p, channels, pixels),
                    part + BlockedIndex(n, c, p, part_dims.c, pixels), size_t(run) * sizeof(float));
      });
}

void CopyChannelsOut(int64_t channels, int64_t offset, const float* whole, const Dims& part_dims,
                     float* part, pthreadpool_t pool) {
  const int64_t pixels = part_dims.h * part_dims.w;
  ZeroChannelPadding(part_dims, part);
  ForEachChannelRun(part_dims, offset, pool,
                    [&](int64_t n, int64_t p, int64_t c, int64_t whole_c, int64_t run) {
                      std::memcpy(part + BlockedIndex(n, c, p, part_dims.c, pixels),
                                  whole + BlockedIndex(n, whole_c, p, channels, pixels),
                                  size_t(run) * sizeof(float));
                    });
}

int64_t ZeroChannelPadding(const Dims& dims, float* blocked) {
  const int64_t real = dims.c % kChannelBlock;
  if (real == 0) return 0;
  const int64_t pixels = dims.h * dims.w, blocks = BlocksOf(dims.c);
  int64_t changed = 0;
  for (int64_t n = 0; n < dims.n; ++n) {
    float* last_block = blocked + (n * blocks + blocks - 1) * pixels * kChannelBlock;
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t lane = real; lane < kChannelBlock; ++lane) {
        float& v = last_block[p * kChannelBlock + lane];
        changed += v != 0.0f;
        v = 0.0f;
      }
    }
  }
  return changed;
}

void ScaleChannels(const Dims& dims, const float* x, const float* gate, float* y,
                   pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(ScaleChannelsImpl)(dims, x, gate, y, pool);
}

void ScaleChannelsBackward(const Dims& dims, const float* x, const float* gate, const float* dy,
                           float* dx, float* dgate, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(ScaleChannelsBackwardImpl)(dims, x, gate, dy, dx, dgate, pool);
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
