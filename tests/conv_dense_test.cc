// Dense convolution kernels against the reference, all three passes, on every supported ISA,
// over a grid of awkward shapes (odd sizes, channels not a multiple of 16, stride 2, padding).
#include "kernels/conv_dense.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <vector>

#include "tests/conv_tester.h"
#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

class ConvDenseTest : public PerTargetTest {
 protected:
  void SetUp() override {
    PerTargetTest::SetUp();
    pool_ = pthreadpool_create(2);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    pthreadpool_destroy(pool_);
    PerTargetTest::TearDown();
  }
  // Alternates between the 2-thread pool and the calling thread alone.
  pthreadpool_t PoolFor(size_t i) const { return i % 2 == 0 ? pool_ : nullptr; }

  pthreadpool_t pool_ = nullptr;
};

TEST_P(ConvDenseTest, ForwardMatchesReference) {
  const std::vector<ConvShape> shapes = AwkwardShapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    ConvTester(shapes[i], 0.5, 10 + i).CheckForward(ConvForwardDense, PoolFor(i));
    ExpectRanOnTarget();
  }
}

TEST_P(ConvDenseTest, BackwardDataMatchesReference) {
  const std::vector<ConvShape> shapes = AwkwardShapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    ConvTester(shapes[i], 0.5, 20 + i).CheckBackwardData(ConvBackwardDataDense, PoolFor(i));
    ExpectRanOnTarget();
  }
}

TEST_P(ConvDenseTest, BackwardWeightsMatchesReference) {
  const std::vector<ConvShape> shapes = AwkwardShapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    ConvTester(shapes[i], 0.5, 30 + i).CheckBackwardWeights(ConvBackwardWeightsDense, PoolFor(i));
    ExpectRanOnTarget();
  }
}

TEST_P(ConvDenseTest, RejectsInvalidShapesAndNullTensors) {
  std::vector<float> buf(4096);
  ConvShape bad = MakeShape(1, 16, 4, 4, 16, 3, 3, 1, 3);  // padding >= kernel
  EXPECT_EQ(ConvForwardDense(bad, buf.data(), buf.data(), nullptr, buf.data(), nullptr).code(),
            StatusCode::kInvalidArgument);
  bad = MakeShape(1, 16, 2, 2, 16, 5, 5, 1, 0);  // kernel larger than input
  EXPECT_EQ(ConvBackwardDataDense(bad, buf.data(), buf.data(), buf.data(), nullptr).code(),
            StatusCode::kInvalidArgument);
  const ConvShape ok = MakeShape(1, 16, 4, 4, 16, 3, 3, 1, 1);
  EXPECT_EQ(ConvBackwardWeightsDense(ok, nullptr, buf.data(), buf.data(), nullptr, nullptr).code(),
            StatusCode::kInvalidArgument);
}

INSTANTIATE_PER_TARGET_TEST_SUITE(ConvDenseTest);

}  // namespace
}  // namespace sparsetrain
