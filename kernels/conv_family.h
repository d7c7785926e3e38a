// The dense and the sparse convolution kernels behind one set of signatures (conv_dense.h,
// conv_sparse.h), so a caller picks a family once and calls its passes alike.
#ifndef SPARSETRAIN_KERNELS_CONV_FAMILY_H_
#define SPARSETRAIN_KERNELS_CONV_FAMILY_H_

#include <pthreadpool.h>

#include <cstdint>

#include "kernels/base/status.h"
#include "kernels/conv_choice.h"
#include "kernels/conv_shape.h"
#include "kernels/sparse_walk.h"
#include "kernels/workspace.h"

namespace sparsetrain {

struct ConvFamily {
  ConvKernel kernel;
  // Floats of workspace `pass` needs for `shape` on a pool of `threads` threads (active ISA).
  int64_t (*workspace_floats)(Pass pass, const ConvShape& shape, int64_t threads);
  Status (*forward)(const ConvShape& shape, const float* x, const float* w, const float* bias,
                    float* y, Workspace workspace, pthreadpool_t pool);
  Status (*backward_data)(const ConvShape& shape, const float* dy, const float* w_transposed,
                          float* dx, Workspace workspace, pthreadpool_t pool);
  // `walk`: the operand whose zeros the sparse kernel skips; the dense kernel skips none.
  Status (*backward_weights)(const ConvShape& shape, const float* x, const float* dy, float* dw,
                             float* dbias, WeightsWalk walk, Workspace workspace,
                             pthreadpool_t pool);
};

const ConvFamily& ConvFamilyOf(ConvKernel kernel);

// Floats of workspace that either family's `pass` runs in, so that a caller trying both (the
// kernel choice's probes) reserves once.
int64_t EitherFamilyWorkspaceFloats(Pass pass, const ConvShape& shape, int64_t threads);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_CONV_FAMILY_H_
