// Dense backward-by-weights convolution.
//
// dw[kb][cb][r][s][ci][ko] = sum over n, oh, ow of x[n][cb][ih][iw][ci] * dy[n][kb][oh][ow][ko],
// with ih = oh * stride - pad + r, iw = ow * stride - pad + s. For fixed (cb, r), the (s, ci)
// pairs of the weight gradient sit at offset f = s * 16 + ci both in dw and, relative to a
// pixel, in the blocked input row: a tile of kX consecutive f values x kKB output-channel blocks
// stays in registers while it sums the pixels of a chunk of rows, one dy vector load and one
// broadcast of x per multiply-add group. Threads own disjoint (output block group, input block)
// pairs, so no reduction across threads is needed.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/conv_dense_weights.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "kernels/block_simd-inl.h"
#include "kernels/cache_sizes.h"
#include "kernels/conv_dense.h"
#include "kernels/conv_direct.h"
#include "kernels/image_split-inl.h"
#include "kernels/isa.h"
#include "kernels/layout.h"
#include "kernels/parallel.h"

// SVE targets run NEON's tiles (block_simd-inl.h).
#if SPARSETRAIN_TILES_ON_NEON
namespace sparsetrain::N_NEON {
void BiasGradient(const ConvShape& s, const float* dy, float* dbias, pthreadpool_t pool);
int64_t PartialFloats(const ConvShape& s, int64_t threads);
void RunWeightsConv(const ConvShape& s, const float* x, const float* dy, float* dw, float* partials,
                    pthreadpool_t pool);
}  // namespace sparsetrain::N_NEON
#endif

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
#if SPARSETRAIN_TILES_ON_NEON
using N_NEON::BiasGradient;
using N_NEON::PartialFloats;
using N_NEON::RunWeightsConv;
#else

// Register tile: kMaxX (s, ci) pairs x kMaxKB output blocks of accumulators, plus the dy
// vectors of one pixel and a broadcast (AVX-512: 6 x 4 + 4 + 1 of 32 registers; AVX2: 6 x 1
// block of 2 vectors + 2 + 1 of 16; SSE4: 2 x 4 + 4 + 1 of 16).
constexpr size_t kMaxKB = kLanes >= 16 ? 4 : 1;
constexpr size_t kMaxX = kLanes >= 8 ? 6 : kLanes == 4 ? 2 : 1;

struct WeightsProblem {
  ConvShape s;
  const float* x;
  const float* dy;
  float* dw;
  int64_t rows_per_chunk;  // of the batch's dy rows: row n * P + oh is row oh of image n
};

// Sums the pixels of the batch's dy rows [row_begin, row_end) into the tile
// dw[kb .. kb + kKB][cb][r][f0 + ColumnOffset<kPerColumn>(0 .. kX)] (zeroed first when `first`).
// Fewer (s, ci) pairs per column than kX serve a partial input block: a first layer's 3
// channels of two kernel columns (1 channel of six) fill a tile of 6 that one column would leave
// half empty (a sixth full).
template <size_t kPerColumn>
constexpr int64_t ColumnOffset(size_t x) {
  return int64_t(x / kPerColumn * kChannelBlock + x % kPerColumn);
}
template <size_t kX, size_t kKB, size_t kPerColumn>
void WeightsTile(const WeightsProblem& p, int64_t kb, int64_t cb, int64_t r, int64_t f0,
                 int64_t row_begin, int64_t row_end, bool first) {
  const BlockD d;
  const ConvShape& s = p.s;
  constexpr size_t kAcc = kKB * kVecsPerBlock;
  const int64_t cblocks = BlocksOf(s.c), kblocks = BlocksOf(s.k);
  const int64_t dw_block_stride = cblocks * s.r * s.s * kWeightBlockFloats;
  float* dw =
      p.dw + ((kb * cblocks + cb) * s.r + r) * s.s * kWeightBlockFloats + f0 * kChannelBlock;
  constexpr size_t kColumns = kX / kPerColumn;
  static_assert(kColumns * kPerColumn == kX, "whole columns");
  VF acc[kX][kAcc];
  // Column col's accumulators, as a tile of their own.
  const auto column = [&](size_t col) -> VF(&)[kPerColumn][kAcc] {
    return *reinterpret_cast<VF(*)[kPerColumn][kAcc]>(&acc[col * kPerColumn]);
  };
  HWY_UNROLL(2)
  for (size_t col = 0; col < kColumns; ++col) {
    if (first) {
      ZeroTile<kPerColumn, kKB>(column(col));
    } else {
      LoadTile<kPerColumn, kKB>(dw + col * kWeightBlockFloats, kChannelBlock, dw_block_stride,
                                column(col));
    }
  }
  const int64_t q = s.q();
  const int64_t dy_block_stride = s.p() * q * kChannelBlock;
  // The kernel columns the tile's (s, ci) pairs span.
  const int64_t last_f = f0 + ColumnOffset<kPerColumn>(kX - 1);
  const int64_t s_min = f0 / kChannelBlock, s_max = last_f / kChannelBlock;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / s.p(), oh = row % s.p();
    const int64_t ih = oh * s.stride_h - s.pad_h + r;
    if (ih < 0 || ih >= s.h) continue;
    const float* x_row = p.x + ((n * cblocks + cb) * s.h + ih) * s.w * kChannelBlock;
    const float* dy_row = p.dy + ((n * kblocks + kb) * s.p() + oh) * q * kChannelBlock;
    // dy pixel ow, through the tile's taps, reads x columns iw0 + s_min .. iw0 + s_max
    // (iw0 = ow * stride - pad): all inside the row for ow in [ow_lo, ow_hi).
    const int64_t ow_lo =
        std::min(q, (std::max<int64_t>(0, s.pad_w - s_min) + s.stride_w - 1) / s.stride_w);
    const int64_t last = s.w - 1 - s_max + s.pad_w;
    const int64_t ow_hi = std::clamp<int64_t>(last < 0 ? 0 : last / s.stride_w + 1, ow_lo, q);
    const auto add_pixel = [&](int64_t ow, bool inside) HWY_ATTR {
      VF g[kAcc];
      HWY_UNROLL(16)
      for (size_t a = 0; a < kAcc; ++a) {
        const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
        g[a] = hn::LoadU(d, dy_row + j * dy_block_stride + ow * kChannelBlock + v * kLanes);
      }
      const int64_t iw0 = ow * s.stride_w - s.pad_w;  // input column of tap s = 0
      const int64_t pixel = iw0 * kChannelBlock + f0;
      HWY_UNROLL(16)
      for (size_t x = 0; x < kX; ++x) {
        const int64_t f = ColumnOffset<kPerColumn>(x);
        if (!inside) {
          const int64_t iw = iw0 + (f0 + f) / kChannelBlock;
          if (iw < 0 || iw >= s.w) continue;
        }
        const VF xv = hn::Set(d, x_row[pixel + f]);
        HWY_UNROLL(16)
        for (size_t a = 0; a < kAcc; ++a) acc[x][a] = hn::MulAdd(xv, g[a], acc[x][a]);
      }
    };
    for (int64_t ow = 0; ow < ow_lo; ++ow) add_pixel(ow, false);
    for (int64_t ow = ow_lo; ow < ow_hi; ++ow) add_pixel(ow, true);
    for (int64_t ow = ow_hi; ow < q; ++ow) add_pixel(ow, false);
  }
  HWY_UNROLL(2)
  for (size_t col = 0; col < kColumns; ++col) {
    StoreTile<kPerColumn, kKB>(column(col), kChannelBlock, dw_block_stride,
                               dw + col * kWeightBlockFloats);
  }
}

// The same for a 1x1 kernel at stride 1 without padding: x pixel i feeds dy pixel i, so the
// chunk's rows are one run of pixels with no edge checks (r = 0, f0 = the first input channel).
template <size_t kX, size_t kKB>
void PointwiseWeightsTile(const WeightsProblem& p, int64_t kb, int64_t cb, int64_t /*r*/,
                          int64_t f0, int64_t row_begin, int64_t row_end, bool first) {
  const BlockD d;
  const ConvShape& s = p.s;
  constexpr size_t kAcc = kKB * kVecsPerBlock;
  const int64_t cblocks = BlocksOf(s.c), kblocks = BlocksOf(s.k), pixels = s.h * s.w;
  const int64_t dw_block_stride = cblocks * kWeightBlockFloats;
  float* dw = p.dw + (kb * cblocks + cb) * kWeightBlockFloats + f0 * kChannelBlock;
  VF acc[kX][kAcc];
  if (first) {
    ZeroTile<kX, kKB>(acc);
  } else {
    LoadTile<kX, kKB>(dw, kChannelBlock, dw_block_stride, acc);
  }
  const int64_t dy_block_stride = pixels * kChannelBlock;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / s.h, pixel = row % s.h * s.w;
    const float* x = p.x + ((n * cblocks + cb) * pixels + pixel) * kChannelBlock + f0;
    const float* dy = p.dy + ((n * kblocks + kb) * pixels + pixel) * kChannelBlock;
    for (int64_t i = s.w; i > 0; --i) {
      VF g[kAcc];
      HWY_UNROLL(16)
      for (size_t a = 0; a < kAcc; ++a) {
        const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
        g[a] = hn::LoadU(d, dy + int64_t(j) * dy_block_stride + int64_t(v * kLanes));
      }
      HWY_UNROLL(16)
      for (size_t c = 0; c < kX; ++c) {
        const VF xv = hn::Set(d, x[c]);
        HWY_UNROLL(16)
        for (size_t a = 0; a < kAcc; ++a) acc[c][a] = hn::MulAdd(xv, g[a], acc[c][a]);
      }
      x += kChannelBlock;
      dy += kChannelBlock;
    }
  }
  StoreTile<kX, kKB>(acc, kChannelBlock, dw_block_stride, dw);
}

using WeightsTileFn = void (*)(const WeightsProblem&, int64_t, int64_t, int64_t, int64_t, int64_t,
                               int64_t, bool);
template <size_t kWidth>
using WeightsTileTable = std::array<std::array<WeightsTileFn, kWidth>, kMaxKB>;

// The tiles of a table: kX consecutive pairs of one kernel row, the pairs of kX / kPerColumn
// whole kernel columns of a partial block's kPerColumn channels (none where that does not
// divide), or pointwise.
struct RowTile {
  template <size_t kX, size_t kKB>
  static constexpr WeightsTileFn kFn = &WeightsTile<kX, kKB, kX>;
};
template <size_t kPerColumn>
struct ColumnsTile {
  template <size_t kX, size_t kKB>
  static constexpr WeightsTileFn Of() {
    if constexpr (kX % kPerColumn == 0) {
      return &WeightsTile<kX, kKB, kPerColumn>;
    } else {
      return nullptr;
    }
  }
  template <size_t kX, size_t kKB>
  static constexpr WeightsTileFn kFn = Of<kX, kKB>();
};
struct PointwiseTile {
  template <size_t kX, size_t kKB>
  static constexpr WeightsTileFn kFn = &PointwiseWeightsTile<kX, kKB>;
};

template <class Tile, size_t kWidth, size_t kKB, size_t... kXm1>
constexpr std::array<WeightsTileFn, kWidth> WeightsTileRow(std::index_sequence<kXm1...>) {
  return {Tile::template kFn<kXm1 + 1, kKB>...};
}
template <class Tile, size_t kWidth, size_t... kKBm1>
constexpr WeightsTileTable<kWidth> MakeWeightsTiles(std::index_sequence<kKBm1...>) {
  return {WeightsTileRow<Tile, kWidth, kKBm1 + 1>(std::make_index_sequence<kWidth>())...};
}
// [kKB - 1][kX - 1], for every shape and for 1x1 kernels at stride 1 without padding.
constexpr WeightsTileTable<kMaxX> kWeightsTiles =
    MakeWeightsTiles<RowTile, kMaxX>(std::make_index_sequence<kMaxKB>());
constexpr WeightsTileTable<kMaxX> kPointwiseWeightsTiles =
    MakeWeightsTiles<PointwiseTile, kMaxX>(std::make_index_sequence<kMaxKB>());
// kColumnsTiles[C - 1][kKB - 1][kX - 1]: whole columns of a partial block of C channels, for
// the C that let a tile hold two columns or more.
constexpr size_t kMaxColumnsChannels = kMaxX / 2;
template <size_t... kCm1>
constexpr std::array<WeightsTileTable<kMaxX>, sizeof...(kCm1)> MakeColumnsTiles(
    std::index_sequence<kCm1...>) {
  return {MakeWeightsTiles<ColumnsTile<kCm1 + 1>, kMaxX>(std::make_index_sequence<kMaxKB>())...};
}
constexpr auto kColumnsTiles = MakeColumnsTiles(std::make_index_sequence<kMaxColumnsChannels>());

// dbias[k] = sum of dy over the batch and pixels, one output block per item.
void BiasGradient(const ConvShape& s, const float* dy, float* dbias, pthreadpool_t pool) {
  const int64_t kblocks = BlocksOf(s.k), pixels = s.p() * s.q();
  ParallelFor(pool, size_t(kblocks), [&](size_t kb) HWY_ATTR {
    const BlockD d;
    VF sum[kVecsPerBlock];
    for (size_t v = 0; v < kVecsPerBlock; ++v) sum[v] = hn::Zero(d);
    for (int64_t n = 0; n < s.n; ++n) {
      const float* g = dy + (n * kblocks + int64_t(kb)) * pixels * kChannelBlock;
      for (int64_t i = 0; i < pixels; ++i) {
        for (size_t v = 0; v < kVecsPerBlock; ++v) {
          sum[v] = hn::Add(sum[v], hn::LoadU(d, g + i * kChannelBlock + v * kLanes));
        }
      }
    }
    HWY_ALIGN float block[kChannelBlock];
    for (size_t v = 0; v < kVecsPerBlock; ++v) hn::Store(sum[v], d, block + v * kLanes);
    const int64_t k0 = int64_t(kb) * kChannelBlock;
    std::copy(block, block + std::min<int64_t>(kChannelBlock, s.k - k0), dbias + k0);
  });
}

// How a call's work is cut: ranges of output block groups x ranges of input blocks x ranges of
// images.
struct WeightsSplit {
  int64_t group_splits = 1, cb_splits = 1, batch_splits = 1;
};

WeightsSplit PlanWeightsSplit(const ConvShape& s, int64_t threads) {
  const int64_t kblocks = BlocksOf(s.k), cblocks = BlocksOf(s.c);
  const int64_t groups = (kblocks + kMaxKB - 1) / kMaxKB;
  // A layer with too few (group, input block) pairs to share evenly (three on two threads, or a
  // full block beside a partial one) splits the images alone: every thread does the same work,
  // into its own copy of a dw that is small.
  if (groups * cblocks < 2 * threads) return {1, 1, std::min(s.n, threads)};
  // An item is a range of output block groups x a range of input blocks. Within it, each chunk
  // of dy rows is read from memory once and reused from cache by every input block of the range,
  // and each chunk of x rows by every group of the range. The split keeps every thread busy while
  // reading the least: x once per group range, dy once per input range.
  const double x_floats =
      double(s.n) * s.c * std::min(s.h, s.p() * s.r) * std::min(s.w, s.q() * s.s);
  const double dy_floats = double(s.n) * s.k * s.p() * s.q();
  int64_t group_splits = 1, cb_splits = 1;
  double best = -1;
  for (int64_t gs = 1; gs <= groups; ++gs) {
    const int64_t cs = std::min(cblocks, (4 * threads + gs - 1) / gs);
    const double traffic = gs * x_floats + cs * dy_floats;
    if (best < 0 || traffic < best) best = traffic, group_splits = gs, cb_splits = cs;
  }
  const int64_t items = group_splits * cb_splits;
  // A layer too small to give every thread its own part of dw (a first layer's few channels)
  // splits the batch too: each part sums into its own copy of dw, added up at the end.
  const int64_t batch_splits = items < threads ? std::min(s.n, threads / items) : 1;
  return {group_splits, cb_splits, batch_splits};
}

// Floats of the dw copies of the batch splits after the first.
int64_t PartialFloats(const ConvShape& s, int64_t threads) {
  return ImageSplit::PartialFloats(PlanWeightsSplit(s, threads).batch_splits,
                                   StorageFloats(s.weights(), Layout::kOIhw16i16o));
}

// `partials` holds PartialFloats(s, ThreadCount(pool)) floats.
void RunWeightsConv(const ConvShape& s, const float* x, const float* dy, float* dw, float* partials,
                    pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  // A chunk's dy rows, running on across images on small maps, amortise a tile's load and store
  // over its pixels, and their group's 64 channels stay in L2 for the chunk's other tiles (256
  // pixels, 64 KiB, beat 64 by 4-9% on Zen 4's 1 MiB; a smaller L2 takes fewer).
  const int64_t chunk_pixels = std::clamp<int64_t>(DataCaches().l2_bytes / 4096, 64, 256);
  const WeightsProblem p{s, x, dy, dw, std::max<int64_t>(1, chunk_pixels / s.q())};
  const int64_t kblocks = BlocksOf(s.k), cblocks = BlocksOf(s.c);
  const int64_t groups = (kblocks + kMaxKB - 1) / kMaxKB;
  const int64_t pairs = s.s * kChannelBlock;  // (s, ci) offsets of one kernel row
  const int64_t last_block_channels = s.c - (cblocks - 1) * kChannelBlock;
  // Kernel columns per tile of a partial block: 1 takes the row tiles, chunk by chunk.
  const int64_t columns_per_tile = s.s > 1 ? int64_t(kMaxX) / last_block_channels : 1;
  const WeightsTileTable<kMaxX>& tiles =
      direct::MapsPixelsOneToOne(s) ? kPointwiseWeightsTiles : kWeightsTiles;
  const WeightsSplit plan = PlanWeightsSplit(s, ThreadCount(pool));
  const int64_t group_splits = plan.group_splits, cb_splits = plan.cb_splits;
  const int64_t batch_splits = plan.batch_splits;
  const int64_t groups_per_item = (groups + group_splits - 1) / group_splits;
  const int64_t cb_per_item = (cblocks + cb_splits - 1) / cb_splits;
  const int64_t items = group_splits * cb_splits;
  const ImageSplit images{batch_splits, StorageFloats(s.weights(), Layout::kOIhw16i16o), dw,
                          partials};
  ParallelFor(pool, size_t(items * batch_splits), [&](size_t index) HWY_ATTR {
    const int64_t split = int64_t(index) / items, item = int64_t(index) % items;
    WeightsProblem part = p;
    part.dw = images.DwOf(split);
    float* const part_dw = part.dw;
    const int64_t n_begin = images.ImageBegin(split, s.n);
    const int64_t n_end = images.ImageBegin(split + 1, s.n);
    const int64_t g_begin = item / cb_splits * groups_per_item;
    const int64_t g_end = std::min(groups, g_begin + groups_per_item);
    const int64_t cb_begin = item % cb_splits * cb_per_item;
    const int64_t cb_end = std::min(cblocks, cb_begin + cb_per_item);
    const int64_t rows_begin = n_begin * s.p(), rows_end = n_end * s.p();
    for (int64_t row = rows_begin; row < rows_end; row += p.rows_per_chunk) {
      const int64_t row_end = std::min(rows_end, row + p.rows_per_chunk);
      const bool first = row == rows_begin;
      for (int64_t cb = cb_begin; cb < cb_end; ++cb) {
        for (int64_t g = g_begin; g < g_end; ++g) {
          const int64_t kb = g * kMaxKB;
          const int64_t nkb = std::min<int64_t>(kMaxKB, kblocks - kb);
          if (cb == cblocks - 1 && last_block_channels < kChannelBlock) {
            // A partial input block (a first layer's 1 or 3 channels): tiles cover only the
            // real channels of each kernel column, as many columns at a time as a tile holds;
            // the padding is zeroed once.
            if (first) {
              for (int64_t j = 0; j < nkb; ++j) {
                float* block = part_dw + ((kb + j) * cblocks + cb) * s.r * s.s * kWeightBlockFloats;
                std::fill(block, block + s.r * s.s * kWeightBlockFloats, 0.0f);
              }
            }
            for (int64_t r = 0; r < s.r; ++r) {
              if (columns_per_tile > 1) {
                for (int64_t col = 0; col < s.s; col += columns_per_tile) {
                  const int64_t nx = std::min(columns_per_tile, s.s - col) * last_block_channels;
                  kColumnsTiles[last_block_channels - 1][nkb - 1][nx - 1](
                      part, kb, cb, r, col * kChannelBlock, row, row_end, first);
                }
                continue;
              }
              for (int64_t col = 0; col < s.s; ++col) {
                for (int64_t ci = 0; ci < last_block_channels; ci += kMaxX) {
                  const int64_t nx = std::min<int64_t>(kMaxX, last_block_channels - ci);
                  tiles[nkb - 1][nx - 1](part, kb, cb, r, col * kChannelBlock + ci, row, row_end,
                                         first);
                }
              }
            }
            continue;
          }
          for (int64_t r = 0; r < s.r; ++r) {
            for (int64_t f = 0; f < pairs; f += kMaxX) {
              const int64_t nx = std::min<int64_t>(kMaxX, pairs - f);
              tiles[nkb - 1][nx - 1](part, kb, cb, r, f, row, row_end, first);
            }
          }
        }
      }
    }
  });
  images.Sum(pool);
}

#endif  // SPARSETRAIN_TILES_ON_NEON
}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(RunWeightsConv);
HWY_EXPORT(PartialFloats);
HWY_EXPORT(BiasGradient);

namespace {

// The pieces of backward-by-weights' workspace: x subsampled (strided 1x1), dw copies.
struct WeightsWorkspace {
  float* x_sub;
  float* partials;
  int64_t floats;
};

WeightsWorkspace CarveWeights(const ConvShape& s, int64_t threads, Workspace workspace) {
  WorkspaceCarver carver(workspace);
  float* x_sub = carver.Take(direct::SubsampledFloats(s));
  const ConvShape& run = direct::IsStridedPointwise(s) ? direct::SubsampledShape(s) : s;
  float* partials = carver.Take(HWY_DYNAMIC_DISPATCH(PartialFloats)(run, threads));
  return {x_sub, partials, carver.floats()};
}

}  // namespace

int64_t ConvWorkspaceFloatsDense(Pass pass, const ConvShape& s, int64_t threads) {
  if (pass != Pass::kBackwardWeights) return direct::WorkspaceFloats(pass, s);
  return CarveWeights(s, threads, {}).floats;
}

void ConvBiasGradient(const ConvShape& s, const float* dy, float* dbias, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(BiasGradient)(s, dy, dbias, pool);
}

Status ConvBackwardWeightsDense(const ConvShape& s, const float* x, const float* dy, float* dw,
                                float* dbias, Workspace workspace, pthreadpool_t pool) {
  const char* pass = "conv backward weights";
  Status status = CheckConvCall(pass, s, {x, dy, dw});
  if (!status.ok()) return status;
  const WeightsWorkspace pieces = CarveWeights(s, ThreadCount(pool), workspace);
  status = CheckWorkspace(pass, workspace, pieces.floats);
  if (!status.ok()) return status;
  if (direct::IsStridedPointwise(s)) {
    HWY_DYNAMIC_DISPATCH(RunWeightsConv)
    (direct::SubsampledShape(s), direct::Subsample(s, x, pieces.x_sub, pool), dy, dw,
     pieces.partials, pool);
  } else {
    HWY_DYNAMIC_DISPATCH(RunWeightsConv)(s, x, dy, dw, pieces.partials, pool);
  }
  if (dbias != nullptr) ConvBiasGradient(s, dy, dbias, pool);
  return Status::Ok();
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
