#include "tests/conv_tester.h"

#include <algorithm>
#include <cstdlib>

#include "kernels/aligned.h"
#include "kernels/parallel.h"

namespace sparsetrain {
namespace {

// Values in +-[0.1, 1] (no denormals), a `zeros` fraction of them exact zeros (half of those -0.0).
std::vector<float> RandomTensor(int64_t count, double zeros, std::mt19937& rng) {
  std::uniform_real_distribution<float> magnitude(0.1f, 1.0f);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<float> v(count);
  for (float& x : v) {
    const bool negative = unit(rng) < 0.5;
    x = unit(rng) < zeros ? (negative ? -0.0f : 0.0f) : (negative ? -1.0f : 1.0f) * magnitude(rng);
  }
  return v;
}

}  // namespace

ConvShape MakeShape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s,
                    int64_t stride, int64_t pad) {
  ConvShape sh;
  sh.n = n, sh.c = c, sh.h = h, sh.w = w, sh.k = k, sh.r = r, sh.s = s;
  sh.stride_h = sh.stride_w = stride;
  sh.pad_h = sh.pad_w = pad;
  return sh;
}

std::vector<ConvShape> AwkwardShapes() {
  ConvShape tall_stride = MakeShape(2, 16, 9, 11, 20, 3, 3, 1, 1);
  tall_stride.stride_h = 2;  // rows and columns stepping differently
  // A first layer's 3 channels under one kernel row of 7 columns, stride 2, padded only in width.
  ConvShape row_kernel = MakeShape(2, 3, 5, 15, 16, 1, 7, 2, 0);
  row_kernel.pad_w = 3;
  // n, c, h, w, k, r, s, stride, pad.
  std::vector<ConvShape> shapes = {
      tall_stride,
      row_kernel,
      MakeShape(2, 3, 20, 18, 64, 7, 7, 2, 3),  // a ResNet's first layer
      MakeShape(1, 6, 9, 10, 20, 3, 3, 2, 1),   // a partial block of 6 channels, stride 2
      MakeShape(2, 1, 12, 11, 20, 5, 5, 1, 2),  // 1 channel (grey images), 5 kernel columns
      MakeShape(1, 2, 8, 9, 16, 3, 3, 1, 1),    // 2 channels
      MakeShape(1, 1, 1, 1, 1, 1, 1, 1, 0),
      MakeShape(1, 3, 7, 7, 16, 3, 3, 1, 1),
      MakeShape(5, 16, 13, 13, 17, 3, 3, 1, 1),
      MakeShape(1, 17, 14, 14, 48, 3, 3, 2, 1),
      MakeShape(2, 48, 13, 7, 16, 3, 3, 2, 0),
      MakeShape(1, 64, 28, 28, 64, 3, 3, 1, 1),
      MakeShape(1, 130, 7, 7, 3, 3, 3, 1, 2),
      MakeShape(2, 64, 14, 14, 130, 1, 1, 1, 0),
      MakeShape(1, 48, 13, 13, 64, 1, 1, 2, 0),
      MakeShape(1, 16, 56, 56, 16, 3, 3, 1, 1),
      MakeShape(5, 17, 1, 1, 48, 1, 1, 1, 0),
      MakeShape(1, 3, 14, 13, 16, 5, 5, 2, 2),
      MakeShape(1, 16, 28, 28, 17, 3, 3, 2, 1),
      MakeShape(2, 1, 13, 14, 1, 7, 7, 1, 2),
      MakeShape(1, 64, 3, 3, 64, 3, 3, 1, 1),
      MakeShape(1, 16, 13, 13, 16, 3, 1, 1, 0),
      MakeShape(2, 16, 13, 11, 20, 3, 3, 3, 1),  // stride 3: steps known only at run time
      MakeShape(2, 17, 28, 28, 48, 1, 1, 1, 0),  // 1x1 over 784 pixels: cut into rows of 196
      MakeShape(3, 16, 2, 1, 16, 3, 3, 2, 1),    // rows narrower than the kernel
      MakeShape(1, 17, 3, 150, 16, 3, 3, 1, 1),  // rows of 150: three 64-pixel zero-mask words
      MakeShape(2, 300, 5, 6, 40, 1, 1, 1, 0),   // 1x1 summing 19 input blocks in three slices
      MakeShape(2, 40, 7, 7, 72, 3, 3, 1, 1),    // rows of 7: 7-pixel x 4-block tiles
      MakeShape(1, 72, 14, 13, 40, 3, 3, 2, 1),  // the same backward by input, phases of 7 and 6
  };
  // Under emulation (--config=aarch64 sets SPARSETRAIN_TEST_EMULATED) the two shapes of more than
  // 4M products take most of a suite's minutes; what they exercise, long rows and four channel
  // blocks, the rows of 150 and the 40 -> 72 channel layers exercise too.
  const char* emulated = std::getenv("SPARSETRAIN_TEST_EMULATED");
  if (emulated != nullptr && *emulated != '\0') {
    shapes.erase(std::remove_if(shapes.begin(), shapes.end(),
                                [](const ConvShape& s) {
                                  return s.n * s.k * s.c * s.p() * s.q() * s.r * s.s > (4 << 20);
                                }),
                 shapes.end());
  }
  return shapes;
}

ConvTester::ConvTester(const ConvShape& shape, double zeros, uint32_t seed) : s_(shape) {
  std::mt19937 rng(seed);
  x_ = RandomTensor(s_.input().count(), zeros, rng);
  w_ = RandomTensor(s_.weights().count(), 0.0, rng);
  bias_ = RandomTensor(s_.k, 0.0, rng);
  dy_ = RandomTensor(s_.output().count(), zeros, rng);
}

std::vector<float> ConvTester::Blocked(const std::vector<float>& nchw, Dims dims,
                                       Layout layout) const {
  std::vector<float> out(StorageFloats(dims, layout));
  const Status status = Reorder(nchw.data(), Layout::kNCHW, out.data(), layout, dims);
  EXPECT_TRUE(status.ok()) << status.message();
  return out;
}

std::vector<float> ConvTester::Unblocked(const std::vector<float>& blocked, Dims dims,
                                         Layout layout) const {
  std::vector<float> out(dims.count());
  const Status status = Reorder(blocked.data(), layout, out.data(), Layout::kNCHW, dims);
  EXPECT_TRUE(status.ok()) << status.message();
  // Re-blocking the result must reproduce the kernel's output exactly, padding zeros included.
  EXPECT_EQ(Blocked(out, dims, layout), blocked) << "channel padding is not zero";
  return out;
}

namespace {

// The workspace a pass asks for, then a guard band the kernel must not write.
class GuardedWorkspace {
 public:
  GuardedWorkspace(const ConvFamily& family, Pass pass, const ConvShape& s, pthreadpool_t pool)
      : floats_(family.workspace_floats(pass, s, ThreadCount(pool))),
        storage_(size_t(floats_ + kGuard), kSentinel) {}
  Workspace get() { return {storage_.data(), floats_}; }
  void ExpectGuardIntact() const {
    for (int64_t i = floats_; i < floats_ + kGuard; ++i) {
      ASSERT_EQ(storage_[size_t(i)], kSentinel) << "workspace overrun at float " << i - floats_;
    }
  }

 private:
  static constexpr int64_t kGuard = 256;
  static constexpr float kSentinel = -12345.0f;
  int64_t floats_;
  AlignedFloats storage_;
};

}  // namespace

void ConvTester::CheckForward(const ConvFamily& family, pthreadpool_t pool) {
  std::vector<float> want(s_.output().count()), abs_sum(want.size());
  reference::ConvForward(s_, x_.data(), w_.data(), bias_.data(), want.data(), abs_sum.data());
  const std::vector<float> x = Blocked(x_, s_.input(), Layout::kNChw16c);
  const std::vector<float> w = Blocked(w_, s_.weights(), Layout::kOIhw16i16o);
  std::vector<float> y(StorageFloats(s_.output(), Layout::kNChw16c), NAN);
  GuardedWorkspace workspace(family, Pass::kForward, s_, pool);
  const Status status =
      family.forward(s_, x.data(), w.data(), bias_.data(), y.data(), workspace.get(), pool);
  target_ran_ = LastTargetRan();
  ASSERT_TRUE(status.ok()) << status.message();
  workspace.ExpectGuardIntact();
  ExpectClose(Unblocked(y, s_.output(), Layout::kNChw16c), want, abs_sum, s_.c * s_.r * s_.s + 1,
              "forward " + ProblemDescriptor(s_));
}

void ConvTester::CheckBackwardData(const ConvFamily& family, pthreadpool_t pool) {
  std::vector<float> want(s_.input().count()), abs_sum(want.size());
  reference::ConvBackwardData(s_, dy_.data(), w_.data(), want.data(), abs_sum.data());
  const std::vector<float> dy = Blocked(dy_, s_.output(), Layout::kNChw16c);
  const std::vector<float> w = Blocked(w_, s_.weights(), Layout::kIOhw16o16i);
  std::vector<float> dx(StorageFloats(s_.input(), Layout::kNChw16c), NAN);
  GuardedWorkspace workspace(family, Pass::kBackwardData, s_, pool);
  const Status status =
      family.backward_data(s_, dy.data(), w.data(), dx.data(), workspace.get(), pool);
  target_ran_ = LastTargetRan();
  ASSERT_TRUE(status.ok()) << status.message();
  workspace.ExpectGuardIntact();
  ExpectClose(Unblocked(dx, s_.input(), Layout::kNChw16c), want, abs_sum, s_.k * s_.r * s_.s,
              "backward data " + ProblemDescriptor(s_));
}

void ConvTester::CheckBackwardWeights(const ConvFamily& family, pthreadpool_t pool,
                                      WeightsWalk walk) {
  std::vector<float> want(s_.weights().count()), abs_sum(want.size());
  std::vector<float> want_bias(s_.k), bias_abs(s_.k);
  reference::ConvBackwardWeights(s_, x_.data(), dy_.data(), want.data(), want_bias.data(),
                                 abs_sum.data(), bias_abs.data());
  const std::vector<float> x = Blocked(x_, s_.input(), Layout::kNChw16c);
  const std::vector<float> dy = Blocked(dy_, s_.output(), Layout::kNChw16c);
  std::vector<float> dw(StorageFloats(s_.weights(), Layout::kOIhw16i16o), NAN);
  std::vector<float> dbias(s_.k, NAN);
  GuardedWorkspace workspace(family, Pass::kBackwardWeights, s_, pool);
  const Status status = family.backward_weights(s_, x.data(), dy.data(), dw.data(), dbias.data(),
                                                walk, workspace.get(), pool);
  target_ran_ = LastTargetRan();
  ASSERT_TRUE(status.ok()) << status.message();
  workspace.ExpectGuardIntact();
  const int64_t terms = s_.n * s_.p() * s_.q();
  ExpectClose(Unblocked(dw, s_.weights(), Layout::kOIhw16i16o), want, abs_sum, terms,
              "backward weights " + ProblemDescriptor(s_));
  ExpectClose(dbias, want_bias, bias_abs, terms, "bias gradient " + ProblemDescriptor(s_));
}

void ExpectShortWorkspaceRefused(const ConvFamily& family) {
  const ConvShape s = MakeShape(2, 16, 6, 6, 16, 1, 1, 2, 0);  // strided 1x1: needs scratch
  AlignedFloats x(4096), w(4096), bias(16), y(4096), dy(4096), dw(4096);
  for (Pass pass : {Pass::kForward, Pass::kBackwardData, Pass::kBackwardWeights}) {
    const int64_t needed = family.workspace_floats(pass, s, 1);
    ASSERT_GT(needed, 0);
    AlignedFloats scratch(static_cast<size_t>(needed));
    const Workspace short_by_one{scratch.data(), needed - 1};
    Status status;
    if (pass == Pass::kForward) {
      status = family.forward(s, x.data(), w.data(), bias.data(), y.data(), short_by_one, nullptr);
    } else if (pass == Pass::kBackwardData) {
      status = family.backward_data(s, dy.data(), w.data(), x.data(), short_by_one, nullptr);
    } else {
      for (WeightsWalk walk : {WeightsWalk::kSkipDy, WeightsWalk::kSkipX}) {
        status = family.backward_weights(s, x.data(), dy.data(), dw.data(), nullptr, walk,
                                         short_by_one, nullptr);
        EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << int(walk);
      }
    }
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument)
        << PassName(pass) << " " << ProblemDescriptor(s);
    EXPECT_NE(status.message().find("workspace"), std::string::npos) << status.message();
  }
}

void ExpectClose(const std::vector<float>& got, const std::vector<float>& want,
                 const std::vector<float>& abs_sum, int64_t terms, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  // Summing `terms` float products errs by at most about terms * u * sum |products|.
  constexpr double kUnitRoundoff = 1.0 / (1 << 24);
  const double per_term = kUnitRoundoff * double(terms + 2);
  double diff2 = 0, want2 = 0;
  int64_t reported = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(double(got[i]) - double(want[i]));
    const double bound = per_term * abs_sum[i] + 1e-30;
    if (!(err <= bound) && reported++ < 5) {
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", want " << want[i]
                    << " (error " << err << " > bound " << bound << ")";
    }
    diff2 += err * err;
    want2 += double(want[i]) * want[i];
  }
  EXPECT_EQ(reported, 0) << what << ": " << reported << " elements out of bounds";
  EXPECT_LE(std::sqrt(diff2), 1e-5 * std::sqrt(want2) + 1e-30) << what << ": normwise error";
}

}  // namespace sparsetrain
