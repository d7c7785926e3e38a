// Dense convolution kernels against the reference, all three passes, on every supported ISA,
// over a grid of awkward shapes (odd sizes, channels not a multiple of 16, stride 2, padding).
#include "kernels/conv_dense.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/conv_tester.h"

namespace sparsetrain {
namespace {

class ConvDenseTest : public ConvKernelTest {};

TEST_P(ConvDenseTest, ForwardMatchesReference) {
  ForEachCase({0.5}, 10, [](ConvTester& t, pthreadpool_t pool) {
    t.CheckForward(ConvFamilyOf(ConvKernel::kDense), pool);
  });
}

TEST_P(ConvDenseTest, BackwardDataMatchesReference) {
  ForEachCase({0.5}, 20, [](ConvTester& t, pthreadpool_t pool) {
    t.CheckBackwardData(ConvFamilyOf(ConvKernel::kDense), pool);
  });
}

TEST_P(ConvDenseTest, BackwardWeightsMatchesReference) {
  ForEachCase({0.5}, 30, [](ConvTester& t, pthreadpool_t pool) {
    t.CheckBackwardWeights(ConvFamilyOf(ConvKernel::kDense), pool);
  });
}

TEST_P(ConvDenseTest, RejectsInvalidShapesAndNullTensors) {
  std::vector<float> buf(4096);
  ConvShape bad = MakeShape(1, 16, 4, 4, 16, 3, 3, 1, 3);  // padding >= kernel
  EXPECT_EQ(ConvForwardDense(bad, buf.data(), buf.data(), nullptr, buf.data(), Workspace{}, nullptr)
                .code(),
            StatusCode::kInvalidArgument);
  bad = MakeShape(1, 16, 2, 2, 16, 5, 5, 1, 0);  // kernel larger than input
  EXPECT_EQ(
      ConvBackwardDataDense(bad, buf.data(), buf.data(), buf.data(), Workspace{}, nullptr).code(),
      StatusCode::kInvalidArgument);
  const ConvShape ok = MakeShape(1, 16, 4, 4, 16, 3, 3, 1, 1);
  EXPECT_EQ(
      ConvBackwardWeightsDense(ok, nullptr, buf.data(), buf.data(), nullptr, Workspace{}, nullptr)
          .code(),
      StatusCode::kInvalidArgument);
}

TEST_P(ConvDenseTest, RefusesAWorkspaceSmallerThanItsQuery) {
  ExpectShortWorkspaceRefused(ConvFamilyOf(ConvKernel::kDense));
}

INSTANTIATE_PER_TARGET_TEST_SUITE(ConvDenseTest);

}  // namespace
}  // namespace sparsetrain
