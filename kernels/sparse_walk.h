// Which walk the sparse kernels run on a shape. The walk sets a pass's cost, so the kernel choice
// (conv_choice.cc) keeps one calibrated curve per walk and asks here which applies; the kernels
// ask the same functions which walk to run.
#ifndef SPARSETRAIN_KERNELS_SPARSE_WALK_H_
#define SPARSETRAIN_KERNELS_SPARSE_WALK_H_

#include <cstdint>

#include "kernels/base/pass.h"
#include "kernels/conv_shape.h"

namespace sparsetrain {

// Forward and backward by input slide along whole output rows, a non-zero feeding three open
// outputs, for 3-wide kernels whose sources are consecutive (stride 1); otherwise they walk
// output tiles (conv_sparse_direct.cc).
inline bool SparseSlidesAlongRows(int64_t kernel_width, int64_t stride_w) {
  return kernel_width == 3 && stride_w == 1;
}

// Backward by weights feeds all three kernel columns from each non-zero of dy for 3-wide
// kernels, whatever the stride; otherwise one column at a time (conv_sparse_weights.cc).
inline bool SparseWeightsTakesThreeColumns(int64_t kernel_width) { return kernel_width == 3; }

// The operand whose zeros sparse backward-by-weights skips. Both index the result by their
// channels, so either can be walked: dy's zeros (behind ReLU and max pooling in VGG-style nets)
// or x's (behind the ReLU before the convolution; in batch-norm nets dy has none).
enum class WeightsWalk { kSkipDy, kSkipX };
inline const char* WeightsWalkName(WeightsWalk walk) {
  return walk == WeightsWalk::kSkipX ? "x" : "dy";
}

// Skipping x's zeros runs the dy-skipping walk on a problem with x and dy swapped, which holds
// for stride 1 (conv_sparse_weights.cc); a strided 1x1 kernel without padding gets there by
// subsampling x first.
inline bool SparseWeightsCanSkipX(const ConvShape& shape) {
  const bool stride_one = shape.stride_h == 1 && shape.stride_w == 1;
  const bool unpadded_pointwise =
      shape.r == 1 && shape.s == 1 && shape.pad_h == 0 && shape.pad_w == 0;
  return stride_one || unpadded_pointwise;
}

// Whether `pass` on `shape` runs one of the three-column walks (the 3x3 curves), else the
// one-column walks a 1x1 layer runs.
inline bool SparseWalksThreeColumns(Pass pass, const ConvShape& shape) {
  return pass == Pass::kBackwardWeights ? SparseWeightsTakesThreeColumns(shape.s)
                                        : SparseSlidesAlongRows(shape.s, shape.stride_w);
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_SPARSE_WALK_H_
