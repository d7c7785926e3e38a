// Sparse convolution kernels against the reference, all three passes, on every supported ISA,
// over the awkward shape grid, from no zeros to all zeros (half of them -0.0).
#include "kernels/conv_sparse.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <vector>

#include "kernels/aligned.h"
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
  EXPECT_EQ(
      ConvBackwardWeightsSparse(ok, buf.data(), buf.data(), nullptr, nullptr, Workspace{}, nullptr)
          .code(),
      StatusCode::kInvalidArgument);
}

TEST_P(ConvSparseTest, RefusesAWorkspaceSmallerThanItsQuery) {
  const ConvShape s = MakeShape(2, 16, 6, 6, 16, 1, 1, 2, 0);  // strided 1x1: needs scratch
  AlignedFloats x(4096), w(4096), bias(16), y(4096), dy(4096), dw(4096);
  const ConvFamily& family = ConvFamilyOf(ConvKernel::kSparse);
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

INSTANTIATE_PER_TARGET_TEST_SUITE(ConvSparseTest);

}  // namespace
}  // namespace sparsetrain
