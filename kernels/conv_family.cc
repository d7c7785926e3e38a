#include "kernels/conv_family.h"

#include <algorithm>

#include "kernels/conv_dense.h"
#include "kernels/conv_sparse.h"

namespace sparsetrain {

namespace {

Status DenseBackwardWeights(const ConvShape& shape, const float* x, const float* dy, float* dw,
                            float* dbias, WeightsWalk /*no zeros skipped*/, Workspace workspace,
                            pthreadpool_t pool) {
  return ConvBackwardWeightsDense(shape, x, dy, dw, dbias, workspace, pool);
}

}  // namespace

const ConvFamily& ConvFamilyOf(ConvKernel kernel) {
  static constexpr ConvFamily kDense{ConvKernel::kDense, ConvWorkspaceFloatsDense, ConvForwardDense,
                                     ConvBackwardDataDense, DenseBackwardWeights};
  static constexpr ConvFamily kSparse{ConvKernel::kSparse, ConvWorkspaceFloatsSparse,
                                      ConvForwardSparse, ConvBackwardDataSparse,
                                      ConvBackwardWeightsSparse};
  return kernel == ConvKernel::kSparse ? kSparse : kDense;
}

int64_t EitherFamilyWorkspaceFloats(Pass pass, const ConvShape& shape, int64_t threads) {
  return std::max(ConvWorkspaceFloatsDense(pass, shape, threads),
                  ConvWorkspaceFloatsSparse(pass, shape, threads));
}

}  // namespace sparsetrain
