// ConvOp, the convolution the model layer and the C API share: which operand its sparse
// backward-by-weights walks, and that either walk gives the reference gradient.
#include "runtime/conv_op.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/reorder.h"
#include "runtime/tensor.h"
#include "runtime/verbose.h"
#include "tests/conv_reference.h"

namespace sparsetrain {
namespace {

// Values in +-[0.1, 1], a `zeros` fraction of them exact zeros.
std::vector<float> RandomValues(int64_t count, double zeros, std::mt19937& rng) {
  std::uniform_real_distribution<float> value(0.1f, 1.0f);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = unit(rng) < zeros ? 0.0f : (unit(rng) < 0.5 ? -1.0f : 1.0f) * value(rng);
  return v;
}

std::vector<float> Blocked(const std::vector<float>& nchw, Dims dims) {
  std::vector<float> out(size_t(StorageFloats(dims, Layout::kNChw16c)));
  EXPECT_TRUE(Reorder(nchw.data(), Layout::kNCHW, out.data(), Layout::kNChw16c, dims).ok());
  return out;
}

std::string Fixed3(double v) {
  char text[16];
  std::snprintf(text, sizeof text, "%.3f", v);
  return text;
}

class ConvOpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    geometry_.c = 32, geometry_.k = 48, geometry_.r = geometry_.s = 3;
    geometry_.pad_h = geometry_.pad_w = 1;
    ASSERT_TRUE(ConvOp::Create("conv", geometry_, /*bias=*/false, Allocator(), &op_).ok());
    Random random(7);
    op_->Initialize(&random);
    pool_ = pthreadpool_create(2);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override { pthreadpool_destroy(pool_); }

  // Runs backward by weights under `policy` on x and dy with about the given zero fractions;
  // returns the verbose line of the pass, with the exact fractions drawn, and checks the
  // gradient against the reference.
  struct Run {
    std::string log;
    double x_zeros, dy_zeros;
  };
  Run BackwardWeights(double x_zeros, double dy_zeros, KernelPolicy policy) {
    const ConvShape s = op_->ShapeFor({2, geometry_.c, 10, 9});
    std::mt19937 rng(11);
    const std::vector<float> x = RandomValues(s.input().count(), x_zeros, rng);
    const std::vector<float> dy = RandomValues(s.output().count(), dy_zeros, rng);
    WorkspaceArena arena{Allocator()};
    SetVerbose(1);
    testing::internal::CaptureStderr();
    const Status status =
        op_->Backward(s, Blocked(x, s.input()).data(), -1, Blocked(dy, s.output()).data(), -1,
                      /*weight_grads=*/true, nullptr, policy, &arena, pool_);
    const std::string log = testing::internal::GetCapturedStderr();
    SetVerbose(0);
    EXPECT_TRUE(status.ok()) << status.message();
    std::vector<float> want(size_t(s.weights().count())), abs_sum(want.size());
    reference::ConvBackwardWeights(s, x.data(), dy.data(), want.data(),
                                   static_cast<float*>(nullptr), abs_sum.data());
    std::vector<float> got(want.size());
    EXPECT_TRUE(Reorder(op_->weight().grad.data(), Layout::kOIhw16i16o, got.data(), Layout::kNCHW,
                        s.weights())
                    .ok());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-5f * abs_sum[i] + 1e-6f) << "weight " << i;
    }
    const auto fraction = [](const std::vector<float>& v) {
      return double(std::count(v.begin(), v.end(), 0.0f)) / double(v.size());
    };
    return {log, fraction(x), fraction(dy)};
  }

  ConvShape geometry_;
  std::unique_ptr<ConvOp> op_;
  pthreadpool_t pool_ = nullptr;
};

TEST_F(ConvOpTest, SparseBackwardWeightsWalksXWhenDyIsDense) {
  // Batch norm before the ReLU that follows: dy has no zeros, x the ReLU's.
  const Run run = BackwardWeights(0.6, 0.0, KernelPolicy::kSparse);
  EXPECT_NE(
      run.log.find("sparsetrain,conv2d,conv,bwd_weights,mb2ic32ih10iw9oc48kh3sh1ph1,sparse-x,"),
      std::string::npos)
      << run.log;
  EXPECT_NE(run.log.find(",zeros=" + Fixed3(run.x_zeros) + ","), std::string::npos)
      << run.log;  // the walked operand's
}

TEST_F(ConvOpTest, SparseBackwardWeightsWalksDyWhenItHasMoreZeros) {
  const Run run = BackwardWeights(0.4, 0.8, KernelPolicy::kSparse);
  EXPECT_NE(run.log.find("sparsetrain,conv2d,conv,bwd_weights,mb2ic32ih10iw9oc48kh3sh1ph1,sparse,"),
            std::string::npos)
      << run.log;
  EXPECT_NE(run.log.find(",zeros=" + Fixed3(run.dy_zeros) + ","), std::string::npos) << run.log;
}

TEST_F(ConvOpTest, DensePolicyRunsDenseWhateverTheZeros) {
  const Run run = BackwardWeights(0.9, 0.0, KernelPolicy::kDense);
  EXPECT_NE(run.log.find("sparsetrain,conv2d,conv,bwd_weights,mb2ic32ih10iw9oc48kh3sh1ph1,dense,"),
            std::string::npos)
      << run.log;
}

}  // namespace
}  // namespace sparsetrain
