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

// n, c, h, w, k, r, s, stride, pad.
std::vector<ConvShape> Shapes() {
  return {
      MakeShape(1, 1, 1, 1, 1, 1, 1, 1, 0),      MakeShape(1, 3, 7, 7, 16, 3, 3, 1, 1),
      MakeShape(5, 16, 13, 13, 17, 3, 3, 1, 1),  MakeShape(1, 17, 14, 14, 48, 3, 3, 2, 1),
      MakeShape(2, 48, 13, 7, 16, 3, 3, 2, 0),   MakeShape(1, 64, 28, 28, 64, 3, 3, 1, 1),
      MakeShape(1, 130, 7, 7, 3, 3, 3, 1, 2),    MakeShape(2, 64, 14, 14, 130, 1, 1, 1, 0),
      MakeShape(1, 48, 13, 13, 64, 1, 1, 2, 0),  MakeShape(1, 16, 56, 56, 16, 3, 3, 1, 1),
      MakeShape(5, 17, 1, 1, 48, 1, 1, 1, 0),    MakeShape(1, 3, 14, 13, 16, 5, 5, 2, 2),
      MakeShape(1, 16, 28, 28, 17, 3, 3, 2, 1),  MakeShape(2, 1, 13, 14, 1, 7, 7, 1, 2),
      MakeShape(1, 64, 3, 3, 64, 3, 3, 1, 1),    MakeShape(1, 16, 13, 13, 16, 3, 1, 1, 0),
  };
}

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
  const std::vector<ConvShape> shapes = Shapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    ConvTester(shapes[i], 0.5, 10 + i).CheckForward(ConvForwardDense, PoolFor(i));
    ExpectRanOnTarget();
  }
}

TEST_P(ConvDenseTest, BackwardDataMatchesReference) {
  const std::vector<ConvShape> shapes = Shapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    ConvTester(shapes[i], 0.5, 20 + i).CheckBackwardData(ConvBackwardDataDense, PoolFor(i));
    ExpectRanOnTarget();
  }
}

TEST_P(ConvDenseTest, BackwardWeightsMatchesReference) {
  const std::vector<ConvShape> shapes = Shapes();
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
