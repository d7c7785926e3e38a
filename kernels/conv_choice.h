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
#include "kernels/sparse_walk.h"

namespace sparsetrain {

enum class ConvKernel { kDense, kSparse };

const char* ConvKernelName(ConvKernel kernel);  // "dense", "sparse"

// The walk sparse backward-by-weights takes: over x where x has more zeros than dy and the shape
// allows it, else over dy. Both walks are one kernel (conv_sparse_weights.cc), so one curve
// prices them and the operand with more zeros pays more.
WeightsWalk ChooseWeightsWalk(const ConvShape& shape, double x_zeros, double dy_zeros);

// The kernel a pass ran, as verbose mode and the benchmarks name it: ConvKernelName's, or
// "sparse-x" for a sparse backward-by-weights that walked x.
const char* ConvRunName(ConvKernel kernel, Pass pass, WeightsWalk walk);

// The fraction of zeros that matters for `pass`, of the operand the sparse kernel skips: x for
// forward, dy for backward by input, the walked one (ChooseWeightsWalk) for backward by weights.
double SkippedOperandZeros(Pass pass, const ConvShape& shape, double x_zeros, double dy_zeros);

// The zero fractions the calibration curves are measured at (//bench:choice_calibration).
inline constexpr double kCalibrationZeros[] = {0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0};
inline constexpr int kCalibrationPoints = sizeof kCalibrationZeros / sizeof *kCalibrationZeros;

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
// corrected curve as the zero fraction moves. Every kReprobeEvery calls the probes run again
// (the old correction holding until they end), so a layer misjudged by a noisy first
// measurement, or whose inputs have changed, recovers within a few hundred steps.
// Why a kernel was chosen, for verbose mode.
enum class ChoiceBasis {
  kForced,        // the caller asked for one kind
  kUnsuited,      // the sparse kernel cannot run the shape well (SparseSuits)
  kUncalibrated,  // no curve for the ISA: dense
  kProbing,       // one of the first calls, which alternate the kernels to measure them
  kPrediction,    // the corrected curve's prediction against the margin
};
const char* ChoiceBasisName(ChoiceBasis basis);  // "forced", "unsuited", ...

struct ChoiceReason {
  ChoiceBasis basis = ChoiceBasis::kForced;
  double predicted = 0.0;   // sparse / dense time from the curves at the call's zeros
  double correction = 1.0;  // measured ratio over predicted (1 until the probes are done)
  double dense_ms = 0.0, sparse_ms = 0.0;  // the best probe times, 0 until measured
};

class ConvKernelSelector {
 public:
  static constexpr int kReprobeEvery = 500;  // calls between the end of probing and the next

  ConvKernel Choose(Pass pass, const ConvShape& shape, double zeros, Isa isa);
  // What the last Choose went by.
  const ChoiceReason& reason() const { return reason_; }
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
  int calls_since_probes_ = 0;
  ChoiceReason reason_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_CONV_CHOICE_H_
