// Per-target vocabulary of the convolution kernels: a 16-channel block as whole vectors, and the
// lanes of a block that hold non-zeros. Include after hwy/highway.h, inside no namespace.

#if defined(SPARSETRAIN_KERNELS_BLOCK_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SPARSETRAIN_KERNELS_BLOCK_SIMD_INL_H_
#undef SPARSETRAIN_KERNELS_BLOCK_SIMD_INL_H_
#else
#define SPARSETRAIN_KERNELS_BLOCK_SIMD_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include <hwy/highway.h>

#include "kernels/layout.h"

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

// The lowest set bit's index, or 0 when no bit is set - a lane that then holds zero, so a kernel
// can feed its first non-zero without branching on whether there is one. At high sparsity most
// blocks hold none or one non-zero, and that branch is the one the predictor misses most.
HWY_INLINE size_t FirstNonzeroLane(uint64_t bits) {
  return hwy::Num0BitsBelowLS1Bit_Nonzero64(bits | uint64_t{bits == 0});
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#endif  // SPARSETRAIN_KERNELS_BLOCK_SIMD_INL_H_
