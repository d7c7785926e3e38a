// The one place that picks the dense or the sparse kernel for a convolution pass.
//
// The sparse kernels (conv_sparse.h) win once enough of the operand they skip is zero; how much
// is enough depends on the pass, the kernel size and the ISA. The choice comes from measured
// curves of sparse time / dense time against the zero fraction, per ISA, pass and kernel class
// (calibrated by //bench:choice_calibration, tabled in conv_choice.cc). The zero fraction comes
// from the counts ReLU takes as it writes the operand (elementwise.h).
#ifndef SPARSETRAIN_KERNELS_CONV_CHOICE_H_
#define SPARSETRAIN_KERNELS_CONV_CHOICE_H_

#include "kernels/conv_shape.h"
#include "kernels/isa.h"

namespace sparsetrain {

enum class ConvKernel { kDense, kSparse };

const char* ConvKernelName(ConvKernel kernel);  // "dense", "sparse"

// The fraction of zeros that matters for `pass`: of x for forward, of dy for both backward
// passes (the operand the sparse kernel skips).
double SkippedOperandZeros(Pass pass, double x_zeros, double dy_zeros);

// Predicted sparse time / dense time on `isa` (never kAuto) with `zeros` of the skipped operand.
double PredictedSparseRatio(Pass pass, const ConvShape& shape, double zeros, Isa isa);

// Sparse only where it is predicted faster by a margin, so a wrong guess costs little.
ConvKernel ChooseConvKernel(Pass pass, const ConvShape& shape, double zeros, Isa isa);

// The choice for one pass of one layer, corrected by measurement. The calibration curves come
// from mid-sized layers; for a small or unusual layer (few channels, small images) the true
// ratio can lie on the other side of the margin.
// So the first calls alternate the two kernels (both give the same result), time them through
// Record - the first call of each only warms up (scratch memory, caches) - and scale the
// prediction by what was measured against what was predicted; after that the choice follows the
// corrected curve as the zero fraction moves.
class ConvKernelSelector {
 public:
  ConvKernel Choose(Pass pass, const ConvShape& shape, double zeros, Isa isa);
  // The time of the call Choose just decided.
  void Record(ConvKernel kernel, double ms);
  // Measured sparse/dense ratio over predicted; 1 until measured.
  double correction() const { return correction_; }

 private:
  static constexpr int kWarmups = 2;  // dense, sparse: not timed
  static constexpr int kProbes = 8;   // alternating dense, sparse; the fastest of each counts
  Isa isa_ = Isa::kAuto;
  int probes_ = 0;
  double best_ms_[2] = {0.0, 0.0};  // dense, sparse
  double predicted_sum_ = 0.0;
  double correction_ = 1.0;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_CONV_CHOICE_H_
