// Sparse convolution kernels against the reference, all three passes, on every supported ISA,
// over the awkward shape grid, from no zeros to all zeros (half of them -0.0).
#include "kernels/conv_sparse.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <string>
#include <vector>

#include "kernels/aligned.h"
#include "kernels/parallel.h"

#include "tests/conv_tester.h"

namespace sparsetrain {
namespace {

const std::vector<double> kSparsities = {0.0, 0.3, 0.5, 0.8, 0.95, 1.0};

class ConvSparseTest : public ConvKernelTest {};

TEST_P(ConvSparseTest, ForwardMatchesReference) {
  ForEachCase(kSparsities, 100, [](ConvTester& t, pthreadpool_t pool) {
    t.CheckForward(ConvFamilyOf(ConvKernel::kSparse), pool);
  });
}

TEST_P(ConvSparseTest, BackwardDataMatchesReference) {
  ForEachCase(kSparsities, 200, [](ConvTester& t, pthreadpool_t pool) {
    t.CheckBackwardData(ConvFamilyOf(ConvKernel::kSparse), pool);
  });
}

TEST_P(ConvSparseTest, BackwardWeightsMatchesReference) {
  ForEachCase(kSparsities, 300, [](ConvTester& t, pthreadpool_t pool) {
    t.CheckBackwardWeights(ConvFamilyOf(ConvKernel::kSparse), pool);
  });
}

// The walk over x's zeros, on every shape it takes (stride 1, or 1x1 without padding); the
// others refuse it.
TEST_P(ConvSparseTest, BackwardWeightsSkippingXMatchesReference) {
  ForEachCase(
      kSparsities, 400,
      [](ConvTester& t, pthreadpool_t pool) {
        t.CheckBackwardWeights(ConvFamilyOf(ConvKernel::kSparse), pool, WeightsWalk::kSkipX);
      },
      SparseWeightsCanSkipX);
}

TEST_P(ConvSparseTest, BackwardWeightsSkippingXRefusesStridedKernels) {
  const ConvShape strided = MakeShape(1, 16, 8, 8, 16, 3, 3, 2, 1);
  ASSERT_FALSE(SparseWeightsCanSkipX(strided));
  AlignedFloats x(4096), dy(4096), dw(4096);
  AlignedFloats scratch(
      size_t(ConvWorkspaceFloatsSparse(Pass::kBackwardWeights, strided, ThreadCount(pool_))));
  const Status status = ConvBackwardWeightsSparse(strided, x.data(), dy.data(), dw.data(), nullptr,
                                                  WeightsWalk::kSkipX,
                                                  {scratch.data(), int64_t(scratch.size())}, pool_);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("stride"), std::string::npos) << status.message();
}

TEST_P(ConvSparseTest, RejectsInvalidShapesAndNullTensors) {
  std::vector<float> buf(4096);
  const ConvShape bad = MakeShape(1, 16, 4, 4, 16, 3, 3, 0, 1);  // stride 0
  EXPECT_EQ(
      ConvForwardSparse(bad, buf.data(), buf.data(), nullptr, buf.data(), Workspace{}, nullptr)
          .code(),
      StatusCode::kInvalidArgument);
  const ConvShape ok = MakeShape(1, 16, 4, 4, 16, 3, 3, 1, 1);
  EXPECT_EQ(
      ConvBackwardDataSparse(ok, buf.data(), nullptr, buf.data(), Workspace{}, nullptr).code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(ConvBackwardWeightsSparse(ok, buf.data(), buf.data(), nullptr, nullptr,
                                      WeightsWalk::kSkipDy, Workspace{}, nullptr)
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_P(ConvSparseTest, RefusesAWorkspaceSmallerThanItsQuery) {
  ExpectShortWorkspaceRefused(ConvFamilyOf(ConvKernel::kSparse));
}

INSTANTIATE_PER_TARGET_TEST_SUITE(ConvSparseTest);

}  // namespace
}  // namespace sparsetrain
