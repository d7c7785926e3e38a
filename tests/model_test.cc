// The training runtime's behaviour: building, training, freezing, checkpoints and bad input.
#include "runtime/model_builder.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/activation.h"
#include "kernels/isa.h"
#include "runtime/loss.h"
#include "runtime/memory_plan.h"
#include "runtime/verbose.h"

namespace sparsetrain {
namespace {

ModelBuilder SmallCnn() {
  ModelBuilder b(1, 12, 12);
  b.Conv2d(8, 3).BatchNorm().Relu().MaxPool(2, 2);
  b.BeginResidual().Conv2d(8, 3).Relu().Conv2d(8, 3).EndResidual().Relu();
  b.Conv2d(16, 3, 2).Relu().Flatten().Dropout(0.1f).Linear(5);
  return b;
}

struct Batch {
  std::vector<float> images;
  std::vector<int32_t> labels;
  int64_t n;
};

// Images whose class sets a bright square's position, so a small CNN can learn them.
Batch MakeBatch(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> noise(0.0f, 0.2f);
  Batch b{std::vector<float>(size_t(n * 144)), std::vector<int32_t>(size_t(n)), n};
  for (int64_t i = 0; i < n; ++i) {
    const int32_t label = int32_t(rng() % 5);
    b.labels[i] = label;
    for (int64_t p = 0; p < 144; ++p) b.images[i * 144 + p] = noise(rng) < 0.1f ? 0.0f : noise(rng);
    for (int64_t y = 0; y < 4; ++y) {
      for (int64_t x = 0; x < 4; ++x) b.images[i * 144 + (label + y) * 12 + label * 2 + x] = 1.0f;
    }
  }
  return b;
}

std::unique_ptr<Model> Build(ModelBuilder builder, uint64_t seed = 1) {
  std::unique_ptr<Model> model;
  Status status = builder.Build(seed, &model);
  EXPECT_TRUE(status.ok()) << status.message();
  return model;
}

// Every parameter and buffer, in PyTorch order.
std::vector<std::vector<float>> State(const Model& model) {
  std::vector<std::vector<float>> state;
  for (Parameter* p : model.Parameters()) {
    std::vector<float> v(size_t(p->value.dims().count()));
    EXPECT_TRUE(p->value.CopyTo(v.data(), Layout::kNCHW).ok());
    state.push_back(v);
  }
  return state;
}

// A builder of a 1x8x8 input, what is added to it, and how Build must refuse it.
struct BuildCase {
  const char* what;
  std::function<void(ModelBuilder&)> add;
  StatusCode code;
  const char* message;  // a part of the error message
};

template <size_t kCount>
void ExpectBuildsFail(const BuildCase (&cases)[kCount]) {
  for (const BuildCase& c : cases) {
    ModelBuilder b(1, 8, 8);
    c.add(b);
    std::unique_ptr<Model> model;
    const Status s = b.Build(1, &model);
    EXPECT_EQ(s.code(), c.code) << c.what << ": " << s.message();
    EXPECT_NE(s.message().find(c.message), std::string::npos) << c.what << ": " << s.message();
    EXPECT_EQ(model, nullptr) << c.what;
  }
}

std::string TempPath(const std::string& name) { return testing::TempDir() + name; }

TEST(ModelTest, TrainingLowersTheLoss) {
  auto model = Build(SmallCnn());
  pthreadpool_t pool = pthreadpool_create(2);
  model->set_pool(pool);
  const Batch batch = MakeBatch(32, 1);
  StepResult first, last;
  for (int step = 0; step < 40; ++step) {
    StepResult r;
    ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), batch.n, &r).ok());
    if (step == 0) first = r;
    last = r;
  }
  EXPECT_LT(last.loss, 0.3 * first.loss);
  EXPECT_EQ(model->steps(), 40);
  StepResult eval;
  ASSERT_TRUE(model->EvalStep(batch.images.data(), batch.labels.data(), batch.n, &eval).ok());
  EXPECT_GE(eval.correct, 28);
  // Telemetry: every conv reports zero fractions and the kernels of its passes.
  for (const LayerReport& r : model->Telemetry()) {
    if (r.kind != "conv2d") continue;
    EXPECT_GE(r.telemetry.input_zeros, 0.0) << r.name;
    EXPECT_LE(r.telemetry.input_zeros, 1.0) << r.name;
    EXPECT_TRUE(r.telemetry.ran[int(Pass::kForward)]) << r.name;
  }
  // The ReLU before max pooling runs inside it.
  const std::vector<LayerReport> reports = model->Telemetry();
  EXPECT_EQ(reports[2].name, "pool1");
  EXPECT_EQ(reports[2].kind, "relu+maxpool2d");
  EXPECT_EQ(reports[1].kind, "batchnorm2d");
  const MemoryFootprint m = model->Memory();
  EXPECT_GT(m.parameter_bytes, 0);
  EXPECT_EQ(m.gradient_bytes, m.parameter_bytes - 2 * 16 * 4);  // BN running stats: no gradients
  EXPECT_EQ(m.optimizer_bytes, 2 * m.gradient_bytes);           // Adam: two moments
  pthreadpool_destroy(pool);
}

// The lines verbose mode printed that start with `prefix`.
std::vector<std::string> LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    if (line.compare(0, prefix.size(), prefix) == 0) lines.push_back(line);
    begin = end + 1;
  }
  return lines;
}

TEST(ModelTest, VerboseModeReportsEveryLayerPassAndTheChoiceReasoning) {
  std::unique_ptr<Model> model = Build(SmallCnn());
  const Batch batch = MakeBatch(4, 3);
  StepResult r;
  SetVerbose(2);
  testing::internal::CaptureStderr();
  const Status status = model->TrainStep(batch.images.data(), batch.labels.data(), batch.n, &r);
  const std::string text = testing::internal::GetCapturedStderr();
  SetVerbose(0);
  ASSERT_TRUE(status.ok()) << status.message();
  const std::string target = TargetName(ActiveTarget());
  // Every layer that ran a pass reports it, with its kind, the Highway target and its time; a
  // first layer needs no input gradient, so conv1 has no bwd_data line.
  for (const LayerReport& layer : model->Telemetry()) {
    for (Pass pass : {Pass::kForward, Pass::kBackwardData, Pass::kBackwardWeights}) {
      const std::string prefix =
          "sparsetrain," + layer.kind + "," + layer.name + "," + PassName(pass) + ",";
      const std::vector<std::string> lines = LinesStartingWith(text, prefix);
      ASSERT_EQ(lines.size(), layer.telemetry.ran[int(pass)] ? 1u : 0u) << prefix << "\n" << text;
      if (lines.empty()) continue;
      EXPECT_NE(lines[0].find("," + target + ",zeros="), std::string::npos) << lines[0];
      EXPECT_NE(lines[0].find(",ms="), std::string::npos) << lines[0];
    }
  }
  // Convolutions name their problem and kernel, and (level 2) why they chose it: the first call
  // of a pass probes.
  EXPECT_EQ(LinesStartingWith(text, "sparsetrain,conv2d,conv1,fwd,mb4ic1ih12oc8kh3sh1ph1,").size(),
            1u)
      << text;
  EXPECT_EQ(LinesStartingWith(text, "sparsetrain,relu,relu2,fwd,4x8x6x6,-,").size(), 1u) << text;
  EXPECT_EQ(LinesStartingWith(text, "sparsetrain,choice,conv2,fwd,probing,predicted=").size(), 1u)
      << text;
  EXPECT_EQ(LinesStartingWith(text, "sparsetrain,choice,").size(),
            LinesStartingWith(text, "sparsetrain,conv2d,").size());
}

TEST(ModelTest, PredictMatchesEvalLogitsAndIsDeterministic) {
  auto model = Build(SmallCnn());
  const Batch batch = MakeBatch(7, 2);
  std::vector<float> a(7 * 5), b(7 * 5);
  StepResult r;
  ASSERT_TRUE(model->EvalStep(batch.images.data(), batch.labels.data(), 7, &r, a.data()).ok());
  ASSERT_TRUE(model->Predict(batch.images.data(), 7, b.data()).ok());
  EXPECT_EQ(a, b);
  // The same seed builds the same model.
  auto twin = Build(SmallCnn());
  EXPECT_EQ(State(*model), State(*twin));
  EXPECT_NE(State(*model), State(*Build(SmallCnn(), 2)));
}

TEST(ModelTest, FlattenAfterGlobalPoolingIsTheIdentityBothWays) {
  // 20 channels: not a whole channel block, so a gradient in the wrong layout would show.
  const auto build = [](bool flatten) {
    ModelBuilder b(1, 12, 12);
    b.Conv2d(20, 3).Relu().GlobalAvgPool();
    if (flatten) b.Flatten();
    b.Linear(5, true, "fc1");
    return Build(std::move(b));
  };
  auto plain = build(false), flattened = build(true);
  const Batch batch = MakeBatch(8, 8);
  for (Model* m : {plain.get(), flattened.get()}) {
    m->set_policy(KernelPolicy::kDense);
    StepResult r;
    ASSERT_TRUE(m->TrainStep(batch.images.data(), batch.labels.data(), 8, &r).ok());
  }
  EXPECT_EQ(State(*plain), State(*flattened));
}

// A network whose tensors feed several layers: "a" feeds conv2, conv3 and the last addition.
// Smooth activations: a ReLU's kink near a finite-difference step would blur the check.
ModelBuilder BranchingNet() {
  ActivationFunction silu;
  silu.kind = ActivationKind::kSilu;
  ModelBuilder b(2, 6, 6);
  b.Conv2d(4, 3).Activate(silu, "a");
  b.Conv2d(4, 3).From("a").Conv2d(4, 1, 1, 0).Add("conv2", "conv3", "sum");
  b.Add("sum", "a", "join").Activate(silu).Flatten().Linear(3);
  return b;
}

// Trains one SGD step on a random batch and checks every 7th element of every parameter's
// gradient against central differences of the evaluation loss (the model must have no batch
// norm or dropout, so that both modes compute one function).
void ExpectGradientsOfFiniteDifferences(ModelBuilder builder,
                                        const std::function<void(Model&)>& prepare = nullptr) {
  auto model = Build(std::move(builder));
  ASSERT_NE(model, nullptr);
  if (prepare) prepare(*model);
  model->set_policy(KernelPolicy::kDense);
  OptimizerConfig sgd;
  sgd.kind = OptimizerKind::kSgd;
  sgd.momentum = 0.0;
  ASSERT_TRUE(model->SetOptimizer(sgd).ok());
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = 3;
  const Dims in = model->input_spec().dims;
  std::vector<float> images(size_t(n * in.c * in.h * in.w));
  for (float& v : images) v = normal(rng);
  std::vector<int32_t> labels;
  for (int64_t i = 0; i < n; ++i) labels.push_back(int32_t(i % model->classes()));
  const auto before = State(*model);
  StepResult r;
  ASSERT_TRUE(model->TrainStep(images.data(), labels.data(), n, &r).ok());
  const std::vector<Parameter*> params = model->Parameters();
  // Back to the parameters the gradients were taken at.
  for (size_t i = 0; i < params.size(); ++i) {
    ASSERT_TRUE(params[i]->value.CopyFrom(before[i].data(), Layout::kNCHW).ok());
    ++params[i]->version;
  }
  const auto loss_at = [&](Parameter* p, int64_t index, float value) {
    std::vector<float> v(size_t(p->value.dims().count()));
    EXPECT_TRUE(p->value.CopyTo(v.data(), Layout::kNCHW).ok());
    const float saved = v[index];
    v[index] = value;
    EXPECT_TRUE(p->value.CopyFrom(v.data(), Layout::kNCHW).ok());
    ++p->version;
    StepResult e;
    EXPECT_TRUE(model->EvalStep(images.data(), labels.data(), n, &e).ok());
    v[index] = saved;
    EXPECT_TRUE(p->value.CopyFrom(v.data(), Layout::kNCHW).ok());
    ++p->version;
    return e.loss;
  };
  int checked = 0;
  for (Parameter* p : params) {
    if (p->is_buffer || model->IsFrozen(*p)) continue;
    std::vector<float> value(size_t(p->value.dims().count())), grad(value.size());
    ASSERT_TRUE(p->value.CopyTo(value.data(), Layout::kNCHW).ok());
    ASSERT_TRUE(p->grad.CopyTo(grad.data(), Layout::kNCHW).ok());
    for (int64_t i = 0; i < int64_t(value.size()); i += 7) {
      const float h = 1e-3f;
      const double numeric =
          (loss_at(p, i, value[i] + h) - loss_at(p, i, value[i] - h)) / (2.0 * double(h));
      EXPECT_NEAR(grad[i], numeric, 2e-3 + 2e-2 * std::fabs(numeric)) << p->name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(ModelTest, BranchesAndSharedTensorsGetTheGradientsOfFiniteDifferences) {
  ExpectGradientsOfFiniteDifferences(BranchingNet());
}

TEST(ModelTest, ActivationsGetTheGradientsOfFiniteDifferences) {
  ActivationFunction clip, sigmoid, hard_sigmoid, hard_swish, silu;
  clip.lo = -0.5f, clip.hi = 0.5f;
  sigmoid.kind = ActivationKind::kSigmoid;
  hard_sigmoid.kind = ActivationKind::kHardSigmoid;
  hard_swish.kind = ActivationKind::kHardSwish;
  silu.kind = ActivationKind::kSilu;
  ModelBuilder b(2, 6, 6);
  b.Conv2d(4, 3).Relu6().Conv2d(5, 3).Activate(hard_swish).Conv2d(6, 1, 1, 0).Activate(silu);
  b.Conv2d(4, 3).Activate(sigmoid).Conv2d(4, 3).Activate(hard_sigmoid).Activate(clip);
  b.Flatten().Linear(3);
  ExpectGradientsOfFiniteDifferences(std::move(b));
}

TEST(ModelTest, DepthwiseConvolutionsGetTheGradientsOfFiniteDifferences) {
  // Smooth activations between them: a kink near a finite-difference step would blur the check.
  ActivationFunction silu;
  silu.kind = ActivationKind::kSilu;
  ModelBuilder b(3, 9, 9);
  b.Conv2d(20, 1, 1, 0).Activate(silu).DepthwiseConv2d(3, 2).Activate(silu);
  b.DepthwiseConv2d(5, 1, 2, false).Conv2d(4, 1, 1, 0).Flatten().Linear(3);
  ExpectGradientsOfFiniteDifferences(std::move(b));
}

TEST(ModelTest, SqueezeExcitationAndFireModulesGetTheGradientsOfFiniteDifferences) {
  ActivationFunction hard_sigmoid, silu;
  hard_sigmoid.kind = ActivationKind::kHardSigmoid;
  silu.kind = ActivationKind::kSilu;
  ModelBuilder b(3, 8, 8);
  b.Conv2d(20, 3).Activate(silu, "x");
  // Squeeze and excitation: pooled, squeezed, expanded, gated.
  b.AdaptiveAvgPool(1).Conv2d(6, 1, 1, 0).Activate(silu).Conv2d(20, 1, 1, 0).Activate(hard_sigmoid);
  b.Multiply("x", "", "excited");
  // A fire module: squeeze 1x1, then 1x1 and 3x3 expansions side by side, concatenated.
  b.Conv2d(5, 1, 1, 0).Activate(silu, "squeeze").Conv2d(7, 1, 1, 0, true, "e1");
  b.From("squeeze").Conv2d(9, 3, 1, 1, true, "e3").Concat({"e1", "e3", "excited"});
  b.Conv2d(4, 1, 1, 0).Flatten().Linear(3);
  ExpectGradientsOfFiniteDifferences(std::move(b));
}

TEST(ModelTest, PoolingInCeilModeAndAveragePoolingGetTheGradientsOfFiniteDifferences) {
  ModelBuilder b(2, 9, 9);
  b.Conv2d(4, 3).AvgPool(3, 2, 1, /*count_include_pad=*/false, /*ceil_mode=*/true);
  b.Conv2d(4, 3).AvgPool(2, 2, 0, true, true).Conv2d(4, 1, 1, 0).MaxPool(2, 2, 0, "", true);
  b.Flatten().Linear(3);
  ExpectGradientsOfFiniteDifferences(std::move(b));
  ModelBuilder sizes(1, 9, 9);
  sizes.MaxPool(2, 2, 0, "floor").From("input").MaxPool(2, 2, 0, "ceil", true);
  EXPECT_EQ(sizes.current().dims.h, 5);  // floor mode gives 4
  ModelBuilder adaptive(1, 9, 6);
  adaptive.AdaptiveAvgPool(3);
  EXPECT_EQ(adaptive.TakeError().code(), StatusCode::kShapeMismatch);  // not square
}

TEST(MemoryPlanTest, BuffersAliveTogetherNeverShareBytesAndTheOthersDo) {
  // Lifetimes of a chain: a and b overlap, c starts after a ends, d overlaps everything.
  const std::vector<BufferLifetime> buffers = {
      {0, 2, 100}, {1, 3, 200}, {3, 5, 100}, {0, 5, 10}, {6, 7, 300}};
  int64_t arena = 0;
  const std::vector<int64_t> at = PlaceBuffers(buffers, 64, &arena);
  for (size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(at[i] % 64, 0) << i;
    EXPECT_LE(at[i] + buffers[i].bytes, arena) << i;
    for (size_t j = 0; j < i; ++j) {
      const bool together =
          buffers[i].first <= buffers[j].last && buffers[j].first <= buffers[i].last;
      const bool disjoint = at[i] + buffers[i].bytes <= at[j] || at[j] + buffers[j].bytes <= at[i];
      if (together) EXPECT_TRUE(disjoint) << i << " and " << j;
    }
  }
  // The last buffer outlives nothing else: it reuses the bytes at offset 0; c reuses a's.
  // Largest first: b at 0, e after it in time at 0 too; a beside b at 256, c (after a) at 256
  // too; d beside all three at 384: 448 bytes where the buffers add up to 710 unshared.
  EXPECT_EQ(at[1], 0);
  EXPECT_EQ(at[4], 0);
  EXPECT_EQ(at[0], 256);
  EXPECT_EQ(at[2], 256);
  EXPECT_EQ(at[3], 384);
  EXPECT_EQ(arena, 448);
}

TEST(ModelTest, MemoryIsPlannedReluRunsInPlaceAndSmallerBatchesReuseThePlan) {
  // Six conv + ReLU pairs of one shape: each ReLU overwrites its convolution's output, and the
  // backward pass needs only a few gradients at a time.
  ModelBuilder b(16, 8, 8);
  for (int i = 0; i < 6; ++i) b.Conv2d(16, 3).Relu();
  b.Flatten().Linear(5);
  auto model = Build(std::move(b));
  model->set_policy(KernelPolicy::kDense);
  const int64_t batch = 4, buffer = batch * 16 * 8 * 8 * int64_t(sizeof(float));
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> images(size_t(batch * 16 * 64));
  for (float& v : images) v = normal(rng);
  const std::vector<int32_t> labels = {0, 1, 2, 3};
  StepResult r;
  ASSERT_TRUE(model->TrainStep(images.data(), labels.data(), batch, &r).ok());
  const std::vector<LayerReport> reports = model->Telemetry();
  const MemoryFootprint m = model->Memory();
  // Unplanned, the twelve outputs and twelve input gradients would each take a buffer. Planned:
  // six convolution inputs and the flattened features (which backward reads), the input batch,
  // and gradients that live from one backward to the next.
  EXPECT_LE(m.activation_bytes, 8 * buffer + 4096) << m.activation_bytes / buffer;
  EXPECT_LE(m.activation_gradient_bytes, 3 * buffer) << m.activation_gradient_bytes / buffer;
  EXPECT_GT(m.activation_gradient_bytes, 0);
  std::vector<float> eval_logits(size_t(batch * 5)), small_logits(10), predicted(size_t(batch * 5));
  ASSERT_TRUE(model->EvalStep(images.data(), labels.data(), batch, &r, eval_logits.data()).ok());
  // A smaller batch runs at the same offsets and gives the same rows.
  ASSERT_TRUE(model->Predict(images.data(), 2, small_logits.data()).ok());
  for (size_t i = 0; i < small_logits.size(); ++i) EXPECT_EQ(small_logits[i], eval_logits[i]) << i;
  // Training after evaluation binds the training plan again: the same step from the same state.
  ASSERT_TRUE(model->TrainStep(images.data(), labels.data(), batch, &r).ok());
  ASSERT_TRUE(model->Predict(images.data(), batch, predicted.data()).ok());
  EXPECT_NE(predicted, eval_logits);  // the step moved the parameters
}

TEST(ModelTest, GroupedConvolutionsGetTheGradientsOfFiniteDifferences) {
  ActivationFunction silu;
  silu.kind = ActivationKind::kSilu;
  ModelBuilder b(4, 7, 7);
  // 4 groups of 1 input and 2 outputs, then 2 groups of 4 and 3 (20 channels: a partial block).
  b.GroupedConv2d(8, 3, 4).Activate(silu).GroupedConv2d(6, 3, 2, 2, 1, false);
  b.Activate(silu).GroupedConv2d(20, 1, 2, 1, 0).Flatten().Linear(3);
  ExpectGradientsOfFiniteDifferences(std::move(b));
  ModelBuilder bad(6, 8, 8);
  bad.GroupedConv2d(8, 3, 4);  // 4 does not divide 6
  const Status s = bad.TakeError();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("4 groups do not divide 6"), std::string::npos) << s.message();
}

TEST(ModelTest, ActivationsAreNamedAndCountTheirZeros) {
  ActivationFunction clip;
  clip.lo = -1.0f, clip.hi = 2.0f;
  ModelBuilder b(1, 8, 8);
  b.Conv2d(4, 3).Relu6().Conv2d(4, 3).Activate(clip).Relu6().Flatten().Linear(5);
  auto model = Build(std::move(b));
  const Batch batch = MakeBatch(4, 9);
  StepResult r;
  ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 4, &r).ok());
  const std::vector<LayerReport> reports = model->Telemetry();
  EXPECT_EQ(reports[1].name, "relu6_1");
  EXPECT_EQ(reports[1].kind, "relu6");
  EXPECT_EQ(reports[3].name, "clip1");
  EXPECT_EQ(reports[4].name, "relu6_2");
  // Zero fractions are of the real channels: conv1 reads the images' 1 channel of 16 stored, so
  // its fraction is the images' own (the model reads 4 images of 8x8).
  const int64_t pixels = 4 * 8 * 8;
  const double image_zeros =
      double(std::count(batch.images.begin(), batch.images.begin() + pixels, 0.0f)) / pixels;
  EXPECT_EQ(reports[0].name, "conv1");
  EXPECT_DOUBLE_EQ(reports[0].telemetry.input_zeros, image_zeros);
  // conv2 sees relu6_1's zeros: some, but not the 12 padding channels of its 16 stored (>= 75%).
  EXPECT_GT(reports[2].telemetry.input_zeros, 0.0);
  EXPECT_LT(reports[2].telemetry.input_zeros, 0.75);
  ActivationFunction bad;
  bad.lo = 1.0f, bad.hi = 0.0f;
  ModelBuilder refused(1, 8, 8);
  refused.Activate(bad).Flatten().Linear(2);
  std::unique_ptr<Model> none;
  const Status s = refused.Build(1, &none);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("clip 'clip1'"), std::string::npos) << s.message();
}

TEST(ModelTest, BuilderRefusesUnknownTensorsUnreadOutputsAndJoinsThatDoNotFit) {
  const BuildCase cases[] = {
      {"unknown tensor", [](ModelBuilder& b) { b.Relu().From("nope").Flatten().Linear(2); },
       StatusCode::kInvalidArgument, "'nope'"},
      {"unknown addend", [](ModelBuilder& b) { b.Relu().Add("relu1", "nope"); },
       StatusCode::kInvalidArgument, "'nope'"},
      {"unread branch",
       [](ModelBuilder& b) { b.Conv2d(2, 3).From("input").Relu().Flatten().Linear(2); },
       StatusCode::kInvalidArgument, "'conv1' is read by no layer"},
      {"addends differ", [](ModelBuilder& b) { b.Conv2d(2, 3).Conv2d(3, 3).Add("conv1", "conv2"); },
       StatusCode::kShapeMismatch, "add 'add1'"},
      {"named input", [](ModelBuilder& b) { b.Relu("input"); }, StatusCode::kInvalidArgument,
       "'input'"},
      {"concat sizes differ",
       [](ModelBuilder& b) {
         b.MaxPool(2, 2, 0, "half").Concat({"input", "half"});
       },
       StatusCode::kShapeMismatch, "concat 'concat1'"},
      {"gate of another shape",
       [](ModelBuilder& b) {
         b.Conv2d(3, 1, 1, 0, true, "c").AdaptiveAvgPool(1).Multiply("input", "");
       },
       StatusCode::kShapeMismatch, "multiply 'mul1'"},
  };
  ExpectBuildsFail(cases);
}

TEST(ModelTest, ReluIsFusedIntoPoolingOnlyWhenNothingElseReadsIt) {
  ModelBuilder b(1, 8, 8);
  b.Conv2d(4, 3).Relu().MaxPool(2, 2).From("relu1").MaxPool(2, 2).Add("pool1", "pool2");
  b.Flatten().Linear(2);
  auto model = Build(std::move(b));
  ASSERT_NE(model, nullptr);
  std::vector<std::string> kinds;
  for (const LayerReport& r : model->Telemetry()) kinds.push_back(r.name + ":" + r.kind);
  // relu1 feeds two poolings, so it stays a layer of its own.
  EXPECT_EQ(kinds[1], "relu1:relu");
  EXPECT_EQ(kinds[2], "pool1:maxpool2d");
  ModelBuilder fused(1, 8, 8);
  fused.Conv2d(4, 3).Relu().MaxPool(2, 2).Flatten().Linear(2);
  model = Build(std::move(fused));
  EXPECT_EQ(model->Telemetry()[1].kind, "relu+maxpool2d");
}

TEST(ModelTest, DropoutActsInTrainingOnly) {
  ModelBuilder builder(1, 12, 12);
  builder.Flatten().Dropout(0.5f).Linear(5);
  auto model = Build(std::move(builder));
  const Batch batch = MakeBatch(8, 7);
  std::vector<float> eval_a(8 * 5), eval_b(8 * 5), train(8 * 5);
  ASSERT_TRUE(model->Predict(batch.images.data(), 8, eval_a.data()).ok());
  ASSERT_TRUE(model->Predict(batch.images.data(), 8, eval_b.data()).ok());
  EXPECT_EQ(eval_a, eval_b);
  StepResult r;
  ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 8, &r, train.data()).ok());
  EXPECT_NE(train, eval_a);  // half the features dropped, the rest doubled
  // Below the only trainable layer nothing runs backward.
  for (const LayerReport& rep : model->Telemetry()) {
    EXPECT_EQ(rep.telemetry.ran[int(Pass::kBackwardData)], false) << rep.name;
  }
}

TEST(ModelTest, FrozenLayersKeepTheirParametersAndSkipBackwardWork) {
  auto model = Build(SmallCnn());
  model->set_policy(KernelPolicy::kDense);
  ASSERT_TRUE(model->SetFrozen("conv1", true).ok());
  ASSERT_TRUE(model->SetFrozen("bn1", true).ok());
  ASSERT_TRUE(model->SetFrozen("block1", true).ok());
  EXPECT_EQ(model->SetFrozen("nope", true).code(), StatusCode::kInvalidArgument);
  const auto before = State(*model);
  const Batch batch = MakeBatch(8, 3);
  StepResult r;
  ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 8, &r).ok());
  const auto after = State(*model);
  const std::vector<Parameter*> params = model->Parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i]->name;
    // Frozen batch norm keeps its running statistics too.
    const bool frozen = name.rfind("conv1.", 0) == 0 || name.rfind("conv2.", 0) == 0 ||
                        name.rfind("conv3.", 0) == 0 || name.rfind("bn1.", 0) == 0;
    if (frozen) {
      EXPECT_EQ(after[i], before[i]) << name;
    } else {
      EXPECT_NE(after[i], before[i]) << name;
    }
  }
  // Nothing below conv4 (the first trainable layer) runs backward; conv4 skips its input gradient.
  for (const LayerReport& rep : model->Telemetry()) {
    const bool below = rep.name != "conv4" && rep.name != "relu4" && rep.name != "flatten1" &&
                       rep.name != "dropout1" && rep.name != "fc1";
    if (below) {
      EXPECT_FALSE(rep.telemetry.ran[int(Pass::kBackwardData)]) << rep.name;
      EXPECT_FALSE(rep.telemetry.ran[int(Pass::kBackwardWeights)]) << rep.name;
    }
    if (rep.name == "conv4") {
      EXPECT_TRUE(rep.telemetry.ran[int(Pass::kBackwardWeights)]);
      EXPECT_FALSE(rep.telemetry.ran[int(Pass::kBackwardData)]);
    }
  }
  // Unfrozen again, the whole network trains.
  ASSERT_TRUE(model->SetFrozen("block1", false).ok());
  ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 8, &r).ok());
  for (const LayerReport& rep : model->Telemetry()) {
    if (rep.name == "conv2") EXPECT_TRUE(rep.telemetry.ran[int(Pass::kBackwardWeights)]);
  }
}

// Frozen, batch norm normalises with its running statistics in training as in evaluation, and
// passes on the gradient of that fixed affine map.
TEST(ModelTest, FrozenBatchNormTrainsOnRunningStatistics) {
  ModelBuilder builder(1, 12, 12);
  builder.Conv2d(8, 3, 1, 1, false, "conv1").BatchNorm(1e-5, 0.1, "bn1").Relu();
  builder.GlobalAvgPool().Linear(5, true, "fc1");
  auto model = Build(std::move(builder));
  model->set_policy(KernelPolicy::kDense);
  const Batch batch = MakeBatch(8, 5);
  StepResult r;
  ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 8, &r).ok());
  ASSERT_TRUE(model->SetFrozen("bn", true).code() == StatusCode::kInvalidArgument);
  ASSERT_TRUE(model->SetFrozen("bn1", true).ok());
  std::vector<float> eval(8 * 5), train(8 * 5);
  ASSERT_TRUE(model->Predict(batch.images.data(), 8, eval.data()).ok());
  ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 8, &r, train.data()).ok());
  EXPECT_EQ(train, eval);
  // Unfrozen, the batch statistics of these images differ from the running ones.
  ASSERT_TRUE(model->SetFrozen("bn1", false).ok());
  ASSERT_TRUE(model->Predict(batch.images.data(), 8, eval.data()).ok());
  ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 8, &r, train.data()).ok());
  EXPECT_NE(train, eval);
}

TEST(ModelTest, FrozenBatchNormPassesTheGradientsOfFiniteDifferences) {
  ActivationFunction silu;  // smooth, so no finite difference straddles a kink
  silu.kind = ActivationKind::kSilu;
  ModelBuilder b(2, 6, 6);
  b.Conv2d(4, 3, 1, 1, true, "first").BatchNorm(1e-5, 0.1, "bn1").Activate(silu).Conv2d(5, 3);
  b.Flatten().Linear(3);
  ExpectGradientsOfFiniteDifferences(
      std::move(b), [](Model& model) { ASSERT_TRUE(model.SetFrozen("bn1", true).ok()); });
}

TEST(ModelTest, BadInputIsRefusedAndChangesNothing) {
  auto model = Build(SmallCnn());
  model->set_check_inputs(true);
  Batch batch = MakeBatch(4, 4);
  StepResult r;
  ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 4, &r).ok());
  const auto before = State(*model);
  batch.labels[2] = 5;
  Status s = model->TrainStep(batch.images.data(), batch.labels.data(), 4, &r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("label 5"), std::string::npos) << s.message();
  batch.labels[2] = -1;
  EXPECT_EQ(model->TrainStep(batch.images.data(), batch.labels.data(), 4, &r).code(),
            StatusCode::kInvalidArgument);
  batch.labels[2] = 0;
  EXPECT_EQ(model->TrainStep(nullptr, batch.labels.data(), 4, &r).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(model->TrainStep(batch.images.data(), nullptr, 4, &r).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(model->TrainStep(batch.images.data(), batch.labels.data(), 0, &r).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(model->Predict(batch.images.data(), -3, nullptr).code(), StatusCode::kInvalidArgument);
  batch.images[17] = NAN;
  s = model->TrainStep(batch.images.data(), batch.labels.data(), 4, &r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("not finite"), std::string::npos) << s.message();
  EXPECT_EQ(State(*model), before);
  EXPECT_EQ(model->steps(), 1);
}

TEST(ModelTest, BuilderReportsShapesThatDoNotFit) {
  const BuildCase cases[] = {
      {"conv on flat", [](ModelBuilder& b) { b.Flatten().Conv2d(4, 3).Linear(2); },
       StatusCode::kShapeMismatch, "conv1"},
      {"linear on 4-D", [](ModelBuilder& b) { b.Linear(2); }, StatusCode::kShapeMismatch,
       "flat input"},
      {"no classifier", [](ModelBuilder& b) { b.Conv2d(4, 3); }, StatusCode::kInvalidArgument,
       "linear"},
      {"kernel too big", [](ModelBuilder& b) { b.Conv2d(4, 9, 1, 0).Flatten().Linear(2); },
       StatusCode::kShapeMismatch, "larger"},
      {"bad kernel", [](ModelBuilder& b) { b.Conv2d(4, 0).Flatten().Linear(2); },
       StatusCode::kInvalidArgument, "kernel"},
      {"pool too big", [](ModelBuilder& b) { b.MaxPool(9, 1).Flatten().Linear(2); },
       StatusCode::kShapeMismatch, "pool1"},
      {"branches differ",
       [](ModelBuilder& b) { b.BeginResidual().Conv2d(4, 3).EndResidual().Flatten().Linear(2); },
       StatusCode::kShapeMismatch, "shortcut"},
      {"unended block", [](ModelBuilder& b) { b.BeginResidual().Relu(); },
       StatusCode::kInvalidArgument, "not ended"},
      {"stray end", [](ModelBuilder& b) { b.EndResidual(); }, StatusCode::kInvalidArgument,
       "EndResidual"},
      {"same name", [](ModelBuilder& b) { b.Relu("a").Relu("a"); }, StatusCode::kInvalidArgument,
       "'a'"},
      {"dropout 1", [](ModelBuilder& b) { b.Dropout(1.0f).Flatten().Linear(2); },
       StatusCode::kInvalidArgument, "dropout"},
  };
  ExpectBuildsFail(cases);
  EXPECT_EQ(ModelBuilder(0, 8, 8).Flatten().Linear(2).Build(1, nullptr).code(),
            StatusCode::kInvalidArgument);
}

TEST(ModelTest, CheckpointRestoresParametersOptimizerStateAndStep) {
  const Batch batch = MakeBatch(8, 5);
  auto model = Build(SmallCnn());
  model->set_policy(KernelPolicy::kDense);
  StepResult r;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 8, &r).ok());
  const std::string path = TempPath("model.safetensors");
  ASSERT_TRUE(model->SaveCheckpoint(path).ok());
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 8, &r).ok());

  auto restored = Build(SmallCnn(), 99);
  restored->set_policy(KernelPolicy::kDense);
  Status s = restored->LoadCheckpoint(path);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(restored->steps(), 3);
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(restored->TrainStep(batch.images.data(), batch.labels.data(), 8, &r).ok());
  EXPECT_EQ(State(*restored), State(*model));  // bit for bit: the Adam moments came back too
}

TEST(ModelTest, DamagedOrForeignCheckpointsAreRefusedAndChangeNothing) {
  auto model = Build(SmallCnn());
  const std::string good = TempPath("good.safetensors");
  ASSERT_TRUE(model->SaveCheckpoint(good).ok());
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto write = [](const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
    return path;
  };
  std::string flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x40;
  std::string bad_header = bytes;
  bad_header[10] = '#';
  const struct {
    std::string path;
    StatusCode code;
  } cases[] = {
      {TempPath("missing.safetensors"), StatusCode::kIoError},
      {write(TempPath("truncated.safetensors"), bytes.substr(0, bytes.size() / 2)),
       StatusCode::kCorruptData},
      {write(TempPath("short.safetensors"), bytes.substr(0, 5)), StatusCode::kCorruptData},
      {write(TempPath("flipped.safetensors"), flipped), StatusCode::kCorruptData},
      {write(TempPath("header.safetensors"), bad_header), StatusCode::kCorruptData},
  };
  auto other = Build(SmallCnn(), 7);
  const auto before = State(*other);
  for (const auto& c : cases) {
    const Status s = other->LoadCheckpoint(c.path);
    EXPECT_EQ(s.code(), c.code) << c.path << ": " << s.message();
    EXPECT_NE(s.message().find(c.path), std::string::npos) << s.message();
  }
  // A checkpoint of another architecture.
  ModelBuilder wider(1, 12, 12);
  wider.Conv2d(4, 3).Relu().Flatten().Linear(5);
  auto foreign = Build(std::move(wider));
  const std::string foreign_path = TempPath("foreign.safetensors");
  ASSERT_TRUE(foreign->SaveCheckpoint(foreign_path).ok());
  const Status s = other->LoadCheckpoint(foreign_path);
  EXPECT_EQ(s.code(), StatusCode::kShapeMismatch) << s.message();
  EXPECT_EQ(State(*other), before);
  EXPECT_EQ(other->steps(), 0);
  // Writing into a missing directory fails cleanly.
  EXPECT_EQ(model->SaveCheckpoint(TempPath("no/such/dir/model.safetensors")).code(),
            StatusCode::kIoError);
}

TEST(ModelTest, OptimizerSchedulesAndClipping) {
  OptimizerConfig c;
  c.lr = 0.1;
  c.schedule.kind = ScheduleKind::kStep;
  c.schedule.step_size = 10;
  c.schedule.gamma = 0.5;
  c.schedule.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(LearningRate(c, 0), 0.025);
  EXPECT_DOUBLE_EQ(LearningRate(c, 3), 0.1);
  EXPECT_DOUBLE_EQ(LearningRate(c, 9), 0.1);
  EXPECT_DOUBLE_EQ(LearningRate(c, 25), 0.025);
  c.schedule = Schedule();
  c.schedule.kind = ScheduleKind::kCosine;
  c.schedule.total_steps = 100;
  c.schedule.min_lr = 0.01;
  EXPECT_DOUBLE_EQ(LearningRate(c, 0), 0.1);
  EXPECT_NEAR(LearningRate(c, 50), 0.055, 1e-12);
  EXPECT_DOUBLE_EQ(LearningRate(c, 100), 0.01);
  EXPECT_DOUBLE_EQ(LearningRate(c, 500), 0.01);
  OptimizerConfig bad;
  bad.lr = -1;
  EXPECT_NE(Validate(bad).message().find("learning rate"), std::string::npos);

  // Plain SGD with clipping moves the parameters by exactly lr * clip_norm.
  auto model = Build(SmallCnn());
  OptimizerConfig sgd;
  sgd.kind = OptimizerKind::kSgd;
  sgd.momentum = 0.0;
  sgd.lr = 0.5;
  sgd.clip_norm = 1e-3;
  ASSERT_TRUE(model->SetOptimizer(sgd).ok());
  EXPECT_FALSE(model->SetOptimizer(bad).ok());
  const auto before = State(*model);
  const Batch batch = MakeBatch(8, 6);
  StepResult r;
  ASSERT_TRUE(model->TrainStep(batch.images.data(), batch.labels.data(), 8, &r).ok());
  EXPECT_GT(r.grad_norm, sgd.clip_norm);
  const auto after = State(*model);
  const std::vector<Parameter*> params = model->Parameters();
  double moved = 0.0;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i]->is_buffer) continue;
    for (size_t j = 0; j < after[i].size(); ++j)
      moved += std::pow(double(after[i][j]) - before[i][j], 2);
  }
  EXPECT_NEAR(std::sqrt(moved), sgd.lr * sgd.clip_norm, 1e-3 * sgd.lr * sgd.clip_norm);
}

// Three rows of four outputs, with labels and float targets, shared by the loss tests.
const std::vector<float> kOutputs = {1.0f, -2.0f, 0.5f, 3.0f, 30.0f, -30.0f,
                                     0.0f, 0.0f,  0.2f, 0.1f, -0.3f, 0.4f};
const std::vector<int32_t> kLabels = {2, 1, 3};
const std::vector<float> kTargets = {0.0f, 1.0f, 0.5f, 0.25f, 1.0f, 0.0f,
                                     0.0f, 1.0f, 0.3f, 0.7f,  0.0f, 1.0f};

// Each loss straight from its definition, in double: cross-entropy against the smoothed target
// distribution q = (1 - e) one_hot + e / K, weighted per class and normalised by the labels'
// weights, as PyTorch 1.13 computes it.
double ReferenceLoss(const LossConfig& config, const std::vector<float>& z) {
  double total = 0.0, norm = 0.0;
  for (int r = 0; r < 3; ++r) {
    const float* row = &z[size_t(r * 4)];
    if (config.kind == LossKind::kSoftmaxCrossEntropy) {
      double sum = 0.0;
      for (int k = 0; k < 4; ++k) sum += std::exp(double(row[k]));
      for (int k = 0; k < 4; ++k) {
        const double q =
            (1.0 - config.label_smoothing) * (k == kLabels[r]) + config.label_smoothing / 4.0;
        const double w = config.class_weights.empty() ? 1.0 : config.class_weights[size_t(k)];
        total += w * q * (std::log(sum) - row[k]);
      }
      norm += config.class_weights.empty() ? 1.0 : config.class_weights[size_t(kLabels[r])];
      continue;
    }
    for (int k = 0; k < 4; ++k) {
      const double x = row[k], t = kTargets[size_t(r * 4 + k)];
      const double s = 1.0 / (1.0 + std::exp(-x));
      total += config.kind == LossKind::kMeanSquaredError ? (x - t) * (x - t)
               : config.kind == LossKind::kL1             ? std::fabs(x - t)
                                              : -(t * std::log(s) + (1 - t) * std::log1p(-s));
      norm += 1.0;
    }
  }
  return total / norm;
}

TEST(LossTest, EveryLossMatchesItsDefinitionPyTorchAndFiniteDifferences) {
  LossConfig plain, smoothed, weighted, mse, l1, bce;
  smoothed.label_smoothing = 0.2;
  weighted.label_smoothing = 0.1;
  weighted.class_weights = {0.5f, 2.0f, 1.0f, 0.25f};
  mse.kind = LossKind::kMeanSquaredError;
  l1.kind = LossKind::kL1;
  bce.kind = LossKind::kBinaryCrossEntropyWithLogits;
  // What PyTorch 1.13 gives for the same outputs (float64): F.cross_entropy with weight and
  // label_smoothing, F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits.
  const struct {
    const LossConfig* config;
    double pytorch;  // < 0: not recorded
  } cases[] = {{&plain, -1},
               {&smoothed, 19.284801419002587},
               {&weighted, 35.420640364340024},
               {&mse, 146.69854166666664},
               {&l1, 5.695833333333333},
               {&bce, 0.8607545351465636}};
  for (const auto& c : cases) {
    const LossConfig& config = *c.config;
    SCOPED_TRACE(LossKindName(config.kind));
    ASSERT_TRUE(Validate(config, 4).ok());
    double loss = 0;
    int64_t correct = -1;
    std::vector<float> grad(12);
    ASSERT_TRUE(ComputeLoss(config, kOutputs.data(), kLabels.data(), kTargets.data(), 3, 4, &loss,
                            &correct, grad.data())
                    .ok());
    EXPECT_NEAR(loss, ReferenceLoss(config, kOutputs), 1e-9 * (1.0 + loss));
    if (c.pytorch >= 0) EXPECT_NEAR(loss, c.pytorch, 1e-5 * c.pytorch);
    EXPECT_EQ(correct, TakesLabels(config.kind) ? 1 : 0);  // row 2's largest output is its label
    for (int i = 0; i < 12; ++i) {
      std::vector<float> up = kOutputs, down = kOutputs;
      up[size_t(i)] += 1e-2f, down[size_t(i)] -= 1e-2f;
      const double numeric = (ReferenceLoss(config, up) - ReferenceLoss(config, down)) / 2e-2;
      EXPECT_NEAR(grad[size_t(i)], numeric, 1e-4 * (1.0 + std::fabs(numeric))) << i;
    }
  }
}

TEST(LossTest, BadLabelsAndSettingsAreRefused) {
  double loss = 0;
  int64_t correct = 0;
  const std::vector<int32_t> bad = {0, 4, 1};
  EXPECT_EQ(ComputeLoss(LossConfig(), kOutputs.data(), bad.data(), nullptr, 3, 4, &loss, &correct,
                        nullptr)
                .code(),
            StatusCode::kInvalidArgument);
  LossConfig zero_weights;
  zero_weights.class_weights = {1.0f, 0.0f, 0.0f, 0.0f};  // no label of the batch weighs anything
  EXPECT_EQ(ComputeLoss(zero_weights, kOutputs.data(), kLabels.data(), nullptr, 3, 4, &loss,
                        &correct, nullptr)
                .code(),
            StatusCode::kInvalidArgument);
  LossConfig c;
  c.label_smoothing = 1.5;
  EXPECT_EQ(Validate(c, 4).code(), StatusCode::kInvalidArgument);
  c.label_smoothing = 0.0;
  c.class_weights = {1.0f, 2.0f};
  EXPECT_EQ(Validate(c, 4).code(), StatusCode::kInvalidArgument);
  c.class_weights = {1.0f, -2.0f, 1.0f, 1.0f};
  EXPECT_EQ(Validate(c, 4).code(), StatusCode::kInvalidArgument);
  c.class_weights.clear();
  c.kind = LossKind::kL1;
  c.label_smoothing = 0.1;
  EXPECT_EQ(Validate(c, 4).code(), StatusCode::kInvalidArgument);
}

TEST(ModelTest, RegressionLossesTrainOnFloatTargets) {
  ModelBuilder b(1, 12, 12);
  b.Conv2d(4, 3).Relu().GlobalAvgPool().Linear(2);
  auto model = Build(std::move(b));
  OptimizerConfig adam;
  adam.lr = 1e-2;
  ASSERT_TRUE(model->SetOptimizer(adam).ok());
  const Batch batch = MakeBatch(8, 12);
  // Targets: each image's mean brightness, and that doubled less 0.1 (functions the pooled
  // features can represent).
  std::vector<float> targets;
  for (int64_t i = 0; i < 8; ++i) {
    double mean = 0;
    for (int64_t p = 0; p < 144; ++p) mean += batch.images[size_t(i * 144 + p)];
    targets.push_back(float(mean / 144));
    targets.push_back(float(2 * mean / 144 - 0.1));
  }
  StepResult r;
  // The default loss takes labels: float targets are refused, and the reverse once set.
  Status s = model->TrainStepTargets(batch.images.data(), targets.data(), 8, &r);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("takes class labels"), std::string::npos) << s.message();
  LossConfig mse;
  mse.kind = LossKind::kMeanSquaredError;
  ASSERT_TRUE(model->SetLoss(mse).ok());
  s = model->TrainStep(batch.images.data(), batch.labels.data(), 8, &r);
  EXPECT_NE(s.message().find("takes float targets"), std::string::npos) << s.message();
  EXPECT_EQ(model->steps(), 0);
  double first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    ASSERT_TRUE(model->TrainStepTargets(batch.images.data(), targets.data(), 8, &r).ok());
    if (step == 0) first = r.loss;
    last = r.loss;
  }
  EXPECT_LT(last, 0.5 * first);
  StepResult eval;
  std::vector<float> outputs(16);
  ASSERT_TRUE(
      model->EvalStepTargets(batch.images.data(), targets.data(), 8, &eval, outputs.data()).ok());
  double want = 0;
  for (size_t i = 0; i < 16; ++i) want += (outputs[i] - targets[i]) * (outputs[i] - targets[i]);
  EXPECT_NEAR(eval.loss, want / 16, 1e-6);
  model->set_check_inputs(true);
  targets[3] = NAN;
  EXPECT_EQ(model->TrainStepTargets(batch.images.data(), targets.data(), 8, &r).code(),
            StatusCode::kInvalidArgument);
  LossConfig weights;
  weights.class_weights = {1.0f, 2.0f, 3.0f};  // the model has two outputs
  EXPECT_EQ(model->SetLoss(weights).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(model->loss().kind, LossKind::kMeanSquaredError);
}

}  // namespace
}  // namespace sparsetrain
