// The activation kernels against their definitions, evaluated in double, on every target.
#include "kernels/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// f(x) and f'(x) as PyTorch computes them (the gradient's value at kinks included).
double Value(const ActivationFunction& f, double x) {
  switch (f.kind) {
    case ActivationKind::kClip:
      return std::min(std::max(x, double(f.lo)), double(f.hi));
    case ActivationKind::kSigmoid:
      return Sigmoid(x);
    case ActivationKind::kHardSigmoid:
      return std::min(std::max(double(f.alpha) * x + double(f.beta), 0.0), 1.0);
    case ActivationKind::kHardSwish:
      return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
    case ActivationKind::kSilu:
      return x * Sigmoid(x);
  }
  return 0.0;
}

double Slope(const ActivationFunction& f, double x) {
  switch (f.kind) {
    case ActivationKind::kClip:
      return x > f.lo && x < f.hi ? 1.0 : 0.0;
    case ActivationKind::kSigmoid:
      return Sigmoid(x) * (1.0 - Sigmoid(x));
    case ActivationKind::kHardSigmoid: {
      const double z = double(f.alpha) * x + double(f.beta);
      return z > 0.0 && z < 1.0 ? f.alpha : 0.0;
    }
    case ActivationKind::kHardSwish:
      return x < -3.0 ? 0.0 : x <= 3.0 ? x / 3.0 + 0.5 : 1.0;
    case ActivationKind::kSilu:
      return Sigmoid(x) * (1.0 + x * (1.0 - Sigmoid(x)));
  }
  return 0.0;
}

std::vector<ActivationFunction> Functions() {
  ActivationFunction relu6, clip, sigmoid, hard_sigmoid, onnx_hard_sigmoid, hard_swish, silu;
  clip.lo = -0.5f, clip.hi = 0.75f;
  sigmoid.kind = ActivationKind::kSigmoid;
  hard_sigmoid.kind = onnx_hard_sigmoid.kind = ActivationKind::kHardSigmoid;
  onnx_hard_sigmoid.alpha = 0.2f;
  hard_swish.kind = ActivationKind::kHardSwish;
  silu.kind = ActivationKind::kSilu;
  return {relu6, clip, sigmoid, hard_sigmoid, onnx_hard_sigmoid, hard_swish, silu};
}

class ActivationTest : public PerTargetPoolTest {};

TEST_P(ActivationTest, ForwardAndBackwardMatchTheDefinitionsAndCountZeros) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-8.0f, 8.0f);
  for (const ActivationFunction& f : Functions()) {
    ASSERT_TRUE(Validate(f).ok()) << ActivationName(f);
    for (int64_t count : {1, 15, 16, 17, 1000, 40000}) {
      std::vector<float> x(static_cast<size_t>(count)), dy(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) {
        // Kinks, zeros, far tails (exp overflows there) and random values.
        const float special[] = {0.0f, -0.0f, -3.0f, 3.0f, 6.0f, -0.5f, 0.75f, 100.0f, -100.0f};
        x[i] = i % 5 == 0 ? special[(i / 5) % 9] : dist(rng);
        dy[i] = i % 7 == 0 ? 0.0f : dist(rng);
      }
      std::vector<float> y(static_cast<size_t>(count), NAN), dx(y);
      const Dims flat{count, 1, 1, 1};
      const int64_t y_zeros = ActivationForward(f, flat, Layout::kNCHW, x.data(), y.data(), pool_);
      ExpectRanOnTarget();
      const int64_t dx_zeros = ActivationBackward(f, x.data(), dy.data(), dx.data(), count, pool_);
      ExpectRanOnTarget();
      int64_t want_y_zeros = 0, want_dx_zeros = 0;
      for (int64_t i = 0; i < count; ++i) {
        const double want_y = Value(f, x[i]), want_dx = double(dy[i]) * Slope(f, x[i]);
        ASSERT_NEAR(y[i], want_y, 2e-6 * (1.0 + std::fabs(want_y)))
            << ActivationName(f) << " x=" << x[i];
        ASSERT_NEAR(dx[i], want_dx, 2e-6 * (1.0 + std::fabs(want_dx)))
            << ActivationName(f) << " x=" << x[i];
        want_y_zeros += y[i] == 0.0f;
        want_dx_zeros += dx[i] == 0.0f;
      }
      EXPECT_EQ(y_zeros, want_y_zeros) << ActivationName(f);
      EXPECT_EQ(dx_zeros, want_dx_zeros) << ActivationName(f);
    }
  }
}

TEST_P(ActivationTest, ChannelPaddingStaysZeroWhateverFOfZeroIs) {
  ActivationFunction sigmoid;
  sigmoid.kind = ActivationKind::kSigmoid;
  const Dims dims{2, 20, 3, 3};  // two channel blocks, the second with 12 lanes of padding
  std::vector<float> x(size_t(StorageFloats(dims, Layout::kNChw16c)), 0.0f);
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t c = 0; c < 20; ++c) {
      for (int64_t p = 0; p < 9; ++p) x[((n * 2 + c / 16) * 9 + p) * 16 + c % 16] = float(c - 10);
    }
  }
  std::vector<float> y(x.size(), NAN);
  const int64_t zeros =
      ActivationForward(sigmoid, dims, Layout::kNChw16c, x.data(), y.data(), pool_);
  ExpectRanOnTarget();
  int64_t padding = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const int64_t c = int64_t(i / (9 * 16) % 2) * 16 + int64_t(i % 16);
    if (c >= 20) {
      ASSERT_EQ(y[i], 0.0f) << i;
      ++padding;
    } else {
      ASSERT_NEAR(y[i], Sigmoid(x[i]), 1e-6) << i;
    }
  }
  EXPECT_EQ(zeros, padding);  // sigmoid writes no zero of its own here
}

TEST(ActivationParametersTest, BadOnesAreRefused) {
  ActivationFunction clip;
  clip.lo = 2.0f, clip.hi = 1.0f;
  EXPECT_EQ(Validate(clip).code(), StatusCode::kInvalidArgument);
  clip.lo = -INFINITY;
  EXPECT_EQ(Validate(clip).code(), StatusCode::kInvalidArgument);
  ActivationFunction hard_sigmoid;
  hard_sigmoid.kind = ActivationKind::kHardSigmoid;
  hard_sigmoid.alpha = 0.0f;
  EXPECT_EQ(Validate(hard_sigmoid).code(), StatusCode::kInvalidArgument);
  EXPECT_STREQ(ActivationName(ActivationFunction()), "relu6");
}

INSTANTIATE_PER_TARGET_TEST_SUITE(ActivationTest);

}  // namespace
}  // namespace sparsetrain
