// Per-target vocabulary of the convolution kernels: a 16-channel block as whole vectors, and the
// lanes of a block that hold non-zeros. Include after hwy/highway.h, inside no namespace.
//
// The kernels hold their register tiles in arrays of vectors, and SVE's vectors are sizeless: they
// cannot be array elements. On SVE targets SPARSETRAIN_TILES_ON_NEON is 1, this vocabulary is
// absent, and each kernel file makes its entry points NEON's (isa.h: ConvTileTarget). On SVE cores of
// up to 256-bit vectors (Neoverse N2, V1, V2, Cortex-X) NEON reaches the same multiply-add rate.

#if defined(SPARSETRAIN_KERNELS_BLOCK_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SPARSETRAIN_KERNELS_BLOCK_SIMD_INL_H_
#undef SPARSETRAIN_KERNELS_BLOCK_SIMD_INL_H_
#else
#define SPARSETRAIN_KERNELS_BLOCK_SIMD_INL_H_
#endif

#include <hwy/highway.h>

#include <cstdint>
#include <cstring>

#include "kernels/isa.h"
#include "kernels/layout.h"

#undef SPARSETRAIN_TILES_ON_NEON
#if (HWY_TARGET & SPARSETRAIN_SVE_TARGETS) != 0
#define SPARSETRAIN_TILES_ON_NEON 1
#else
#define SPARSETRAIN_TILES_ON_NEON 0

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using BlockD = hn::CappedTag<float, kChannelBlock>;
using VF = hn::Vec<BlockD>;
constexpr size_t kLanes = hn::MaxLanes(BlockD());
constexpr size_t kVecsPerBlock = kChannelBlock / kLanes;
static_assert(kChannelBlock % kLanes == 0, "a channel block must be whole vectors");

// Bit i set where block[i] is not zero (-0.0 counts as zero; NaN as non-zero).
HWY_INLINE uint64_t NonzeroBits(const float* HWY_RESTRICT block) {
  const BlockD d;
  uint64_t bits = 0;
  HWY_UNROLL(16)
  for (size_t v = 0; v < kVecsPerBlock; ++v) {
    uint8_t bytes[8] = {0};
    hn::StoreMaskBits(d, hn::Ne(hn::LoadU(d, block + v * kLanes), hn::Zero(d)), bytes);
    uint64_t vec_bits;
    std::memcpy(&vec_bits, bytes, sizeof(vec_bits));
    bits |= vec_bits << (v * kLanes);
  }
  return bits;
}

// A register tile of kT rows x kBlocks channel blocks: element (t, block j) lives at
// base + t * row_stride + j * block_stride (a row stride of 0 repeats one row, e.g. a bias).
template <size_t kT, size_t kBlocks>
HWY_INLINE void LoadTile(const float* HWY_RESTRICT base, int64_t row_stride, int64_t block_stride,
                         VF (&tile)[kT][kBlocks * kVecsPerBlock]) {
  const BlockD d;
  HWY_UNROLL(16)
  for (size_t t = 0; t < kT; ++t) {
    HWY_UNROLL(16)
    for (size_t a = 0; a < kBlocks * kVecsPerBlock; ++a) {
      const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
      tile[t][a] = hn::LoadU(
          d, base + int64_t(t) * row_stride + int64_t(j) * block_stride + int64_t(v * kLanes));
    }
  }
}

template <size_t kT, size_t kBlocks>
HWY_INLINE void ZeroTile(VF (&tile)[kT][kBlocks * kVecsPerBlock]) {
  HWY_UNROLL(16)
  for (size_t t = 0; t < kT; ++t) {
    HWY_UNROLL(16)
    for (size_t a = 0; a < kBlocks * kVecsPerBlock; ++a) tile[t][a] = hn::Zero(BlockD());
  }
}

template <size_t kT, size_t kBlocks>
HWY_INLINE void StoreTile(const VF (&tile)[kT][kBlocks * kVecsPerBlock], int64_t row_stride,
                          int64_t block_stride, float* HWY_RESTRICT base) {
  const BlockD d;
  HWY_UNROLL(16)
  for (size_t t = 0; t < kT; ++t) {
    HWY_UNROLL(16)
    for (size_t a = 0; a < kBlocks * kVecsPerBlock; ++a) {
      const size_t j = a / kVecsPerBlock, v = a % kVecsPerBlock;
      hn::StoreU(tile[t][a], d,
                 base + int64_t(t) * row_stride + int64_t(j) * block_stride + int64_t(v * kLanes));
    }
  }
}

// The lowest set bit's index, or 0 when no bit is set - a lane that then holds zero, so a kernel
// can feed its first non-zero without branching on whether there is one. At high sparsity most
// blocks hold none or one non-zero, and that branch is the one the predictor misses most.
HWY_INLINE size_t FirstNonzeroLane(uint64_t bits) {
  return hwy::Num0BitsBelowLS1Bit_Nonzero64(bits | uint64_t{bits == 0});
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#endif  // SPARSETRAIN_TILES_ON_NEON
#endif  // SPARSETRAIN_KERNELS_BLOCK_SIMD_INL_H_
