#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/conv_depthwise.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>

#include "kernels/block_simd-inl.h"
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

// The outputs o in [0, outputs) whose tap `tap` lands inside: 0 <= o * stride - pad + tap < size.
inline TapRange OutputsInside(int64_t tap, int64_t stride, int64_t pad, int64_t size,
                              int64_t outputs) {
  const int64_t first = std::min(outputs, std::max<int64_t>(0, (pad - tap + stride - 1) / stride));
  const int64_t last = size - 1 + pad - tap;  // the largest o * stride that fits
  return {first, std::max(first, std::min(outputs, last < 0 ? 0 : last / stride + 1))};
}

}  // namespace
}  // namespace sparsetrain
#endif  // SPARSETRAIN_KERNELS_CONV_DEPTHWISE_ONCE_

// SVE targets run NEON's tiles (block_simd-inl.h).
#if SPARSETRAIN_TILES_ON_NEON
namespace sparsetrain::N_NEON {
void DepthwiseForwardImpl(const ConvShape& s, const float* x, const float* w, const float* bias,
                          float* y, pthreadpool_t pool);
void DepthwiseBackwardDataImpl(const ConvShape& s, const float* dy, const float* w, float* dx,
                               pthreadpool_t pool);
void DepthwiseBackwardWeightsImpl(const ConvShape& s, const float* x, const float* dy, float* dw,
                                  float* dbias, pthreadpool_t pool);
}  // namespace sparsetrain::N_NEON
#endif

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
#if SPARSETRAIN_TILES_ON_NEON
using N_NEON::DepthwiseBackwardDataImpl;
using N_NEON::DepthwiseBackwardWeightsImpl;
using N_NEON::DepthwiseForwardImpl;
#else

// One channel block's correlation: out[o] = bias + sum over taps (a, b) of
// in[o * stride - pad + (a, b)] * w[row_first + a * row_step][col_first + b * col_step], for
// outputs placed out_row_pitch and out_pixel_pitch floats apart. Forward is the plain case;
// backward by input is a correlation of dy with the flipped filter (stride 1), or with one
// residue class of its taps per phase of dx (larger strides). Pixels hold 16 floats; the lanes
// of a block are processed Lanes(d) at a time.
struct Plane {
  const float* in;
  int64_t in_h, in_w;
  float* out;
  int64_t out_h, out_w, out_row_pitch, out_pixel_pitch;
  int64_t stride_h, stride_w, pad_h, pad_w;
  int64_t taps_r, taps_s;
  const float* w;  // one channel block of the filter, (R, S, 16)
  int64_t w_cols, row_first, row_step, col_first, col_step;
  const float* bias;  // 16 floats, or null
};

// Outputs of a row computed together: eight accumulators, a filter row of up to five taps and
// the input column in flight fit the 16 registers of AVX2 and SSE4.
constexpr int64_t kTileOutputs = 8;

// acc[o] += one filter row's taps times the input row, for the tile's outputs o, whose first tap
// reads input column iw0. Columns outside [0, in_w) are the padding and read as zero; kEdges
// false promises there are none. With the taps and stride known at compile time (kTaps > 0),
// each input column is loaded once for every output it reaches (sliding the filter over
// registers); otherwise (kTaps == 0) tap by tap, one weight load per eight multiply-adds.
template <int64_t kTaps, int64_t kStride, bool kEdges>
HWY_INLINE void AddFilterRow(const float* HWY_RESTRICT row, int64_t iw0, int64_t in_w,
                             int64_t stride, int64_t taps, const float* HWY_RESTRICT w,
                             int64_t w_step, VF (&acc)[kTileOutputs]) {
  const BlockD d;
  const auto inside = [&](int64_t iw) { return !kEdges || (iw >= 0 && iw < in_w); };
  if constexpr (kTaps == 0) {
    for (int64_t b = 0; b < taps; ++b) {
      const VF wv = hn::LoadU(d, w + b * w_step);
      HWY_UNROLL(8)
      for (int64_t o = 0; o < kTileOutputs; ++o) {
        const int64_t iw = iw0 + o * stride + b;
        if (inside(iw)) acc[o] = hn::MulAdd(hn::LoadU(d, row + iw * kChannelBlock), wv, acc[o]);
      }
    }
  } else {
    VF wv[kTaps];
    HWY_UNROLL(8)
    for (int64_t b = 0; b < kTaps; ++b) wv[b] = hn::LoadU(d, w + b * w_step);
    HWY_UNROLL(32)
    for (int64_t j = 0; j < (kTileOutputs - 1) * kStride + kTaps; ++j) {
      if (!inside(iw0 + j)) continue;
      const VF x = hn::LoadU(d, row + (iw0 + j) * kChannelBlock);
      HWY_UNROLL(8)
      for (int64_t o = 0; o < kTileOutputs; ++o) {
        const int64_t b = j - o * kStride;
        if (b >= 0 && b < kTaps) acc[o] = hn::MulAdd(x, wv[b], acc[o]);
      }
    }
  }
}

// The plane in tiles of kTileOutputs outputs along each row; a tile whose taps reach past the
// row's edges skips the padding column by column, so edges take no separate path. The last
// tile of a row may compute outputs past its end, which are not stored.
template <int64_t kTaps, int64_t kStride>
void CorrelatePlaneTiles(const Plane& pl) {
  const BlockD d;
  const int64_t span = (kTileOutputs - 1) * pl.stride_w + pl.taps_s;  // input columns of a tile
  const int64_t w_step = pl.col_step * kChannelBlock;
  for (int64_t oh = 0; oh < pl.out_h; ++oh) {
    const TapRange rows = TapsInside(oh, pl.stride_h, pl.pad_h, pl.taps_r, pl.in_h);
    const int64_t ih0 = oh * pl.stride_h - pl.pad_h;
    float* out_row = pl.out + oh * pl.out_row_pitch;
    for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(kLanes)) {
      const VF start = pl.bias != nullptr ? hn::LoadU(d, pl.bias + lane) : hn::Zero(d);
      for (int64_t ow0 = 0; ow0 < pl.out_w; ow0 += kTileOutputs) {
        const int64_t iw0 = ow0 * pl.stride_w - pl.pad_w;
        const bool edges = iw0 < 0 || iw0 + span > pl.in_w;
        VF acc[kTileOutputs];
        HWY_UNROLL(8)
        for (int64_t o = 0; o < kTileOutputs; ++o) acc[o] = start;
        for (int64_t a = rows.first; a < rows.end; ++a) {
          const float* row = pl.in + (ih0 + a) * pl.in_w * kChannelBlock + lane;
          const float* w =
              pl.w + ((pl.row_first + a * pl.row_step) * pl.w_cols + pl.col_first) * kChannelBlock +
              lane;
          if (edges) {
            AddFilterRow<kTaps, kStride, true>(row, iw0, pl.in_w, pl.stride_w, pl.taps_s, w,
                                               w_step, acc);
          } else {
            AddFilterRow<kTaps, kStride, false>(row, iw0, pl.in_w, pl.stride_w, pl.taps_s, w,
                                                w_step, acc);
          }
        }
        const int64_t outputs = std::min(kTileOutputs, pl.out_w - ow0);
        HWY_UNROLL(8)
        for (int64_t o = 0; o < kTileOutputs; ++o) {
          if (o < outputs) hn::StoreU(acc[o], d, out_row + (ow0 + o) * pl.out_pixel_pitch + lane);
        }
      }
    }
  }
}

// The filter widths and strides of MobileNet-style layers and of their backward-by-input phases
// slide over registers; other shapes run tap by tap.
void CorrelatePlane(const Plane& pl) {
  const int64_t taps = pl.taps_s, stride = pl.stride_w;
  if (stride == 1 && taps == 3) return CorrelatePlaneTiles<3, 1>(pl);
  if (stride == 2 && taps == 3) return CorrelatePlaneTiles<3, 2>(pl);
  if (stride == 1 && taps == 5) return CorrelatePlaneTiles<5, 1>(pl);
  if (stride == 2 && taps == 5) return CorrelatePlaneTiles<5, 2>(pl);
  if (stride == 1 && taps == 2) return CorrelatePlaneTiles<2, 1>(pl);
  if (stride == 1 && taps == 1) return CorrelatePlaneTiles<1, 1>(pl);
  CorrelatePlaneTiles<0, 0>(pl);
}

// Each (image, channel block) is independent: its plane of pixels, 16 floats per pixel.
void DepthwiseForwardImpl(const ConvShape& s, const float* x, const float* w, const float* bias,
                          float* y, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t blocks = BlocksOf(s.c), p = s.p(), q = s.q();
  ParallelFor(pool, size_t(s.n * blocks), [&](size_t item) HWY_ATTR {
    const int64_t cb = int64_t(item) % blocks;
    const Plane plane = {x + int64_t(item) * s.h * s.w * kChannelBlock,
                         s.h,
                         s.w,
                         y + int64_t(item) * p * q * kChannelBlock,
                         p,
                         q,
                         q * kChannelBlock,
                         kChannelBlock,
                         s.stride_h,
                         s.stride_w,
                         s.pad_h,
                         s.pad_w,
                         s.r,
                         s.s,
                         w + cb * s.r * s.s * kChannelBlock,
                         s.s,
                         0,
                         1,
                         0,
                         1,
                         bias != nullptr ? bias + cb * kChannelBlock : nullptr};
    CorrelatePlane(plane);
  });
}

// dx[ih][iw] gathers dy[oh][ow] * w[r][t] over the taps with ih = oh * stride - pad + r (and
// the same for columns). The rows ih = phase + stride * i of one phase are reached by the taps
// r = r0, r0 + stride, ... (r0 = (phase + pad) mod stride) from dy rows i + base - m, m = 0, 1,
// ...: a stride-1 correlation of dy with those taps in reverse order. At stride 1 there is one
// phase, the whole flipped filter.
void DepthwiseBackwardDataImpl(const ConvShape& s, const float* dy, const float* w, float* dx,
                               pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t blocks = BlocksOf(s.c), p = s.p(), q = s.q();
  ParallelFor(pool, size_t(s.n * blocks), [&](size_t item) HWY_ATTR {
    const int64_t cb = int64_t(item) % blocks;
    float* dxb = dx + int64_t(item) * s.h * s.w * kChannelBlock;
    for (int64_t ph = 0; ph < s.stride_h; ++ph) {
      const int64_t r0 = (ph + s.pad_h) % s.stride_h,
                    rows = (s.r - r0 + s.stride_h - 1) / s.stride_h;
      const int64_t base_h = (ph + s.pad_h - r0) / s.stride_h;
      const int64_t out_h = (s.h - ph + s.stride_h - 1) / s.stride_h;
      for (int64_t pw = 0; pw < s.stride_w; ++pw) {
        const int64_t t0 = (pw + s.pad_w) % s.stride_w,
                      cols = (s.s - t0 + s.stride_w - 1) / s.stride_w;
        const int64_t base_w = (pw + s.pad_w - t0) / s.stride_w;
        const int64_t out_w = (s.w - pw + s.stride_w - 1) / s.stride_w;
        float* out = dxb + (ph * s.w + pw) * kChannelBlock;
        if (rows == 0 || cols == 0) {  // no tap reaches this phase: its gradient is zero
          for (int64_t i = 0; i < out_h; ++i) {
            for (int64_t j = 0; j < out_w; ++j) {
              float* pixel = out + (i * s.stride_h * s.w + j * s.stride_w) * kChannelBlock;
              std::fill(pixel, pixel + kChannelBlock, 0.0f);
            }
          }
          continue;
        }
        const Plane plane = {dy + int64_t(item) * p * q * kChannelBlock,
                             p,
                             q,
                             out,
                             out_h,
                             out_w,
                             s.stride_h * s.w * kChannelBlock,
                             s.stride_w * kChannelBlock,
                             1,
                             1,
                             rows - 1 - base_h,
                             cols - 1 - base_w,
                             rows,
                             cols,
                             w + cb * s.r * s.s * kChannelBlock,
                             s.s,
                             r0 + (rows - 1) * s.stride_h,
                             -s.stride_h,
                             t0 + (cols - 1) * s.stride_w,
                             -s.stride_w,
                             nullptr};
        CorrelatePlane(plane);
      }
    }
  });
}

// Output pixels of a row whose tap gradients are summed together: with a 3x3 filter's nine sums
// and a column in flight they fit the 16 registers of AVX2 and SSE4.
constexpr int64_t kWeightsTileOutputs = 4;

// acc[r][b] += g[o] times input column o * kStride + b of `row` (tap row r's input row), for the
// tile's outputs o, whose first tap reads input column iw0. Each input column is loaded once for
// every tap it meets. Columns outside [0, in_w) are the padding: skipped (kEdges false promises
// there are none).
template <int64_t kTaps, int64_t kStride, bool kEdges>
HWY_INLINE void AddTapGradients(const float* HWY_RESTRICT row, int64_t iw0, int64_t in_w,
                                const VF (&g)[kWeightsTileOutputs], VF (&acc)[kTaps]) {
  const BlockD d;
  HWY_UNROLL(32)
  for (int64_t j = 0; j < (kWeightsTileOutputs - 1) * kStride + kTaps; ++j) {
    if (kEdges && (iw0 + j < 0 || iw0 + j >= in_w)) continue;
    const VF x = hn::LoadU(d, row + (iw0 + j) * kChannelBlock);
    HWY_UNROLL(8)
    for (int64_t o = 0; o < kWeightsTileOutputs; ++o) {
      const int64_t b = j - o * kStride;
      if (b >= 0 && b < kTaps) acc[b] = hn::MulAdd(g[o], x, acc[b]);
    }
  }
}

// Tap rows [a0, a0 + kRows) of one channel block's weight gradient (and, with a0 == 0, the bias
// gradient), summed over the batch in registers: for each tile of kWeightsTileOutputs output
// pixels of a row, their dy vectors meet each input column once. Tiles past the row's end use
// zeros for the missing outputs.
template <int64_t kRows, int64_t kTaps, int64_t kStride>
void SumTapRows(const ConvShape& s, const float* x, const float* dy, int64_t lane, int64_t a0,
                float* dw_rows, float* dbias) {
  const BlockD d;
  const int64_t blocks = BlocksOf(s.c), p = s.p(), q = s.q();
  const int64_t span = (kWeightsTileOutputs - 1) * kStride + kTaps;
  VF acc[kRows][kTaps];
  HWY_UNROLL(8)
  for (int64_t r = 0; r < kRows; ++r) {
    HWY_UNROLL(8)
    for (int64_t b = 0; b < kTaps; ++b) acc[r][b] = hn::Zero(d);
  }
  VF bias_sum = hn::Zero(d);
  for (int64_t n = 0; n < s.n; ++n) {
    const float* xb = x + n * blocks * s.h * s.w * kChannelBlock + lane;
    const float* dyb = dy + n * blocks * p * q * kChannelBlock + lane;
    for (int64_t oh = 0; oh < p; ++oh) {
      const int64_t ih0 = oh * s.stride_h - s.pad_h + a0;
      const float* dy_row = dyb + oh * q * kChannelBlock;
      for (int64_t ow0 = 0; ow0 < q; ow0 += kWeightsTileOutputs) {
        const int64_t outputs = std::min(kWeightsTileOutputs, q - ow0);
        VF g[kWeightsTileOutputs];
        HWY_UNROLL(8)
        for (int64_t o = 0; o < kWeightsTileOutputs; ++o) {
          g[o] = o < outputs ? hn::LoadU(d, dy_row + (ow0 + o) * kChannelBlock) : hn::Zero(d);
          if (a0 == 0) bias_sum = hn::Add(bias_sum, g[o]);
        }
        const int64_t iw0 = ow0 * s.stride_w - s.pad_w;
        const bool edges = iw0 < 0 || iw0 + span > s.w;
        HWY_UNROLL(8)
        for (int64_t r = 0; r < kRows; ++r) {
          const int64_t ih = ih0 + r;
          if (ih < 0 || ih >= s.h) continue;
          const float* row = xb + ih * s.w * kChannelBlock;
          if (edges) {
            AddTapGradients<kTaps, kStride, true>(row, iw0, s.w, g, acc[r]);
          } else {
            AddTapGradients<kTaps, kStride, false>(row, iw0, s.w, g, acc[r]);
          }
        }
      }
    }
  }
  HWY_UNROLL(8)
  for (int64_t r = 0; r < kRows; ++r) {
    HWY_UNROLL(8)
    for (int64_t b = 0; b < kTaps; ++b) {
      hn::StoreU(acc[r][b], d, dw_rows + (r * kTaps + b) * kChannelBlock + lane);
    }
  }
  if (a0 == 0 && dbias != nullptr) hn::StoreU(bias_sum, d, dbias + lane);
}

// One channel block's gradient (x and dy at the block's image-0 plane), tap rows `kRows` at a
// time: all three rows of a 3x3 filter, a row of a 5x5 one.
template <int64_t kRows, int64_t kTaps, int64_t kStride>
void SumTapGradients(const ConvShape& s, const float* x, const float* dy, float* dwb,
                     float* dbias) {
  for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(kLanes)) {
    for (int64_t a0 = 0; a0 < s.r; a0 += kRows) {
      SumTapRows<kRows, kTaps, kStride>(s, x, dy, lane, a0, dwb + a0 * s.s * kChannelBlock,
                                        dbias);
    }
  }
}

// Any filter and stride: tap by tap over the rectangle of outputs the tap reaches, four images at
// a time (four independent sums), with no per-pixel edge test.
void SumTapGradientsAnyShape(const ConvShape& s, const float* x, const float* dy, float* dwb,
                             float* dbias) {
  const BlockD d;
  const int64_t blocks = BlocksOf(s.c), p = s.p(), q = s.q();
  const int64_t col_step = s.stride_w * kChannelBlock;
  const int64_t x_image = blocks * s.h * s.w * kChannelBlock;
  const int64_t dy_image = blocks * p * q * kChannelBlock;
  for (int64_t lane = 0; lane < kChannelBlock; lane += int64_t(kLanes)) {
    VF bias_sum = hn::Zero(d);
    for (int64_t n = 0; n < s.n; ++n) {
      for (int64_t i = 0; i < p * q; ++i) {
        bias_sum = hn::Add(bias_sum, hn::LoadU(d, dy + n * dy_image + i * kChannelBlock + lane));
      }
    }
    if (dbias != nullptr) hn::StoreU(bias_sum, d, dbias + lane);
    for (int64_t r = 0; r < s.r; ++r) {
      const TapRange rows = OutputsInside(r, s.stride_h, s.pad_h, s.h, p);
      for (int64_t t = 0; t < s.s; ++t) {
        const TapRange cols = OutputsInside(t, s.stride_w, s.pad_w, s.w, q);
        VF acc0 = hn::Zero(d), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        const float* x0 = x + lane +
                          ((rows.first * s.stride_h - s.pad_h + r) * s.w +
                           cols.first * s.stride_w - s.pad_w + t) *
                              kChannelBlock;
        const float* dy0 = dy + lane + (rows.first * q + cols.first) * kChannelBlock;
        int64_t n = 0;
        for (; n + 4 <= s.n; n += 4) {
          for (int64_t oh = 0; oh < rows.end - rows.first; ++oh) {
            const float* xr = x0 + n * x_image + oh * s.stride_h * s.w * kChannelBlock;
            const float* gr = dy0 + n * dy_image + oh * q * kChannelBlock;
            for (int64_t ow = 0; ow < cols.end - cols.first; ++ow) {
              const int64_t xi = ow * col_step, gi = ow * kChannelBlock;
              acc0 = hn::MulAdd(hn::LoadU(d, gr + gi), hn::LoadU(d, xr + xi), acc0);
              acc1 = hn::MulAdd(hn::LoadU(d, gr + dy_image + gi), hn::LoadU(d, xr + x_image + xi),
                                acc1);
              acc2 = hn::MulAdd(hn::LoadU(d, gr + 2 * dy_image + gi),
                                hn::LoadU(d, xr + 2 * x_image + xi), acc2);
              acc3 = hn::MulAdd(hn::LoadU(d, gr + 3 * dy_image + gi),
                                hn::LoadU(d, xr + 3 * x_image + xi), acc3);
            }
          }
        }
        for (; n < s.n; ++n) {
          for (int64_t oh = 0; oh < rows.end - rows.first; ++oh) {
            const float* xr = x0 + n * x_image + oh * s.stride_h * s.w * kChannelBlock;
            const float* gr = dy0 + n * dy_image + oh * q * kChannelBlock;
            for (int64_t ow = 0; ow < cols.end - cols.first; ++ow) {
              acc0 = hn::MulAdd(hn::LoadU(d, gr + ow * kChannelBlock),
                                hn::LoadU(d, xr + ow * col_step), acc0);
            }
          }
        }
        hn::StoreU(hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3)), d,
                   dwb + (r * s.s + t) * kChannelBlock + lane);
      }
    }
  }
}

// Per channel block: every tap's gradient summed over images and output pixels.
void DepthwiseBackwardWeightsImpl(const ConvShape& s, const float* x, const float* dy, float* dw,
                                  float* dbias, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t blocks = BlocksOf(s.c), p = s.p(), q = s.q();
  using Sum = void (*)(const ConvShape&, const float*, const float*, float*, float*);
  Sum sum = &SumTapGradientsAnyShape;
  if (s.r == 3 && s.s == 3 && s.stride_w == 1) sum = &SumTapGradients<3, 3, 1>;
  if (s.r == 3 && s.s == 3 && s.stride_w == 2) sum = &SumTapGradients<3, 3, 2>;
  if (s.s == 5 && s.stride_w == 1) sum = &SumTapGradients<1, 5, 1>;
  if (s.s == 5 && s.stride_w == 2) sum = &SumTapGradients<1, 5, 2>;
  ParallelFor(pool, size_t(blocks), [&](size_t block) HWY_ATTR {
    const int64_t cb = int64_t(block);
    sum(s, x + cb * s.h * s.w * kChannelBlock, dy + cb * p * q * kChannelBlock,
        dw + cb * s.r * s.s * kChannelBlock, dbias != nullptr ? dbias + cb * kChannelBlock : nullptr);
  });
}

#endif  // SPARSETRAIN_TILES_ON_NEON
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
    return InvalidArgument(
        "depthwise convolution needs as many output channels as input "
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
