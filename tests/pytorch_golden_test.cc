// The runtime against PyTorch: logits, loss, every gradient, the parameters and buffers after
// optimiser steps and the evaluation-mode logits, from tests/golden/make_golden.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/model_builder.h"
#include "runtime/safetensors.h"
#include "tests/expect_close.h"
#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

struct GoldenCase {
  const char* file;
  std::function<ModelBuilder()> build;
  OptimizerConfig optimizer;
  int steps;
};

ModelBuilder Vgg() {
  ModelBuilder b(3, 16, 16);
  b.Conv2d(8, 3, 1, 1, false, "conv1").BatchNorm(1e-5, 0.1, "bn1").Relu().MaxPool(2, 2);
  b.Conv2d(17, 3, 2, 1, true, "conv2").Relu().MaxPool(3, 2, 1).Flatten().Linear(10, true, "fc1");
  return b;
}

ModelBuilder ResNet() {
  ModelBuilder b(1, 9, 9);
  b.Conv2d(16, 3, 1, 1, false, "conv1").BatchNorm(1e-5, 0.1, "bn1").Relu();
  b.BeginResidual()
      .Conv2d(20, 3, 2, 1, false, "conv2")
      .BatchNorm(1e-5, 0.1, "bn2")
      .Relu()
      .Conv2d(20, 3, 1, 1, false, "conv3")
      .BatchNorm(1e-5, 0.1, "bn3")
      .Shortcut()
      .Conv2d(20, 1, 2, 0, false, "conv4")
      .BatchNorm(1e-5, 0.1, "bn4")
      .EndResidual()
      .Relu();
  b.BeginResidual().Conv2d(20, 3, 1, 1, true, "conv5").EndResidual().Relu();
  b.GlobalAvgPool().Linear(10, true, "fc1");
  return b;
}

// nn.Sequential(Conv2d(bias=False), BatchNorm2d) named `name`, as make_golden.py's conv_bn.
void ConvBn(ModelBuilder& b, int64_t out, int64_t kernel, int64_t stride, const std::string& name,
            bool depthwise = false) {
  if (depthwise) {
    b.DepthwiseConv2d(kernel, stride, kernel / 2, false, name + ".0");
  } else {
    b.Conv2d(out, kernel, stride, kernel / 2, false, name + ".0");
  }
  b.BatchNorm(1e-5, 0.1, name + ".1");
}

ActivationFunction Function(ActivationKind kind) {
  ActivationFunction f;
  f.kind = kind;
  return f;
}

ModelBuilder MobileNet() {
  ModelBuilder b(3, 12, 12);
  ConvBn(b, 16, 3, 1, "stem");
  b.Relu6("r0");
  ConvBn(b, 48, 1, 1, "b1_expand");
  b.Relu6();
  ConvBn(b, 48, 3, 1, "b1_dw", /*depthwise=*/true);
  b.Relu6();
  ConvBn(b, 16, 1, 1, "b1_project");
  b.Add("b1_project.1", "r0", "b1").Activate(Function(ActivationKind::kHardSwish));
  ConvBn(b, 48, 1, 1, "b2_expand");
  b.Relu6();
  ConvBn(b, 48, 3, 2, "b2_dw", /*depthwise=*/true);
  b.Relu6();
  ConvBn(b, 24, 1, 1, "b2_project");
  b.AdaptiveAvgPool(1).Conv2d(8, 1, 1, 0, true, "se_reduce").Relu();
  b.Conv2d(24, 1, 1, 0, true, "se_expand").Activate(Function(ActivationKind::kHardSigmoid), "gate");
  b.Multiply("b2_project.1", "gate").Activate(Function(ActivationKind::kHardSwish));
  b.AvgPool(3, 2, 1, /*count_include_pad=*/false, /*ceil_mode=*/true).Flatten();
  b.Linear(10, true, "fc");
  return b;
}

ModelBuilder Fire() {
  ModelBuilder b(3, 19, 19);
  b.Conv2d(16, 3, 2, 0, true, "conv1").Relu().MaxPool(3, 2, 0, "", /*ceil_mode=*/true);
  b.Conv2d(8, 1, 1, 0, true, "squeeze").Relu("s").Conv2d(12, 1, 1, 0, true, "expand1x1").Relu("e1");
  b.From("s").Conv2d(12, 3, 1, 1, true, "expand3x3").Relu("e3").Concat({"e1", "e3"});
  b.Conv2d(10, 1, 1, 0, true, "classifier").Relu().GlobalAvgPool();
  return b;
}

ModelBuilder Bottleneck() {
  ModelBuilder b(3, 10, 10);
  b.Conv2d(16, 3, 1, 1, false, "conv1").BatchNorm(1e-5, 0.1, "bn1").Relu("x");
  ConvBn(b, 8, 1, 1, "reduce");
  b.Relu();
  ConvBn(b, 8, 3, 2, "conv");
  b.Relu();
  ConvBn(b, 32, 1, 1, "expand");
  b.From("x");
  ConvBn(b, 32, 1, 2, "shortcut");
  b.Add("expand.1", "shortcut.1").Relu().GlobalAvgPool().Linear(10, true, "fc");
  return b;
}

ModelBuilder Grouped() {
  ModelBuilder b(3, 10, 10);
  b.Conv2d(16, 3, 1, 1, true, "conv1").Relu();
  b.GroupedConv2d(24, 3, 4, 1, 1, false, "group1").BatchNorm(1e-5, 0.1, "bn1").Relu();
  b.GroupedConv2d(24, 1, 3, 2, 0, true, "group2").Relu().GlobalAvgPool().Linear(10, true, "fc");
  return b;
}

ModelBuilder Small() {
  ModelBuilder b(2, 6, 6);
  b.Conv2d(6, 3, 1, 1, true, "conv1").Activate(Function(ActivationKind::kSilu)).AvgPool(2, 2);
  b.Flatten().Linear(4, true, "fc1");
  return b;
}

// The loss a golden file's metadata names, with its settings.
LossConfig LossOf(const std::map<std::string, std::string>& metadata) {
  LossConfig config;
  const std::string kind = metadata.count("loss") ? metadata.at("loss") : "softmax_cross_entropy";
  for (LossKind k : {LossKind::kSoftmaxCrossEntropy, LossKind::kMeanSquaredError, LossKind::kL1,
                     LossKind::kBinaryCrossEntropyWithLogits}) {
    if (kind == LossKindName(k)) config.kind = k;
  }
  if (metadata.count("label_smoothing")) {
    config.label_smoothing = std::stod(metadata.at("label_smoothing"));
  }
  if (metadata.count("class_weights")) {
    std::istringstream in(metadata.at("class_weights"));
    for (float w; in >> w;) config.class_weights.push_back(w);
  }
  return config;
}

OptimizerConfig Sgd() {
  OptimizerConfig c;
  c.kind = OptimizerKind::kSgd;
  c.lr = 0.1, c.momentum = 0.9, c.weight_decay = 1e-4;
  return c;
}

OptimizerConfig SgdMomentum() {
  OptimizerConfig c;
  c.kind = OptimizerKind::kSgd;
  c.lr = 0.05, c.momentum = 0.9, c.weight_decay = 1e-4;
  return c;
}

OptimizerConfig SgdNesterov() {
  OptimizerConfig c;
  c.kind = OptimizerKind::kSgd;
  c.lr = 0.05, c.momentum = 0.9, c.nesterov = true, c.weight_decay = 1e-3;
  return c;
}

class PyTorchGoldenTest : public PerTargetTest {};

TEST_P(PyTorchGoldenTest, TrainingStepsMatchPyTorch) {
  const GoldenCase cases[] = {
      {"tests/golden/vgg.safetensors", Vgg, Sgd(), 1},
      {"tests/golden/resnet.safetensors", ResNet, SgdNesterov(), 2},
      {"tests/golden/mobilenet.safetensors", MobileNet, SgdMomentum(), 2},
      {"tests/golden/fire.safetensors", Fire, SgdMomentum(), 2},
      {"tests/golden/bottleneck.safetensors", Bottleneck, SgdMomentum(), 2},
      {"tests/golden/grouped.safetensors", Grouped, SgdMomentum(), 2},
      {"tests/golden/loss_ce_smoothing_weights.safetensors", Small, SgdMomentum(), 2},
      {"tests/golden/loss_mse.safetensors", Small, SgdMomentum(), 2},
      {"tests/golden/loss_l1.safetensors", Small, SgdMomentum(), 2},
      {"tests/golden/loss_bce_with_logits.safetensors", Small, SgdMomentum(), 2}};
  for (const GoldenCase& c : cases) {
    SafetensorsFile golden;
    ASSERT_TRUE(ReadSafetensors(c.file, &golden).ok()) << c.file;
    std::map<std::string, std::vector<float>> g;
    std::map<std::string, std::vector<int64_t>> shapes;
    for (NamedTensor& t : golden.tensors) {
      shapes[t.name] = t.shape;
      g[t.name] = std::move(t.data);
    }
    const std::vector<float>& input = g.at("input");
    const int64_t batch = shapes.at("input")[0];
    std::vector<int32_t> labels;
    for (float v : g.at("labels")) labels.push_back(int32_t(v));
    const LossConfig loss = LossOf(golden.metadata);
    ASSERT_EQ(TakesLabels(loss.kind), g.count("targets") == 0) << c.file;
    // One training or evaluation step under the file's loss.
    const auto run_step = [&](Model& model, bool train, StepResult* result, float* outputs) {
      if (TakesLabels(loss.kind)) {
        return train ? model.TrainStep(input.data(), labels.data(), batch, result, outputs)
                     : model.EvalStep(input.data(), labels.data(), batch, result, outputs);
      }
      const float* targets = g.at("targets").data();
      return train ? model.TrainStepTargets(input.data(), targets, batch, result, outputs)
                   : model.EvalStepTargets(input.data(), targets, batch, result, outputs);
    };

    for (KernelPolicy policy : {KernelPolicy::kDense, KernelPolicy::kSparse}) {
      SCOPED_TRACE(std::string(c.file) + (policy == KernelPolicy::kDense ? " dense" : " sparse"));
      std::unique_ptr<Model> model;
      ASSERT_TRUE(c.build().Build(1, &model).ok());
      model->set_policy(policy);
      ASSERT_TRUE(model->SetOptimizer(c.optimizer).ok());
      ASSERT_TRUE(model->SetLoss(loss).ok());
      // PyTorch's initial state, through a checkpoint of just the model's tensors.
      SafetensorsFile initial;
      for (Parameter* p : model->Parameters())
        initial.tensors.push_back({p->name, shapes.at(p->name), g.at(p->name)});
      const std::string path = testing::TempDir() + "golden_initial.safetensors";
      ASSERT_TRUE(WriteSafetensors(path, initial).ok());
      Status status = model->LoadCheckpoint(path);
      ASSERT_TRUE(status.ok()) << status.message();

      std::vector<float> logits(size_t(batch * model->classes()));
      StepResult result;
      status = run_step(*model, /*train=*/true, &result, logits.data());
      ASSERT_TRUE(status.ok()) << status.message();
      ExpectRanOnTarget();
      ExpectClose("logits", logits, g.at("logits"));
      EXPECT_NEAR(result.loss, g.at("loss")[0], 1e-4 * std::fabs(g.at("loss")[0]));
      for (Parameter* p : model->Parameters()) {
        if (!p->is_buffer)
          ExpectClose("grad." + p->name, InPyTorchOrder(p->grad), g.at("grad." + p->name));
      }
      for (int step = 1; step < c.steps; ++step) {
        ASSERT_TRUE(run_step(*model, /*train=*/true, &result, nullptr).ok());
      }
      for (Parameter* p : model->Parameters()) {
        ExpectClose("after." + p->name, InPyTorchOrder(p->value), g.at("after." + p->name));
      }
      ASSERT_TRUE(run_step(*model, /*train=*/false, &result, logits.data()).ok());
      ExpectClose("eval_logits", logits, g.at("eval_logits"));
    }
  }
}

INSTANTIATE_PER_TARGET_TEST_SUITE(PyTorchGoldenTest);

}  // namespace
}  // namespace sparsetrain
