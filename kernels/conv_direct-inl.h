// The direct-convolution engine behind forward and backward-by-input, dense and sparse
// (geometry in conv_direct.h). A tile of kT output pixels x kKB output-channel blocks stays in
// registers while it sums every kernel row of a chunk of input-channel blocks; a `Rows` policy
// adds one source row (all kernel columns) into the tile:
//   struct Rows {
//     static constexpr size_t kMaxT, kMaxKB;  // the largest tile
//     static constexpr int64_t kRowsPerPass;  // kernel rows summed per pass over a tile (0: all)
//     template <size_t kT, size_t kKB, int64_t kStep>
//     static void AddRow(const Problem&, const PixelRun&, const float* src_row, int64_t channels,
//                        const float* w_row, int64_t w_block_stride, VF (&acc)[kT][kKB * kV]);
//   };
// `channels` are the source block's real ones (Problem::ChannelsOfBlock); the rest are zero
// padding. Source pixels of a tile are kStep apart (0: known only at run time). Backward by input
// with stride > 1 tiles output pixels of one phase (x, x + stride, ...), whose sources are
// consecutive.

#if defined(SPARSETRAIN_KERNELS_CONV_DIRECT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SPARSETRAIN_KERNELS_CONV_DIRECT_INL_H_
#undef SPARSETRAIN_KERNELS_CONV_DIRECT_INL_H_
#else
#define SPARSETRAIN_KERNELS_CONV_DIRECT_INL_H_
#endif

#include <hwy/highway.h>
#include <pthreadpool.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

#include "kernels/block_simd-inl.h"
#include "kernels/cache_sizes.h"
#include "kernels/conv_direct.h"
#include "kernels/parallel.h"

#if !SPARSETRAIN_TILES_ON_NEON  // see block_simd-inl.h
HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace direct_engine {
using direct::PixelRun;
using direct::Problem;

// Where tap s reads for a tile: source pixel sx + t * step for output pixel t, inside the row
// for t in [t_lo, t_hi). False if the tap reaches no pixel of the tile. A compile-time kStep
// (> 0) spares the two divisions, which a 1x1 tile would otherwise pay once per input block.
struct TapSpan {
  int64_t sx, t_lo, t_hi;
};
template <int64_t kStep>
HWY_INLINE bool SpanOfTap(const Problem& p, const PixelRun& run, int64_t s, int64_t count,
                          TapSpan* span) {
  if (!p.cols.Source(run.first, s, &span->sx)) return false;
  const int64_t step = kStep > 0 ? kStep : p.cols.SourceStep();
  const int64_t last = p.cols.src_size - 1 - span->sx;
  span->t_lo = span->sx >= 0 ? 0 : (-span->sx + step - 1) / step;
  span->t_hi = last < 0 ? 0 : std::min<int64_t>(count, last / step + 1);
  return span->t_lo < span->t_hi;
}

// Which part of the sum one pass over a tile adds: input blocks [ib_begin, ib_end) through
// kernel rows [r_begin, r_end).
struct Slice {
  int64_t ib_begin, ib_end, r_begin, r_end;
  bool first() const { return ib_begin == 0 && r_begin == 0; }
};

// Where a tile of pixels `run` of row y, output blocks from ob, lives in the output: its
// accumulators start from the bias (or zero) on the first slice and from the output after it.
struct TileOutput {
  float* out;
  int64_t px_stride, block_stride;

  TileOutput(const Problem& p, int64_t n, int64_t ob, int64_t y, const PixelRun& run)
      : out(p.out +
            (((n * p.out_blocks + ob) * p.rows.out_size + y) * p.cols.out_size + run.first) *
                kChannelBlock),
        px_stride(run.step * kChannelBlock),
        block_stride(p.rows.out_size * p.cols.out_size * kChannelBlock) {}

  template <size_t kT, size_t kKB>
  HWY_INLINE void Begin(const Problem& p, int64_t ob, const Slice& slice,
                        VF (&acc)[kT][kKB * kVecsPerBlock]) const {
    if (!slice.first()) {
      LoadTile<kT, kKB>(out, px_stride, block_stride, acc);
    } else if (p.bias != nullptr) {
      LoadTile<kT, kKB>(p.bias + ob * kChannelBlock, 0, kChannelBlock, acc);
    } else {
      ZeroTile<kT, kKB>(acc);
    }
  }
  template <size_t kT, size_t kKB>
  HWY_INLINE void End(const VF (&acc)[kT][kKB * kVecsPerBlock]) const {
    StoreTile<kT, kKB>(acc, px_stride, block_stride, out);
  }
};

// Computes (or adds to, past the first slice) one tile: pixels `run` of row y, output blocks
// [ob, ob + kKB).
template <class Rows, size_t kT, size_t kKB, int64_t kStep>
void ConvTile(const Problem& p, int64_t n, int64_t ob, int64_t y, const PixelRun& run,
              const Slice& slice) {
  constexpr size_t kAcc = kKB * kVecsPerBlock;
  const TileOutput out(p, n, ob, y, run);
  VF acc[kT][kAcc];
  out.Begin<kT, kKB>(p, ob, slice, acc);

  const int64_t w_block_stride = p.WeightBlockStride();
  for (int64_t ib = slice.ib_begin; ib < slice.ib_end; ++ib) {
    for (int64_t r = slice.r_begin; r < slice.r_end; ++r) {
      int64_t sy;
      if (!p.rows.Source(y, r, &sy) || sy < 0 || sy >= p.rows.src_size) continue;
      const float* src_row =
          p.in + ((n * p.in_blocks + ib) * p.rows.src_size + sy) * p.cols.src_size * kChannelBlock;
      Rows::template AddRow<kT, kKB, kStep>(p, run, src_row, p.ChannelsOfBlock(ib),
                                            p.WeightRow(ob, ib, r), w_block_stride, acc);
    }
  }

  out.End<kT, kKB>(acc);
}

using TileFn = void (*)(const Problem&, int64_t, int64_t, int64_t, const PixelRun&, const Slice&);

// TileTable<Rows, Tile>::kAll[kKB - 1][kT - 1] = Tile<kT, kKB>::kFn, for every tile up to Rows'
// largest: one for every pixel run and block group.
template <class Rows, template <size_t, size_t> class Tile>
struct TileTable {
  using Row = std::array<TileFn, Rows::kMaxT>;
  using Table = std::array<Row, Rows::kMaxKB>;

  template <size_t kKB, size_t... kTm1>
  static constexpr Row MakeRow(std::index_sequence<kTm1...>) {
    return {Tile<kTm1 + 1, kKB>::kFn...};
  }
  template <size_t... kKBm1>
  static constexpr Table MakeTable(std::index_sequence<kKBm1...>) {
    return {MakeRow<kKBm1 + 1>(std::make_index_sequence<Rows::kMaxT>())...};
  }
  static constexpr Table kAll = MakeTable(std::make_index_sequence<Rows::kMaxKB>());
};

template <class Rows, int64_t kStep>
struct ConvTileAt {
  template <size_t kT, size_t kKB>
  struct Tile {
    static constexpr TileFn kFn = &ConvTile<Rows, kT, kKB, kStep>;
  };
};

// Tiles<Rows>::kAll[source step: 1, 2, other]: ConvTile's tables.
template <class Rows>
struct Tiles {
  static constexpr std::array<typename TileTable<Rows, ConvTileAt<Rows, 1>::template Tile>::Table,
                              3>
      kAll = {TileTable<Rows, ConvTileAt<Rows, 1>::template Tile>::kAll,
              TileTable<Rows, ConvTileAt<Rows, 2>::template Tile>::kAll,
              TileTable<Rows, ConvTileAt<Rows, 0>::template Tile>::kAll};
};

}  // namespace direct_engine

// Calls body(ob, blocks, row_begin, row_end) for every group of `blocks` (at most `group`)
// output channel blocks from ob and every range of the batch's output rows (row n * P + y is
// row y of image n): the work items of a pass, spread over `pool`. An item passes over all its
// rows with each chunk of input blocks, reusing the chunk's weights from L1 or L2; its rows'
// output stays in half of L1 meanwhile, which on small maps means rows of several images (a
// ResNet's 4x4 maps: 16 rows, where one row per item read a group's 1.2 MB of weights from L3
// for 4 pixels). Consecutive items share what is worth keeping in cache: a group's weights
// along the rows (kernels with several taps read each source row for several output rows), or,
// for 1x1 kernels, whose weights are small, a range's sources across the groups.
template <class Body>
void ForEachRowRange(const direct::Problem& p, int64_t group, pthreadpool_t pool,
                     const Body& body) {
  const int64_t groups = (p.out_blocks + group - 1) / group;
  const int64_t rows = p.batch * p.rows.out_size;
  const int64_t row_bytes = group * p.cols.out_size * kChannelBlock * int64_t(sizeof(float));
  const int64_t per_range = std::clamp<int64_t>(DataCaches().l1_bytes / 2 / row_bytes, 1, rows);
  const int64_t ranges = (rows + per_range - 1) / per_range;
  const bool groups_inner = p.taps_h * p.taps_w == 1;
  ParallelFor(pool, size_t(groups * ranges), [&](size_t item) HWY_ATTR {
    const int64_t g = groups_inner ? int64_t(item) % groups : int64_t(item) / ranges;
    const int64_t range = groups_inner ? int64_t(item) / groups : int64_t(item) % ranges;
    body(g * group, std::min(group, p.out_blocks - g * group), range * per_range,
         std::min(rows, (range + 1) * per_range));
  });
}

// Calls run_fn(run) for the pixel runs of one output row: each phase of the stride (or the whole
// row) cut into as few runs of at most kMaxT as possible, of near-equal length - a short leftover
// run would have too few accumulators to hide the multiply-add latency.
template <int64_t kMaxT, class RunFn>
void ForEachPixelRun(const direct::Axis& cols, const RunFn& run_fn) {
  const int64_t step = cols.OutputStep();
  for (int64_t phase = 0; phase < std::min(step, cols.out_size); ++phase) {
    const int64_t count = (cols.out_size - phase + step - 1) / step;
    const int64_t pieces = (count + kMaxT - 1) / kMaxT;
    for (int64_t i = 0, t = 0; i < pieces; ++i) {
      const int64_t length = count / pieces + (i < count % pieces ? 1 : 0);
      run_fn(direct::PixelRun{phase + t * step, step, length});
      t += length;
    }
  }
}

// Runs the whole pass on `tiles` (tiles[kKB - 1][kT - 1]), a range of output rows of one block
// group per work item.
template <class Rows, class TileTable>
void RunTiles(const direct::Problem& p, const TileTable& tiles, pthreadpool_t pool) {
  using direct::PixelRun;
  constexpr int64_t kMaxT = Rows::kMaxT, kMaxKB = Rows::kMaxKB;
  const int64_t rows_per_pass = Rows::kRowsPerPass > 0 ? Rows::kRowsPerPass : p.taps_h;
  const int64_t image_rows = p.rows.out_size;
  const auto item = [&](int64_t ob, int64_t blocks, int64_t row_begin, int64_t row_end) HWY_ATTR {
    for (int64_t ib = 0; ib < p.in_blocks; ib += p.in_block_chunk) {
      for (int64_t r = 0; r < p.taps_h; r += rows_per_pass) {
        const direct_engine::Slice slice{ib, std::min(p.in_blocks, ib + p.in_block_chunk), r,
                                         std::min(p.taps_h, r + rows_per_pass)};
        for (int64_t row = row_begin; row < row_end; ++row) {
          const int64_t n = row / image_rows, y = row % image_rows;
          ForEachPixelRun<kMaxT>(p.cols, [&](const PixelRun& run) HWY_ATTR {
            tiles[blocks - 1][run.count - 1](p, n, ob, y, run, slice);
          });
        }
      }
    }
  };
  ForEachRowRange(p, kMaxKB, pool, item);
}

// Runs the whole pass on the tiles of Rows.
template <class Rows>
void RunDirect(const direct::Problem& p, pthreadpool_t pool) {
  RunTiles<Rows>(p, direct_engine::Tiles<Rows>::kAll[std::min<int64_t>(p.cols.SourceStep(), 3) - 1],
                 pool);
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#endif  // !SPARSETRAIN_TILES_ON_NEON
#endif  // SPARSETRAIN_KERNELS_CONV_DIRECT_INL_H_
