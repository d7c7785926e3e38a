#include "kernels/isa.h"

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cstdlib>

namespace sparsetrain {
namespace {

constexpr Isa kAllIsas[] = {Isa::kAvx512, Isa::kAvx2, Isa::kSse4, Isa::kScalar,
                            Isa::kNeon,   Isa::kSve,  Isa::kSve2};
#if HWY_ARCH_ARM_A64
constexpr Isa kForeignIsas[] = {Isa::kAvx512, Isa::kAvx2, Isa::kSse4};
constexpr Isa kSecondBest = Isa::kNeon;  // below SVE, which qemu's CPU has
#else
constexpr Isa kForeignIsas[] = {Isa::kNeon, Isa::kSve, Isa::kSve2};
constexpr Isa kSecondBest = Isa::kAvx2;
#endif

class IsaTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(SelectIsa(Isa::kAuto).ok()); }
  void TearDown() override {
    hwy::SetSupportedTargetsForTest(0);
    unsetenv("SPARSETRAIN_ISA");
    EXPECT_TRUE(SelectIsa(Isa::kAuto).ok());
  }
};

TEST_F(IsaTest, NamesRoundTrip) {
  for (Isa isa : {Isa::kAuto, Isa::kAvx512, Isa::kAvx2, Isa::kSse4, Isa::kScalar, Isa::kNeon,
                  Isa::kSve, Isa::kSve2}) {
    Isa parsed = Isa::kAuto;
    ASSERT_TRUE(ParseIsa(IsaName(isa), &parsed).ok()) << IsaName(isa);
    EXPECT_EQ(parsed, isa);
  }
}

TEST_F(IsaTest, UnknownNameIsAnErrorNamingIt) {
  Isa isa = Isa::kAvx2;
  const Status status = ParseIsa("avx1024", &isa);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("avx1024"), std::string::npos) << status.message();
  EXPECT_EQ(isa, Isa::kAvx2);
}

TEST_F(IsaTest, AutoPicksTheBestSupportedTarget) {
  const int64_t supported = hwy::SupportedTargets() & HWY_TARGETS;
  EXPECT_EQ(ActiveTarget(), supported & -supported);
  EXPECT_NE(ActiveIsa(), Isa::kAuto);
}

TEST_F(IsaTest, ForcingEachSupportedIsaMakesItActive) {
  int forced = 0;
  for (Isa isa : kAllIsas) {
    if (!IsaSupported(isa)) continue;
    ++forced;
    ASSERT_TRUE(SelectIsa(isa).ok()) << IsaName(isa);
    EXPECT_EQ(ActiveIsa(), isa) << IsaName(isa);
  }
  EXPECT_GE(forced, 2);
  ASSERT_TRUE(SelectIsa(Isa::kAuto).ok());
  EXPECT_EQ(IsaOfTarget(ActiveTarget()), ActiveIsa());
}

TEST_F(IsaTest, AnotherArchitecturesIsaIsUnsupported) {
  const Isa before = ActiveIsa();
  for (Isa isa : kForeignIsas) {
    EXPECT_FALSE(IsaSupported(isa)) << IsaName(isa);
    const Status status = SelectIsa(isa);
    EXPECT_EQ(status.code(), StatusCode::kUnsupported) << IsaName(isa);
    EXPECT_NE(status.message().find(IsaName(isa)), std::string::npos) << status.message();
    EXPECT_EQ(ActiveIsa(), before);
  }
}

#if HWY_ARCH_ARM_A64
TEST_F(IsaTest, ScalarCannotBeSelectedBelowTheNeonBaseline) {
  EXPECT_FALSE(IsaSupported(Isa::kScalar));
  const Status status = SelectIsa(Isa::kScalar);
  EXPECT_EQ(status.code(), StatusCode::kUnsupported);
  EXPECT_NE(status.message().find("NEON"), std::string::npos) << status.message();
}

// On a CPU with 256-bit SVE2, Highway prefers its fixed-width SVE_256 target to SVE2: auto runs
// SVE_256, a cap at sve2 still reaches SVE2, a cap at sve reaches SVE_256 and nothing of SVE2.
TEST_F(IsaTest, SveCapsOnA256BitSve2Cpu) {
  hwy::SetSupportedTargetsForTest(HWY_SVE2 | HWY_SVE_256 | HWY_SVE | HWY_NEON | HWY_SCALAR);
  EXPECT_EQ(ActiveTarget(), HWY_SVE_256);
  EXPECT_EQ(ActiveIsa(), Isa::kSve);
  ASSERT_TRUE(SelectIsa(Isa::kSve2).ok());
  EXPECT_EQ(ActiveTarget(), HWY_SVE2);
  ASSERT_TRUE(SelectIsa(Isa::kSve).ok());
  EXPECT_EQ(ActiveTarget(), HWY_SVE_256);
  ASSERT_TRUE(SelectIsa(Isa::kNeon).ok());
  EXPECT_EQ(ActiveTarget(), HWY_NEON);
}
#endif

TEST_F(IsaTest, ForcingAnUnsupportedIsaFailsAndChangesNothing) {
#if HWY_ARCH_ARM_A64
  hwy::SetSupportedTargetsForTest(HWY_NEON | HWY_SCALAR);  // pretend the CPU lacks SVE
  constexpr Isa kPresent = Isa::kNeon, kAbsent = Isa::kSve, kAbsentBetter = Isa::kSve2;
#else
  hwy::SetSupportedTargetsForTest(HWY_SSE4 | HWY_SCALAR);  // pretend the CPU lacks AVX
  constexpr Isa kPresent = Isa::kScalar, kAbsent = Isa::kAvx2, kAbsentBetter = Isa::kAvx512;
#endif
  ASSERT_TRUE(SelectIsa(kPresent).ok());
  const Status status = SelectIsa(kAbsent);
  EXPECT_EQ(status.code(), StatusCode::kUnsupported);
  EXPECT_NE(status.message().find(IsaName(kAbsent)), std::string::npos) << status.message();
  EXPECT_FALSE(IsaSupported(kAbsentBetter));
  EXPECT_EQ(ActiveIsa(), kPresent);  // the previous selection stays
}

TEST_F(IsaTest, EnvironmentVariableSelects) {
  setenv("SPARSETRAIN_ISA", IsaName(kSecondBest), 1);
  ASSERT_TRUE(SelectIsaFromEnvironment().ok());
  EXPECT_EQ(ActiveIsa(), kSecondBest);

  setenv("SPARSETRAIN_ISA", "bogus", 1);
  const Status status = SelectIsaFromEnvironment();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("SPARSETRAIN_ISA"), std::string::npos) << status.message();
  EXPECT_EQ(ActiveIsa(), kSecondBest);

  unsetenv("SPARSETRAIN_ISA");
  ASSERT_TRUE(SelectIsaFromEnvironment().ok());  // unset: no change
  EXPECT_EQ(ActiveIsa(), kSecondBest);
}

}  // namespace
}  // namespace sparsetrain
