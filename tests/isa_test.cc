#include "kernels/isa.h"

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cstdlib>

namespace sparsetrain {
namespace {

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
  for (Isa isa : {Isa::kAuto, Isa::kAvx512, Isa::kAvx2, Isa::kSse4, Isa::kScalar}) {
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
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kSse4, Isa::kScalar}) {
    if (!IsaSupported(isa)) continue;
    ASSERT_TRUE(SelectIsa(isa).ok()) << IsaName(isa);
    EXPECT_EQ(ActiveIsa(), isa) << IsaName(isa);
  }
  ASSERT_TRUE(SelectIsa(Isa::kAuto).ok());
  EXPECT_EQ(IsaOfTarget(ActiveTarget()), ActiveIsa());
}

TEST_F(IsaTest, ForcingAnUnsupportedIsaFailsAndChangesNothing) {
  hwy::SetSupportedTargetsForTest(HWY_SSE4 | HWY_SCALAR);  // pretend the CPU lacks AVX
  ASSERT_TRUE(SelectIsa(Isa::kScalar).ok());
  const Status status = SelectIsa(Isa::kAvx2);
  EXPECT_EQ(status.code(), StatusCode::kUnsupported);
  EXPECT_NE(status.message().find("avx2"), std::string::npos) << status.message();
  EXPECT_FALSE(IsaSupported(Isa::kAvx512));
  EXPECT_EQ(ActiveIsa(), Isa::kScalar);  // the previous selection stays
}

TEST_F(IsaTest, EnvironmentVariableSelects) {
  setenv("SPARSETRAIN_ISA", "avx2", 1);
  ASSERT_TRUE(SelectIsaFromEnvironment().ok());
  EXPECT_EQ(ActiveIsa(), Isa::kAvx2);

  setenv("SPARSETRAIN_ISA", "bogus", 1);
  const Status status = SelectIsaFromEnvironment();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("SPARSETRAIN_ISA"), std::string::npos) << status.message();
  EXPECT_EQ(ActiveIsa(), Isa::kAvx2);

  unsetenv("SPARSETRAIN_ISA");
  ASSERT_TRUE(SelectIsaFromEnvironment().ok());  // unset: no change
  EXPECT_EQ(ActiveIsa(), Isa::kAvx2);
}

}  // namespace
}  // namespace sparsetrain
