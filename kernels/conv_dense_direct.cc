// Dense forward and backward-by-input convolution on the direct engine (conv_direct-inl.h).
// For each input channel of a block, one broadcast source value per pixel multiplies kKB weight
// vectors held in registers.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/conv_dense_direct.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <type_traits>
#include <vector>

#include "kernels/conv_dense.h"
#include "kernels/conv_direct-inl.h"
#include "kernels/conv_direct.h"
#include "kernels/isa.h"
#include "kernels/layout.h"

// SVE targets run NEON's tiles (block_simd-inl.h).
#if SPARSETRAIN_TILES_ON_NEON
namespace sparsetrain::N_NEON {
void RunDenseDirect(const direct::Problem& p, pthreadpool_t pool);
}  // namespace sparsetrain::N_NEON
#endif

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
#if SPARSETRAIN_TILES_ON_NEON
using N_NEON::RunDenseDirect;
#else

// acc[t] += src[t] (x) w for the first `channels` of an input-channel block (the rest are
// padding), over the pixels t whose source lies in the row: [kSkipLo, kT - kSkipHi) when those
// are known at compile time (>= 0; the common edges of padded rows), else [t_lo, t_hi), at the
// price of a branch per pixel. A compile-time kStep turns every broadcast address into base +
// constant, sparing a register per pixel.
template <size_t kT, size_t kKB, int64_t kStep, int kSkipLo, int kSkipHi>
HWY_INLINE void AccumulateBlock(const float* HWY_RESTRICT src, int64_t channels, int64_t first,
                                int64_t step, const float* HWY_RESTRICT w, int64_t w_block_stride,
                                int64_t t_lo, int64_t t_hi, VF (&acc)[kT][kKB * kVecsPerBlock]) {
  const BlockD d;
  for (size_t i = 0; i < size_t(channels); ++i) {
    VF wv[kKB * kVecsPerBlock];
    HWY_UNROLL(16)
    for (size_t a = 0; a < kKB * kVecsPerBlock; ++a) {
      const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
      wv[a] = hn::LoadU(d, w + j * w_block_stride + i * kChannelBlock + v * kLanes);
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

struct DenseRows {
  // Accumulators plus one block of weight vectors and a broadcast fill the register file
  // (AVX-512: 14 x 2 blocks = 28 + 2 + 1 of 32 registers; AVX2: 6 x 1 block of 2 vectors =
  // 12 + 2 + 1 of 16; SSE4: 2 x 4 + 4 + 1 of 16).
  static constexpr size_t kMaxKB = kLanes >= 16 ? 2 : 1;
  static constexpr size_t kMaxT = kLanes >= 16 ? 14 : kLanes == 8 ? 6 : kLanes == 4 ? 2 : 1;
  // A tile's weights for one input block, all kernel rows, fit in L1.
  static constexpr int64_t kRowsPerPass = 0;

  template <size_t kT, size_t kKB, int64_t kStep>
  static HWY_INLINE void AddRow(const direct::Problem& p, const direct::PixelRun& run,
                                const float* src_row, int64_t channels, const float* w_row,
                                int64_t w_block_stride, VF (&acc)[kT][kKB * kVecsPerBlock]) {
    const int64_t step = p.cols.SourceStep();
    for (int64_t s = 0; s < p.taps_w; ++s) {
      direct_engine::TapSpan span;
      if (!direct_engine::SpanOfTap<kStep>(p, run, s, kT, &span)) continue;
      const float* w = w_row + s * kWeightBlockFloats;
      const int64_t first = span.sx * kChannelBlock, lo = span.t_lo, hi = span.t_hi;
      const int64_t skip_hi = int64_t(kT) - hi;
      if (lo == 0 && skip_hi == 0) {
        AccumulateBlock<kT, kKB, kStep, 0, 0>(src_row, channels, first, step, w, w_block_stride, lo,
                                              hi, acc);
      } else if (lo == 1 && skip_hi == 0) {
        AccumulateBlock<kT, kKB, kStep, 1, 0>(src_row, channels, first, step, w, w_block_stride, lo,
                                              hi, acc);
      } else if (lo == 0 && skip_hi == 1) {
        AccumulateBlock<kT, kKB, kStep, 0, 1>(src_row, channels, first, step, w, w_block_stride, lo,
                                              hi, acc);
      } else {
        AccumulateBlock<kT, kKB, kStep, -1, -1>(src_row, channels, first, step, w, w_block_stride,
                                                lo, hi, acc);
      }
    }
  }
};

// Rows of at most 7 output pixels (a ResNet's last stage) would leave a 14 x 2 tile half empty:
// on AVX-512 they fill the registers as 7 pixels x 4 blocks instead (28 + 4 weight vectors).
// So do sources of a few channels (a first layer's 3): each tap then sums only those, and 4
// blocks per source read beat 2 (ResNet's 7x7 first layer, batch 32 at 128x128, on an AMD EPYC
// of the Zen 4 generation: 11.9-12.6 against 13.1-13.9 ms).
struct NarrowDenseRows : DenseRows {
  static constexpr size_t kMaxKB = 4;
  static constexpr size_t kMaxT = 7;
};
using NarrowRows = std::conditional_t<(kLanes >= 16), NarrowDenseRows, DenseRows>;

// A 1x1 kernel mapping pixels one to one (stride 1 or subsampled, never padded) is a GEMM:
// output pixel t of the tile reads source pixel t of the same row, so the tile runs one loop over
// the chunk's input blocks with no tap or edge logic.
template <size_t kT, size_t kKB>
void PointwiseTile(const direct::Problem& p, int64_t n, int64_t ob, int64_t y,
                   const direct::PixelRun& run, const direct_engine::Slice& slice) {
  constexpr size_t kAcc = kKB * kVecsPerBlock;
  const direct_engine::TileOutput out(p, n, ob, y, run);
  VF acc[kT][kAcc];
  out.Begin<kT, kKB>(p, ob, slice, acc);
  const int64_t src_block_stride = p.rows.src_size * p.cols.src_size * kChannelBlock;
  const float* src =
      p.in +
      ((n * p.in_blocks + slice.ib_begin) * p.rows.src_size + y) * p.cols.src_size * kChannelBlock +
      run.first * kChannelBlock;
  const float* w = p.WeightRow(ob, slice.ib_begin, 0);
  const int64_t w_block_stride = p.WeightBlockStride();
  for (int64_t ib = slice.ib_begin; ib < slice.ib_end; ++ib) {
    AccumulateBlock<kT, kKB, 1, 0, 0>(src, p.ChannelsOfBlock(ib), 0, 1, w, w_block_stride, 0, kT,
                                      acc);
    src += src_block_stride;
    w += kWeightBlockFloats;
  }
  out.End<kT, kKB>(acc);
}

template <size_t kT, size_t kKB>
struct PointwiseTileOf {
  static constexpr direct_engine::TileFn kFn = &PointwiseTile<kT, kKB>;
};

void RunDenseDirect(const direct::Problem& p, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  if (p.MapsPixelsOneToOne()) {
    RunTiles<DenseRows>(p, direct_engine::TileTable<DenseRows, PointwiseTileOf>::kAll, pool);
  } else if (!std::is_same_v<NarrowRows, DenseRows> &&
             (p.cols.out_size <= int64_t(NarrowRows::kMaxT) * p.cols.OutputStep() ||
              p.in_channels < int64_t(kChannelBlock))) {
    RunDirect<NarrowRows>(p, pool);
  } else {
    RunDirect<DenseRows>(p, pool);
  }
}

#endif  // SPARSETRAIN_TILES_ON_NEON
}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(RunDenseDirect);

Status ConvForwardDense(const ConvShape& s, const float* x, const float* w, const float* bias,
                        float* y, Workspace workspace, pthreadpool_t pool) {
  return direct::RunForward("conv forward", HWY_DYNAMIC_DISPATCH(RunDenseDirect), s, x, w, bias, y,
                            workspace, pool);
}

Status ConvBackwardDataDense(const ConvShape& s, const float* dy, const float* w_transposed,
                             float* dx, Workspace workspace, pthreadpool_t pool) {
  return direct::RunBackwardData("conv backward data", HWY_DYNAMIC_DISPATCH(RunDenseDirect), s, dy,
                                 w_transposed, dx, workspace, pool);
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
