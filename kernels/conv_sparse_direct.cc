// Sparse forward (zeros of x skipped) and backward-by-input (zeros of dy skipped). Output
// accumulators stay in registers; weights are read from L1 as the multiply-adds need them, so
// only non-zero source values cost work. Each source pixel's 16 channels are compared with zero
// at once, and the set bits are walked: every non-zero is broadcast and multiplied into each
// (output pixel, kernel column) it reaches. Four walks, by shape:
//  - sliding (3-wide kernels, consecutive sources: forward and backward by input with stride 1,
//    all of VGG): along whole output rows, with a ring of three open output pixels;
//  - pointwise (1x1 kernels mapping pixels one to one, strided ones subsampled first): pixel by
//    pixel, each non-zero feeding as many output blocks as the registers hold;
//  - tiles (other 1- and 3-wide kernels) on the direct engine (conv_direct-inl.h): which output
//    pixel each (source pixel, kernel column) feeds is known at compile time for a tile;
//  - per kernel column (any other shape), one pass along the source per column.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/conv_sparse_direct.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "kernels/cache_sizes.h"
#include "kernels/conv_direct-inl.h"
#include "kernels/conv_direct.h"
#include "kernels/conv_sparse.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"
#include "kernels/sparse_walk.h"

// SVE targets run NEON's tiles (block_simd-inl.h).
#if SPARSETRAIN_TILES_ON_NEON
namespace sparsetrain::N_NEON {
void RunSparseDirect(const direct::Problem& p, pthreadpool_t pool);
}  // namespace sparsetrain::N_NEON
#endif

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
#if SPARSETRAIN_TILES_ON_NEON
using N_NEON::RunSparseDirect;
#else

template <size_t kKB>
using Acc = VF[kKB * kVecsPerBlock];

// acc += x * w[ci] for kKB output blocks, w pointing at the weight row of input channel 0.
// One pointer per output block at the weights of a kernel row: each multiply-add then addresses
// its weights as pointer + (tap, channel) offset, with no arithmetic of its own.
template <size_t kKB>
struct BlockWeights {
  BlockWeights(const float* w_row, int64_t w_block_stride) {
    for (size_t j = 0; j < kKB; ++j) blocks[j] = w_row + int64_t(j) * w_block_stride;
  }
  const float* blocks[kKB];
};

// acc += x * w[tap][ci] for kKB output blocks.
template <size_t kKB>
HWY_INLINE void MultiplyAddWeights(VF x, const BlockWeights<kKB>& w, int64_t tap, size_t ci,
                                   Acc<kKB>& acc) {
  const BlockD d;
  const int64_t offset = tap * kWeightBlockFloats + int64_t(ci) * kChannelBlock;
  HWY_UNROLL(16)
  for (size_t a = 0; a < kKB * kVecsPerBlock; ++a) {
    const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
    acc[a] = hn::MulAdd(x, hn::LoadU(d, w.blocks[j] + offset + int64_t(v * kLanes)), acc[a]);
  }
}

// One pass along the source row; kDir = +1 for forward (tap s reads pixel base + s + t * kStep),
// -1 for backward by input with stride 1 (tap s reads pixel base - s + t).
template <size_t kT, size_t kKB, int64_t kStep, int64_t kS, int64_t kDir>
HWY_INLINE void WalkSources(const direct::Problem& p, const direct::PixelRun& run,
                            const float* HWY_RESTRICT src_row, const float* HWY_RESTRICT w_row,
                            int64_t w_block_stride, VF (&acc)[kT][kKB * kVecsPerBlock]) {
  const BlockD d;
  const BlockWeights<kKB> w(w_row, w_block_stride);
  int64_t base = 0;  // every tap reaches the row here (see SparseRows::AddRow)
  p.cols.Source(run.first, 0, &base);
  constexpr int64_t kFirst = kDir > 0 ? 0 : -(kS - 1);  // leftmost source, relative to base
  constexpr int64_t kSpan = (int64_t(kT) - 1) * kStep + kS;
  HWY_UNROLL(32)
  for (int64_t j = 0; j < kSpan; ++j) {
    const int64_t u = base + kFirst + j;
    if (u < 0 || u >= p.cols.src_size) continue;  // padding
    const float* x = src_row + u * kChannelBlock;
    for (uint64_t bits = NonzeroBits(x); bits != 0; bits &= bits - 1) {
      const size_t ci = hwy::Num0BitsBelowLS1Bit_Nonzero64(bits);
      const VF xv = hn::Set(d, x[ci]);
      HWY_UNROLL(8)
      for (int64_t s = 0; s < kS; ++s) {
        const int64_t offset = kFirst + j - kDir * s;  // = t * kStep for the pixel t it feeds
        if (offset < 0 || offset % kStep != 0 || offset / kStep >= int64_t(kT)) continue;
        MultiplyAddWeights<kKB>(xv, w, s, ci, acc[offset / kStep]);
      }
    }
  }
}

// One pass along the source row per kernel column: any kernel width, stride and direction.
template <size_t kT, size_t kKB, int64_t kStep>
HWY_INLINE void WalkTaps(const direct::Problem& p, const direct::PixelRun& run,
                         const float* HWY_RESTRICT src_row, const float* HWY_RESTRICT w_row,
                         int64_t w_block_stride, VF (&acc)[kT][kKB * kVecsPerBlock]) {
  const BlockD d;
  const BlockWeights<kKB> w(w_row, w_block_stride);
  const int64_t step = kStep > 0 ? kStep : p.cols.SourceStep();
  for (int64_t s = 0; s < p.taps_w; ++s) {
    direct_engine::TapSpan span;
    if (!direct_engine::SpanOfTap<kStep>(p, run, s, kT, &span)) continue;
    HWY_UNROLL(16)
    for (size_t t = 0; t < kT; ++t) {
      if (int64_t(t) < span.t_lo || int64_t(t) >= span.t_hi) continue;
      const float* x = src_row + (span.sx + int64_t(t) * step) * kChannelBlock;
      for (uint64_t bits = NonzeroBits(x); bits != 0; bits &= bits - 1) {
        const size_t ci = hwy::Num0BitsBelowLS1Bit_Nonzero64(bits);
        MultiplyAddWeights<kKB>(hn::Set(d, x[ci]), w, s, ci, acc[t]);
      }
    }
  }
}

struct SparseRows {
  // Accumulators plus a broadcast and a weight vector fill the register file (AVX-512: 3 x 8
  // blocks = 24 + 2 of 32 registers; AVX2: 3 x 2 blocks of 2 vectors = 12 + 2 of 16; SSE4:
  // 3 x 4 + 2 of 16). Weights come from L1 one vector per multiply-add.
  static constexpr size_t kMaxKB = kLanes >= 16 ? 8 : kLanes == 8 ? 2 : 1;
  static constexpr size_t kMaxT = kLanes == 1 ? 1 : 3;
  // One kernel row at a time: its weights (3 columns x 8 blocks) stay in L1 while the whole
  // output row passes over them, since each non-zero reads its own weight vectors.
  static constexpr int64_t kRowsPerPass = 1;

  // A partial block's padding channels are zeros, which the walks skip like any other.
  template <size_t kT, size_t kKB, int64_t kStep>
  static HWY_INLINE void AddRow(const direct::Problem& p, const direct::PixelRun& run,
                                const float* src_row, int64_t /*channels*/, const float* w_row,
                                int64_t w_block_stride, VF (&acc)[kT][kKB * kVecsPerBlock]) {
    // Every tap reaches the tile at a compile-time offset only with a fixed step, and, when
    // transposed, stride 1 (otherwise the taps that fit depend on the pixel's phase).
    const bool walk_sources = kStep > 0 && (!p.cols.transposed || p.cols.stride == 1);
    const int64_t width = walk_sources ? p.taps_w : 0;
    if (width == 3 && !p.cols.transposed) {
      WalkSources<kT, kKB, kStep, 3, +1>(p, run, src_row, w_row, w_block_stride, acc);
    } else if (width == 3) {
      WalkSources<kT, kKB, kStep, 3, -1>(p, run, src_row, w_row, w_block_stride, acc);
    } else if (width == 1) {
      WalkSources<kT, kKB, kStep, 1, +1>(p, run, src_row, w_row, w_block_stride, acc);
    } else {
      WalkTaps<kT, kKB, kStep>(p, run, src_row, w_row, w_block_stride, acc);
    }
  }
};

// The sliding walk, for 3-wide kernels with consecutive sources (forward with stride 1, and
// backward by input with stride 1): one pass along the whole output row per (input block, kernel
// row). Step i opens output pixel i and reads the one source pixel whose taps all land on the
// three open outputs i-2, i-1, i, which sit in a ring of three accumulator slots; output i-2 is
// then complete and leaves. Each non-zero thus feeds 3 taps x kKB blocks of multiply-adds, and
// every source pixel is visited once per kernel row instead of once per overlapping tile.
constexpr size_t kSlideKB = kLanes >= 16 ? 8 : kLanes == 8 ? 2 : 1;
constexpr int64_t kSlideTaps = 3;

// The walk's weights, one slice per (output-block group, input block, kernel row), packed as
// [input channel][tap][kSlideKB blocks][16 outputs]: the 3 x kKB weight vectors a non-zero
// feeds sit at one address plus constants. In the forward layout they lie a weight-block stride
// apart, and their kKB base addresses would not all fit in the general registers.
constexpr int64_t kPackedTap = int64_t(kSlideKB) * kChannelBlock;
constexpr int64_t kPackedChannel = kSlideTaps * kPackedTap;
constexpr int64_t kPackedSlice = kChannelBlock * kPackedChannel;

// Packs the slice of output blocks [ob, ob + blocks), input block ib, kernel row r.
void PackSlice(const direct::Problem& p, int64_t ob, int64_t blocks, int64_t ib, int64_t r,
               float* HWY_RESTRICT slice) {
  const BlockD d;
  for (int64_t j = 0; j < blocks; ++j) {
    const float* src = p.WeightRow(ob + j, ib, r);
    for (int64_t tap = 0; tap < kSlideTaps; ++tap) {
      for (int64_t ci = 0; ci < kChannelBlock; ++ci) {
        for (size_t v = 0; v < kVecsPerBlock; ++v) {
          hn::StoreU(
              hn::LoadU(d, src + (tap * kChannelBlock + ci) * kChannelBlock + v * kLanes), d,
              slice + ci * kPackedChannel + tap * kPackedTap + j * kChannelBlock + v * kLanes);
        }
      }
    }
  }
}

// acc += x * w for the kKB blocks of one tap (w: packed weights of the input channel).
template <size_t kKB>
HWY_INLINE void MultiplyAddTap(VF x, const float* HWY_RESTRICT w, int64_t tap,
                               VF (&acc)[kKB * kVecsPerBlock]) {
  HWY_UNROLL(16)
  for (size_t a = 0; a < kKB * kVecsPerBlock; ++a) {
    acc[a] = hn::MulAdd(x, hn::LoadU(BlockD(), w + tap * kPackedTap + int64_t(a * kLanes)), acc[a]);
  }
}

// Multiplies x[ci] into the open outputs i - back (back = 0, 1, 2; all of them when kAllOpen,
// else those inside the row): slot (c - back) mod 3, through tap `back` (forward) or 2 - back
// (backward by input).
template <size_t kKB, int kDir, bool kAllOpen>
HWY_INLINE void FeedOpenOutputs(size_t ci, const float* HWY_RESTRICT x, int64_t c, int64_t i,
                                int64_t q, const float* HWY_RESTRICT w,
                                VF (&acc)[kSlideTaps][kKB * kVecsPerBlock]) {
  const VF xv = hn::Set(BlockD(), x[ci]);
  const float* w_channel = w + int64_t(ci) * kPackedChannel;
  HWY_UNROLL(3)
  for (int64_t back = 0; back < kSlideTaps; ++back) {
    if (!kAllOpen && (i - back < 0 || i - back >= q)) continue;
    MultiplyAddTap<kKB>(xv, w_channel, kDir > 0 ? back : kSlideTaps - 1 - back,
                        acc[(c - back + kSlideTaps) % kSlideTaps]);
  }
}

// Feeds every non-zero of source pixel x: the first without a branch on whether there is one
// (at high sparsity most pixels hold none or one, and that branch is the one the predictor
// misses most; a zero lane then adds zeros).
template <size_t kKB, int kDir, bool kAllOpen>
HWY_INLINE void FeedPixel(const float* HWY_RESTRICT x, int64_t c, int64_t i, int64_t q,
                          const float* HWY_RESTRICT w, VF (&acc)[kSlideTaps][kKB * kVecsPerBlock]) {
  uint64_t bits = NonzeroBits(x);
  FeedOpenOutputs<kKB, kDir, kAllOpen>(FirstNonzeroLane(bits), x, c, i, q, w, acc);
  for (bits &= bits - 1; bits != 0; bits &= bits - 1) {
    FeedOpenOutputs<kKB, kDir, kAllOpen>(hwy::Num0BitsBelowLS1Bit_Nonzero64(bits), x, c, i, q, w,
                                         acc);
  }
}

// kDir = +1 (forward): step i reads source pixel i - pad; open output i - d gets tap d.
// kDir = -1 (backward by input): it reads i + pad - 2, and output i - d gets tap 2 - d.
template <size_t kKB, int kDir>
void SlideRow(const direct::Problem& p, const float* HWY_RESTRICT w, int64_t n, int64_t ob,
              int64_t y, int64_t ib, int64_t r, bool first) {
  const BlockD d;
  constexpr size_t kAcc = kKB * kVecsPerBlock;
  const int64_t q = p.cols.out_size;
  const int64_t out_block_stride = p.rows.out_size * q * kChannelBlock;
  float* out_row = p.out + ((n * p.out_blocks + ob) * p.rows.out_size + y) * q * kChannelBlock;
  int64_t sy = 0;
  const bool row_reads = p.rows.Source(y, r, &sy) && sy >= 0 && sy < p.rows.src_size;
  if (!row_reads && !first) return;  // this kernel row adds nothing
  const float* src_row =
      p.in + ((n * p.in_blocks + ib) * p.rows.src_size + sy) * p.cols.src_size * kChannelBlock;
  const int64_t shift = kDir > 0 ? -p.cols.pad : p.cols.pad - (kSlideTaps - 1);

  VF acc[kSlideTaps][kAcc];
  ZeroTile<kSlideTaps, kKB>(acc);  // every slot is opened before use; this keeps that evident
  for (int64_t i0 = 0; i0 < q + kSlideTaps - 1; i0 += kSlideTaps) {
    HWY_UNROLL(3)
    for (int64_t c = 0; c < kSlideTaps; ++c) {
      const int64_t i = i0 + c;
      if (i >= q + kSlideTaps - 1) break;
      if (i < q) {  // open output i in slot c
        HWY_UNROLL(16)
        for (size_t a = 0; a < kAcc; ++a) {
          const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
          const float* at = out_row + j * out_block_stride + i * kChannelBlock + v * kLanes;
          acc[c][a] = !first ? hn::LoadU(d, at)
                      : p.bias != nullptr
                          ? hn::LoadU(d, p.bias + (ob + j) * kChannelBlock + v * kLanes)
                          : hn::Zero(d);
        }
      }
      const int64_t u = i + shift;
      if (row_reads && u >= 0 && u < p.cols.src_size) {
        const float* x = src_row + u * kChannelBlock;
        if (i >= kSlideTaps - 1 && i < q) {  // all three open outputs inside the row
          FeedPixel<kKB, kDir, true>(x, c, i, q, w, acc);
        } else {
          FeedPixel<kKB, kDir, false>(x, c, i, q, w, acc);
        }
      }
      const int64_t done = i - (kSlideTaps - 1);  // output leaving slot (c + 1) % 3
      if (done >= 0 && done < q) {
        HWY_UNROLL(16)
        for (size_t a = 0; a < kAcc; ++a) {
          const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
          hn::StoreU(acc[(c + 1) % kSlideTaps][a], d,
                     out_row + j * out_block_stride + done * kChannelBlock + v * kLanes);
        }
      }
    }
  }
}

using SlideFn = void (*)(const direct::Problem&, const float*, int64_t, int64_t, int64_t, int64_t,
                         int64_t, bool);
template <int kDir, size_t... kKBm1>
constexpr std::array<SlideFn, kSlideKB> SlideRows(std::index_sequence<kKBm1...>) {
  return {&SlideRow<kKBm1 + 1, kDir>...};
}

// Output rows walked together, one block group: each weight slice is packed once per chunk
// into a buffer that stays in L1 (24 KiB on AVX-512) while it serves every row of the chunk - a
// lone 14- or 28-pixel row would use each weight vector only a few times. The chunk's outputs,
// re-read once per slice, stream from L2: a chunk's outputs take half of the L2 (on a 1 MiB L2,
// 128-768 KiB measured within a few percent of each other on VGG16's layers). Chunks run over the
// rows of consecutive images.

struct RowChunks {
  RowChunks(const direct::Problem& p, int64_t groups, int64_t threads)
      : rows(p.batch * p.rows.out_size) {
    const int64_t blocks = std::min<int64_t>(int64_t(kSlideKB), p.out_blocks);
    const int64_t row_bytes = p.cols.out_size * blocks * kChannelBlock * int64_t(sizeof(float));
    per_chunk = std::clamp<int64_t>(DataCaches().l2_bytes / 2 / row_bytes, 1, rows);
    // Enough work items to keep every thread busy to the end.
    while (per_chunk > 1 && groups * ((rows + per_chunk - 1) / per_chunk) < 4 * threads) {
      per_chunk = (per_chunk + 1) / 2;
    }
    count = (rows + per_chunk - 1) / per_chunk;
  }
  int64_t rows;       // of the whole batch, image after image
  int64_t per_chunk;  // rows
  int64_t count;
};

void RunSliding(const direct::Problem& p, pthreadpool_t pool) {
  static constexpr auto kForward = SlideRows<+1>(std::make_index_sequence<kSlideKB>());
  static constexpr auto kBackward = SlideRows<-1>(std::make_index_sequence<kSlideKB>());
  const auto& slides = p.cols.transposed ? kBackward : kForward;
  const int64_t groups = (p.out_blocks + int64_t(kSlideKB) - 1) / int64_t(kSlideKB);
  const RowChunks chunks(p, groups, ThreadCount(pool));
  ParallelFor(pool, size_t(groups * chunks.count), [&](size_t item) HWY_ATTR {
    HWY_ALIGN float slice[kPackedSlice];
    const int64_t ob = int64_t(item) / chunks.count * int64_t(kSlideKB);
    const int64_t blocks = std::min<int64_t>(int64_t(kSlideKB), p.out_blocks - ob);
    const int64_t row0 = int64_t(item) % chunks.count * chunks.per_chunk;
    const int64_t row1 = std::min(chunks.rows, row0 + chunks.per_chunk);
    for (int64_t ib = 0; ib < p.in_blocks; ++ib) {
      for (int64_t r = 0; r < p.taps_h; ++r) {
        PackSlice(p, ob, blocks, ib, r, slice);
        for (int64_t row = row0; row < row1; ++row) {
          slides[blocks - 1](p, slice, row / p.rows.out_size, ob, row % p.rows.out_size, ib, r,
                             ib == 0 && r == 0);
        }
      }
    }
  });
}

// The pointwise walk, for 1x1 kernels that map pixels one to one (stride 1, no padding; strided
// ones arrive subsampled): a non-zero feeds only its own pixel, so the tile is one pixel x
// kPointKB output blocks - as many multiply-adds per non-zero as the registers hold (AVX-512:
// 12 blocks = 12 of 32 registers; AVX2: 6 blocks of 2 vectors = 12 of 16; SSE4: 3 x 4). The
// pixel's zero masks of kPointChunk input blocks are walked as one word, so the loop exit the
// predictor misses comes once per 64 channels rather than per 16. Weights are packed per (group,
// input-block chunk) as [block][channel][kPointKB blocks][16 outputs]: the vectors of non-zero b
// of the word then sit at slice + b * kPointKB * 16, and the slice (24 KiB) stays in L1 while a
// range of pixels passes over it.
constexpr size_t kPointKB = kLanes >= 16 ? 12 : kLanes == 8 ? 6 : kLanes == 4 ? 3 : 1;
constexpr int64_t kPointChunk = std::min<int64_t>(4, 24 / int64_t(kPointKB));
constexpr int64_t kPointChannel = int64_t(kPointKB) * kChannelBlock;  // floats per input channel
constexpr int64_t kPointSlice = kPointChunk * kChannelBlock * kPointChannel;
static_assert(kPointChunk * kChannelBlock <= 64, "a pixel's chunk of masks fits one word");

// Packs output blocks [ob, ob + blocks), input blocks [ib, ib + chunk).
void PackPointSlice(const direct::Problem& p, int64_t ob, int64_t blocks, int64_t ib, int64_t chunk,
                    float* HWY_RESTRICT slice) {
  const BlockD d;
  for (int64_t b = 0; b < chunk; ++b) {
    for (int64_t j = 0; j < blocks; ++j) {
      const float* src = p.WeightRow(ob + j, ib + b, 0);
      for (int64_t ci = 0; ci < kChannelBlock; ++ci) {
        for (size_t v = 0; v < kVecsPerBlock; ++v) {
          hn::StoreU(
              hn::LoadU(d, src + ci * kChannelBlock + v * kLanes), d,
              slice + (b * kChannelBlock + ci) * kPointChannel + j * kChannelBlock + v * kLanes);
        }
      }
    }
  }
}

// Adds input blocks [ib, ib + chunk) of pixels [first, last) of image n into output blocks
// [ob, ob + kKB) (which they start, with the bias, when `start`).
template <size_t kKB>
void PointPixels(const direct::Problem& p, const float* HWY_RESTRICT slice, int64_t n, int64_t ob,
                 int64_t ib, int64_t chunk, int64_t first, int64_t last, bool start) {
  const BlockD d;
  constexpr size_t kAcc = kKB * kVecsPerBlock;
  const int64_t plane = p.rows.out_size * p.cols.out_size * kChannelBlock;  // = the input's
  const float* in = p.in + (n * p.in_blocks + ib) * plane;
  float* out = p.out + (n * p.out_blocks + ob) * plane;
  for (int64_t px = first; px < last; ++px) {
    VF acc[kAcc];
    HWY_UNROLL(16)
    for (size_t a = 0; a < kAcc; ++a) {
      const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
      acc[a] = !start              ? hn::LoadU(d, out + j * plane + px * kChannelBlock + v * kLanes)
               : p.bias != nullptr ? hn::LoadU(d, p.bias + (ob + j) * kChannelBlock + v * kLanes)
                                   : hn::Zero(d);
    }
    const float* x = in + px * kChannelBlock;
    uint64_t bits = 0;
    for (int64_t b = 0; b < chunk; ++b) bits |= NonzeroBits(x + b * plane) << (b * kChannelBlock);
    for (; bits != 0; bits &= bits - 1) {
      const int64_t bit = int64_t(hwy::Num0BitsBelowLS1Bit_Nonzero64(bits));
      const VF xv = hn::Set(d, x[bit / kChannelBlock * plane + bit % kChannelBlock]);
      const float* w = slice + bit * kPointChannel;
      HWY_UNROLL(16)
      for (size_t a = 0; a < kAcc; ++a) {
        acc[a] = hn::MulAdd(xv, hn::LoadU(d, w + int64_t(a * kLanes)), acc[a]);
      }
    }
    HWY_UNROLL(16)
    for (size_t a = 0; a < kAcc; ++a) {
      const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
      hn::StoreU(acc[a], d, out + j * plane + px * kChannelBlock + v * kLanes);
    }
  }
}

using PointFn = void (*)(const direct::Problem&, const float*, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int64_t, bool);
template <size_t... kKBm1>
constexpr std::array<PointFn, kPointKB> PointTiles(std::index_sequence<kKBm1...>) {
  return {&PointPixels<kKBm1 + 1>...};
}

// Work items: a block group x a range of the batch's pixels, image after image, whose outputs
// (re-read once per slice) take at most half of the L2.
void RunPointwise(const direct::Problem& p, pthreadpool_t pool) {
  static constexpr auto kTiles = PointTiles(std::make_index_sequence<kPointKB>());
  const int64_t groups = (p.out_blocks + int64_t(kPointKB) - 1) / int64_t(kPointKB);
  const int64_t pixels = p.rows.out_size * p.cols.out_size, all = p.batch * pixels;
  const int64_t pixel_bytes =
      std::min<int64_t>(kPointKB, p.out_blocks) * kPointChannel * int64_t(sizeof(float));
  int64_t per_item = std::clamp<int64_t>(DataCaches().l2_bytes / 2 / pixel_bytes, 1, all);
  while (per_item > 1 && groups * ((all + per_item - 1) / per_item) < 4 * ThreadCount(pool)) {
    per_item = (per_item + 1) / 2;
  }
  const int64_t ranges = (all + per_item - 1) / per_item;
  ParallelFor(pool, size_t(groups * ranges), [&](size_t item) HWY_ATTR {
    HWY_ALIGN float slice[kPointSlice];
    const int64_t ob = int64_t(item) / ranges * int64_t(kPointKB);
    const int64_t blocks = std::min<int64_t>(int64_t(kPointKB), p.out_blocks - ob);
    const int64_t begin = int64_t(item) % ranges * per_item;
    const int64_t end = std::min(all, begin + per_item);
    for (int64_t ib = 0; ib < p.in_blocks; ib += kPointChunk) {
      const int64_t chunk = std::min(kPointChunk, p.in_blocks - ib);
      PackPointSlice(p, ob, blocks, ib, chunk, slice);
      for (int64_t at = begin; at < end;) {  // split where an image ends
        const int64_t n = at / pixels, px = at % pixels;
        const int64_t stop = std::min(end - n * pixels, pixels);
        kTiles[blocks - 1](p, slice, n, ob, ib, chunk, px, stop, ib == 0);
        at = n * pixels + stop;
      }
    }
  });
}

void RunSparseDirect(const direct::Problem& p, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  static_assert(kSlideTaps == 3, "the sliding walk is the one sparse_walk.h describes");
  const bool slides = SparseSlidesAlongRows(p.taps_w, p.cols.stride) && kLanes > 1;
  if (slides) {
    RunSliding(p, pool);
  } else if (p.MapsPixelsOneToOne()) {
    RunPointwise(p, pool);
  } else {
    RunDirect<SparseRows>(p, pool);
  }
}

#endif  // SPARSETRAIN_TILES_ON_NEON
}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(RunSparseDirect);

Status ConvForwardSparse(const ConvShape& s, const float* x, const float* w, const float* bias,
                         float* y, Workspace workspace, pthreadpool_t pool) {
  return direct::RunForward("sparse conv forward", HWY_DYNAMIC_DISPATCH(RunSparseDirect), s, x, w,
                            bias, y, workspace, pool);
}

Status ConvBackwardDataSparse(const ConvShape& s, const float* dy, const float* w_transposed,
                              float* dx, Workspace workspace, pthreadpool_t pool) {
  return direct::RunBackwardData("sparse conv backward data", HWY_DYNAMIC_DISPATCH(RunSparseDirect),
                                 s, dy, w_transposed, dx, workspace, pool);
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
