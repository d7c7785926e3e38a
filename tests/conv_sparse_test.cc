// Sparse convolution kernels against the reference, all three passes, on every supported ISA,
// over the awkward shape grid, from no zeros to all zeros (half of them -0.0).
#include "kernels/conv_sparse.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <vector>

#include "tests/conv_tester.h"
#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

constexpr double kSparsities[] = {0.0, 0.3, 0.5, 0.8, 0.95, 1.0};

class ConvSparseTest : public PerTargetTest {
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

  // Runs `check` on every shape at every sparsity, alternating the 2-thread pool and none.
  template <class Check>
  void ForEachCase(uint32_t seed, const Check& check) {
    const std::vector<ConvShape> shapes = AwkwardShapes();
    size_t i = 0;
    for (const ConvShape& shape : shapes) {
      for (double zeros : kSparsities) {
        SCOPED_TRACE(::testing::Message() << "zeros " << zeros);
        ConvTester tester(shape, zeros, seed + uint32_t(i));
        check(tester, i++ % 2 == 0 ? pool_ : nullptr);
        ExpectRanOnTarget();
      }
    }
  }

  pthreadpool_t pool_ = nullptr;
};

TEST_P(ConvSparseTest, ForwardMatchesReference) {
  ForEachCase(100, [](ConvTester& t, pthreadpool_t pool) { t.CheckForward(ConvForwardSparse, pool); });
}

TEST_P(ConvSparseTest, BackwardDataMatchesReference) {
  ForEachCase(200, [](ConvTester& t, pthreadpool_t pool) {
    t.CheckBackwardData(ConvBackwardDataSparse, pool);
  });
}

TEST_P(ConvSparseTest, BackwardWeightsMatchesReference) {
  ForEachCase(300, [](ConvTester& t, pthreadpool_t pool) {
    t.CheckBackwardWeights(ConvBackwardWeightsSparse, pool);
  });
}

TEST_P(ConvSparseTest, RejectsInvalidShapesAndNullTensors) {
  std::vector<float> buf(4096);
  const ConvShape bad = MakeShape(1, 16, 4, 4, 16, 3, 3, 0, 1);  // stride 0
  EXPECT_EQ(ConvForwardSparse(bad, buf.data(), buf.data(), nullptr, buf.data(), nullptr).code(),
            StatusCode::kInvalidArgument);
  const ConvShape ok = MakeShape(1, 16, 4, 4, 16, 3, 3, 1, 1);
  EXPECT_EQ(ConvBackwardDataSparse(ok, buf.data(), nullptr, buf.data(), nullptr).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ConvBackwardWeightsSparse(ok, buf.data(), buf.data(), nullptr, nullptr, nullptr).code(),
            StatusCode::kInvalidArgument);
}

INSTANTIATE_PER_TARGET_TEST_SUITE(ConvSparseTest);

}  // namespace
}  // namespace sparsetrain
