// fma_probe: how fast one core multiplies and adds when every multiply-add reads its own weight
// vector, as the sparse kernels' inner loops do (a broadcast non-zero times 3 taps x 8 output
// blocks of weights, at an address its channel selects). Prints G vector multiply-adds per
// second on one thread, best ISA target, for
//   fixed:      weights read from the same addresses every step (as dense kernels reuse them);
//   scattered:  weights at an address a random channel 0-15 selects, the rest one base plus
//               constants (the sparse kernels' pattern; weights of one slice stay in L1).
//
//   bazel run -c opt //bench:fma_probe
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/fma_probe.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "bench/provenance.h"
#include "kernels/aligned.h"

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;
// Accumulators: 24 of AVX-512's 32 registers (3 taps x 8 blocks), 12 of AVX2's 16.
constexpr size_t kAcc = hn::MaxLanes(D()) >= 16 ? 24 : 12;
constexpr int64_t kSteps = 1 << 12;  // channels per pass over the list
constexpr int kPasses = 4000;

// kScattered: weights at channel-chosen addresses, else at fixed ones.
template <bool kScattered>
HWY_NOINLINE float Run(const float* HWY_RESTRICT w, const int32_t* HWY_RESTRICT channels,
                       double* seconds) {
  const D d;
  const size_t n = hn::Lanes(d);
  V acc[kAcc];
  HWY_UNROLL(24)
  for (size_t a = 0; a < kAcc; ++a) acc[a] = hn::Zero(d);
  const V x = hn::Set(d, 1e-7f);
  const auto start = std::chrono::steady_clock::now();
  for (int pass = 0; pass < kPasses; ++pass) {
    for (int64_t step = 0; step < kSteps; ++step) {
      const float* base = kScattered ? w + int64_t(channels[step]) * int64_t(kAcc * n) : w;
      HWY_UNROLL(24)
      for (size_t a = 0; a < kAcc; ++a) acc[a] = hn::MulAdd(x, hn::LoadU(d, base + a * n), acc[a]);
    }
  }
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  V sum = hn::Zero(d);
  HWY_UNROLL(24)
  for (size_t a = 0; a < kAcc; ++a) sum = hn::Add(sum, acc[a]);
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

void Probe() {
  const D d;
  AlignedFloats w(16 * kAcc * hn::Lanes(d), 0.5f);
  std::vector<int32_t> channels(kSteps);
  std::mt19937 rng(1);
  for (int32_t& c : channels) c = int32_t(rng() % 16);
  const double fmas = double(kPasses) * kSteps * kAcc;
  const char* names[] = {"fixed", "scattered"};
  volatile float sink = 0;  // a store the compiler must keep, so the loops are not dropped
  double seconds[2];
  sink += Run<false>(w.data(), channels.data(), &seconds[0]);
  sink += Run<true>(w.data(), channels.data(), &seconds[1]);
  std::printf("fma_probe: %s, %s, %s, %zu-float vectors, %zu accumulators, one thread\n",
              CpuDescription().c_str(), TodayUtc().c_str(), hwy::TargetName(HWY_TARGET),
              hn::Lanes(d), kAcc);
  for (int mode = 0; mode < 2; ++mode) {
    std::printf("%-10s %6.2f G multiply-adds/s\n", names[mode], fmas / seconds[mode] / 1e9);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(Probe);
}  // namespace sparsetrain

int main() {
  HWY_DYNAMIC_DISPATCH(sparsetrain::Probe)();
  return 0;
}
#endif  // HWY_ONCE
