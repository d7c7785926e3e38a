// The one place that selects the instruction set the kernels run on.
//
// Every kernel is compiled for each Highway target of the build's architecture (x86-64: AVX-512,
// AVX2, SSE4, scalar; aarch64: SVE2, SVE, NEON, scalar) and dispatched at run time to the best one
// allowed here. By default (`auto`) that is the best the CPU supports; a
// caller may cap it with SelectIsa() or the environment variable SPARSETRAIN_ISA. Asking for an ISA
// the CPU lacks is an error, never a silent fallback. The selection is process-wide: do not change
// it while kernels run on other threads.
#ifndef SPARSETRAIN_KERNELS_ISA_H_
#define SPARSETRAIN_KERNELS_ISA_H_

#include <hwy/detect_targets.h>

#include <cstdint>
#include <string_view>

#include "kernels/base/status.h"

// Highway's SVE family. Its vectors are sizeless and cannot be array elements, so the
// register-tiled convolution kernels run their NEON build on these targets (block_simd-inl.h,
// ConvTileTarget). A macro because block_simd-inl.h tests it in the preprocessor.
#define SPARSETRAIN_SVE_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)

namespace sparsetrain {

enum class Isa { kAuto, kAvx512, kAvx2, kSse4, kScalar, kNeon, kSve, kSve2 };

// "auto", "avx512", "avx2", "sse4", "scalar", "neon", "sve", "sve2".
const char* IsaName(Isa isa);
Status ParseIsa(std::string_view name, Isa* isa);

// Whether this CPU can run `isa` and this build can select it (kAuto: always). An ISA of another
// architecture is never supported; nor is scalar on aarch64, where NEON is the baseline.
bool IsaSupported(Isa isa);

// Makes `isa` the best ISA kernels may use (kAuto: the best the CPU supports).
// Fails with kUnsupported, changing nothing, if the CPU lacks it.
Status SelectIsa(Isa isa);

// Applies SPARSETRAIN_ISA if set (same names as ParseIsa); unset or empty means no change.
Status SelectIsaFromEnvironment();

// The ISA kernels dispatch to now (never kAuto).
Isa ActiveIsa();

// The Highway target kernels dispatch to now, and the one the calling thread's most recent kernel
// call ran on (0 before any). Kernels report it through NoteTargetRan; tests and verbose mode read
// it.
int64_t ActiveTarget();
int64_t LastTargetRan();
void NoteTargetRan(int64_t target);

// Highway's name of a target ("AVX2", "AVX3", ...); "none" for 0.
const char* TargetName(int64_t target);

// The ISA a Highway target belongs to.
Isa IsaOfTarget(int64_t target);

// The target the register-tiled convolution kernels (direct forward and backward by input, backward
// by weights) run on when `target` is dispatched to: NEON's for the SVE family, whose sizeless
// vectors cannot form the tiles' accumulator arrays (kernels/block_simd-inl.h); `target` otherwise.
int64_t ConvTileTarget(int64_t target);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_ISA_H_
