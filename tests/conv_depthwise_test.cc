// The depthwise convolution kernels against a scalar reference in double, on every target.
#include "kernels/conv_depthwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/layout.h"
#include "kernels/reorder.h"
#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

ConvShape Depthwise(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kernel, int64_t stride,
                    int64_t pad) {
  ConvShape s;
  s.n = n, s.c = s.k = c, s.h = h, s.w = w, s.r = s.s = kernel;
  s.stride_h = s.stride_w = stride, s.pad_h = s.pad_w = pad;
  return s;
}

// The shapes of MobileNet's depthwise layers, small: 3x3 and 5x5, stride 1 and 2, channel counts
// that fill and do not fill their last block, non-square maps, and maps narrower than a tile.
std::vector<ConvShape> Shapes() {
  ConvShape rows_strided = Depthwise(1, 16, 14, 10, 3, 1, 1);
  rows_strided.stride_h = 2;
  return {Depthwise(2, 16, 8, 8, 3, 1, 1), Depthwise(1, 20, 7, 9, 3, 2, 1),
          Depthwise(2, 40, 9, 6, 5, 1, 2), Depthwise(1, 33, 11, 11, 5, 2, 2),
          Depthwise(3, 8, 4, 4, 3, 1, 0), Depthwise(1, 16, 6, 5, 3, 2, 0),
          // Strides past the kernel's reach: phases of dx that no tap reaches.
          Depthwise(1, 16, 7, 7, 1, 2, 0), Depthwise(1, 24, 10, 11, 3, 3, 1),
          // Planes past 100 pixels: backward by weights keeps 3x3 sums in registers.
          Depthwise(2, 20, 12, 11, 3, 1, 1), Depthwise(1, 16, 13, 12, 3, 2, 1),
          Depthwise(1, 16, 12, 12, 5, 2, 2),
          // ...and at stride 1 across walks input rows: no padding, two columns of it, rows at
          // stride 2.
          Depthwise(1, 16, 12, 10, 3, 1, 0), Depthwise(2, 24, 11, 10, 3, 1, 2), rows_strided,
          // Small planes, several to a task.
          Depthwise(4, 64, 5, 5, 3, 1, 1), Depthwise(3, 48, 6, 6, 3, 2, 1),
          // Wide rows (many four-output runs between the edges); a 7x7 filter.
          Depthwise(2, 24, 5, 37, 3, 1, 1), Depthwise(1, 16, 6, 41, 3, 2, 1),
          Depthwise(1, 16, 5, 30, 5, 1, 2), Depthwise(1, 16, 9, 27, 5, 2, 2),
          Depthwise(1, 16, 9, 20, 7, 1, 3)};
}

std::vector<float> Random(size_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (float& f : v) f = dist(rng);
  return v;
}

std::vector<float> ToBlocked(const std::vector<float>& nchw, Dims dims) {
  std::vector<float> blocked(size_t(StorageFloats(dims, Layout::kNChw16c)), NAN);
  EXPECT_TRUE(Reorder(nchw.data(), Layout::kNCHW, blocked.data(), Layout::kNChw16c, dims).ok());
  return blocked;
}

std::vector<float> ToNchw(const std::vector<float>& blocked, Dims dims) {
  std::vector<float> nchw(size_t(dims.count()));
  EXPECT_TRUE(Reorder(blocked.data(), Layout::kNChw16c, nchw.data(), Layout::kNCHW, dims).ok());
  return nchw;
}

// The three passes in double, NCHW, weights (C, R, S).
struct Reference {
  std::vector<double> y, dx, dw, dbias;
};

Reference Compute(const ConvShape& s, const std::vector<float>& x, const std::vector<float>& w,
                  const std::vector<float>& bias, const std::vector<float>& dy) {
  const int64_t p = s.p(), q = s.q();
  Reference ref{std::vector<double>(size_t(s.n * s.c * p * q)), std::vector<double>(x.size()),
                std::vector<double>(w.size()), std::vector<double>(size_t(s.c))};
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t c = 0; c < s.c; ++c) {
      for (int64_t oh = 0; oh < p; ++oh) {
        for (int64_t ow = 0; ow < q; ++ow) {
          const size_t o = size_t(((n * s.c + c) * p + oh) * q + ow);
          ref.y[o] = bias[c];
          ref.dbias[c] += dy[o];
          for (int64_t r = 0; r < s.r; ++r) {
            for (int64_t t = 0; t < s.s; ++t) {
              const int64_t ih = oh * s.stride_h - s.pad_h + r, iw = ow * s.stride_w - s.pad_w + t;
              if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
              const size_t i = size_t(((n * s.c + c) * s.h + ih) * s.w + iw);
              const size_t k = size_t((c * s.r + r) * s.s + t);
              ref.y[o] += double(x[i]) * w[k];
              ref.dx[i] += double(dy[o]) * w[k];
              ref.dw[k] += double(dy[o]) * x[i];
            }
          }
        }
      }
    }
  }
  return ref;
}

void ExpectNear(const std::vector<float>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 1e-5 * (1.0 + std::fabs(want[i]))) << what << " at " << i;
  }
}

// The channel padding of a blocked tensor of `dims` holds zeros.
void ExpectZeroPadding(const std::vector<float>& blocked, Dims dims, const char* what) {
  const int64_t blocks = BlocksOf(dims.c), pixels = dims.h * dims.w;
  for (int64_t n = 0; n < dims.n; ++n) {
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t c = dims.c; c < blocks * kChannelBlock; ++c) {
        ASSERT_EQ(blocked[size_t(((n * blocks + c / kChannelBlock) * pixels + p) * kChannelBlock +
                                 c % kChannelBlock)],
                  0.0f)
            << what << " channel " << c;
      }
    }
  }
}

class DepthwiseTest : public PerTargetPoolTest {};

TEST_P(DepthwiseTest, EveryPassMatchesTheScalarReference) {
  std::mt19937 rng(17);
  for (const ConvShape& s : Shapes()) {
    SCOPED_TRACE(ProblemDescriptor(s));
    const Dims weights{1, s.c, s.r, s.s};
    const std::vector<float> x = Random(size_t(s.input().count()), rng);
    const std::vector<float> w = Random(size_t(weights.count()), rng);
    const std::vector<float> bias = Random(size_t(s.c), rng);
    const std::vector<float> dy = Random(size_t(s.output().count()), rng);
    const Reference ref = Compute(s, x, w, bias, dy);
    std::vector<float> padded_bias(size_t(PaddedChannels(s.c)), 0.0f);
    std::copy(bias.begin(), bias.end(), padded_bias.begin());
    const std::vector<float> xb = ToBlocked(x, s.input()), wb = ToBlocked(w, weights);
    const std::vector<float> dyb = ToBlocked(dy, s.output());
    std::vector<float> yb(dyb.size(), NAN), dxb(xb.size(), NAN), dwb(wb.size(), NAN),
        dbias(padded_bias.size(), NAN);
    ASSERT_TRUE(
        DepthwiseForward(s, xb.data(), wb.data(), padded_bias.data(), yb.data(), pool_).ok());
    ExpectRanOnTarget();
    ASSERT_TRUE(DepthwiseBackwardData(s, dyb.data(), wb.data(), dxb.data(), pool_).ok());
    ExpectRanOnTarget();
    ASSERT_TRUE(
        DepthwiseBackwardWeights(s, xb.data(), dyb.data(), dwb.data(), dbias.data(), pool_).ok());
    ExpectRanOnTarget();
    ExpectNear(ToNchw(yb, s.output()), ref.y, "y");
    ExpectNear(ToNchw(dxb, s.input()), ref.dx, "dx");
    ExpectNear(ToNchw(dwb, weights), ref.dw, "dw");
    ExpectNear(std::vector<float>(dbias.begin(), dbias.begin() + s.c), ref.dbias, "dbias");
    ExpectZeroPadding(yb, s.output(), "y");
    ExpectZeroPadding(dxb, s.input(), "dx");
    ExpectZeroPadding(dwb, weights, "dw");
  }
}

TEST(DepthwiseShapeTest, ShapesThatAreNotDepthwiseAreRefused) {
  ConvShape s = Depthwise(1, 16, 8, 8, 3, 1, 1);
  s.k = 32;
  std::vector<float> buffer(4096);
  const Status status =
      DepthwiseForward(s, buffer.data(), buffer.data(), nullptr, buffer.data(), nullptr);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("output channels"), std::string::npos) << status.message();
  s.k = 16;
  EXPECT_EQ(DepthwiseBackwardData(s, nullptr, buffer.data(), buffer.data(), nullptr).code(),
            StatusCode::kInvalidArgument);
}

INSTANTIATE_PER_TARGET_TEST_SUITE(DepthwiseTest);

}  // namespace
}  // namespace sparsetrain
