#include "kernels/elementwise.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <random>
#include <vector>

#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

class ElementwiseTest : public PerTargetTest {};

TEST_P(ElementwiseTest, ForwardAndBackwardMatchScalarAndCountZeros) {
  pthreadpool_t pool = pthreadpool_create(2);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t count : {1, 15, 16, 17, 1000, 40000}) {
    std::vector<float> x(count), dy(count);
    for (int64_t i = 0; i < count; ++i) {
      x[i] = i % 7 == 0 ? (i % 2 ? -0.0f : 0.0f) : dist(rng);
      dy[i] = i % 5 == 0 ? 0.0f : dist(rng);
    }
    std::vector<float> y(count, NAN), dx(count, NAN);
    const int64_t y_zeros = ReluForward(x.data(), y.data(), count, pool);
    ExpectRanOnTarget();
    const int64_t dx_zeros = ReluBackward(dy.data(), y.data(), dx.data(), count, nullptr);
    ExpectRanOnTarget();
    int64_t want_y_zeros = 0, want_dx_zeros = 0;
    for (int64_t i = 0; i < count; ++i) {
      const float want_y = x[i] > 0 ? x[i] : 0.0f;
      const float want_dx = x[i] > 0 ? dy[i] : 0.0f;
      ASSERT_EQ(y[i], want_y) << i;
      ASSERT_EQ(dx[i], want_dx) << i;
      want_y_zeros += want_y == 0.0f;
      want_dx_zeros += want_dx == 0.0f;
    }
    EXPECT_EQ(y_zeros, want_y_zeros) << count;
    EXPECT_EQ(dx_zeros, want_dx_zeros) << count;
  }
  // In place.
  std::vector<float> v = {-1.0f, 2.0f, 0.0f, -3.0f};
  EXPECT_EQ(ReluForward(v.data(), v.data(), 4, nullptr), 3);
  EXPECT_EQ(v, (std::vector<float>{0.0f, 2.0f, 0.0f, 0.0f}));
  pthreadpool_destroy(pool);
}

TEST_P(ElementwiseTest, CountZerosAddScaleAndSumOfSquaresMatchScalar) {
  pthreadpool_t pool = pthreadpool_create(2);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t count : {1, 17, 40000}) {
    std::vector<float> a(count), b(count);
    int64_t want_zeros = 0;
    double want_squares = 0.0;
    for (int64_t i = 0; i < count; ++i) {
      a[i] = i % 3 == 0 ? (i % 2 ? -0.0f : 0.0f) : dist(rng);
      b[i] = dist(rng);
      want_zeros += a[i] == 0.0f;
      want_squares += double(a[i]) * a[i];
    }
    EXPECT_EQ(CountZeros(a.data(), count, pool), want_zeros);
    ExpectRanOnTarget();
    EXPECT_NEAR(SumOfSquares(a.data(), count, pool), want_squares, 1e-5 * want_squares);
    std::vector<float> sum(count);
    Add(a.data(), b.data(), sum.data(), count, pool);
    std::vector<float> scaled = b;
    Scale(scaled.data(), count, -2.5f, pool);
    for (int64_t i = 0; i < count; ++i) {
      ASSERT_EQ(sum[i], a[i] + b[i]) << i;
      ASSERT_EQ(scaled[i], b[i] * -2.5f) << i;
    }
  }
  pthreadpool_destroy(pool);
}

TEST_P(ElementwiseTest, DropoutKeepsScaledElementsAtTheRequestedRateWithAReproducibleMask) {
  pthreadpool_t pool = pthreadpool_create(2);
  constexpr int64_t kCount = 100000;
  std::vector<float> x(kCount);
  for (int64_t i = 0; i < kCount; ++i) x[i] = 0.5f + float(i % 13);
  for (float drop : {0.0f, 0.25f, 0.5f}) {
    std::vector<float> y(kCount), again(kCount), prefix(1003);
    const int64_t zeros = Dropout(x.data(), y.data(), kCount, drop, 42, pool);
    ExpectRanOnTarget();
    Dropout(x.data(), again.data(), kCount, drop, 42, nullptr);
    // A prefix takes the scalar tail where the full run takes vectors: the mask is the same.
    Dropout(x.data(), prefix.data(), 1003, drop, 42, nullptr);
    int64_t dropped = 0;
    for (int64_t i = 0; i < kCount; ++i) {
      ASSERT_TRUE(y[i] == 0.0f || y[i] == x[i] * (1.0f / (1.0f - drop))) << i;
      ASSERT_EQ(y[i], again[i]) << i;
      if (i < 1003) ASSERT_EQ(y[i], prefix[i]) << i;
      dropped += y[i] == 0.0f;
    }
    EXPECT_EQ(zeros, dropped);
    const double sigma = std::sqrt(kCount * drop * (1.0 - drop));
    EXPECT_NEAR(double(dropped), kCount * drop, 5.0 * sigma + 1.0) << drop;
  }
  std::vector<float> seed_a(kCount), seed_b(kCount);
  Dropout(x.data(), seed_a.data(), kCount, 0.5f, 1, pool);
  Dropout(x.data(), seed_b.data(), kCount, 0.5f, 2, pool);
  EXPECT_NE(seed_a, seed_b);
  pthreadpool_destroy(pool);
}

INSTANTIATE_PER_TARGET_TEST_SUITE(ElementwiseTest);

}  // namespace
}  // namespace sparsetrain
