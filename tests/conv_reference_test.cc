// Checks the oracle itself: a hand-computed case, and every gradient against central finite
// differences of L = sum(y * g). Convolution is linear, so in double the differences are exact
// up to rounding.
#include "tests/conv_reference.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace sparsetrain {
namespace {

std::vector<double> Random(int64_t count, std::mt19937& rng) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(count);
  for (double& x : v) x = dist(rng);
  return v;
}

TEST(ConvReferenceTest, HandComputedCase) {
  // 1x1x3x3 input, one 2x2 filter, stride 1, no padding: four outputs.
  ConvShape sh;
  sh.h = sh.w = 3;
  sh.r = sh.s = 2;
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const float w[4] = {1, 0, -1, 2};
  const float bias[1] = {0.5f};
  float y[4];
  reference::ConvForward(sh, x, w, bias, y);
  EXPECT_FLOAT_EQ(y[0], 1 * 1 + 2 * 0 + 4 * -1 + 5 * 2 + 0.5f);
  EXPECT_FLOAT_EQ(y[1], 2 * 1 + 3 * 0 + 5 * -1 + 6 * 2 + 0.5f);
  EXPECT_FLOAT_EQ(y[2], 4 * 1 + 5 * 0 + 7 * -1 + 8 * 2 + 0.5f);
  EXPECT_FLOAT_EQ(y[3], 5 * 1 + 6 * 0 + 8 * -1 + 9 * 2 + 0.5f);
}

struct GradientCase {
  ConvShape shape;
};

class ConvReferenceGradientTest : public ::testing::TestWithParam<ConvShape> {};

double Loss(const ConvShape& sh, const std::vector<double>& x, const std::vector<double>& w,
            const std::vector<double>& b, const std::vector<double>& g) {
  std::vector<double> y(sh.output().count());
  reference::ConvForward(sh, x.data(), w.data(), b.data(), y.data());
  double loss = 0;
  for (size_t i = 0; i < y.size(); ++i) loss += y[i] * g[i];
  return loss;
}

// Central difference of Loss with respect to v[i].
template <typename F>
double Difference(std::vector<double>& v, size_t i, F&& loss) {
  constexpr double kStep = 1e-3;
  const double saved = v[i];
  v[i] = saved + kStep;
  const double up = loss();
  v[i] = saved - kStep;
  const double down = loss();
  v[i] = saved;
  return (up - down) / (2 * kStep);
}

TEST_P(ConvReferenceGradientTest, GradientsMatchFiniteDifferences) {
  const ConvShape sh = GetParam();
  ASSERT_TRUE(Validate(sh).ok());
  std::mt19937 rng(42);
  std::vector<double> x = Random(sh.input().count(), rng);
  std::vector<double> w = Random(sh.weights().count(), rng);
  std::vector<double> b = Random(sh.k, rng);
  const std::vector<double> g = Random(sh.output().count(), rng);  // dL/dy

  std::vector<double> dx(x.size()), dw(w.size()), db(b.size());
  reference::ConvBackwardData(sh, g.data(), w.data(), dx.data());
  reference::ConvBackwardWeights(sh, x.data(), g.data(), dw.data(), db.data());

  auto loss = [&] { return Loss(sh, x, w, b, g); };
  constexpr double kTolerance = 1e-8;
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(dx[i], Difference(x, i, loss), kTolerance) << i;
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(dw[i], Difference(w, i, loss), kTolerance) << i;
  for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(db[i], Difference(b, i, loss), kTolerance) << i;
}

ConvShape Shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s,
                int64_t stride, int64_t pad) {
  ConvShape sh;
  sh.n = n, sh.c = c, sh.h = h, sh.w = w, sh.k = k, sh.r = r, sh.s = s;
  sh.stride_h = sh.stride_w = stride;
  sh.pad_h = sh.pad_w = pad;
  return sh;
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvReferenceGradientTest,
                         ::testing::Values(Shape(1, 2, 5, 5, 3, 3, 3, 1, 1),
                                           Shape(2, 3, 7, 6, 2, 3, 3, 2, 1),
                                           Shape(1, 2, 6, 7, 2, 1, 1, 2, 0),
                                           Shape(2, 1, 5, 4, 3, 3, 2, 1, 0),
                                           Shape(1, 2, 4, 4, 2, 5, 5, 1, 2)));

}  // namespace
}  // namespace sparsetrain
