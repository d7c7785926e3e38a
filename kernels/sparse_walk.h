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

// A 1x1 kernel (never padded): forward and backward by input walk it pixel by pixel, strided
// ones on the subsampled input (conv_sparse_direct.cc).
inline bool IsPointwise(const ConvShape& shape) { return shape.r == 1 && shape.s == 1; }

// Backward by weights feeds all three kernel columns from each non-zero of dy for 3-wide
// kernels, whatever the stride; otherwise one column at a time (conv_sparse_weights.cc).
inline bool SparseWeightsTakesThreeColumns(int64_t kernel_width) { return kernel_width == 3; }

// The operand whose zeros sparse backward-by-weights skips. Both index the result by their
// channels, so either can be walked: dy's zeros (behind ReLU and max pooling in VGG-style nets)
// or x's (behind the ReLU before the convolution; in batch-norm nets dy has none).
enum class WeightsWalk { kSkipDy, kSkipX };

// Skipping x's zeros runs the dy-skipping walk on a problem with x and dy swapped, which holds
// for stride 1 (conv_sparse_weights.cc); a strided 1x1 kernel without padding gets there by
// subsampling x first.
inline bool SparseWeightsCanSkipX(const ConvShape& shape) {
  const bool stride_one = shape.stride_h == 1 && shape.stride_w == 1;
  return stride_one || IsPointwise(shape);
}

// The classes of walk the kernel choice keeps a calibrated curve for.
enum class WalkClass {
  kThreeColumns,  // the sliding walk; backward by weights' three-column tiles (a 3x3 layer)
  kPointwise,     // forward and backward by input of 1x1 kernels (a 1x1 layer)
  kOther,         // the tile walks of other shapes (a strided 3x3 layer); backward by weights'
                  // one-column tiles (a 1x1 layer)
};

inline WalkClass SparseWalkClass(Pass pass, const ConvShape& shape) {
  if (pass == Pass::kBackwardWeights) {
    return SparseWeightsTakesThreeColumns(shape.s) ? WalkClass::kThreeColumns : WalkClass::kOther;
  }
  if (SparseSlidesAlongRows(shape.s, shape.stride_w)) return WalkClass::kThreeColumns;
  return IsPointwise(shape) ? WalkClass::kPointwise : WalkClass::kOther;
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_SPARSE_WALK_H_
