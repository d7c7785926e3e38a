#include "kernels/reorder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/layout.h"
#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

constexpr int64_t B = kChannelBlock;

std::vector<float> RandomValues(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

// The blocked layouts spelled out as loops over their own memory order: the oracle.
std::vector<float> BlockActivations(const std::vector<float>& nchw, Dims d) {
  std::vector<float> out;
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t cb = 0; cb < BlocksOf(d.c); ++cb)
      for (int64_t h = 0; h < d.h; ++h)
        for (int64_t w = 0; w < d.w; ++w)
          for (int64_t ci = 0; ci < B; ++ci) {
            const int64_t c = cb * B + ci;
            out.push_back(c < d.c ? nchw[((n * d.c + c) * d.h + h) * d.w + w] : 0.0f);
          }
  return out;
}

// kOIhw16i16o when `transposed` is false, kIOhw16o16i when true.
std::vector<float> BlockWeights(const std::vector<float>& kcrs, Dims d, bool transposed) {
  const int64_t outer = transposed ? BlocksOf(d.c) : BlocksOf(d.n);
  const int64_t inner = transposed ? BlocksOf(d.n) : BlocksOf(d.c);
  std::vector<float> out;
  for (int64_t ob = 0; ob < outer; ++ob)
    for (int64_t ib = 0; ib < inner; ++ib)
      for (int64_t r = 0; r < d.h; ++r)
        for (int64_t s = 0; s < d.w; ++s)
          for (int64_t i = 0; i < B; ++i)
            for (int64_t o = 0; o < B; ++o) {
              // Forward: blocks (kb, cb), then c (i) then k (o). Transposed: (cb, kb), k then c.
              const int64_t k = transposed ? ib * B + i : ob * B + o;
              const int64_t c = transposed ? ob * B + o : ib * B + i;
              const bool real = k < d.n && c < d.c;
              out.push_back(real ? kcrs[((k * d.c + c) * d.h + r) * d.w + s] : 0.0f);
            }
  return out;
}

class ReorderTest : public PerTargetTest {
 protected:
  std::vector<float> Run(const std::vector<float>& src, Layout from, Layout to, Dims d) {
    std::vector<float> dst(StorageFloats(d, to), -7.0f);  // poison: every element must be written
    const Status status = Reorder(src.data(), from, dst.data(), to, d);
    EXPECT_TRUE(status.ok()) << status.message();
    ExpectRanOnTarget();
    return dst;
  }
};

TEST_P(ReorderTest, ActivationsToBlockedAndBack) {
  for (Dims d : {Dims{1, 1, 1, 1}, Dims{2, 3, 5, 7}, Dims{1, 16, 4, 4}, Dims{3, 17, 13, 14},
                 Dims{2, 48, 7, 7}, Dims{1, 130, 3, 29}}) {
    SCOPED_TRACE(::testing::Message() << d.n << "x" << d.c << "x" << d.h << "x" << d.w);
    const std::vector<float> nchw = RandomValues(d.count(), 1);
    const std::vector<float> blocked = Run(nchw, Layout::kNCHW, Layout::kNChw16c, d);
    EXPECT_EQ(blocked, BlockActivations(nchw, d));
    EXPECT_EQ(Run(blocked, Layout::kNChw16c, Layout::kNCHW, d), nchw);
  }
}

TEST_P(ReorderTest, WeightsToBothBlockedOrdersAndBack) {
  for (Dims d : {Dims{1, 1, 1, 1}, Dims{16, 16, 3, 3}, Dims{17, 3, 3, 3}, Dims{64, 48, 1, 1},
                 Dims{130, 17, 3, 5}, Dims{5, 33, 2, 1}}) {
    SCOPED_TRACE(::testing::Message() << d.n << "x" << d.c << "x" << d.h << "x" << d.w);
    const std::vector<float> kcrs = RandomValues(d.count(), 2);
    const std::vector<float> forward = Run(kcrs, Layout::kNCHW, Layout::kOIhw16i16o, d);
    const std::vector<float> transposed = Run(kcrs, Layout::kNCHW, Layout::kIOhw16o16i, d);
    EXPECT_EQ(forward, BlockWeights(kcrs, d, false));
    EXPECT_EQ(transposed, BlockWeights(kcrs, d, true));
    EXPECT_EQ(Run(forward, Layout::kOIhw16i16o, Layout::kIOhw16o16i, d), transposed);
    EXPECT_EQ(Run(transposed, Layout::kIOhw16o16i, Layout::kOIhw16i16o, d), forward);
    EXPECT_EQ(Run(forward, Layout::kOIhw16i16o, Layout::kNCHW, d), kcrs);
    // Whatever a source holds in its padding, the result's padding is zero.
    const std::vector<float> padding_marks =
        BlockWeights(std::vector<float>(d.count(), 1.0f), d, false);
    std::vector<float> poisoned = forward;
    for (size_t i = 0; i < poisoned.size(); ++i) {
      if (padding_marks[i] == 0.0f) poisoned[i] = NAN;
    }
    EXPECT_EQ(Run(poisoned, Layout::kOIhw16i16o, Layout::kIOhw16o16i, d), transposed);
    EXPECT_EQ(Run(transposed, Layout::kIOhw16o16i, Layout::kNCHW, d), kcrs);
  }
}

TEST_P(ReorderTest, RejectsBadArguments) {
  std::vector<float> buf(4096);
  EXPECT_EQ(Reorder(nullptr, Layout::kNCHW, buf.data(), Layout::kNChw16c, Dims{1, 1, 1, 1}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      Reorder(buf.data(), Layout::kNCHW, buf.data() + 2048, Layout::kNChw16c, Dims{1, 0, 1, 1})
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(Reorder(buf.data(), Layout::kNChw16c, buf.data() + 2048, Layout::kOIhw16i16o,
                    Dims{1, 1, 1, 1})
                .code(),
            StatusCode::kInvalidArgument);
}

INSTANTIATE_PER_TARGET_TEST_SUITE(ReorderTest);

// SelectIsa (not the test-only target mock) must steer dispatch, also after ISA queries.
TEST(ReorderDispatchTest, SelectedIsaIsTheOneThatRuns) {
  const Dims d{1, 17, 3, 3};
  const std::vector<float> src = RandomValues(d.count(), 3);
  std::vector<float> dst(StorageFloats(d, Layout::kNChw16c));
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kSse4, Isa::kScalar}) {
    if (!IsaSupported(isa)) continue;
    ASSERT_TRUE(SelectIsa(isa).ok());
    EXPECT_EQ(ActiveIsa(), isa);
    ASSERT_TRUE(Reorder(src.data(), Layout::kNCHW, dst.data(), Layout::kNChw16c, d).ok());
    EXPECT_EQ(IsaOfTarget(LastTargetRan()), isa) << IsaName(isa);
  }
  ASSERT_TRUE(SelectIsa(Isa::kAuto).ok() && SelectIsaFromEnvironment().ok());  // as main() left it
}

}  // namespace
}  // namespace sparsetrain
