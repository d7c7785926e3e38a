#include "kernels/pool.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/reorder.h"
#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

class PoolTest : public PerTargetPoolTest {
 protected:
  std::vector<float> ToBlocked(const std::vector<float>& nchw, Dims dims) {
    std::vector<float> blocked(StorageFloats(dims, Layout::kNChw16c));
    EXPECT_TRUE(Reorder(nchw.data(), Layout::kNCHW, blocked.data(), Layout::kNChw16c, dims).ok());
    return blocked;
  }
  std::vector<float> ToNchw(const std::vector<float>& blocked, Dims dims) {
    std::vector<float> nchw(dims.count());
    EXPECT_TRUE(Reorder(blocked.data(), Layout::kNChw16c, nchw.data(), Layout::kNCHW, dims).ok());
    return nchw;
  }
};

// Values on a coarse grid, so windows hold ties (the first maximum must win) and zeros.
std::vector<float> CoarseValues(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-4, 4);
  std::vector<float> v(count);
  for (float& x : v) x = 0.25f * float(dist(rng));
  return v;
}

TEST_P(PoolTest, MaxPoolMatchesScalarReferenceForwardAndBackward) {
  const struct {
    int64_t window, stride, pad;
  } configs[] = {{2, 2, 0}, {3, 2, 1}, {3, 2, 0}, {2, 1, 0}, {3, 1, 1}};
  for (Dims in : {Dims{2, 17, 7, 7}, Dims{1, 3, 8, 5}, Dims{3, 32, 2, 2}}) {
    for (const auto& config : configs) {
      for (int mode = 0; mode < 4; ++mode) {
        const bool relu = mode & 1, ceil_mode = mode & 2;
        SCOPED_TRACE(::testing::Message()
                     << "window " << config.window << " relu " << relu << " ceil " << ceil_mode);
        PoolShape shape{in, config.window, config.stride, config.pad, relu};
        shape.ceil_mode = ceil_mode;
        if (!Validate(shape).ok()) continue;
        const Dims out = shape.output();
        const std::vector<float> x = CoarseValues(in.count(), 5), dy = CoarseValues(out.count(), 6);
        // Reference: first maximum of each window in (r, s) order; gradients summed onto it.
        std::vector<float> want_y(out.count()), want_dx(in.count(), 0.0f);
        for (int64_t n = 0; n < in.n; ++n) {
          for (int64_t c = 0; c < in.c; ++c) {
            for (int64_t p = 0; p < out.h; ++p) {
              for (int64_t q = 0; q < out.w; ++q) {
                float best = -std::numeric_limits<float>::infinity();
                int64_t best_at = -1;
                for (int64_t r = 0; r < shape.window; ++r) {
                  for (int64_t s = 0; s < shape.window; ++s) {
                    const int64_t h = p * shape.stride - shape.pad + r;
                    const int64_t w = q * shape.stride - shape.pad + s;
                    if (h < 0 || h >= in.h || w < 0 || w >= in.w) continue;
                    const int64_t at = ((n * in.c + c) * in.h + h) * in.w + w;
                    if (x[at] > best) best = x[at], best_at = at;
                  }
                }
                const int64_t o = ((n * out.c + c) * out.h + p) * out.w + q;
                // With the fused ReLU: relu(max); no gradient where that is zero.
                want_y[o] = relu ? std::max(best, 0.0f) : best;
                if (!relu || best > 0.0f) want_dx[best_at] += dy[o];
              }
            }
          }
        }
        const std::vector<float> x_blocked = ToBlocked(x, in), dy_blocked = ToBlocked(dy, out);
        std::vector<float> y_blocked(StorageFloats(out, Layout::kNChw16c), NAN);
        std::vector<int32_t> argmax(y_blocked.size());
        const int64_t y_zeros =
            MaxPoolForward(shape, x_blocked.data(), y_blocked.data(), argmax.data(), pool_);
        ExpectRanOnTarget();
        std::vector<float> dx_blocked(x_blocked.size(), NAN);
        const int64_t dx_zeros =
            MaxPoolBackward(shape, dy_blocked.data(), argmax.data(), dx_blocked.data(), pool_);
        ExpectRanOnTarget();
        EXPECT_EQ(ToNchw(y_blocked, out), want_y);
        const std::vector<float> dx = ToNchw(dx_blocked, in);
        for (int64_t i = 0; i < in.count(); ++i) ASSERT_NEAR(dx[i], want_dx[i], 1e-6f) << i;
        int64_t want_y_zeros = 0, want_dx_zeros = 0;
        for (float v : y_blocked) want_y_zeros += v == 0.0f;
        for (float v : dx_blocked) want_dx_zeros += v == 0.0f;
        EXPECT_EQ(y_zeros, want_y_zeros);
        EXPECT_EQ(dx_zeros, want_dx_zeros);
      }
    }
  }
}

TEST_P(PoolTest, AvgPoolMatchesScalarReferenceForwardAndBackward) {
  const struct {
    int64_t window, stride, pad;
  } configs[] = {{2, 2, 0}, {3, 2, 1}, {3, 1, 1}, {2, 1, 1}, {3, 3, 1}};
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (Dims in : {Dims{2, 17, 7, 7}, Dims{1, 3, 8, 5}}) {
    for (const auto& config : configs) {
      for (int mode = 0; mode < 4; ++mode) {
        PoolShape shape{in, config.window, config.stride, config.pad};
        shape.ceil_mode = mode & 1;
        shape.count_include_pad = (mode & 2) == 0;
        SCOPED_TRACE(::testing::Message()
                     << "window " << config.window << " pad " << config.pad << " mode " << mode);
        ASSERT_TRUE(Validate(shape).ok());
        const Dims out = shape.output();
        std::vector<float> x(in.count()), dy(out.count());
        for (float& v : x) v = dist(rng);
        for (float& v : dy) v = dist(rng);
        // Reference: the divisor counts the window's positions inside the padded input (or the
        // input) one by one.
        std::vector<double> want_y(out.count()), want_dx(in.count(), 0.0);
        for (int64_t nc = 0; nc < in.n * in.c; ++nc) {
          for (int64_t p = 0; p < out.h; ++p) {
            for (int64_t q = 0; q < out.w; ++q) {
              double sum = 0.0;
              int64_t inside_padded = 0, inside = 0;
              for (int64_t r = 0; r < shape.window; ++r) {
                for (int64_t t = 0; t < shape.window; ++t) {
                  const int64_t h = p * shape.stride - shape.pad + r;
                  const int64_t w = q * shape.stride - shape.pad + t;
                  if (h >= -shape.pad && h < in.h + shape.pad && w >= -shape.pad &&
                      w < in.w + shape.pad) {
                    ++inside_padded;
                  }
                  if (h < 0 || h >= in.h || w < 0 || w >= in.w) continue;
                  ++inside;
                  sum += x[(nc * in.h + h) * in.w + w];
                }
              }
              const double divisor = shape.count_include_pad ? inside_padded : inside;
              const int64_t o = (nc * out.h + p) * out.w + q;
              want_y[o] = sum / divisor;
              for (int64_t r = 0; r < shape.window; ++r) {
                for (int64_t t = 0; t < shape.window; ++t) {
                  const int64_t h = p * shape.stride - shape.pad + r;
                  const int64_t w = q * shape.stride - shape.pad + t;
                  if (h < 0 || h >= in.h || w < 0 || w >= in.w) continue;
                  want_dx[(nc * in.h + h) * in.w + w] += dy[o] / divisor;
                }
              }
            }
          }
        }
        std::vector<float> y_blocked(StorageFloats(out, Layout::kNChw16c), NAN);
        AvgPoolForward(shape, ToBlocked(x, in).data(), y_blocked.data(), pool_);
        ExpectRanOnTarget();
        std::vector<float> dx_blocked(StorageFloats(in, Layout::kNChw16c), NAN);
        AvgPoolBackward(shape, ToBlocked(dy, out).data(), dx_blocked.data(), pool_);
        ExpectRanOnTarget();
        const std::vector<float> y = ToNchw(y_blocked, out), dx = ToNchw(dx_blocked, in);
        for (int64_t i = 0; i < out.count(); ++i) ASSERT_NEAR(y[i], want_y[i], 1e-6) << i;
        for (int64_t i = 0; i < in.count(); ++i) ASSERT_NEAR(dx[i], want_dx[i], 1e-6) << i;
      }
    }
  }
}

TEST(PoolShapeTest, CeilModeGivesPyTorchsOutputSizes) {
  // (size, window, stride, pad) -> floor and ceil output sizes, as PyTorch 1.13 computes them.
  const struct {
    int64_t size, window, stride, pad, floor, ceil;
  } cases[] = {{7, 2, 2, 0, 3, 4}, {8, 3, 2, 1, 4, 5},     {6, 3, 2, 1, 3, 4},
               {5, 3, 3, 1, 2, 2}, {112, 3, 2, 0, 55, 56}, {13, 3, 2, 0, 6, 6}};
  for (const auto& c : cases) {
    PoolShape shape{{1, 1, c.size, c.size}, c.window, c.stride, c.pad};
    EXPECT_EQ(shape.p(), c.floor) << c.size;
    shape.ceil_mode = true;
    EXPECT_EQ(shape.p(), c.ceil) << c.size;
    EXPECT_EQ(shape.q(), c.ceil) << c.size;
  }
}

TEST_P(PoolTest, GlobalAvgPoolMatchesScalarReference) {
  const Dims dims{3, 20, 5, 3};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(dims.count()), dy(dims.n * dims.c);
  for (float& v : x) v = dist(rng);
  for (float& v : dy) v = dist(rng);
  std::vector<float> y(dims.n * dims.c, NAN);
  GlobalAvgPoolForward(dims, ToBlocked(x, dims).data(), y.data(), pool_);
  ExpectRanOnTarget();
  std::vector<float> dx_blocked(StorageFloats(dims, Layout::kNChw16c), NAN);
  GlobalAvgPoolBackward(dims, dy.data(), dx_blocked.data(), pool_);
  ExpectRanOnTarget();
  const std::vector<float> dx = ToNchw(dx_blocked, dims);
  const int64_t pixels = dims.h * dims.w;
  for (int64_t nc = 0; nc < dims.n * dims.c; ++nc) {
    double sum = 0.0;
    for (int64_t i = 0; i < pixels; ++i) sum += x[nc * pixels + i];
    EXPECT_NEAR(y[nc], sum / pixels, 1e-6) << nc;
    for (int64_t i = 0; i < pixels; ++i) ASSERT_FLOAT_EQ(dx[nc * pixels + i], dy[nc] / pixels);
  }
  // Channel padding (channels 20..31) is written as zeros.
  for (int64_t lane = 4; lane < 16; ++lane) {
    EXPECT_EQ(dx_blocked[(1 * pixels) * 16 + lane], 0.0f) << lane;
  }
}

TEST(PoolValidateTest, RejectsBadShapes) {
  EXPECT_FALSE(Validate(PoolShape{{1, 1, 4, 4}, 3, 2, 2}).ok());  // pad > window / 2
  EXPECT_FALSE(Validate(PoolShape{{1, 1, 1, 1}, 3, 1, 0}).ok());  // window larger than input
  EXPECT_FALSE(Validate(PoolShape{{0, 1, 4, 4}, 2, 2, 0}).ok());
  EXPECT_FALSE(Validate(PoolShape{{1, 1, 4, 4}, 2, 0, 0}).ok());
  EXPECT_TRUE(Validate(PoolShape{{1, 1, 4, 4}, 3, 2, 1}).ok());
}

INSTANTIATE_PER_TARGET_TEST_SUITE(PoolTest);

}  // namespace
}  // namespace sparsetrain
