#include "kernels/conv_choice.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sparsetrain {
namespace {

ConvShape Shape(int64_t r) {
  ConvShape s;
  s.n = 4, s.c = s.k = 256, s.h = s.w = 28, s.r = s.s = r, s.pad_h = s.pad_w = r / 2;
  return s;
}

constexpr Pass kPasses[] = {Pass::kForward, Pass::kBackwardData, Pass::kBackwardWeights};

TEST(ConvChoiceTest, DenseWithoutZerosAndSparseFor3x3WhenAllZero) {
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
    for (Pass pass : kPasses) {
      SCOPED_TRACE(::testing::Message() << IsaName(isa) << " " << PassName(pass));
      for (int64_t r : {1, 3}) {
        EXPECT_EQ(ChooseConvKernel(pass, Shape(r), 0.0, isa), ConvKernel::kDense) << r;
        EXPECT_GT(PredictedSparseRatio(pass, Shape(r), 0.0, isa), 1.0) << r;
      }
      EXPECT_EQ(ChooseConvKernel(pass, Shape(3), 1.0, isa), ConvKernel::kSparse);
    }
  }
}

TEST(ConvChoiceTest, EachShapeFollowsTheCurveOfTheWalkItRuns) {
  // With stride 2 the sparse forward and backward-by-input walk tiles, as for a 5x5 kernel, not
  // the sliding walk the 3x3 curve measured; backward-by-weights runs three-column tiles either
  // way. 1x1 kernels walk pixels, their backward-by-weights one-column tiles.
  ConvShape strided = Shape(3), wide = Shape(5), strided_pointwise = Shape(1);
  strided.stride_h = strided.stride_w = 2;
  strided_pointwise.stride_h = strided_pointwise.stride_w = 2;
  EXPECT_EQ(SparseWalkClass(Pass::kForward, Shape(3)), WalkClass::kThreeColumns);
  EXPECT_EQ(SparseWalkClass(Pass::kForward, strided), WalkClass::kOther);
  EXPECT_EQ(SparseWalkClass(Pass::kBackwardData, strided), WalkClass::kOther);
  EXPECT_EQ(SparseWalkClass(Pass::kBackwardWeights, strided), WalkClass::kThreeColumns);
  EXPECT_EQ(SparseWalkClass(Pass::kForward, Shape(1)), WalkClass::kPointwise);
  EXPECT_EQ(SparseWalkClass(Pass::kBackwardData, strided_pointwise), WalkClass::kPointwise);
  EXPECT_EQ(SparseWalkClass(Pass::kBackwardWeights, Shape(1)), WalkClass::kOther);
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
    for (Pass pass : kPasses) {
      SCOPED_TRACE(::testing::Message() << IsaName(isa) << " " << PassName(pass));
      const ConvShape& like = pass == Pass::kBackwardWeights ? Shape(3) : wide;
      for (double zeros : {0.0, 0.5, 0.9}) {
        EXPECT_EQ(PredictedSparseRatio(pass, strided, zeros, isa),
                  PredictedSparseRatio(pass, like, zeros, isa));
      }
    }
  }
  // On AVX2 the pointwise walk is calibrated on its own, and cheaper than the tile walks.
  EXPECT_LT(PredictedSparseRatio(Pass::kForward, Shape(1), 0.5, Isa::kAvx2),
            PredictedSparseRatio(Pass::kForward, strided, 0.5, Isa::kAvx2));
}

TEST(ConvChoiceTest, BackwardWeightsStaysDenseWithAPartialInputBlock) {
  ConvShape first_layer = Shape(3);
  first_layer.c = 3;
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
    EXPECT_EQ(ChooseConvKernel(Pass::kBackwardWeights, first_layer, 0.95, isa), ConvKernel::kDense);
    EXPECT_EQ(ChooseConvKernel(Pass::kForward, first_layer, 0.95, isa), ConvKernel::kSparse);
  }
}

TEST(ConvChoiceTest, SelectorProbesBothKernelsThenCorrectsThePrediction) {
  const ConvShape shape = Shape(3);
  const double zeros = 0.9;
  ASSERT_EQ(ChooseConvKernel(Pass::kForward, shape, zeros, Isa::kAvx512), ConvKernel::kSparse);
  const double predicted = PredictedSparseRatio(Pass::kForward, shape, zeros, Isa::kAvx512);
  for (double measured_ratio : {3.0, 0.25}) {
    ConvKernelSelector selector;
    for (int i = 0; i < 8; ++i) {
      const ConvKernel k = selector.Choose(Pass::kForward, shape, zeros, Isa::kAvx512);
      EXPECT_EQ(k, i % 2 == 0 ? ConvKernel::kDense : ConvKernel::kSparse) << i;
      EXPECT_EQ(selector.reason().basis, ChoiceBasis::kProbing);
      EXPECT_EQ(selector.reason().predicted, predicted);
      // The first call of each kernel is a warm-up: its (slow) time must not count.
      const double ms = i < 2 ? 100.0 : k == ConvKernel::kDense ? 1.0 + 0.1 * i : measured_ratio;
      selector.Record(k, ms);
    }
    EXPECT_NEAR(selector.correction(), measured_ratio / 1.2 / predicted,
                1e-9);  // fastest dense: 1.2
    // Slower than dense where measured: dense from now on; faster: sparse.
    EXPECT_EQ(selector.Choose(Pass::kForward, shape, zeros, Isa::kAvx512),
              measured_ratio > 1.0 ? ConvKernel::kDense : ConvKernel::kSparse);
    // The reason names what the choice went by: the best probe times and the correction.
    const ChoiceReason& reason = selector.reason();
    EXPECT_EQ(reason.basis, ChoiceBasis::kPrediction);
    EXPECT_EQ(reason.dense_ms, 1.2);
    EXPECT_EQ(reason.sparse_ms, measured_ratio);
    EXPECT_EQ(reason.correction, selector.correction());
  }
  // Passes the sparse kernel does not suit are never probed.
  ConvShape first_layer = shape;
  first_layer.c = 1;
  ConvKernelSelector selector;
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(selector.Choose(Pass::kBackwardWeights, first_layer, 0.99, Isa::kAvx512),
              ConvKernel::kDense);
    EXPECT_EQ(selector.reason().basis, ChoiceBasis::kUnsuited);
  }
}

TEST(ConvChoiceTest, SelectorProbesAgainAndAdoptsTheNewMeasurement) {
  const ConvShape shape = Shape(3);
  const double zeros = 0.9;
  ConvKernelSelector selector;
  // One round of probes: 8 calls alternating the kernels, the first two warm-ups.
  auto probe = [&](double dense_ms, double sparse_ms) {
    for (int i = 0; i < 8; ++i) {
      const ConvKernel k = selector.Choose(Pass::kForward, shape, zeros, Isa::kAvx512);
      ASSERT_EQ(selector.reason().basis, ChoiceBasis::kProbing) << i;
      selector.Record(k, k == ConvKernel::kDense ? dense_ms : sparse_ms);
    }
  };
  probe(1.0, 4.0);  // a misjudged first measurement: sparse looks 4x slower
  for (int i = 0; i < ConvKernelSelector::kReprobeEvery; ++i) {
    ASSERT_EQ(selector.Choose(Pass::kForward, shape, zeros, Isa::kAvx512), ConvKernel::kDense) << i;
    ASSERT_EQ(selector.reason().basis, ChoiceBasis::kPrediction) << i;
  }
  probe(1.0, 0.3);  // the next probes measure sparse faster
  EXPECT_NEAR(selector.correction(),
              0.3 / PredictedSparseRatio(Pass::kForward, shape, zeros, Isa::kAvx512), 1e-9);
  EXPECT_EQ(selector.Choose(Pass::kForward, shape, zeros, Isa::kAvx512), ConvKernel::kSparse);
  EXPECT_EQ(selector.reason().basis, ChoiceBasis::kPrediction);
}

TEST(ConvChoiceTest, SparseIsChosenOnlyWherePredictedFaster) {
  for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
    for (Pass pass : kPasses) {
      for (int64_t r : {1, 3}) {
        for (double zeros = 0.0; zeros <= 1.0; zeros += 0.05) {
          if (ChooseConvKernel(pass, Shape(r), zeros, isa) == ConvKernel::kSparse) {
            EXPECT_LT(PredictedSparseRatio(pass, Shape(r), zeros, isa), 1.0);
          }
        }
      }
    }
  }
}

TEST(ConvChoiceTest, UncalibratedIsasStayDense) {
  for (Isa isa : {Isa::kSse4, Isa::kScalar}) {
    for (Pass pass : kPasses) {
      EXPECT_EQ(ChooseConvKernel(pass, Shape(3), 1.0, isa), ConvKernel::kDense);
      EXPECT_TRUE(std::isinf(PredictedSparseRatio(pass, Shape(3), 0.5, isa)));
    }
  }
}

TEST(ConvChoiceTest, PredictionInterpolatesBetweenCalibrationPoints) {
  for (Pass pass : kPasses) {
    const double at_80 = PredictedSparseRatio(pass, Shape(3), 0.8, Isa::kAvx512);
    const double at_90 = PredictedSparseRatio(pass, Shape(3), 0.9, Isa::kAvx512);
    const double at_85 = PredictedSparseRatio(pass, Shape(3), 0.85, Isa::kAvx512);
    EXPECT_NEAR(at_85, (at_80 + at_90) / 2, 1e-12) << PassName(pass);
    // Out-of-range fractions clamp to the ends of the curve.
    EXPECT_EQ(PredictedSparseRatio(pass, Shape(3), -0.5, Isa::kAvx512),
              PredictedSparseRatio(pass, Shape(3), 0.0, Isa::kAvx512));
    EXPECT_EQ(PredictedSparseRatio(pass, Shape(3), 1.5, Isa::kAvx512),
              PredictedSparseRatio(pass, Shape(3), 1.0, Isa::kAvx512));
  }
}

TEST(ConvChoiceTest, SkippedOperandIsXForwardDyBackwardDataAndTheSparserForWeights) {
  const ConvShape s = Shape(3);
  EXPECT_EQ(SkippedOperandZeros(Pass::kForward, s, 0.3, 0.9), 0.3);
  EXPECT_EQ(SkippedOperandZeros(Pass::kBackwardData, s, 0.3, 0.9), 0.9);
  EXPECT_EQ(SkippedOperandZeros(Pass::kBackwardData, s, 0.9, 0.3), 0.3);
  EXPECT_EQ(SkippedOperandZeros(Pass::kBackwardWeights, s, 0.3, 0.9), 0.9);
  EXPECT_EQ(ChooseWeightsWalk(s, 0.3, 0.9), WeightsWalk::kSkipDy);
  // Batch norm between the convolution and its ReLU: dy dense, x sparse.
  EXPECT_EQ(SkippedOperandZeros(Pass::kBackwardWeights, s, 0.5, 0.0), 0.5);
  EXPECT_EQ(ChooseWeightsWalk(s, 0.5, 0.0), WeightsWalk::kSkipX);
  // Zeros not counted (-1) never win.
  EXPECT_EQ(ChooseWeightsWalk(s, -1.0, 0.2), WeightsWalk::kSkipDy);
}

TEST(ConvChoiceTest, StridedKernelsWithPaddingOrTapsWalkDyOnly) {
  ConvShape strided = Shape(3);
  strided.stride_h = strided.stride_w = 2;
  EXPECT_EQ(ChooseWeightsWalk(strided, 0.9, 0.0), WeightsWalk::kSkipDy);
  EXPECT_EQ(SkippedOperandZeros(Pass::kBackwardWeights, strided, 0.9, 0.0), 0.0);
  ConvShape pointwise = Shape(1);
  pointwise.stride_h = pointwise.stride_w = 2;  // x is subsampled first
  EXPECT_EQ(ChooseWeightsWalk(pointwise, 0.9, 0.0), WeightsWalk::kSkipX);
}

}  // namespace
}  // namespace sparsetrain
