#include "kernels/conv_choice.h"

#include <algorithm>
#include <limits>

#include "kernels/sparse_walk.h"

namespace sparsetrain {
namespace {

struct Curve {
  Isa isa;
  WalkClass walk;  // kernels/sparse_walk.h
  Pass pass;
  double sparse_over_dense[kCalibrationPoints];  // at kCalibrationZeros
};

// From //bench:choice_calibration on the project's machine (see docs/performance.md).
constexpr Curve kCurves[] = {
#include "kernels/conv_choice_curves.inc"
};

// Sparse must be predicted this much faster to be chosen: a misprediction then costs at most a
// few percent, and the dense path is never given up for noise.
constexpr double kMargin = 0.9;

}  // namespace

const char* ConvKernelName(ConvKernel kernel) {
  return kernel == ConvKernel::kSparse ? "sparse" : "dense";
}

WeightsWalk ChooseWeightsWalk(const ConvShape& shape, double x_zeros, double dy_zeros) {
  return SparseWeightsCanSkipX(shape) && x_zeros > dy_zeros ? WeightsWalk::kSkipX
                                                            : WeightsWalk::kSkipDy;
}

const char* ConvRunName(ConvKernel kernel, Pass pass, WeightsWalk walk) {
  const bool skips_x = kernel == ConvKernel::kSparse && pass == Pass::kBackwardWeights &&
                       walk == WeightsWalk::kSkipX;
  return skips_x ? "sparse-x" : ConvKernelName(kernel);
}

double SkippedOperandZeros(Pass pass, const ConvShape& shape, double x_zeros, double dy_zeros) {
  switch (pass) {
    case Pass::kForward:
      return x_zeros;
    case Pass::kBackwardData:
      return dy_zeros;
    case Pass::kBackwardWeights:
      return ChooseWeightsWalk(shape, x_zeros, dy_zeros) == WeightsWalk::kSkipX ? x_zeros
                                                                                : dy_zeros;
  }
  return dy_zeros;
}

double PredictedSparseRatio(Pass pass, const ConvShape& shape, double zeros, Isa isa) {
  const WalkClass walk = SparseWalkClass(pass, shape);
  for (const Curve& c : kCurves) {
    if (c.isa != isa || c.walk != walk || c.pass != pass) continue;
    if (!(zeros > kCalibrationZeros[0])) return c.sparse_over_dense[0];
    for (int i = 1; i < kCalibrationPoints; ++i) {
      if (zeros < kCalibrationZeros[i]) {
        const double f =
            (zeros - kCalibrationZeros[i - 1]) / (kCalibrationZeros[i] - kCalibrationZeros[i - 1]);
        return c.sparse_over_dense[i - 1] +
               f * (c.sparse_over_dense[i] - c.sparse_over_dense[i - 1]);
      }
    }
    return c.sparse_over_dense[kCalibrationPoints - 1];
  }
  return std::numeric_limits<double>::infinity();  // not calibrated: the ISA runs dense only
}

namespace {

// Whether the sparse kernel can run the pass well at all. The sparse backward-by-weights kernel
// runs 16 input channels per vector; with fewer than 16 (a first layer's 1 or 3) most lanes would
// be padding, which the dense kernel skips.
bool SparseSuits(Pass pass, const ConvShape& shape) {
  return !(pass == Pass::kBackwardWeights && shape.c < kChannelBlock);
}

// The kernel for a predicted sparse/dense time ratio.
ConvKernel KernelFor(double sparse_over_dense) {
  return sparse_over_dense < kMargin ? ConvKernel::kSparse : ConvKernel::kDense;
}

}  // namespace

ConvKernel ChooseConvKernel(Pass pass, const ConvShape& shape, double zeros, Isa isa) {
  if (!SparseSuits(pass, shape)) return ConvKernel::kDense;
  return KernelFor(PredictedSparseRatio(pass, shape, zeros, isa));
}

const char* ChoiceBasisName(ChoiceBasis basis) {
  constexpr const char* kNames[] = {"forced", "unsuited", "uncalibrated", "probing", "prediction"};
  return kNames[int(basis)];
}

ConvKernel ConvKernelSelector::Choose(Pass pass, const ConvShape& shape, double zeros, Isa isa) {
  const double predicted = PredictedSparseRatio(pass, shape, zeros, isa);
  if (isa != isa_) *this = ConvKernelSelector(), isa_ = isa;  // measurements are per ISA
  reason_ = {ChoiceBasis::kPrediction, predicted, correction_, best_ms_[0], best_ms_[1]};
  if (!SparseSuits(pass, shape)) {
    reason_.basis = ChoiceBasis::kUnsuited;
    return ConvKernel::kDense;
  }
  if (predicted == std::numeric_limits<double>::infinity()) {
    reason_.basis = ChoiceBasis::kUncalibrated;
    return ConvKernel::kDense;
  }
  if (probes_ == kProbes && ++calls_since_probes_ > kReprobeEvery) {
    probes_ = 0, calls_since_probes_ = 0;  // probe again; correction_ holds meanwhile
    best_ms_[0] = best_ms_[1] = 0.0;
    predicted_sum_ = 0.0;
  }
  if (probes_ < kProbes) {
    if (probes_ >= kWarmups) predicted_sum_ += predicted;
    reason_.basis = ChoiceBasis::kProbing;
    return probes_ % 2 == 0 ? ConvKernel::kDense : ConvKernel::kSparse;
  }
  return KernelFor(predicted * correction_);
}

void ConvKernelSelector::Record(ConvKernel kernel, double ms) {
  if (probes_ >= kProbes) return;
  if (probes_ >= kWarmups) {
    double& best = best_ms_[kernel == ConvKernel::kSparse];
    best = best == 0.0 ? ms : std::min(best, ms);
  }
  if (++probes_ == kProbes && best_ms_[0] > 0.0) {
    const double predicted = predicted_sum_ / (kProbes - kWarmups);
    correction_ = (best_ms_[1] / best_ms_[0]) / predicted;
  }
}

}  // namespace sparsetrain
