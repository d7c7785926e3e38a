// Batch-norm, linear and optimiser kernels against scalar double references, on every target.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/batch_norm.h"
#include "kernels/linear.h"
#include "kernels/optimizer_update.h"
#include "kernels/reorder.h"
#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

std::vector<float> RandomValues(int64_t count, uint32_t seed, float low = -1.0f,
                                float high = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

class LayerKernelsTest : public PerTargetPoolTest {};

TEST_P(LayerKernelsTest, ChannelSumsAndAffineMatchScalar) {
  const Dims dims{3, 20, 17, 19};  // 323 pixels: more than one float run per plane
  const int64_t padded = PaddedChannels(dims.c), pixels = dims.h * dims.w;
  const std::vector<float> a = RandomValues(dims.count(), 1), b = RandomValues(dims.count(), 2);
  std::vector<float> a_blocked(StorageFloats(dims, Layout::kNChw16c)), b_blocked(a_blocked.size());
  ASSERT_TRUE(Reorder(a.data(), Layout::kNCHW, a_blocked.data(), Layout::kNChw16c, dims).ok());
  ASSERT_TRUE(Reorder(b.data(), Layout::kNCHW, b_blocked.data(), Layout::kNChw16c, dims).ok());
  std::vector<float> a_center(padded, 0.0f), b_center(padded, 0.0f), scale(padded, 0.0f),
      b_scale(padded, 0.0f), shift(padded, 0.0f);
  for (int64_t c = 0; c < dims.c; ++c) {
    a_center[c] = 0.1f * c;
    b_center[c] = -0.05f * c;
    scale[c] = 1.0f + 0.1f * c;
    b_scale[c] = 0.5f - 0.02f * c;
    shift[c] = 0.3f - 0.01f * c;
  }
  std::vector<double> sum_a(padded, NAN), sum_products(padded, NAN);
  ChannelSums(dims, a_blocked.data(), a_center.data(), b_blocked.data(), b_center.data(),
              sum_a.data(), sum_products.data(), pool_);
  ExpectRanOnTarget();
  for (int64_t c = 0; c < dims.c; ++c) {
    double want_a = 0.0, want_products = 0.0, magnitude = 0.0;
    for (int64_t n = 0; n < dims.n; ++n) {
      for (int64_t i = 0; i < pixels; ++i) {
        const int64_t at = (n * dims.c + c) * pixels + i;
        want_a += a[at];
        want_products += (double(a[at]) - a_center[c]) * (double(b[at]) - b_center[c]);
        magnitude += std::fabs(a[at]) +
                     std::fabs((double(a[at]) - a_center[c]) * (double(b[at]) - b_center[c]));
      }
    }
    EXPECT_NEAR(sum_a[c], want_a, 1e-6 * magnitude) << c;
    EXPECT_NEAR(sum_products[c], want_products, 1e-6 * magnitude) << c;
  }
  for (int64_t c = dims.c; c < padded; ++c) EXPECT_EQ(sum_a[c], 0.0) << c;

  for (bool two_terms : {false, true}) {
    std::vector<float> y(a_blocked.size(), NAN), y_nchw(dims.count());
    ChannelAffine(dims, a_blocked.data(), scale.data(), two_terms ? b_blocked.data() : nullptr,
                  b_scale.data(), shift.data(), y.data(), pool_);
    ExpectRanOnTarget();
    ASSERT_TRUE(Reorder(y.data(), Layout::kNChw16c, y_nchw.data(), Layout::kNCHW, dims).ok());
    for (int64_t i = 0; i < dims.count(); ++i) {
      const int64_t c = (i / pixels) % dims.c;
      const double want =
          double(scale[c]) * a[i] + (two_terms ? double(b_scale[c]) * b[i] : 0.0) + shift[c];
      ASSERT_NEAR(y_nchw[i], want, 1e-6) << i;
    }
    // Padding channels stay zero.
    for (int64_t lane = dims.c - 16; lane < 16; ++lane) {
      ASSERT_EQ(y[(1 * pixels) * 16 + lane], 0.0f) << lane;
    }
  }
}

TEST_P(LayerKernelsTest, LinearPassesMatchScalar) {
  for (LinearShape shape :
       {LinearShape{5, 37, 10}, LinearShape{64, 130, 17}, LinearShape{1, 3, 1}}) {
    const std::vector<float> x = RandomValues(shape.rows * shape.in, 3),
                             w = RandomValues(shape.out * shape.in, 4),
                             bias = RandomValues(shape.out, 5),
                             dy = RandomValues(shape.rows * shape.out, 6);
    std::vector<float> y(shape.rows * shape.out, NAN), dx(shape.rows * shape.in, NAN),
        dw(shape.out * shape.in, NAN), dbias(shape.out, NAN);
    LinearForward(shape, x.data(), w.data(), bias.data(), y.data(), pool_);
    ExpectRanOnTarget();
    LinearBackwardData(shape, dy.data(), w.data(), dx.data(), pool_);
    ExpectRanOnTarget();
    LinearBackwardWeights(shape, x.data(), dy.data(), dw.data(), dbias.data(), pool_);
    ExpectRanOnTarget();
    // Each element within 1e-6 of the sum of the absolute products it adds.
    for (int64_t r = 0; r < shape.rows; ++r) {
      for (int64_t o = 0; o < shape.out; ++o) {
        double want = bias[o], bound = std::fabs(bias[o]);
        for (int64_t i = 0; i < shape.in; ++i) {
          want += double(x[r * shape.in + i]) * w[o * shape.in + i];
          bound += std::fabs(double(x[r * shape.in + i]) * w[o * shape.in + i]);
        }
        ASSERT_NEAR(y[r * shape.out + o], want, 1e-6 * bound);
      }
      for (int64_t i = 0; i < shape.in; ++i) {
        double want = 0.0, bound = 0.0;
        for (int64_t o = 0; o < shape.out; ++o) {
          want += double(dy[r * shape.out + o]) * w[o * shape.in + i];
          bound += std::fabs(double(dy[r * shape.out + o]) * w[o * shape.in + i]);
        }
        ASSERT_NEAR(dx[r * shape.in + i], want, 1e-6 * bound);
      }
    }
    for (int64_t o = 0; o < shape.out; ++o) {
      double want_bias = 0.0, bias_bound = 0.0;
      for (int64_t r = 0; r < shape.rows; ++r) {
        want_bias += dy[r * shape.out + o];
        bias_bound += std::fabs(dy[r * shape.out + o]);
      }
      ASSERT_NEAR(dbias[o], want_bias, 1e-6 * bias_bound);
      for (int64_t i = 0; i < shape.in; ++i) {
        double want = 0.0, bound = 0.0;
        for (int64_t r = 0; r < shape.rows; ++r) {
          want += double(dy[r * shape.out + o]) * x[r * shape.in + i];
          bound += std::fabs(double(dy[r * shape.out + o]) * x[r * shape.in + i]);
        }
        ASSERT_NEAR(dw[o * shape.in + i], want, 1e-6 * bound);
      }
    }
  }
}

TEST_P(LayerKernelsTest, SgdMatchesPyTorchFormula) {
  constexpr int64_t kCount = 1037;
  for (bool nesterov : {false, true}) {
    std::vector<float> param = RandomValues(kCount, 7), velocity(kCount, 0.0f);
    std::vector<double> want_param(param.begin(), param.end()), want_velocity(kCount);
    for (int step = 0; step < 3; ++step) {
      const std::vector<float> grad = RandomValues(kCount, 8 + step);
      SgdStep hyper;
      hyper.lr = 0.1f, hyper.momentum = 0.9f, hyper.weight_decay = 0.01f, hyper.nesterov = nesterov;
      SgdUpdate(param.data(), grad.data(), velocity.data(), kCount, hyper, pool_);
      ExpectRanOnTarget();
      for (int64_t i = 0; i < kCount; ++i) {
        const double g = grad[i] + 0.01 * want_param[i];
        want_velocity[i] = step == 0 ? g : 0.9 * want_velocity[i] + g;
        want_param[i] -= 0.1 * (nesterov ? g + 0.9 * want_velocity[i] : want_velocity[i]);
      }
    }
    for (int64_t i = 0; i < kCount; ++i) {
      ASSERT_NEAR(param[i], want_param[i], 1e-5) << i;
      ASSERT_NEAR(velocity[i], want_velocity[i], 1e-5) << i;
    }
  }
  // Without momentum the velocity is never touched.
  std::vector<float> param = {1.0f, -2.0f}, grad = {0.5f, 0.25f};
  SgdStep plain;
  plain.lr = 0.5f;
  SgdUpdate(param.data(), grad.data(), nullptr, 2, plain, pool_);
  EXPECT_EQ(param, (std::vector<float>{0.75f, -2.125f}));
}

TEST_P(LayerKernelsTest, AdamAndAdamWMatchPyTorchFormula) {
  constexpr int64_t kCount = 1037;
  for (bool decoupled : {false, true}) {
    std::vector<float> param = RandomValues(kCount, 9), m(kCount, 0.0f), v(kCount, 0.0f);
    std::vector<double> want_param(param.begin(), param.end()), want_m(kCount, 0.0),
        want_v(kCount, 0.0);
    for (int step = 1; step <= 3; ++step) {
      const std::vector<float> grad = RandomValues(kCount, 20 + step);
      AdamStep hyper;
      hyper.lr = 0.01f, hyper.weight_decay = 0.05f, hyper.decoupled = decoupled, hyper.step = step;
      AdamUpdate(param.data(), grad.data(), m.data(), v.data(), kCount, hyper, pool_);
      ExpectRanOnTarget();
      for (int64_t i = 0; i < kCount; ++i) {
        double p = want_param[i], g = grad[i];
        if (decoupled)
          p *= 1.0 - 0.01 * 0.05;
        else
          g += 0.05 * p;
        want_m[i] = 0.9 * want_m[i] + 0.1 * g;
        want_v[i] = 0.999 * want_v[i] + 0.001 * g * g;
        const double m_hat = want_m[i] / (1.0 - std::pow(0.9, step));
        const double v_hat = want_v[i] / (1.0 - std::pow(0.999, step));
        want_param[i] = p - 0.01 * m_hat / (std::sqrt(v_hat) + 1e-8);
      }
    }
    for (int64_t i = 0; i < kCount; ++i) {
      ASSERT_NEAR(param[i], want_param[i], 1e-5) << i;
      ASSERT_NEAR(m[i], want_m[i], 1e-6) << i;
      ASSERT_NEAR(v[i], want_v[i], 1e-6) << i;
    }
  }
}

INSTANTIATE_PER_TARGET_TEST_SUITE(LayerKernelsTest);

}  // namespace
}  // namespace sparsetrain
