// Sparse convolution (SparseTrain): the same passes, layouts and results as conv_dense.h, but
// the kernels find the zeros of one operand on the fly - a vector compare per 16 channels, then
// a walk over the set bits - and skip the multiply-adds those zeros would feed:
//  - forward skips zeros of x;
//  - backward by input skips zeros of dy;
//  - backward by weights skips zeros of dy or of x, as `walk` says (sparse_walk.h): in
//    VGG-style nets dy, behind ReLU and max pooling, is the sparser operand (72-96% zeros
//    against 49-86% for x); in batch-norm nets dy has no zeros and x has 15-70%.
// With the choice's 10% margin they are picked from about 20% zeros for 1x1 forward and
// backward by input, 30% for 3x3 ones with stride 1, 45-55% for backward by weights (AVX2,
// 2 threads; conv_choice_curves.inc holds the measured ratios); below that the dense kernels win.
#ifndef SPARSETRAIN_KERNELS_CONV_SPARSE_H_
#define SPARSETRAIN_KERNELS_CONV_SPARSE_H_

#include <pthreadpool.h>

#include "kernels/base/status.h"
#include "kernels/conv_shape.h"
#include "kernels/sparse_walk.h"
#include "kernels/workspace.h"

namespace sparsetrain {

int64_t ConvWorkspaceFloatsSparse(Pass pass, const ConvShape& shape, int64_t threads);

Status ConvForwardSparse(const ConvShape& shape, const float* x, const float* w, const float* bias,
                         float* y, Workspace workspace, pthreadpool_t pool);

Status ConvBackwardDataSparse(const ConvShape& shape, const float* dy, const float* w_transposed,
                              float* dx, Workspace workspace, pthreadpool_t pool);

// kInvalidArgument for WeightsWalk::kSkipX where !SparseWeightsCanSkipX(shape).
Status ConvBackwardWeightsSparse(const ConvShape& shape, const float* x, const float* dy, float* dw,
                                 float* dbias, WeightsWalk walk, Workspace workspace,
                                 pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_CONV_SPARSE_H_
