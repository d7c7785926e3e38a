// Dense forward and backward-by-input convolution: one direct-convolution engine serves both.
//
// Both passes compute out[ob][y][x] = sum over ib, r, s of in[ib][src(y,r)][src(x,s)] x w[ob][ib][r][s],
// with weights blocked [ob][ib][r][s][16 in][16 out] so a weight row is one 16-channel vector:
//  - forward:   in = x, out = y, src(o, tap) = o * stride - pad + tap            (OIhw16i16o)
//  - backward:  in = dy, out = dx, src(o, tap) = (o + pad - tap) / stride if exact (IOhw16o16i)
// A tile of kT output pixels x kKB output-channel blocks stays in registers while it sums the
// taps of a chunk of input-channel blocks: for each input channel, broadcast one source value
// per pixel and multiply-add it into kKB weight vectors. Backward by input with stride > 1 tiles
// pixels of one phase (x, x + stride, ...), whose sources are then consecutive.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/conv_dense_direct.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "kernels/conv_dense.h"
#include "kernels/isa.h"
#include "kernels/layout.h"
#include "kernels/parallel.h"

#ifndef SPARSETRAIN_KERNELS_CONV_DENSE_DIRECT_ONCE_
#define SPARSETRAIN_KERNELS_CONV_DENSE_DIRECT_ONCE_
namespace sparsetrain {
namespace direct {

// One spatial axis of the pass, seen from the output it computes.
struct Axis {
  int64_t out_size, src_size, stride, pad;
  bool transposed;

  // Source pixels step by this much per output pixel of a tile.
  int64_t SourceStep() const { return transposed ? 1 : stride; }
  // Output pixels of one tile step by this much (one phase of the stride when transposed).
  int64_t OutputStep() const { return transposed ? stride : 1; }
  // The source pixel that output `out` reads through `tap`; false if the tap misses it.
  bool Source(int64_t out, int64_t tap, int64_t* src) const {
    if (!transposed) {
      *src = out * stride - pad + tap;
      return true;
    }
    const int64_t num = out + pad - tap;
    if (num % stride != 0) return false;
    *src = num / stride;
    return true;
  }
};

struct Problem {
  const float* in;
  const float* w;
  const float* bias;  // padded to whole blocks, or null
  float* out;
  int64_t batch, out_blocks, in_blocks, taps_h, taps_w;
  Axis rows, cols;
  int64_t in_block_chunk;  // input-channel blocks summed per pass over the output tile
};

// A row segment of output pixels first + step * t, t < count.
struct PixelRun {
  int64_t first, step, count;
};

}  // namespace direct
}  // namespace sparsetrain
#endif  // SPARSETRAIN_KERNELS_CONV_DENSE_DIRECT_ONCE_

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using namespace direct;  // NOLINT

using D = hn::CappedTag<float, kChannelBlock>;
using VF = hn::Vec<D>;
constexpr size_t kLanes = hn::MaxLanes(D());
constexpr size_t kVecsPerBlock = kChannelBlock / kLanes;
static_assert(kChannelBlock % kLanes == 0, "a channel block must be whole vectors");

// Register tile: kMaxT pixels x kMaxKB channel blocks of accumulators, plus one block of weight
// vectors and a broadcast, within the register file (AVX-512: 14 x 2 blocks = 28 + 2 + 1 of 32
// registers; AVX2: 6 x 1 block of 2 vectors = 12 + 2 + 1 of 16; SSE4: 2 x 4 + 4 + 1 of 16).
constexpr size_t kMaxKB = kLanes >= 16 ? 2 : 1;
constexpr size_t kMaxT = kLanes >= 16 ? 14 : kLanes == 8 ? 6 : kLanes == 4 ? 2 : 1;

// acc[t] += src[t] (x) w for one input-channel block, over the pixels t whose source lies in
// the row: [kSkipLo, kT - kSkipHi) when those are known at compile time (>= 0; the common edges
// of padded rows), else [t_lo, t_hi), at the price of a branch per pixel.
// Source pixels are kStep apart (0: `step` apart, known only at run time); a compile-time step
// turns every broadcast address into base + constant, sparing a register per pixel.
template <size_t kT, size_t kKB, int64_t kStep, int kSkipLo, int kSkipHi>
HWY_INLINE void AccumulateBlock(const float* HWY_RESTRICT src, int64_t first, int64_t step,
                                const float* HWY_RESTRICT w, int64_t w_block_stride,
                                int64_t t_lo, int64_t t_hi, VF (&acc)[kT][kKB * kVecsPerBlock]) {
  const D d;
  for (size_t i = 0; i < kChannelBlock; ++i) {
    VF wv[kKB * kVecsPerBlock];
    HWY_UNROLL(16)
    for (size_t j = 0; j < kKB; ++j) {
      HWY_UNROLL(16)
      for (size_t v = 0; v < kVecsPerBlock; ++v) {
        wv[j * kVecsPerBlock + v] = hn::LoadU(d, w + j * w_block_stride + i * kChannelBlock + v * kLanes);
      }
    }
    HWY_UNROLL(16)
    for (size_t t = 0; t < kT; ++t) {
      if (kSkipLo >= 0 ? int64_t(t) < kSkipLo || int64_t(t) >= int64_t(kT) - kSkipHi
                       : int64_t(t) < t_lo || int64_t(t) >= t_hi) {
        continue;
      }
      const int64_t px = int64_t(t) * (kStep > 0 ? kStep : step);
      const VF x = hn::Set(d, src[first + px * int64_t(kChannelBlock) + int64_t(i)]);
      HWY_UNROLL(16)
      for (size_t a = 0; a < kKB * kVecsPerBlock; ++a) acc[t][a] = hn::MulAdd(x, wv[a], acc[t][a]);
    }
  }
}

// Computes (or adds to, past the first chunk) one tile: pixels `run` of row y, output blocks
// [ob, ob + kKB), summing input blocks [ib_begin, ib_end).
template <size_t kT, size_t kKB, int64_t kStep>
void ConvTile(const Problem& p, int64_t n, int64_t ob, int64_t y, const PixelRun& run,
              int64_t ib_begin, int64_t ib_end) {
  const D d;
  constexpr size_t kAcc = kKB * kVecsPerBlock;
  const int64_t out_block_stride = p.rows.out_size * p.cols.out_size * kChannelBlock;
  const int64_t out_px_stride = run.step * kChannelBlock;
  float* out = p.out + (((n * p.out_blocks + ob) * p.rows.out_size + y) * p.cols.out_size +
                        run.first) * kChannelBlock;
  VF acc[kT][kAcc];
  HWY_UNROLL(16)
  for (size_t t = 0; t < kT; ++t) {
    HWY_UNROLL(16)
    for (size_t a = 0; a < kAcc; ++a) {
      const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
      if (ib_begin > 0) {
        acc[t][a] = hn::LoadU(d, out + j * out_block_stride + t * out_px_stride + v * kLanes);
      } else if (p.bias != nullptr) {
        acc[t][a] = hn::LoadU(d, p.bias + (ob + j) * kChannelBlock + v * kLanes);
      } else {
        acc[t][a] = hn::Zero(d);
      }
    }
  }

  const int64_t w_block_stride = p.in_blocks * p.taps_h * p.taps_w * kChannelBlock * kChannelBlock;
  for (int64_t ib = ib_begin; ib < ib_end; ++ib) {
    for (int64_t r = 0; r < p.taps_h; ++r) {
      int64_t sy;
      if (!p.rows.Source(y, r, &sy) || sy < 0 || sy >= p.rows.src_size) continue;
      const float* src_row = p.in + ((n * p.in_blocks + ib) * p.rows.src_size + sy) *
                                        p.cols.src_size * kChannelBlock;
      for (int64_t s = 0; s < p.taps_w; ++s) {
        int64_t sx;
        if (!p.cols.Source(run.first, s, &sx)) continue;
        // Pixels t whose source sx + t * step lies inside the row.
        const int64_t step = p.cols.SourceStep();
        const int64_t t_lo = sx >= 0 ? 0 : (-sx + step - 1) / step;
        const int64_t last = p.cols.src_size - 1 - sx;
        const int64_t t_hi = last < 0 ? 0 : std::min<int64_t>(kT, last / step + 1);
        if (t_lo >= t_hi) continue;
        const float* w = p.w + (((ob * p.in_blocks + ib) * p.taps_h + r) * p.taps_w + s) *
                                   kChannelBlock * kChannelBlock;
        const int64_t first = sx * kChannelBlock;
        const int64_t skip_hi = int64_t(kT) - t_hi;
        if (t_lo == 0 && skip_hi == 0) {
          AccumulateBlock<kT, kKB, kStep, 0, 0>(src_row, first, step, w, w_block_stride, t_lo,
                                         t_hi, acc);
        } else if (t_lo == 1 && skip_hi == 0) {
          AccumulateBlock<kT, kKB, kStep, 1, 0>(src_row, first, step, w, w_block_stride, t_lo,
                                         t_hi, acc);
        } else if (t_lo == 0 && skip_hi == 1) {
          AccumulateBlock<kT, kKB, kStep, 0, 1>(src_row, first, step, w, w_block_stride, t_lo,
                                         t_hi, acc);
        } else {
          AccumulateBlock<kT, kKB, kStep, -1, -1>(src_row, first, step, w, w_block_stride, t_lo,
                                           t_hi, acc);
        }
      }
    }
  }

  HWY_UNROLL(16)
  for (size_t t = 0; t < kT; ++t) {
    HWY_UNROLL(16)
    for (size_t a = 0; a < kAcc; ++a) {
      const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
      hn::StoreU(acc[t][a], d, out + j * out_block_stride + t * out_px_stride + v * kLanes);
    }
  }
}

using TileFn = void (*)(const Problem&, int64_t, int64_t, int64_t, const PixelRun&, int64_t,
                        int64_t);

template <int64_t kStep, size_t kKB, size_t... kTm1>
constexpr std::array<TileFn, kMaxT> TileRow(std::index_sequence<kTm1...>) {
  return {&ConvTile<kTm1 + 1, kKB, kStep>...};
}
template <int64_t kStep, size_t... kKBm1>
constexpr std::array<std::array<TileFn, kMaxT>, kMaxKB> TileTable(std::index_sequence<kKBm1...>) {
  return {TileRow<kStep, kKBm1 + 1>(std::make_index_sequence<kMaxT>())...};
}
// kTiles[source step: 1, 2, other][kKB - 1][kT - 1]: tiles for every pixel run and block group.
constexpr std::array<std::array<std::array<TileFn, kMaxT>, kMaxKB>, 3> kTiles = {
    TileTable<1>(std::make_index_sequence<kMaxKB>()),
    TileTable<2>(std::make_index_sequence<kMaxKB>()),
    TileTable<0>(std::make_index_sequence<kMaxKB>())};

void RunDirectConv(const Problem& p, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  // Pixel runs of one output row: whole phases of the stride (or the whole row), kMaxT at a time.
  std::vector<PixelRun> runs;
  const int64_t step = p.cols.OutputStep();
  for (int64_t phase = 0; phase < std::min(step, p.cols.out_size); ++phase) {
    const int64_t count = (p.cols.out_size - phase + step - 1) / step;
    for (int64_t t = 0; t < count; t += kMaxT) {
      runs.push_back({phase + t * step, step, std::min<int64_t>(kMaxT, count - t)});
    }
  }
  const int64_t groups = (p.out_blocks + kMaxKB - 1) / kMaxKB;
  const int64_t rows = p.rows.out_size;
  const auto& tiles = kTiles[std::min<int64_t>(p.cols.SourceStep(), 3) - 1];
  ParallelFor(pool, size_t(p.batch * groups * rows), [&](size_t item) HWY_ATTR {
    const int64_t y = int64_t(item) % rows;
    const int64_t group = int64_t(item) / rows % groups;
    const int64_t n = int64_t(item) / (rows * groups);
    const int64_t ob = group * kMaxKB;
    const int64_t kb = std::min<int64_t>(kMaxKB, p.out_blocks - ob);
    for (int64_t ib = 0; ib < p.in_blocks; ib += p.in_block_chunk) {
      const int64_t ib_end = std::min(p.in_blocks, ib + p.in_block_chunk);
      for (const PixelRun& run : runs) tiles[kb - 1][run.count - 1](p, n, ob, y, run, ib, ib_end);
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(RunDirectConv);

namespace {

// Enough input blocks per pass over a tile that loading and storing it is amortised
// (1x1 kernels have few taps per block), while their weights stay in L1.
int64_t InBlockChunk(const ConvShape& s) { return std::max<int64_t>(1, 8 / (s.r * s.s)); }

// A 1x1, stride 1, unpadded convolution maps pixels one to one, so each image can be treated as
// a single row of H*W pixels: the same memory, with no short rows to leave tiles partly empty.
ConvShape AsLongRows(ConvShape s) {
  if (s.r == 1 && s.s == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0) {
    s.w *= s.h;
    s.h = 1;
  }
  return s;
}

}  // namespace

Status ConvForwardDense(const ConvShape& shape, const float* x, const float* w, const float* bias,
                        float* y, pthreadpool_t pool) {
  Status status = Validate(shape);
  if (!status.ok()) return status;
  if (x == nullptr || w == nullptr || y == nullptr) {
    return InvalidArgument("conv forward: null tensor");
  }
  const ConvShape s = AsLongRows(shape);
  std::vector<float> padded_bias;
  if (bias != nullptr) {
    padded_bias.assign(PaddedChannels(s.k), 0.0f);
    std::copy(bias, bias + s.k, padded_bias.begin());
  }
  direct::Problem p{x, w, bias ? padded_bias.data() : nullptr, y,
                    s.n, BlocksOf(s.k), BlocksOf(s.c), s.r, s.s,
                    direct::Axis{s.p(), s.h, s.stride_h, s.pad_h, false},
                    direct::Axis{s.q(), s.w, s.stride_w, s.pad_w, false}, InBlockChunk(s)};
  HWY_DYNAMIC_DISPATCH(RunDirectConv)(p, pool);
  return Status::Ok();
}

Status ConvBackwardDataDense(const ConvShape& shape, const float* dy, const float* w_transposed,
                             float* dx, pthreadpool_t pool) {
  Status status = Validate(shape);
  if (!status.ok()) return status;
  if (dy == nullptr || w_transposed == nullptr || dx == nullptr) {
    return InvalidArgument("conv backward data: null tensor");
  }
  const ConvShape s = AsLongRows(shape);
  direct::Problem p{dy, w_transposed, nullptr, dx,
                    s.n, BlocksOf(s.c), BlocksOf(s.k), s.r, s.s,
                    direct::Axis{s.h, s.p(), s.stride_h, s.pad_h, true},
                    direct::Axis{s.w, s.q(), s.stride_w, s.pad_w, true}, InBlockChunk(s)};
  HWY_DYNAMIC_DISPATCH(RunDirectConv)(p, pool);
  return Status::Ok();
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
