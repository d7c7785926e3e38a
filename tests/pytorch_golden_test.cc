// The runtime against PyTorch: logits, loss, every gradient, the parameters and buffers after
// optimiser steps and the evaluation-mode logits, from tests/golden/make_golden.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runtime/model_builder.h"
#include "runtime/safetensors.h"
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

OptimizerConfig Sgd() {
  OptimizerConfig c;
  c.kind = OptimizerKind::kSgd;
  c.lr = 0.1, c.momentum = 0.9, c.weight_decay = 1e-4;
  return c;
}

OptimizerConfig SgdNesterov() {
  OptimizerConfig c;
  c.kind = OptimizerKind::kSgd;
  c.lr = 0.05, c.momentum = 0.9, c.nesterov = true, c.weight_decay = 1e-3;
  return c;
}

// Every element within 1e-4 of the largest reference magnitude.
void ExpectClose(const std::string& what, const std::vector<float>& ours,
                 const std::vector<float>& want) {
  ASSERT_EQ(ours.size(), want.size()) << what;
  float scale = 0.0f;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(ours[i], want[i], 1e-4f * scale) << what << "[" << i << "]";
  }
}

std::vector<float> InPyTorchOrder(const Tensor& t) {
  std::vector<float> v(size_t(t.dims().count()));
  EXPECT_TRUE(t.CopyTo(v.data(), Layout::kNCHW).ok());
  return v;
}

class PyTorchGoldenTest : public PerTargetTest {};

TEST_P(PyTorchGoldenTest, TrainingStepsMatchPyTorch) {
  const GoldenCase cases[] = {{"tests/golden/vgg.safetensors", Vgg, Sgd(), 1},
                              {"tests/golden/resnet.safetensors", ResNet, SgdNesterov(), 2}};
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

    for (KernelPolicy policy : {KernelPolicy::kDense, KernelPolicy::kSparse}) {
      SCOPED_TRACE(std::string(c.file) + (policy == KernelPolicy::kDense ? " dense" : " sparse"));
      std::unique_ptr<Model> model;
      ASSERT_TRUE(c.build().Build(1, &model).ok());
      model->set_policy(policy);
      ASSERT_TRUE(model->SetOptimizer(c.optimizer).ok());
      // PyTorch's initial state, through a checkpoint of just the model's tensors.
      SafetensorsFile initial;
      for (Parameter* p : model->Parameters())
        initial.tensors.push_back({p->name, shapes.at(p->name), g.at(p->name)});
      const std::string path = testing::TempDir() + "golden_initial.safetensors";
      ASSERT_TRUE(WriteSafetensors(path, initial).ok());
      Status status = model->LoadCheckpoint(path);
      ASSERT_TRUE(status.ok()) << status.message();

      std::vector<float> logits(size_t(batch * 10));
      StepResult result;
      status = model->TrainStep(input.data(), labels.data(), batch, &result, logits.data());
      ASSERT_TRUE(status.ok()) << status.message();
      ExpectRanOnTarget();
      ExpectClose("logits", logits, g.at("logits"));
      EXPECT_NEAR(result.loss, g.at("loss")[0], 1e-4 * std::fabs(g.at("loss")[0]));
      for (Parameter* p : model->Parameters()) {
        if (!p->is_buffer)
          ExpectClose("grad." + p->name, InPyTorchOrder(p->grad), g.at("grad." + p->name));
      }
      for (int step = 1; step < c.steps; ++step) {
        ASSERT_TRUE(model->TrainStep(input.data(), labels.data(), batch, &result, nullptr).ok());
      }
      for (Parameter* p : model->Parameters()) {
        ExpectClose("after." + p->name, InPyTorchOrder(p->value), g.at("after." + p->name));
      }
      ASSERT_TRUE(model->EvalStep(input.data(), labels.data(), batch, &result, logits.data()).ok());
      ExpectClose("eval_logits", logits, g.at("eval_logits"));
    }
  }
}

INSTANTIATE_PER_TARGET_TEST_SUITE(PyTorchGoldenTest);

}  // namespace
}  // namespace sparsetrain
