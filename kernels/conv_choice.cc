#include "kernels/conv_choice.h"

#include <limits>

namespace sparsetrain {
namespace {

constexpr int kPoints = 8;
constexpr double kZeros[kPoints] = {0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0};

struct Curve {
  Isa isa;
  bool wide;  // kernels with more than one tap (3x3, ...); else 1x1
  ConvPass pass;
  double sparse_over_dense[kPoints];  // at kZeros
};

// From //bench:choice_calibration on the project's machine (see docs/performance.md).
constexpr Curve kCurves[] = {
#include "kernels/conv_choice_curves.inc"
};

// Sparse must be predicted this much faster to be chosen: a misprediction then costs at most a
// few percent, and the dense path is never given up for noise.
constexpr double kMargin = 0.9;

}  // namespace

const char* ConvPassName(ConvPass pass) {
  switch (pass) {
    case ConvPass::kForward:
      return "fwd";
    case ConvPass::kBackwardData:
      return "bwd_data";
    case ConvPass::kBackwardWeights:
      return "bwd_weights";
  }
  return "unknown";
}

const char* ConvKernelName(ConvKernel kernel) {
  return kernel == ConvKernel::kSparse ? "sparse" : "dense";
}

double SkippedOperandZeros(ConvPass pass, double x_zeros, double dy_zeros) {
  return pass == ConvPass::kForward ? x_zeros : dy_zeros;
}

double PredictedSparseRatio(ConvPass pass, const ConvShape& shape, double zeros, Isa isa) {
  const bool wide = shape.r * shape.s > 1;
  for (const Curve& c : kCurves) {
    if (c.isa != isa || c.wide != wide || c.pass != pass) continue;
    if (!(zeros > kZeros[0])) return c.sparse_over_dense[0];
    for (int i = 1; i < kPoints; ++i) {
      if (zeros < kZeros[i]) {
        const double f = (zeros - kZeros[i - 1]) / (kZeros[i] - kZeros[i - 1]);
        return c.sparse_over_dense[i - 1] + f * (c.sparse_over_dense[i] - c.sparse_over_dense[i - 1]);
      }
    }
    return c.sparse_over_dense[kPoints - 1];
  }
  return std::numeric_limits<double>::infinity();  // not calibrated: the ISA runs dense only
}

ConvKernel ChooseConvKernel(ConvPass pass, const ConvShape& shape, double zeros, Isa isa) {
  return PredictedSparseRatio(pass, shape, zeros, isa) < kMargin ? ConvKernel::kSparse
                                                                 : ConvKernel::kDense;
}

}  // namespace sparsetrain
