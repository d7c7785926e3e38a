// Sparse backward-by-weights: skips the zeros of dy, or of x (the same walk on a swapped
// problem, see ConvBackwardWeightsSparse).
//
// dw[k][c][r][s] = sum over n, oh, ow of dy[n][k][oh][ow] * x[n][c][ih][iw] (ih = oh * stride -
// pad + r, iw = ow * stride - pad + s). Both operands' channels index the result, so zeros can
// only be found along a dimension that does not: here the output row of dy. Its zero masks (a
// 64-bit word per output channel and 64 pixels) come from dy's blocked layout - one compare per
// pixel covers 16 channels, whose bits are then gathered per channel - a chunk of rows at a time,
// so dy is never copied. For each non-zero dy value the tile - one output channel k, kR kernel
// rows, kS kernel columns x kCB input-channel blocks of dw, 16 input channels per vector - gains
// kR x kS x kCB multiply-adds against x vectors at the pixels that value touches.
// The tile accumulates in the transposed weight layout (input channels innermost); the result
// is reordered into the forward layout at the end, in the pass's time.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/conv_sparse_weights.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "kernels/block_simd-inl.h"
#include "kernels/cache_sizes.h"
#include "kernels/conv_dense.h"
#include "kernels/conv_direct.h"
#include "kernels/conv_sparse.h"
#include "kernels/image_split-inl.h"
#include "kernels/isa.h"
#include "kernels/layout.h"
#include "kernels/parallel.h"
#include "kernels/reorder.h"
#include "kernels/sparse_walk.h"

#ifndef SPARSETRAIN_KERNELS_CONV_SPARSE_WEIGHTS_ONCE_
#define SPARSETRAIN_KERNELS_CONV_SPARSE_WEIGHTS_ONCE_
namespace sparsetrain {
struct SparseWeightsProblem {
  ConvShape s;
  const float* x;   // nChw16c
  const float* dy;  // nChw16c
  float* dw_t;      // IOhw16o16i
};

}  // namespace sparsetrain
#endif  // SPARSETRAIN_KERNELS_CONV_SPARSE_WEIGHTS_ONCE_

// SVE targets run NEON's tiles (block_simd-inl.h).
#if SPARSETRAIN_TILES_ON_NEON
namespace sparsetrain::N_NEON {
int64_t SparseWeightsScratchFloats(const ConvShape& s, int64_t threads);
void RunSparseWeights(const SparseWeightsProblem& p, float* scratch, pthreadpool_t pool);
}  // namespace sparsetrain::N_NEON
#endif

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
#if SPARSETRAIN_TILES_ON_NEON
using N_NEON::SparseWeightsScratchFloats;
using N_NEON::RunSparseWeights;
#else

// Register tile: kS kernel columns x kMaxCB input blocks (AVX-512: 3 x 8 = 24 of 32 registers;
// AVX2: 3 x 2 blocks of 2 vectors = 12 of 16; SSE4: 3 x 1 block of 4 vectors).
constexpr size_t kMaxCB = kLanes >= 16 ? 8 : kLanes == 8 ? 2 : 1;
// One-column tiles (1x1 kernels, one column of wider ones) spend the three columns' registers on
// more input blocks, so that each non-zero still feeds as many multiply-adds.
constexpr size_t kMaxCB1 = 3 * kMaxCB;

// Input blocks per group: the blocks a tile covers, the blocks a chunk's packed x rows hold.
int64_t GroupBlocks(const ConvShape& s) {
  const int64_t widest = int64_t(SparseWeightsTakesThreeColumns(s.s) ? kMaxCB : kMaxCB1);
  return std::min(widest, BlocksOf(s.c));
}

// Rows per chunk: the x rows a chunk reads, for one group of input blocks, stay near a quarter
// of the L2.
int64_t RowsPerChunk(const ConvShape& s) {
  const int64_t row_bytes =
      s.w * GroupBlocks(s) * kChannelBlock * int64_t(sizeof(float)) * s.stride_h;
  return std::max<int64_t>(1, DataCaches().l2_bytes / 4 / row_bytes);
}

// The x rows one chunk of output rows reads, for one group of kCB input blocks, packed with
// their padding columns as zeros: [row][pad_w + iw][kCB blocks][16 channels]. A non-zero's
// kS x kCB vectors of x then sit at one address plus constants, and no tap needs a check for
// the row's edges. Made once per chunk, they serve every (output channel, kernel row) tile.
struct PackedRows {
  const float* rows;
  int64_t first_row, row_floats;
};

// Rows are wide enough for the padding and q outputs, and a whole number of column strides, so
// that a chunk's mask positions - output row oh_rel at oh_rel * MaskPitch(s), its pixels after
// it - map to packed x at stride_w packed pixels per position, across rows too.
int64_t PackedRowPixels(const ConvShape& s) {
  const int64_t pixels = std::max(s.w + 2 * s.pad_w, s.q() * s.stride_w);
  return (pixels + s.stride_w - 1) / s.stride_w * s.stride_w;
}
int64_t MaskPitch(const ConvShape& s) { return PackedRowPixels(s) / s.stride_w * s.stride_h; }

// Packs rows [row_begin, row_end) of image n, input blocks [cb, cb + blocks), into `buffer`;
// rows outside the image (padding) are zeros.
PackedRows PackRows(const SparseWeightsProblem& p, int64_t n, int64_t cb, int64_t blocks,
                    int64_t row_begin, int64_t row_end, float* out) {
  const ConvShape& s = p.s;
  const BlockD d;
  const int64_t pixel = blocks * kChannelBlock;
  const int64_t row_floats = PackedRowPixels(s) * pixel;
  for (int64_t ih = row_begin; ih < row_end; ++ih) {
    float* row = out + (ih - row_begin) * row_floats;
    if (ih < 0 || ih >= s.h) {
      std::fill_n(row, row_floats, 0.0f);
      continue;
    }
    std::fill_n(row, s.pad_w * pixel, 0.0f);
    std::fill_n(row + (s.pad_w + s.w) * pixel, (PackedRowPixels(s) - s.pad_w - s.w) * pixel, 0.0f);
    for (int64_t j = 0; j < blocks; ++j) {
      const float* src = p.x + ((n * BlocksOf(s.c) + cb + j) * s.h + ih) * s.w * kChannelBlock;
      for (int64_t iw = 0; iw < s.w; ++iw) {
        for (size_t v = 0; v < kVecsPerBlock; ++v) {
          hn::StoreU(hn::LoadU(d, src + iw * kChannelBlock + v * kLanes), d,
                     row + (s.pad_w + iw) * pixel + j * kChannelBlock + v * kLanes);
        }
      }
    }
  }
  return {out, row_begin, row_floats};
}

// A chunk's masks of one output channel are one stream of 64-bit words over its rows' positions
// (MaskPitch apart), so a walk's loop exit - the branch the predictor misses - comes once per
// 64 positions, not once per 16 (VGG16 backward-by-weights +5% on AVX-512, +13% on AVX2,
// measured against 16) nor once per row of a small image (7 or 14 pixels).
constexpr int64_t kMaskBits = 64;
int64_t MaskWords(const ConvShape& s, int64_t rows) {
  return (rows * MaskPitch(s) + kMaskBits - 1) / kMaskBits;
}

// Where mask position b of any chunk (b = row * MaskPitch(s) + ow, row < RowsPerChunk(s)) finds
// its dy value, in floats from dy[n][k][first row of the chunk][0].
void FillDyOffsets(const ConvShape& s, int32_t* dy_offsets) {
  const int64_t q = s.q(), pitch = MaskPitch(s);
  for (int64_t row = 0; row < RowsPerChunk(s); ++row) {
    for (int64_t ow = 0; ow < q; ++ow) {
      dy_offsets[row * pitch + ow] = int32_t((row * q + ow) * kChannelBlock);
    }
  }
}

// Zero masks of dy for output channels [k_begin, k_end) and rows [oh_begin, oh_end) of image n:
// bit b of masks[(k - k_begin) * words + b / 64] (b = (oh - oh_begin) * MaskPitch(s) + ow, words =
// MaskWords(s, rows)) is set where dy[n][k][oh][ow] is not zero.
void DyMasks(const SparseWeightsProblem& p, int64_t n, int64_t k_begin, int64_t k_end,
             int64_t oh_begin, int64_t oh_end, uint64_t* masks) {
  const ConvShape& s = p.s;
  const BlockD d;
  const hn::RebindToUnsigned<BlockD> du;
  using VU = hn::Vec<decltype(du)>;
  const int64_t q = s.q(), pitch = MaskPitch(s);
  const int64_t rows = oh_end - oh_begin, words = MaskWords(s, rows);
  std::fill_n(masks, (k_end - k_begin) * words, uint64_t{0});
  for (int64_t kb = k_begin / kChannelBlock; kb * kChannelBlock < k_end; ++kb) {
    for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
      const float* row = p.dy + ((n * BlocksOf(s.k) + kb) * s.p() + oh) * q * kChannelBlock;
      // 16 pixels at a time: a vector lane per channel gathers their bits.
      for (int64_t piece = 0; piece < BlocksOf(q); ++piece) {
        VU bits[kVecsPerBlock];
        for (size_t v = 0; v < kVecsPerBlock; ++v) bits[v] = hn::Zero(du);
        const int64_t pixels = std::min<int64_t>(kChannelBlock, q - piece * kChannelBlock);
        for (int64_t i = 0; i < pixels; ++i) {
          const float* pixel = row + (piece * kChannelBlock + i) * kChannelBlock;
          for (size_t v = 0; v < kVecsPerBlock; ++v) {
            const auto nonzero = hn::Ne(hn::LoadU(d, pixel + v * kLanes), hn::Zero(d));
            bits[v] = hn::Or(bits[v], hn::IfThenElseZero(hn::RebindMask(du, nonzero),
                                                         hn::Set(du, uint32_t{1} << i)));
          }
        }
        uint32_t lanes[kChannelBlock];
        for (size_t v = 0; v < kVecsPerBlock; ++v) hn::StoreU(bits[v], du, lanes + v * kLanes);
        const int64_t k0 = std::max(k_begin, kb * kChannelBlock);
        const int64_t k1 = std::min(k_end, (kb + 1) * kChannelBlock);
        const int64_t position = (oh - oh_begin) * pitch + piece * kChannelBlock;
        const int64_t word = position / kMaskBits, shift = position % kMaskBits;
        for (int64_t k = k0; k < k1; ++k) {
          const uint64_t bits = lanes[k - kb * kChannelBlock];
          uint64_t* k_words = masks + (k - k_begin) * words;
          k_words[word] |= bits << shift;
          // 16 bits from `shift` spill into the next word past bit 48.
          if (shift > kMaskBits - kChannelBlock) k_words[word + 1] |= bits >> (kMaskBits - shift);
        }
      }
    }
  }
}

// acc[t] += g * x at packed pixel x_px + t, for kS kernel columns.
template <size_t kS, size_t kCB>
HWY_INLINE void FeedTaps(float g, const float* HWY_RESTRICT x_px,
                         VF (&acc)[kS][kCB * kVecsPerBlock]) {
  const BlockD d;
  const VF gv = hn::Set(d, g);
  HWY_UNROLL(8)
  for (size_t t = 0; t < kS; ++t) {
    HWY_UNROLL(16)
    for (size_t a = 0; a < kCB * kVecsPerBlock; ++a) {
      acc[t][a] = hn::MulAdd(
          gv, hn::LoadU(d, x_px + int64_t(t * kCB) * kChannelBlock + int64_t(a * kLanes)),
          acc[t][a]);
    }
  }
}

// Adds the output rows [oh_begin, oh_end) of image n into dw_t[cb .. cb + kCB][k][r0 .. r0 + kR)
// [s0 .. s0 + kS), reading x from `x` (those rows' sources, packed). Each non-zero of dy feeds
// kR x kS x kCB multiply-adds.
template <size_t kS, size_t kCB, size_t kR>
void SparseWeightsTile(const SparseWeightsProblem& p, const PackedRows& x, const uint64_t* masks,
                       const int32_t* dy_offsets, int64_t k, int64_t cb, int64_t r0, int64_t s0,
                       int64_t n, int64_t oh_begin, int64_t oh_end, bool first) {
  const ConvShape& s = p.s;
  constexpr size_t kAcc = kCB * kVecsPerBlock;
  constexpr int64_t kPixel = int64_t(kCB) * kChannelBlock;
  const int64_t kblocks = BlocksOf(s.k);
  const int64_t q = s.q();
  // dw_t[cb][kb][r][s][ko][ci]: the 16 input channels of (cb, k, r, s) are one block row.
  const int64_t dw_block_stride = kblocks * s.r * s.s * kWeightBlockFloats;
  float* dw = p.dw_t +
              (((cb * kblocks + k / kChannelBlock) * s.r + r0) * s.s + s0) * kWeightBlockFloats +
              k % kChannelBlock * kChannelBlock;
  VF acc[kR][kS][kAcc];
  HWY_UNROLL(3)
  for (size_t rr = 0; rr < kR; ++rr) {
    if (first) {
      ZeroTile<kS, kCB>(acc[rr]);
    } else {
      LoadTile<kS, kCB>(dw + int64_t(rr) * s.s * kWeightBlockFloats, kWeightBlockFloats,
                        dw_block_stride, acc[rr]);
    }
  }
  // dy[n][k][oh_begin][0], and the packed x that tap (r0, s0) of output (oh_begin, 0) reads.
  const float* dy_k = p.dy +
                      ((n * kblocks + k / kChannelBlock) * s.p() + oh_begin) * q * kChannelBlock +
                      k % kChannelBlock;
  const float* x_first =
      x.rows + (oh_begin * s.stride_h - s.pad_h + r0 - x.first_row) * x.row_floats + s0 * kPixel;
  const int64_t words = MaskWords(s, oh_end - oh_begin);
  for (int64_t word = 0; word < words; ++word) {
    for (uint64_t bits = masks[word]; bits != 0; bits &= bits - 1) {
      const int64_t b = word * kMaskBits + int64_t(hwy::Num0BitsBelowLS1Bit_Nonzero64(bits));
      const float g = dy_k[dy_offsets[b]];
      const float* x_px = x_first + b * s.stride_w * kPixel;
      HWY_UNROLL(3)
      for (size_t rr = 0; rr < kR; ++rr) {
        FeedTaps<kS, kCB>(g, x_px + int64_t(rr) * x.row_floats, acc[rr]);
      }
    }
  }
  HWY_UNROLL(3)
  for (size_t rr = 0; rr < kR; ++rr) {
    StoreTile<kS, kCB>(acc[rr], kWeightBlockFloats, dw_block_stride,
                       dw + int64_t(rr) * s.s * kWeightBlockFloats);
  }
}

using SparseWeightsTileFn = void (*)(const SparseWeightsProblem&, const PackedRows&,
                                     const uint64_t*, const int32_t*, int64_t, int64_t, int64_t,
                                     int64_t, int64_t, int64_t, int64_t, bool);

// Kernel rows per tile: as many as the registers hold (AVX-512 with 4 input blocks: 2 rows x 3
// columns x 4 blocks = 24 accumulators), so each non-zero feeds more multiply-adds and each walk
// over dy - with a branch the predictor misses about once per 16 pixels - serves more of them.
template <size_t kS, size_t kCB>
constexpr size_t RowsPerTile() {
  constexpr size_t kBudget = kLanes >= 16 ? 24 : 12;  // accumulators, of 32 or 16 registers
  constexpr size_t kRows = kBudget / (kS * kCB * kVecsPerBlock);
  return kRows < 1 ? 1 : kRows > 3 ? 3 : kRows;
}

// The widest tile of kCB input blocks, and the same with one kernel row (for rows left over).
struct TilePair {
  SparseWeightsTileFn wide, single;
  int64_t rows;  // of `wide`
};
template <size_t kS, size_t... kCBm1>
constexpr std::array<TilePair, sizeof...(kCBm1)> SparseWeightsTiles(std::index_sequence<kCBm1...>) {
  return {TilePair{&SparseWeightsTile<kS, kCBm1 + 1, RowsPerTile<kS, kCBm1 + 1>()>,
                   &SparseWeightsTile<kS, kCBm1 + 1, 1>, int64_t(RowsPerTile<kS, kCBm1 + 1>())}...};
}
// Tiles of 3 kernel columns (3-wide kernels) and of 1 (any other width, one column at a time).
constexpr auto kTiles3 = SparseWeightsTiles<3>(std::make_index_sequence<kMaxCB>());
constexpr auto kTiles1 = SparseWeightsTiles<1>(std::make_index_sequence<kMaxCB1>());

// Every kernel row of one column range: tiles of `tiles.rows` rows, then single rows.
HWY_INLINE void AddKernelRows(const TilePair& tiles, const SparseWeightsProblem& p,
                              const PackedRows& x, const uint64_t* masks, const int32_t* dy_offsets,
                              int64_t k, int64_t cb, int64_t s0, int64_t n, int64_t oh,
                              int64_t oh_end, bool first) {
  int64_t r = 0;
  for (; r + tiles.rows <= p.s.r; r += tiles.rows) {
    tiles.wide(p, x, masks, dy_offsets, k, cb, r, s0, n, oh, oh_end, first);
  }
  for (; r < p.s.r; ++r) {
    tiles.single(p, x, masks, dy_offsets, k, cb, r, s0, n, oh, oh_end, first);
  }
}

// How a call's work is cut: ranges of output channels x ranges of images (x groups of input
// blocks).
struct SparseWeightsSplit {
  int64_t k_splits = 1, batch_splits = 1;
};

SparseWeightsSplit PlanSparseWeightsSplit(const ConvShape& s, int64_t threads) {
  const int64_t groups = (BlocksOf(s.c) + GroupBlocks(s) - 1) / GroupBlocks(s);
  // Items: a group of input blocks x a range of output channels x a range of images. Each item
  // reads its images' x once, so splitting output channels re-reads x, and splitting images
  // needs a copy of dw per image range (summed at the end). Choose the split that keeps every
  // thread busy while moving the fewest floats: images for large activations and few channels
  // (first layers: x of tens of MiB, dw of a few hundred KiB), channels otherwise.
  const double x_floats = double(s.n) * s.c * s.h * s.w;
  const int64_t dw_floats = StorageFloats(s.weights(), Layout::kIOhw16o16i);
  int64_t k_splits = 1, batch_splits = 1;
  double best = -1;
  for (int64_t bs = 1; bs <= s.n; ++bs) {
    const int64_t ks = std::min(s.k, (4 * threads + groups * bs - 1) / (groups * bs));
    const double traffic = double(ks) * x_floats + 2.0 * double(bs - 1) * double(dw_floats);
    if (best < 0 || traffic < best) best = traffic, k_splits = ks, batch_splits = bs;
  }
  return {k_splits, batch_splits};
}

// The per-target pieces of the workspace: dw copies of the batch splits after the first, where
// the chunks' dy values sit (FillDyOffsets), then a slot per thread holding a chunk's packed x
// rows and, at masks_offset, its dy masks.
struct SparseWeightsScratch {
  SparseWeightsSplit plan;
  float* partials;
  int32_t* dy_offsets;
  ThreadSlots slots;
  int64_t masks_offset;
  int64_t floats;
};

SparseWeightsScratch CarveSparseWeights(const ConvShape& s, int64_t threads, float* base) {
  const SparseWeightsSplit plan = PlanSparseWeightsSplit(s, threads);
  const int64_t rows_per_chunk = RowsPerChunk(s);
  const int64_t chunk_rows = (rows_per_chunk - 1) * s.stride_h + s.r;
  const int64_t row_floats = PackedRowPixels(s) * GroupBlocks(s) * kChannelBlock;
  const int64_t k_per_item = (s.k + plan.k_splits - 1) / plan.k_splits;
  const int64_t mask_floats =
      k_per_item * MaskWords(s, rows_per_chunk) * int64_t(sizeof(uint64_t) / sizeof(float));
  static_assert(sizeof(int32_t) == sizeof(float), "an offset takes a float's room");
  WorkspaceCarver carver({base, 0});
  float* partials = carver.Take(ImageSplit::PartialFloats(
      plan.batch_splits, StorageFloats(s.weights(), Layout::kIOhw16o16i)));
  int32_t* dy_offsets = reinterpret_cast<int32_t*>(carver.Take(rows_per_chunk * MaskPitch(s)));
  WorkspaceCarver slot;
  slot.Take(chunk_rows * row_floats);
  const int64_t masks_offset = slot.floats();
  slot.Take(mask_floats);
  float* slots = carver.Take(threads * slot.floats());
  return {plan,         partials,       dy_offsets, ThreadSlots(slots, slot.floats()),
          masks_offset, carver.floats()};
}

int64_t SparseWeightsScratchFloats(const ConvShape& s, int64_t threads) {
  return CarveSparseWeights(s, threads, nullptr).floats;
}

// `scratch` holds SparseWeightsScratchFloats(p.s, ThreadCount(pool)) floats.
void RunSparseWeights(const SparseWeightsProblem& p, float* scratch, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const ConvShape& s = p.s;
  const int64_t cblocks = BlocksOf(s.c);
  const int64_t group_blocks = GroupBlocks(s);
  const int64_t groups = (cblocks + group_blocks - 1) / group_blocks;
  const int64_t rows_per_chunk = RowsPerChunk(s);
  SparseWeightsScratch pieces = CarveSparseWeights(s, ThreadCount(pool), scratch);
  FillDyOffsets(s, pieces.dy_offsets);
  const int32_t* const dy_offsets = pieces.dy_offsets;
  const int64_t k_splits = pieces.plan.k_splits, batch_splits = pieces.plan.batch_splits;
  const int64_t k_per_item = (s.k + k_splits - 1) / k_splits;
  const ImageSplit images{batch_splits, StorageFloats(s.weights(), Layout::kIOhw16o16i), p.dw_t,
                          pieces.partials};
  const bool three_wide = SparseWeightsTakesThreeColumns(s.s);
  const int64_t items = groups * k_splits;
  // Items of one group sit together, so a thread keeps that group's x rows in cache.
  ParallelFor(pool, size_t(items * batch_splits), [&](size_t index) HWY_ATTR {
    const int64_t split = int64_t(index) / items, item = int64_t(index) % items;
    SparseWeightsProblem part = p;
    part.dw_t = images.DwOf(split);
    const int64_t n_begin = images.ImageBegin(split, s.n);
    const int64_t n_end = images.ImageBegin(split + 1, s.n);
    const int64_t g = item / k_splits;
    const int64_t k_begin = item % k_splits * k_per_item;
    const int64_t k_end = std::min(s.k, k_begin + k_per_item);
    if (k_begin >= k_end) return;  // the split's last channel range can be empty
    const int64_t cb = g * group_blocks;
    const int64_t ncb = std::min(group_blocks, cblocks - cb);
    const ThreadSlots::Claim slot(pieces.slots);
    uint64_t* const masks = reinterpret_cast<uint64_t*>(slot.data() + pieces.masks_offset);
    for (int64_t n = n_begin; n < n_end; ++n) {
      for (int64_t oh = 0; oh < s.p(); oh += rows_per_chunk) {
        const int64_t oh_end = std::min(s.p(), oh + rows_per_chunk);
        const bool first = n == n_begin && oh == 0;
        // Source rows of the chunk, padding rows included (as zeros).
        const int64_t row_begin = oh * s.stride_h - s.pad_h;
        const int64_t row_end = (oh_end - 1) * s.stride_h - s.pad_h + s.r;
        const PackedRows x = PackRows(p, n, cb, ncb, row_begin, row_end, slot.data());
        DyMasks(p, n, k_begin, k_end, oh, oh_end, masks);
        const int64_t k_masks = MaskWords(s, oh_end - oh);
        for (int64_t k = k_begin; k < k_end; ++k) {
          const uint64_t* k_mask = masks + (k - k_begin) * k_masks;
          if (three_wide) {
            AddKernelRows(kTiles3[ncb - 1], part, x, k_mask, dy_offsets, k, cb, 0, n, oh, oh_end,
                          first);
          } else {
            for (int64_t s0 = 0; s0 < s.s; ++s0) {
              AddKernelRows(kTiles1[ncb - 1], part, x, k_mask, dy_offsets, k, cb, s0, n, oh, oh_end,
                            first);
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
HWY_EXPORT(RunSparseWeights);
HWY_EXPORT(SparseWeightsScratchFloats);

namespace {

// Skipping x's zeros. For stride 1, substituting ih = oh - pad + r gives
//   dw[k][c][r][s] = sum over n, ih, iw of x[n][c][ih][iw] * dy[n][k][ih + pad - r][iw + pad - s],
// the weight gradient of a swapped problem - input dy (channels k, P x Q), output gradient x
// (channels c, H x W), padding R - 1 - pad - at the flipped tap (R - 1 - r, S - 1 - s). Its
// dy-skipping walk is the x-skipping walk wanted, and its transposed weight layout
// [k / 16][c / 16][r][s][16 c][16 k] is the forward layout of dw, taps flipped.
ConvShape StrideOne(const ConvShape& s) {
  return direct::IsStridedPointwise(s) ? direct::SubsampledShape(s) : s;
}

ConvShape SwappedProblem(const ConvShape& stride_one) {
  ConvShape swapped = stride_one;
  swapped.c = stride_one.k, swapped.k = stride_one.c;
  swapped.h = stride_one.p(), swapped.w = stride_one.q();
  swapped.pad_h = stride_one.r - 1 - stride_one.pad_h;
  swapped.pad_w = stride_one.s - 1 - stride_one.pad_w;
  return swapped;
}

// dw (OIhw16i16o of `s`) from the swapped problem's gradient: taps flipped, and the rows of
// padding input channels, which the walk leaves unwritten, zeroed.
void FlipTaps(const ConvShape& s, const float* flipped, float* dw, pthreadpool_t pool) {
  const int64_t cblocks = BlocksOf(s.c), taps = s.r * s.s;
  ParallelFor(pool, size_t(BlocksOf(s.k) * cblocks), [&](size_t pair) {
    const int64_t cb = int64_t(pair) % cblocks;
    const int64_t channels = std::min<int64_t>(kChannelBlock, s.c - cb * kChannelBlock);
    for (int64_t tap = 0; tap < taps; ++tap) {
      const float* from = flipped + (int64_t(pair) * taps + taps - 1 - tap) * kWeightBlockFloats;
      float* to = dw + (int64_t(pair) * taps + tap) * kWeightBlockFloats;
      std::copy_n(from, channels * kChannelBlock, to);
      std::fill(to + channels * kChannelBlock, to + kWeightBlockFloats, 0.0f);
    }
  });
}

// The workspace of one walk: dw in the transposed layout of the problem walked, then the
// target's scratch; for the x walk, first x subsampled (strided 1x1).
struct SparseWeightsPieces {
  ConvShape walked;  // the problem the dy-skipping walk runs
  float* x_sub;
  float* dw_t;
  float* scratch;
  int64_t floats;
};

SparseWeightsPieces CarveSparseWeightsCall(const ConvShape& s, WeightsWalk walk, int64_t threads,
                                           float* base) {
  const bool skip_x = walk == WeightsWalk::kSkipX;
  SparseWeightsPieces pieces;
  pieces.walked = direct::AsLongRows(skip_x ? SwappedProblem(StrideOne(s)) : s);
  WorkspaceCarver carver({base, 0});
  pieces.x_sub = carver.Take(skip_x ? direct::SubsampledFloats(s) : 0);
  pieces.dw_t = carver.Take(StorageFloats(s.weights(), Layout::kIOhw16o16i));
  pieces.scratch =
      carver.Take(HWY_DYNAMIC_DISPATCH(SparseWeightsScratchFloats)(pieces.walked, threads));
  pieces.floats = carver.floats();
  return pieces;
}

}  // namespace

int64_t ConvWorkspaceFloatsSparse(Pass pass, const ConvShape& s, int64_t threads) {
  if (pass != Pass::kBackwardWeights) return direct::WorkspaceFloats(pass, s);
  const int64_t skip_dy = CarveSparseWeightsCall(s, WeightsWalk::kSkipDy, threads, nullptr).floats;
  if (!SparseWeightsCanSkipX(s)) return skip_dy;
  return std::max(skip_dy, CarveSparseWeightsCall(s, WeightsWalk::kSkipX, threads, nullptr).floats);
}

Status ConvBackwardWeightsSparse(const ConvShape& s, const float* x, const float* dy, float* dw,
                                 float* dbias, WeightsWalk walk, Workspace workspace,
                                 pthreadpool_t pool) {
  const char* pass = "sparse conv backward weights";
  Status status = CheckConvCall(pass, s, {x, dy, dw});
  if (!status.ok()) return status;
  if (ThreadCount(pool) > ThreadSlots::kMaxSlots) {
    return InvalidArgument(std::string(pass) + ": pools of more than " +
                           std::to_string(ThreadSlots::kMaxSlots) + " threads are not supported");
  }
  const bool skip_x = walk == WeightsWalk::kSkipX;
  if (skip_x && !SparseWeightsCanSkipX(s)) {
    return InvalidArgument(std::string(pass) +
                           ": skipping x's zeros needs stride 1 or an unpadded 1x1 kernel, got " +
                           ProblemDescriptor(s));
  }
  // What the query promises suffices, for either walk.
  status = CheckWorkspace(pass, workspace,
                          ConvWorkspaceFloatsSparse(Pass::kBackwardWeights, s, ThreadCount(pool)));
  if (!status.ok()) return status;
  const SparseWeightsPieces pieces =
      CarveSparseWeightsCall(s, walk, ThreadCount(pool), workspace.data);
  if (skip_x) {
    const float* x_stride_one =
        direct::IsStridedPointwise(s) ? direct::Subsample(s, x, pieces.x_sub, pool) : x;
    HWY_DYNAMIC_DISPATCH(RunSparseWeights)
    ({pieces.walked, dy, x_stride_one, pieces.dw_t}, pieces.scratch, pool);
    FlipTaps(s, pieces.dw_t, dw, pool);
  } else {
    HWY_DYNAMIC_DISPATCH(RunSparseWeights)
    ({pieces.walked, x, dy, pieces.dw_t}, pieces.scratch, pool);
    // Tiles skip padded output channels; the reorder reads real channels only.
    status = Reorder(pieces.dw_t, Layout::kIOhw16o16i, dw, Layout::kOIhw16i16o, s.weights(), pool);
    if (!status.ok()) return status;
  }
  if (dbias != nullptr) ConvBiasGradient(s, dy, dbias, pool);
  return Status::Ok();
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
