// choice_calibration: measures our sparse kernels against our dense kernels over a grid of zero
// fractions, per ISA, pass and kernel class, and prints the table kernels/conv_choice.cc holds.
//
//   bazel run -c opt //bench:choice_calibration -- [--threads 2] [--iters 10]
#include <pthreadpool.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_data.h"
#include "bench/provenance.h"
#include "bench/timing.h"
#include "kernels/aligned.h"
#include "kernels/conv_choice.h"
#include "kernels/conv_family.h"
#include "kernels/isa.h"
#include "kernels/layout.h"
#include "kernels/parallel.h"
#include "kernels/reorder.h"

namespace sparsetrain {
namespace {

// Activations of shape `dims`, nChw16c, with a `zeros` fraction of zeros.
AlignedFloats RandomActivations(Dims dims, double zeros, std::mt19937& rng) {
  return Blocked(RandomTensor(dims.count(), zeros, rng), dims, Layout::kNChw16c);
}

// Sparse / dense time of `pass` on `s` at each zero fraction.
std::vector<double> Curve(Pass pass, const ConvShape& s, int iters, pthreadpool_t pool) {
  std::mt19937 rng(7);
  AlignedFloats w(StorageFloats(s.weights(), Layout::kOIhw16i16o), 0.01f);
  AlignedFloats y(StorageFloats(s.output(), Layout::kNChw16c));
  AlignedFloats dx(StorageFloats(s.input(), Layout::kNChw16c)), dw(w.size());
  std::vector<double> ratios;
  for (double z : kCalibrationZeros) {
    const AlignedFloats x = RandomActivations(s.input(), pass == Pass::kForward ? z : 0.5, rng);
    const AlignedFloats dy = RandomActivations(s.output(), z, rng);
    auto run = [&](bool sparse) {
      const ConvFamily& family = ConvFamilyOf(sparse ? ConvKernel::kSparse : ConvKernel::kDense);
      AlignedFloats scratch(size_t(family.workspace_floats(pass, s, ThreadCount(pool))));
      const Workspace ws{scratch.data(), int64_t(scratch.size())};
      switch (pass) {
        case Pass::kForward:
          (void)family.forward(s, x.data(), w.data(), nullptr, y.data(), ws, pool);
          break;
        case Pass::kBackwardData:
          (void)family.backward_data(s, dy.data(), w.data(), dx.data(), ws, pool);
          break;
        case Pass::kBackwardWeights:
          // The curve prices the walk over dy; the walk over x is the same kernel.
          (void)family.backward_weights(s, x.data(), dy.data(), dw.data(), nullptr,
                                        WeightsWalk::kSkipDy, ws, pool);
          break;
      }
    };
    const double dense = MedianMs(iters, 1, [&] { run(false); });
    const double sparse = MedianMs(iters, 1, [&] { run(true); });
    ratios.push_back(sparse / dense);
  }
  return ratios;
}

int Main(int argc, char** argv) {
  int threads = 2, iters = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--threads") threads = std::max(1, std::atoi(argv[i + 1]));
    if (flag == "--iters") iters = std::max(1, std::atoi(argv[i + 1]));
  }
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(threads) : nullptr;
  // One layer per walk class (kernels/sparse_walk.h): a mid-sized VGG 3x3 layer (stride 1: the
  // sliding walk), a ResNet 1x1 layer (the pointwise walk; one-column backward-by-weights tiles)
  // and a ResNet downsampling 3x3 layer (stride 2: the tile walks).
  ConvShape three_wide, pointwise, strided;
  three_wide.n = 4, three_wide.c = three_wide.k = 256, three_wide.h = three_wide.w = 28;
  three_wide.r = three_wide.s = 3, three_wide.pad_h = three_wide.pad_w = 1;
  pointwise.n = 8, pointwise.c = pointwise.k = 256, pointwise.h = pointwise.w = 14;
  strided = three_wide;
  strided.n = 8, strided.c = 128, strided.k = 256, strided.stride_h = strided.stride_w = 2;
  std::printf("// sparse / dense time at zeros");
  for (double z : kCalibrationZeros) std::printf(" %.2f", z);
  std::printf("; %s, %s, %d threads, median of %d; %s, %s, %s\n", CpuDescription().c_str(),
              TodayUtc().c_str(), threads, iters, ProblemDescriptor(three_wide).c_str(),
              ProblemDescriptor(pointwise).c_str(), ProblemDescriptor(strided).c_str());
  const struct {
    const char* name;
    WalkClass walk;
  } kClasses[] = {{"kThreeColumns", WalkClass::kThreeColumns},
                  {"kPointwise", WalkClass::kPointwise},
                  {"kOther", WalkClass::kOther}};
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
    if (!IsaSupported(isa) || !SelectIsa(isa).ok()) continue;
    for (const auto& c : kClasses) {
      for (Pass pass : {Pass::kForward, Pass::kBackwardData, Pass::kBackwardWeights}) {
        // The layer whose pass runs a walk of the class, if any.
        const ConvShape* s = nullptr;
        for (const ConvShape* candidate : {&three_wide, &pointwise, &strided}) {
          if (s == nullptr && SparseWalkClass(pass, *candidate) == c.walk) s = candidate;
        }
        if (s == nullptr) continue;
        std::printf("    {Isa::k%s, WalkClass::%s, Pass::k%s, {",
                    isa == Isa::kAvx512 ? "Avx512" : "Avx2", c.name,
                    pass == Pass::kForward        ? "Forward"
                    : pass == Pass::kBackwardData ? "BackwardData"
                                                  : "BackwardWeights");
        const std::vector<double> curve = Curve(pass, *s, iters, pool);
        for (size_t i = 0; i < curve.size(); ++i) std::printf("%s%.3f", i ? ", " : "", curve[i]);
        std::printf("}},\n");
        std::fflush(stdout);
      }
    }
  }
  if (pool != nullptr) pthreadpool_destroy(pool);
  return 0;
}

}  // namespace
}  // namespace sparsetrain

int main(int argc, char** argv) { return sparsetrain::Main(argc, argv); }
