// Channel concatenation copies and per-channel scaling against scalar references, on every target.
#include "kernels/channels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/reorder.h"
#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

std::vector<float> Random(int64_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& f : v) f = dist(rng);
  return v;
}

std::vector<float> ToBlocked(const std::vector<float>& nchw, Dims dims) {
  std::vector<float> blocked(static_cast<size_t>(StorageFloats(dims, Layout::kNChw16c)), NAN);
  EXPECT_TRUE(Reorder(nchw.data(), Layout::kNCHW, blocked.data(), Layout::kNChw16c, dims).ok());
  return blocked;
}

std::vector<float> ToNchw(const std::vector<float>& blocked, Dims dims) {
  std::vector<float> nchw(static_cast<size_t>(dims.count()));
  EXPECT_TRUE(Reorder(blocked.data(), Layout::kNChw16c, nchw.data(), Layout::kNCHW, dims).ok());
  return nchw;
}

// Every stored value of channels >= dims.c is zero.
bool PaddingIsZero(const std::vector<float>& blocked, Dims dims) {
  const int64_t blocks = BlocksOf(dims.c), pixels = dims.h * dims.w;
  for (int64_t n = 0; n < dims.n; ++n) {
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t c = dims.c; c < blocks * kChannelBlock; ++c) {
        const float v = blocked[size_t(
            ((n * blocks + c / kChannelBlock) * pixels + p) * kChannelBlock + c % kChannelBlock)];
        if (v != 0.0f) return false;
      }
    }
  }
  return true;
}

TEST(ChannelCopyTest, ConcatenationAndItsSplitMatchNchwCopies) {
  std::mt19937 rng(2);
  pthreadpool_t pool = pthreadpool_create(2);
  // Parts that start on and off block boundaries and cross them.
  const std::vector<int64_t> parts = {16, 5, 20, 3, 32};
  const int64_t n = 2, h = 3, w = 4;
  int64_t total = 0;
  for (int64_t c : parts) total += c;
  const Dims whole_dims{n, total, h, w};
  std::vector<float> whole(size_t(StorageFloats(whole_dims, Layout::kNChw16c)), 0.0f);
  std::vector<std::vector<float>> nchw_parts;
  int64_t offset = 0;
  for (int64_t c : parts) {
    const Dims d{n, c, h, w};
    nchw_parts.push_back(Random(d.count(), rng));
    CopyChannelsInto(d, ToBlocked(nchw_parts.back(), d).data(), total, offset, whole.data(), pool);
    offset += c;
  }
  const std::vector<float> joined = ToNchw(whole, whole_dims);
  offset = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Dims d{n, parts[i], h, w};
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t c = 0; c < parts[i]; ++c) {
        for (int64_t p = 0; p < h * w; ++p) {
          ASSERT_EQ(joined[size_t(((b * total + offset + c) * h * w) + p)],
                    nchw_parts[i][size_t((b * parts[i] + c) * h * w + p)]);
        }
      }
    }
    std::vector<float> back(size_t(StorageFloats(d, Layout::kNChw16c)), NAN);
    CopyChannelsOut(total, offset, whole.data(), d, back.data(), pool);
    EXPECT_EQ(ToNchw(back, d), nchw_parts[i]) << "part " << i;
    EXPECT_TRUE(PaddingIsZero(back, d)) << "part " << i;
    offset += parts[i];
  }
  std::vector<float> dirty = whole;
  for (float& v : dirty) v = v == 0.0f ? 1.0f : v;  // padding made non-zero
  EXPECT_GT(ZeroChannelPadding(whole_dims, dirty.data()), 0);
  EXPECT_TRUE(PaddingIsZero(dirty, whole_dims));
  pthreadpool_destroy(pool);
}

class ChannelScaleTest : public PerTargetPoolTest {};

TEST_P(ChannelScaleTest, GateAndItsGradientsMatchScalarReference) {
  std::mt19937 rng(4);
  for (const Dims& dims : {Dims{2, 20, 3, 5}, Dims{1, 16, 7, 7}, Dims{3, 5, 1, 1}}) {
    const Dims gate_dims{dims.n, dims.c, 1, 1};
    const std::vector<float> x = Random(dims.count(), rng), dy = Random(dims.count(), rng);
    const std::vector<float> gate = Random(gate_dims.count(), rng);
    const std::vector<float> xb = ToBlocked(x, dims), dyb = ToBlocked(dy, dims);
    const std::vector<float> gb = ToBlocked(gate, gate_dims);
    std::vector<float> yb(xb.size(), NAN), dxb(xb.size(), NAN), dgb(gb.size(), NAN);
    ScaleChannels(dims, xb.data(), gb.data(), yb.data(), pool_);
    ExpectRanOnTarget();
    ScaleChannelsBackward(dims, xb.data(), gb.data(), dyb.data(), dxb.data(), dgb.data(), pool_);
    ExpectRanOnTarget();
    const std::vector<float> y = ToNchw(yb, dims), dx = ToNchw(dxb, dims);
    const std::vector<float> dgate = ToNchw(dgb, gate_dims);
    const int64_t pixels = dims.h * dims.w;
    for (int64_t nc = 0; nc < dims.n * dims.c; ++nc) {
      double sum = 0.0;
      for (int64_t p = 0; p < pixels; ++p) {
        const size_t i = size_t(nc * pixels + p);
        ASSERT_EQ(y[i], x[i] * gate[size_t(nc)]);
        ASSERT_EQ(dx[i], dy[i] * gate[size_t(nc)]);
        sum += double(dy[i]) * x[i];
      }
      ASSERT_NEAR(dgate[size_t(nc)], sum, 1e-5 * (1.0 + std::fabs(sum)));
    }
    EXPECT_TRUE(PaddingIsZero(yb, dims));
    EXPECT_TRUE(PaddingIsZero(dgb, gate_dims));
  }
}

TEST_P(ChannelScaleTest, ElementwiseMultiplyAndItsGradients) {
  std::mt19937 rng(6);
  for (int64_t count : {1, 17, 40000}) {
    const std::vector<float> a = Random(count, rng), b = Random(count, rng),
                             dy = Random(count, rng);
    std::vector<float> y(a.size()), da(a.size()), db(a.size());
    Multiply(a.data(), b.data(), y.data(), count, pool_);
    ExpectRanOnTarget();
    MultiplyBackward(a.data(), b.data(), dy.data(), da.data(), db.data(), count, pool_);
    ExpectRanOnTarget();
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(y[i], a[i] * b[i]);
      ASSERT_EQ(da[i], dy[i] * b[i]);
      ASSERT_EQ(db[i], dy[i] * a[i]);
    }
    // One gradient alone, written over dy.
    std::vector<float> in_place = dy;
    MultiplyBackward(a.data(), b.data(), in_place.data(), nullptr, in_place.data(), count, pool_);
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(in_place[i], dy[i] * a[i]);
  }
}

INSTANTIATE_PER_TARGET_TEST_SUITE(ChannelScaleTest);

}  // namespace
}  // namespace sparsetrain
