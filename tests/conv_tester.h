// Checks a convolution kernel (any pass) against the reference oracle: random data with a chosen
// fraction of exact zeros, converted to the kernels' blocked layouts, the kernel's result
// converted back and compared element by element and normwise.
#ifndef SPARSETRAIN_TESTS_CONV_TESTER_H_
#define SPARSETRAIN_TESTS_CONV_TESTER_H_

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/conv_family.h"
#include "kernels/conv_shape.h"
#include "kernels/layout.h"
#include "kernels/reorder.h"
#include "tests/conv_reference.h"
#include "tests/per_target_test.h"

namespace sparsetrain {

ConvShape MakeShape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s,
                    int64_t stride, int64_t pad);

// Shapes every convolution kernel is tested on: odd and tiny sizes, channel counts that are not
// a multiple of 16, strides 1 to 3, padding 0 to 2, 1x1 to 7x7 kernels, batch 1 to 5.
std::vector<ConvShape> AwkwardShapes();

class ConvTester {
 public:
  // `zeros`: fraction of the sparse operand's elements (x for forward and backward-by-weights,
  // dy for backward-by-input and backward-by-weights) that are exactly zero.
  ConvTester(const ConvShape& shape, double zeros, uint32_t seed);

  // Each runs the family's pass with exactly the workspace its query asks for (followed by a
  // guard band that must stay untouched) and compares the result with the reference.
  void CheckForward(const ConvFamily& family, pthreadpool_t pool);
  void CheckBackwardData(const ConvFamily& family, pthreadpool_t pool);
  // `walk`: the operand a sparse family skips (sparse_walk.h).
  void CheckBackwardWeights(const ConvFamily& family, pthreadpool_t pool,
                            WeightsWalk walk = WeightsWalk::kSkipDy);

  // The target the most recent Check's kernel call reported (the checks run other kernels after).
  int64_t target_ran() const { return target_ran_; }

 private:
  std::vector<float> Blocked(const std::vector<float>& nchw, Dims dims, Layout layout) const;
  // Converts `blocked` back to NCHW, checking its channel padding holds zeros.
  std::vector<float> Unblocked(const std::vector<float>& blocked, Dims dims, Layout layout) const;

  ConvShape s_;
  std::vector<float> x_, w_, bias_, dy_;  // NCHW / KCRS
  int64_t target_ran_ = 0;
};

// Asserts that each pass of `family` refuses a workspace one float short of what it asks for.
void ExpectShortWorkspaceRefused(const ConvFamily& family);

// A per-target suite with a 2-thread pool: cases alternate between the pool and the calling
// thread alone, so both paths of every kernel run.
class ConvKernelTest : public PerTargetPoolTest {
 protected:
  // Runs check(tester, pool) on every awkward shape at every zero fraction, alternating pools,
  // and asserts each kernel call ran on the target under test (ConvTileTarget's for the tiles).
  template <class Check>
  void ForEachCase(const std::vector<double>& sparsities, uint32_t seed, const Check& check) {
    ForEachCase(sparsities, seed, check, [](const ConvShape&) { return true; });
  }
  // The same on the shapes for which takes(shape) holds.
  template <class Check, class Takes>
  void ForEachCase(const std::vector<double>& sparsities, uint32_t seed, const Check& check,
                   const Takes& takes) {
    size_t i = 0;
    for (const ConvShape& shape : AwkwardShapes()) {
      if (!takes(shape)) continue;
      for (double zeros : sparsities) {
        SCOPED_TRACE(::testing::Message() << ProblemDescriptor(shape) << " zeros " << zeros);
        ConvTester tester(shape, zeros, seed + uint32_t(i));
        check(tester, i++ % 2 == 0 ? pool_ : nullptr);
        ExpectConvRanOnTarget(tester.target_ran());
      }
    }
  }
};

// Asserts |got - want| <= bound per element, with bound proportional to the sum of the absolute
// products behind it, and ||got - want|| / ||want|| <= 1e-5.
void ExpectClose(const std::vector<float>& got, const std::vector<float>& want,
                 const std::vector<float>& abs_sum, int64_t terms, const std::string& what);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_TESTS_CONV_TESTER_H_
