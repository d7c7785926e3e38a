#include "kernels/conv_family.h"

#include "kernels/conv_dense.h"
#include "kernels/conv_sparse.h"

namespace sparsetrain {

const ConvFamily& ConvFamilyOf(ConvKernel kernel) {
  static constexpr ConvFamily kDense{ConvKernel::kDense, ConvWorkspaceFloatsDense, ConvForwardDense,
                                     ConvBackwardDataDense, ConvBackwardWeightsDense};
  static constexpr ConvFamily kSparse{ConvKernel::kSparse, ConvWorkspaceFloatsSparse,
                                      ConvForwardSparse, ConvBackwardDataSparse,
                                      ConvBackwardWeightsSparse};
  return kernel == ConvKernel::kSparse ? kSparse : kDense;
}

}  // namespace sparsetrain
