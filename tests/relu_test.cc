#include "kernels/relu.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <random>
#include <vector>

#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

class ReluTest : public PerTargetTest {};

TEST_P(ReluTest, ForwardAndBackwardMatchScalarAndCountZeros) {
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

INSTANTIATE_PER_TARGET_TEST_SUITE(ReluTest);

}  // namespace
}  // namespace sparsetrain
