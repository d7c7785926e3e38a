#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/conv_depthwise.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>

#include "kernels/conv_depthwise.h"
#include "kernels/isa.h"
#include "kernels/layout.h"
#include "kernels/parallel.h"

#ifndef SPARSETRAIN_KERNELS_CONV_DEPTHWISE_ONCE_
#define SPARSETRAIN_KERNELS_CONV_DEPTHWISE_ONCE_
namespace sparsetrain {
namespace {

// The taps t in [0, taps) whose input position out * stride - pad + t lies in [0, size).
struct TapRange {
  int64_t first, end;
};
inline TapRange TapsInside(int64_t out, int64_t stride, int64_t pad, int64_t taps, int64_t size) {
  const int64_t origin = out * stride - pad;
  return {std::max<int64_t>(0, -origin), std::min<int64_t>(taps, size - origin)};
}

}  // namespace
}  // namespace sparsetrain
#endif  // SPARSETRAIN_KERNELS_CONV_DEPTHWISE_ONCE_

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Each (image, channel block) is independent: its plane of pixels, 16 floats per pixel.
void DepthwiseForwardImpl(const ConvShape& s, const float* x, const float* w, const float* bias,
                          float* y, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t blocks = BlocksOf(s.c), p = s.p(), q = s.q();
  ParallelFor(pool, size_t(s.n * blocks), [&](size_t item) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t lanes = int64_t(hn::Lanes(d)), cb = int64_t(item) % blocks;
    const float* xb = x + int64_t(item) * s.h * s.w * kChannelBlock;
    const float* wb = w + cb * s.r * s.s * kChannelBlock;
    float* yb = y + int64_t(item) * p * q * kChannelBlock;
    for (int64_t oh = 0; oh < p; ++oh) {
      const TapRange rows = TapsInside(oh, s.stride_h, s.pad_h, s.r, s.h);
      for (int64_t ow = 0; ow < q; ++ow) {
        const TapRange cols = TapsInside(ow, s.stride_w, s.pad_w, s.s, s.w);
        const int64_t ih0 = oh * s.stride_h - s.pad_h, iw0 = ow * s.stride_w - s.pad_w;
        for (int64_t lane = 0; lane < kChannelBlock; lane += lanes) {
          auto acc = bias != nullptr ? hn::LoadU(d, bias + cb * kChannelBlock + lane) : hn::Zero(d);
          for (int64_t r = rows.first; r < rows.end; ++r) {
            const float* xr = xb + ((ih0 + r) * s.w + iw0) * kChannelBlock + lane;
            const float* wr = wb + r * s.s * kChannelBlock + lane;
            for (int64_t t = cols.first; t < cols.end; ++t) {
              acc = hn::MulAdd(hn::LoadU(d, xr + t * kChannelBlock),
                               hn::LoadU(d, wr + t * kChannelBlock), acc);
            }
          }
          hn::StoreU(acc, d, yb + (oh * q + ow) * kChannelBlock + lane);
        }
      }
    }
  });
}

// dx[ih][iw] gathers dy[oh][ow] * w[r][s] over the taps with ih = oh * stride - pad + r (and
// the same for columns).
void DepthwiseBackwardDataImpl(const ConvShape& s, const float* dy, const float* w, float* dx,
                               pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t blocks = BlocksOf(s.c), p = s.p(), q = s.q();
  ParallelFor(pool, size_t(s.n * blocks), [&](size_t item) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t lanes = int64_t(hn::Lanes(d)), cb = int64_t(item) % blocks;
    const float* dyb = dy + int64_t(item) * p * q * kChannelBlock;
    const float* wb = w + cb * s.r * s.s * kChannelBlock;
    float* dxb = dx + int64_t(item) * s.h * s.w * kChannelBlock;
    for (int64_t ih = 0; ih < s.h; ++ih) {
      for (int64_t iw = 0; iw < s.w; ++iw) {
        for (int64_t lane = 0; lane < kChannelBlock; lane += lanes) {
          auto acc = hn::Zero(d);
          // Taps r with (ih + pad - r) a multiple of the stride, landing on an output row.
          for (int64_t r = (ih + s.pad_h) % s.stride_h; r < s.r; r += s.stride_h) {
            const int64_t oh = (ih + s.pad_h - r) / s.stride_h;
            if (ih + s.pad_h - r < 0 || oh >= p) continue;
            for (int64_t t = (iw + s.pad_w) % s.stride_w; t < s.s; t += s.stride_w) {
              const int64_t ow = (iw + s.pad_w - t) / s.stride_w;
              if (iw + s.pad_w - t < 0 || ow >= q) continue;
              acc = hn::MulAdd(hn::LoadU(d, dyb + (oh * q + ow) * kChannelBlock + lane),
                               hn::LoadU(d, wb + (r * s.s + t) * kChannelBlock + lane), acc);
            }
          }
          hn::StoreU(acc, d, dxb + (ih * s.w + iw) * kChannelBlock + lane);
        }
      }
    }
  });
}

// Per channel block: every tap's gradient summed over images and output pixels, in a small
// per-block accumulator of R * S * 16 floats that stays in L1.
void DepthwiseBackwardWeightsImpl(const ConvShape& s, const float* x, const float* dy, float* dw,
                                  float* dbias, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t blocks = BlocksOf(s.c), p = s.p(), q = s.q();
  ParallelFor(pool, size_t(blocks), [&](size_t block) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t lanes = int64_t(hn::Lanes(d)), cb = int64_t(block);
    float* dwb = dw + cb * s.r * s.s * kChannelBlock;
    std::fill(dwb, dwb + s.r * s.s * kChannelBlock, 0.0f);
    for (int64_t lane = 0; lane < kChannelBlock; lane += lanes) {
      auto bias_sum = hn::Zero(d);
      for (int64_t n = 0; n < s.n; ++n) {
        const float* xb = x + (n * blocks + cb) * s.h * s.w * kChannelBlock + lane;
        const float* dyb = dy + (n * blocks + cb) * p * q * kChannelBlock + lane;
        for (int64_t oh = 0; oh < p; ++oh) {
          const TapRange rows = TapsInside(oh, s.stride_h, s.pad_h, s.r, s.h);
          for (int64_t ow = 0; ow < q; ++ow) {
            const TapRange cols = TapsInside(ow, s.stride_w, s.pad_w, s.s, s.w);
            const int64_t ih0 = oh * s.stride_h - s.pad_h, iw0 = ow * s.stride_w - s.pad_w;
            const auto g = hn::LoadU(d, dyb + (oh * q + ow) * kChannelBlock);
            bias_sum = hn::Add(bias_sum, g);
            for (int64_t r = rows.first; r < rows.end; ++r) {
              const float* xr = xb + ((ih0 + r) * s.w + iw0) * kChannelBlock;
              float* acc = dwb + r * s.s * kChannelBlock + lane;
              for (int64_t t = cols.first; t < cols.end; ++t) {
                float* at = acc + t * kChannelBlock;
                hn::StoreU(hn::MulAdd(g, hn::LoadU(d, xr + t * kChannelBlock), hn::LoadU(d, at)), d,
                           at);
              }
            }
          }
        }
      }
      if (dbias != nullptr) hn::StoreU(bias_sum, d, dbias + cb * kChannelBlock + lane);
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(DepthwiseForwardImpl);
HWY_EXPORT(DepthwiseBackwardDataImpl);
HWY_EXPORT(DepthwiseBackwardWeightsImpl);

Status ValidateDepthwise(const ConvShape& shape) {
  Status status = Validate(shape);
  if (!status.ok()) return status;
  if (shape.k != shape.c) {
    return InvalidArgument("depthwise convolution needs as many output channels as input "
                           "channels, got " +
                           std::to_string(shape.c) + " and " + std::to_string(shape.k));
  }
  return Status::Ok();
}

Status DepthwiseForward(const ConvShape& shape, const float* x, const float* w, const float* bias,
                        float* y, pthreadpool_t pool) {
  Status status = ValidateDepthwise(shape);
  if (!status.ok()) return status.Within("depthwise forward");
  if (x == nullptr || w == nullptr || y == nullptr) {
    return InvalidArgument("depthwise forward: null tensor");
  }
  HWY_DYNAMIC_DISPATCH(DepthwiseForwardImpl)(shape, x, w, bias, y, pool);
  return Status::Ok();
}

Status DepthwiseBackwardData(const ConvShape& shape, const float* dy, const float* w, float* dx,
                             pthreadpool_t pool) {
  Status status = ValidateDepthwise(shape);
  if (!status.ok()) return status.Within("depthwise backward by input");
  if (dy == nullptr || w == nullptr || dx == nullptr) {
    return InvalidArgument("depthwise backward by input: null tensor");
  }
  HWY_DYNAMIC_DISPATCH(DepthwiseBackwardDataImpl)(shape, dy, w, dx, pool);
  return Status::Ok();
}

Status DepthwiseBackwardWeights(const ConvShape& shape, const float* x, const float* dy, float* dw,
                                float* dbias, pthreadpool_t pool) {
  Status status = ValidateDepthwise(shape);
  if (!status.ok()) return status.Within("depthwise backward by weights");
  if (x == nullptr || dy == nullptr || dw == nullptr) {
    return InvalidArgument("depthwise backward by weights: null tensor");
  }
  HWY_DYNAMIC_DISPATCH(DepthwiseBackwardWeightsImpl)(shape, x, dy, dw, dbias, pool);
  return Status::Ok();
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
