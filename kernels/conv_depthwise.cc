#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/conv_depthwise.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>

#include "kernels/cache_sizes.h"
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

// Planes (image, channel block) a worker takes at once: enough pixels to outweigh the pool's cost
// per task (with a plane a task, pthreadpool had 12% of a profile of MobileNetV2's 7x7 layer, 2
// threads; 7% with this), and still four tasks per thread so that they balance.
inline size_t PlanesPerTask(int64_t planes, int64_t plane_pixels, pthreadpool_t pool) {
  const int64_t by_size = std::max<int64_t>(1, 2048 / std::max<int64_t>(1, plane_pixels));
  const int64_t by_balance = std::max<int64_t>(1, planes / (4 * ThreadCount(pool)));
  return size_t(std::min(by_size, by_balance));
}

// Calls one_plane(i) for each of `planes` planes of `plane_pixels` pixels, spread over the pool.
template <class Fn>
void ForEachPlane(int64_t planes, int64_t plane_pixels, pthreadpool_t pool, const Fn& one_plane) {
  ParallelForRanges(pool, size_t(planes), PlanesPerTask(planes, plane_pixels, pool),
                    [&](size_t begin, size_t end) {
                      for (size_t i = begin; i < end; ++i) one_plane(i);
                    });
}

}  // namespace
}  // namespace sparsetrain
#endif  // SPARSETRAIN_KERNELS_CONV_DEPTHWISE_ONCE_

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One channel block's correlation: out[o] = bias + sum over taps (a, b) of
// in[o * stride - pad + (a, b)] * w[row_first + a * row_step][col_first + b * col_step], for
// outputs placed out_row_pitch and out_pixel_pitch floats apart. Forward is the plain case;
// backward by input is a correlation of dy with the flipped filter (stride 1), or with one
// residue class of its taps per phase of dx (larger strides). Pixels hold 16 floats; the lanes
// of a block are processed Lanes(d) at a time. Outputs whose taps all lie inside the row run
// four at a time, each weight load serving four FMAs.
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

template <class D>
HWY_INLINE void CorrelatePlane(D d, const Plane& pl) {
  const int64_t lanes = int64_t(hn::Lanes(d));
  const auto tap = [&](int64_t a, int64_t b) {
    return pl.w + ((pl.row_first + a * pl.row_step) * pl.w_cols + pl.col_first + b * pl.col_step) *
                      kChannelBlock;
  };
  // Output columns whose every tap lies inside the row: [first_inside, end_inside).
  const int64_t first_inside =
      std::min(pl.out_w, std::max<int64_t>(0, (pl.pad_w + pl.stride_w - 1) / pl.stride_w));
  const int64_t last = pl.in_w + pl.pad_w - pl.taps_s;  // the largest o * stride that fits
  const int64_t end_inside =
      std::max(first_inside, std::min(pl.out_w, last < 0 ? 0 : last / pl.stride_w + 1));
  const int64_t col_step = pl.stride_w * kChannelBlock;
  for (int64_t oh = 0; oh < pl.out_h; ++oh) {
    const TapRange rows = TapsInside(oh, pl.stride_h, pl.pad_h, pl.taps_r, pl.in_h);
    const int64_t ih0 = oh * pl.stride_h - pl.pad_h;
    float* out_row = pl.out + oh * pl.out_row_pitch;
    for (int64_t lane = 0; lane < kChannelBlock; lane += lanes) {
      const auto start = pl.bias != nullptr ? hn::LoadU(d, pl.bias + lane) : hn::Zero(d);
      // One output with its own tap range, for the columns near the edges.
      const auto single = [&](int64_t ow) HWY_ATTR {
        const TapRange cols = TapsInside(ow, pl.stride_w, pl.pad_w, pl.taps_s, pl.in_w);
        const int64_t iw0 = ow * pl.stride_w - pl.pad_w;
        auto acc = start;
        for (int64_t a = rows.first; a < rows.end; ++a) {
          const float* x = pl.in + ((ih0 + a) * pl.in_w + iw0) * kChannelBlock + lane;
          for (int64_t b = cols.first; b < cols.end; ++b) {
            acc = hn::MulAdd(hn::LoadU(d, x + b * kChannelBlock), hn::LoadU(d, tap(a, b) + lane),
                             acc);
          }
        }
        hn::StoreU(acc, d, out_row + ow * pl.out_pixel_pitch + lane);
      };
      int64_t ow = 0;
      for (; ow < first_inside; ++ow) single(ow);
      for (; ow + 4 <= end_inside; ow += 4) {
        auto acc0 = start, acc1 = start, acc2 = start, acc3 = start;
        const int64_t iw0 = ow * pl.stride_w - pl.pad_w;
        for (int64_t a = rows.first; a < rows.end; ++a) {
          const float* x = pl.in + ((ih0 + a) * pl.in_w + iw0) * kChannelBlock + lane;
          if (pl.taps_s == 3 && pl.stride_w == 1) {
            // Three taps sliding over six columns: each x load serves up to three outputs.
            const auto w0 = hn::LoadU(d, tap(a, 0) + lane), w1 = hn::LoadU(d, tap(a, 1) + lane),
                       w2 = hn::LoadU(d, tap(a, 2) + lane);
            const auto x0 = hn::LoadU(d, x), x1 = hn::LoadU(d, x + kChannelBlock),
                       x2 = hn::LoadU(d, x + 2 * kChannelBlock),
                       x3 = hn::LoadU(d, x + 3 * kChannelBlock),
                       x4 = hn::LoadU(d, x + 4 * kChannelBlock),
                       x5 = hn::LoadU(d, x + 5 * kChannelBlock);
            acc0 = hn::MulAdd(x2, w2, hn::MulAdd(x1, w1, hn::MulAdd(x0, w0, acc0)));
            acc1 = hn::MulAdd(x3, w2, hn::MulAdd(x2, w1, hn::MulAdd(x1, w0, acc1)));
            acc2 = hn::MulAdd(x4, w2, hn::MulAdd(x3, w1, hn::MulAdd(x2, w0, acc2)));
            acc3 = hn::MulAdd(x5, w2, hn::MulAdd(x4, w1, hn::MulAdd(x3, w0, acc3)));
            continue;
          }
          for (int64_t b = 0; b < pl.taps_s; ++b) {
            const auto wv = hn::LoadU(d, tap(a, b) + lane);
            const float* xt = x + b * kChannelBlock;
            acc0 = hn::MulAdd(hn::LoadU(d, xt), wv, acc0);
            acc1 = hn::MulAdd(hn::LoadU(d, xt + col_step), wv, acc1);
            acc2 = hn::MulAdd(hn::LoadU(d, xt + 2 * col_step), wv, acc2);
            acc3 = hn::MulAdd(hn::LoadU(d, xt + 3 * col_step), wv, acc3);
          }
        }
        float* o = out_row + ow * pl.out_pixel_pitch + lane;
        hn::StoreU(acc0, d, o);
        hn::StoreU(acc1, d, o + pl.out_pixel_pitch);
        hn::StoreU(acc2, d, o + 2 * pl.out_pixel_pitch);
        hn::StoreU(acc3, d, o + 3 * pl.out_pixel_pitch);
      }
      for (; ow < pl.out_w; ++ow) single(ow);
    }
  }
}

// Each (image, channel block) is independent: its plane of pixels, 16 floats per pixel.
void DepthwiseForwardImpl(const ConvShape& s, const float* x, const float* w, const float* bias,
                          float* y, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t blocks = BlocksOf(s.c), p = s.p(), q = s.q();
  ForEachPlane(s.n * blocks, p * q, pool, [&](size_t item) HWY_ATTR {
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
    CorrelatePlane(hn::ScalableTag<float>(), plane);
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
  ForEachPlane(s.n * blocks, s.h * s.w, pool, [&](size_t item) HWY_ATTR {
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
        CorrelatePlane(hn::ScalableTag<float>(), plane);
      }
    }
  });
}

// One 3x3 filter row's sums c0, c1, c2 += g times the x pixels of the taps inside `cols`, the
// row's x pixels starting at xr (tap 0's column).
template <class D, class V>
HWY_INLINE void AddTapRow(D d, const float* xr, TapRange cols, V g, V& c0, V& c1, V& c2) {
  if (cols.first <= 0 && 0 < cols.end) c0 = hn::MulAdd(g, hn::LoadU(d, xr), c0);
  if (cols.first <= 1 && 1 < cols.end) c1 = hn::MulAdd(g, hn::LoadU(d, xr + kChannelBlock), c1);
  if (cols.first <= 2 && 2 < cols.end) {
    c2 = hn::MulAdd(g, hn::LoadU(d, xr + 2 * kChannelBlock), c2);
  }
}

// Per channel block: every tap's gradient summed over images and output pixels. For 3x3 filters
// the nine sums stay in registers for the whole block. At stride 1 across, an output row whose
// three tap rows lie inside walks its input row: each x pixel meets the three dy pixels it is
// multiplied with (dy[j + pad - b] for tap column b), which slide along in registers, so a pixel
// costs four loads for nine FMAs. Other rows take their output pixels one by one: those whose taps
// all lie inside one dy load and nine x loads per nine FMAs, those at the edges the taps they have.
// Other filter sizes add into the block's R * S * 16 gradient in memory, tap by tap.
void DepthwiseBackwardWeightsImpl(const ConvShape& s, const float* x, const float* dy, float* dw,
                                  float* dbias, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const int64_t blocks = BlocksOf(s.c), p = s.p(), q = s.q();
  // Output columns whose every tap lies inside the row: [first_inside, end_inside).
  const int64_t first_inside = std::min(q, (s.pad_w + s.stride_w - 1) / s.stride_w);
  const int64_t last = s.w + s.pad_w - s.s;
  const int64_t end_inside =
      std::max(first_inside, std::min(q, last < 0 ? 0 : last / s.stride_w + 1));
  const bool three_by_three = s.r == 3 && s.s == 3;
  // The sliding row walk: its window of dy[j + pad - b] covers every dy column once when pad <= 2.
  const bool sliding_rows = three_by_three && s.stride_w == 1 && s.pad_w <= 2;
  // Planes of up to 100 pixels (6 KiB of x per image and block) that the row walk does not take:
  // the edges, half of a 7x7 plane, cost the tap-by-tap walk nothing extra. (It reads the batch's
  // planes once per tap, from L2 when they outgrow L1: MobileNetV2's 7x7 layers at stride 1 ran at
  // 0.26-0.47x oneDNN that way, AVX2 on an AMD EPYC of the Zen 3 generation.)
  const bool small_planes = s.h * s.w <= 100 && !sliding_rows;
  const int64_t col_step = s.stride_w * kChannelBlock;
  // Output rows per band: the band's x and dy rows fill half of L1.
  const int64_t band_bytes = (s.stride_h * s.w + q) * kChannelBlock * int64_t(sizeof(float));
  const int64_t band_rows = std::max<int64_t>(1, DataCaches().l1_bytes / 2 / band_bytes);
  ParallelFor(pool, size_t(blocks), [&](size_t block) HWY_ATTR {
    const hn::ScalableTag<float> d;
    const int64_t lanes = int64_t(hn::Lanes(d)), cb = int64_t(block);
    float* dwb = dw + cb * s.r * s.s * kChannelBlock;
    std::fill(dwb, dwb + s.r * s.s * kChannelBlock, 0.0f);
    if (small_planes) {
      for (int64_t lane = 0; lane < kChannelBlock; lane += lanes) {
        auto bias_sum = hn::Zero(d);
        // Tap by tap over the rectangle of outputs it reaches, four images at a time (four
        // independent sums), with no per-pixel edge test; the small planes stay in cache.
        for (int64_t n = 0; n < s.n; ++n) {
          const float* dyb = dy + (n * blocks + cb) * p * q * kChannelBlock + lane;
          for (int64_t i = 0; i < p * q; ++i) {
            bias_sum = hn::Add(bias_sum, hn::LoadU(d, dyb + i * kChannelBlock));
          }
        }
        const int64_t x_image = blocks * s.h * s.w * kChannelBlock;
        const int64_t dy_image = blocks * p * q * kChannelBlock;
        for (int64_t r = 0; r < s.r; ++r) {
          const TapRange rows = OutputsInside(r, s.stride_h, s.pad_h, s.h, p);
          for (int64_t t = 0; t < s.s; ++t) {
            const TapRange cols = OutputsInside(t, s.stride_w, s.pad_w, s.w, q);
            auto acc0 = hn::Zero(d), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            const float* x0 = x + cb * s.h * s.w * kChannelBlock + lane +
                              ((rows.first * s.stride_h - s.pad_h + r) * s.w +
                               cols.first * s.stride_w - s.pad_w + t) *
                                  kChannelBlock;
            const float* dy0 = dy + cb * p * q * kChannelBlock + lane +
                               (rows.first * q + cols.first) * kChannelBlock;
            int64_t n = 0;
            for (; n + 4 <= s.n; n += 4) {
              for (int64_t oh = 0; oh < rows.end - rows.first; ++oh) {
                const float* xr = x0 + n * x_image + oh * s.stride_h * s.w * kChannelBlock;
                const float* gr = dy0 + n * dy_image + oh * q * kChannelBlock;
                for (int64_t ow = 0; ow < cols.end - cols.first; ++ow) {
                  const int64_t xi = ow * col_step, gi = ow * kChannelBlock;
                  acc0 = hn::MulAdd(hn::LoadU(d, gr + gi), hn::LoadU(d, xr + xi), acc0);
                  acc1 = hn::MulAdd(hn::LoadU(d, gr + dy_image + gi),
                                    hn::LoadU(d, xr + x_image + xi), acc1);
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
        if (dbias != nullptr) hn::StoreU(bias_sum, d, dbias + cb * kChannelBlock + lane);
      }
      return;
    }
    // Lane slices of a pixel (two on AVX2) take turns over a band of rows, their sums parked in
    // dw between bands, so the second reads the band's x and dy from L1, not the whole batch's
    // planes again from L2 or beyond.
    alignas(64) float bias_block[kChannelBlock] = {};
    for (int64_t n = 0; n < s.n; ++n) {
      for (int64_t band = 0; band < p; band += band_rows) {
        const int64_t band_end = std::min(p, band + band_rows);
        for (int64_t lane = 0; lane < kChannelBlock; lane += lanes) {
          const float* xb = x + (n * blocks + cb) * s.h * s.w * kChannelBlock + lane;
          const float* dyb = dy + (n * blocks + cb) * p * q * kChannelBlock + lane;
          float* at = dwb + lane;
          auto a00 = hn::Zero(d), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00, a20 = a00,
               a21 = a00, a22 = a00;
          if (three_by_three) {
            a00 = hn::LoadU(d, at), a01 = hn::LoadU(d, at + kChannelBlock),
            a02 = hn::LoadU(d, at + 2 * kChannelBlock);
            a10 = hn::LoadU(d, at + 3 * kChannelBlock), a11 = hn::LoadU(d, at + 4 * kChannelBlock);
            a12 = hn::LoadU(d, at + 5 * kChannelBlock), a20 = hn::LoadU(d, at + 6 * kChannelBlock);
            a21 = hn::LoadU(d, at + 7 * kChannelBlock), a22 = hn::LoadU(d, at + 8 * kChannelBlock);
          }
          auto bias_sum = hn::LoadU(d, bias_block + lane);
          for (int64_t oh = band; oh < band_end; ++oh) {
            const TapRange rows = TapsInside(oh, s.stride_h, s.pad_h, s.r, s.h);
            const int64_t ih0 = oh * s.stride_h - s.pad_h;
            const float* dy_row = dyb + oh * q * kChannelBlock;
            const float* x0 = xb + (ih0 * s.w - s.pad_w) * kChannelBlock;  // tap row 0, column 0
            const float* x1 = x0 + s.w * kChannelBlock;
            const float* x2 = x1 + s.w * kChannelBlock;
            const bool full_rows = rows.first == 0 && rows.end == s.r;
            if (full_rows && sliding_rows) {
              const auto dy_at = [&](int64_t ow) HWY_ATTR {
                return 0 <= ow && ow < q ? hn::LoadU(d, dy_row + ow * kChannelBlock) : hn::Zero(d);
              };
              // g_b = dy[j + pad - b]: entering at j = 0, the two columns before dy[pad].
              auto g1 = dy_at(s.pad_w - 1), g2 = dy_at(s.pad_w - 2);
              bias_sum = hn::Add(bias_sum, hn::Add(g1, g2));
              const float* r0 = x0 + s.pad_w * kChannelBlock;  // input column 0 of each tap row
              const float* r1 = x1 + s.pad_w * kChannelBlock;
              const float* r2 = x2 + s.pad_w * kChannelBlock;
              const auto column = [&](int64_t j, decltype(g1) g0) HWY_ATTR {
                const int64_t c = j * kChannelBlock;
                const auto v0 = hn::LoadU(d, r0 + c);
                a00 = hn::MulAdd(g0, v0, a00), a01 = hn::MulAdd(g1, v0, a01);
                a02 = hn::MulAdd(g2, v0, a02);
                const auto v1 = hn::LoadU(d, r1 + c);
                a10 = hn::MulAdd(g0, v1, a10), a11 = hn::MulAdd(g1, v1, a11);
                a12 = hn::MulAdd(g2, v1, a12);
                const auto v2 = hn::LoadU(d, r2 + c);
                a20 = hn::MulAdd(g0, v2, a20), a21 = hn::MulAdd(g1, v2, a21);
                a22 = hn::MulAdd(g2, v2, a22);
                g2 = g1, g1 = g0;
              };
              const int64_t dy_end = std::min(s.w, q - s.pad_w);  // columns with dy[j + pad] inside
              int64_t j = 0;
              for (; j < dy_end; ++j) {
                const auto g0 = hn::LoadU(d, dy_row + (j + s.pad_w) * kChannelBlock);
                bias_sum = hn::Add(bias_sum, g0);
                column(j, g0);
              }
              for (; j < s.w; ++j) column(j, hn::Zero(d));
              continue;
            }
            for (int64_t ow = 0; ow < q; ++ow) {
              if (full_rows && three_by_three && ow == first_inside && first_inside < end_inside) {
                ow = end_inside - 1;  // the inside pixels run below, without tap range checks
                continue;
              }
              const auto g = hn::LoadU(d, dy_row + ow * kChannelBlock);
              bias_sum = hn::Add(bias_sum, g);
              if (!three_by_three) {  // tap by tap into memory
                const TapRange cols = TapsInside(ow, s.stride_w, s.pad_w, s.s, s.w);
                const int64_t iw0 = ow * s.stride_w - s.pad_w;
                for (int64_t r = rows.first; r < rows.end; ++r) {
                  for (int64_t t = cols.first; t < cols.end; ++t) {
                    float* at = dwb + (r * s.s + t) * kChannelBlock + lane;
                    const float* xp = xb + ((ih0 + r) * s.w + iw0 + t) * kChannelBlock;
                    hn::StoreU(hn::MulAdd(g, hn::LoadU(d, xp), hn::LoadU(d, at)), d, at);
                  }
                }
                continue;
              }
              const TapRange cols = TapsInside(ow, s.stride_w, s.pad_w, 3, s.w);
              const int64_t c = ow * s.stride_w * kChannelBlock;
              if (rows.first <= 0 && 0 < rows.end) AddTapRow(d, x0 + c, cols, g, a00, a01, a02);
              if (rows.first <= 1 && 1 < rows.end) AddTapRow(d, x1 + c, cols, g, a10, a11, a12);
              if (rows.first <= 2 && 2 < rows.end) AddTapRow(d, x2 + c, cols, g, a20, a21, a22);
            }
            if (!three_by_three || !full_rows) continue;
            for (int64_t ow = first_inside; ow < end_inside; ++ow) {
              const auto g = hn::LoadU(d, dy_row + ow * kChannelBlock);
              const int64_t c = ow * s.stride_w * kChannelBlock;
              bias_sum = hn::Add(bias_sum, g);
              a00 = hn::MulAdd(g, hn::LoadU(d, x0 + c), a00);
              a01 = hn::MulAdd(g, hn::LoadU(d, x0 + c + kChannelBlock), a01);
              a02 = hn::MulAdd(g, hn::LoadU(d, x0 + c + 2 * kChannelBlock), a02);
              a10 = hn::MulAdd(g, hn::LoadU(d, x1 + c), a10);
              a11 = hn::MulAdd(g, hn::LoadU(d, x1 + c + kChannelBlock), a11);
              a12 = hn::MulAdd(g, hn::LoadU(d, x1 + c + 2 * kChannelBlock), a12);
              a20 = hn::MulAdd(g, hn::LoadU(d, x2 + c), a20);
              a21 = hn::MulAdd(g, hn::LoadU(d, x2 + c + kChannelBlock), a21);
              a22 = hn::MulAdd(g, hn::LoadU(d, x2 + c + 2 * kChannelBlock), a22);
            }
          }
          if (three_by_three) {
            hn::StoreU(a00, d, at), hn::StoreU(a01, d, at + kChannelBlock),
                hn::StoreU(a02, d, at + 2 * kChannelBlock);
            hn::StoreU(a10, d, at + 3 * kChannelBlock), hn::StoreU(a11, d, at + 4 * kChannelBlock);
            hn::StoreU(a12, d, at + 5 * kChannelBlock), hn::StoreU(a20, d, at + 6 * kChannelBlock);
            hn::StoreU(a21, d, at + 7 * kChannelBlock), hn::StoreU(a22, d, at + 8 * kChannelBlock);
          }
          hn::StoreU(bias_sum, d, bias_block + lane);
        }
      }
    }
    if (dbias != nullptr) {
      std::copy(bias_block, bias_block + kChannelBlock, dbias + cb * kChannelBlock);
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
