// Runs a test once for every Highway target the CPU supports and the ISA selection allows
// (SPARSETRAIN_ISA caps it), forcing that target for the test's duration.
#ifndef SPARSETRAIN_TESTS_PER_TARGET_TEST_H_
#define SPARSETRAIN_TESTS_PER_TARGET_TEST_H_

#include <gtest/gtest.h>
#include <hwy/targets.h>
#include <pthreadpool.h>

#include <cstdint>
#include <string>

#include "kernels/isa.h"

namespace sparsetrain {

class PerTargetTest : public ::testing::TestWithParam<int64_t> {
 protected:
  void SetUp() override {
    hwy::SetSupportedTargetsForTest(GetParam());
    ASSERT_EQ(ActiveTarget(), GetParam()) << "could not force " << hwy::TargetName(GetParam());
  }
  void TearDown() override { hwy::SetSupportedTargetsForTest(0); }

  // Asserts the most recent kernel call on this thread ran on the forced target.
  void ExpectRanOnTarget() const { ExpectRan(LastTargetRan(), GetParam()); }
  // Asserts a convolution call that reported `ran` ran on the forced target: its register tiles
  // run on ConvTileTarget's target, its other pieces (reorders, bias sums) on the forced one, and
  // the last piece reports.
  void ExpectConvRanOnTarget(int64_t ran) const {
    if (ran != GetParam()) ExpectRan(ran, ConvTileTarget(GetParam()));
  }

 private:
  static void ExpectRan(int64_t ran, int64_t want) {
    EXPECT_EQ(ran, want) << "ran on " << hwy::TargetName(ran) << ", expected "
                         << hwy::TargetName(want);
  }
};

// A PerTargetTest with a 2-thread pool for the kernels under test.
class PerTargetPoolTest : public PerTargetTest {
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
  pthreadpool_t pool_ = nullptr;
};

inline std::string TargetParamName(const ::testing::TestParamInfo<int64_t>& info) {
  return hwy::TargetName(info.param);
}

}  // namespace sparsetrain

#define INSTANTIATE_PER_TARGET_TEST_SUITE(suite)                                                \
  INSTANTIATE_TEST_SUITE_P(, suite, ::testing::ValuesIn(::hwy::SupportedAndGeneratedTargets()), \
                           ::sparsetrain::TargetParamName)

#endif  // SPARSETRAIN_TESTS_PER_TARGET_TEST_H_
