// Dense convolution kernels against the reference, all three passes, on every supported ISA,
// over a grid of awkward shapes (odd sizes, channels not a multiple of 16, stride 2, padding).
#include "kernels/conv_dense.h"

#include <gtest/gtest.h>

#include <vector>

#include "kernels/aligned.h"
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
  const ConvShape s = MakeShape(2, 16, 6, 6, 16, 1, 1, 2, 0);  // strided 1x1: needs scratch
  AlignedFloats x(4096), w(4096), bias(16), y(4096), dy(4096), dw(4096);
  const ConvFamily& family = ConvFamilyOf(ConvKernel::kDense);
  for (ConvPass pass : {ConvPass::kForward, ConvPass::kBackwardData, ConvPass::kBackwardWeights}) {
    const int64_t needed = family.workspace_floats(pass, s, 1);
    ASSERT_GT(needed, 0);
    AlignedFloats scratch(static_cast<size_t>(needed));
    const Workspace short_by_one{scratch.data(), needed - 1};
    Status status;
    if (pass == ConvPass::kForward) {
      status = family.forward(s, x.data(), w.data(), bias.data(), y.data(), short_by_one, nullptr);
    } else if (pass == ConvPass::kBackwardData) {
      status = family.backward_data(s, dy.data(), w.data(), x.data(), short_by_one, nullptr);
    } else {
      status = family.backward_weights(s, x.data(), dy.data(), dw.data(), nullptr, short_by_one,
                                       nullptr);
    }
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << ConvPassName(pass);
    EXPECT_NE(status.message().find("workspace"), std::string::npos) << status.message();
  }
}

INSTANTIATE_PER_TARGET_TEST_SUITE(ConvDenseTest);

}  // namespace
}  // namespace sparsetrain
