// ONNX export: trained torchvision models and a network of every layer kind, exported and
// imported again, predict as before (tests/onnx/export_check.py checks the same files with
// onnx.checker and torchvision).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "runtime/onnx_export.h"
#include "runtime/onnx_import.h"
#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

std::vector<float> RandomImages(const Model& model, int64_t batch) {
  const Dims d = model.input_spec().dims;
  std::vector<float> images(size_t(batch * d.c * d.h * d.w));
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : images) v = normal(rng);
  return images;
}

std::vector<float> Predict(Model& model, const std::vector<float>& images, int64_t batch) {
  std::vector<float> logits(size_t(batch * model.classes()));
  Status status = model.Predict(images.data(), batch, logits.data());
  EXPECT_TRUE(status.ok()) << status.message();
  return logits;
}

// Exports `model`, imports the bytes and checks the copy predicts what `model` does, with the
// same parameters under the same names.
void ExpectRoundTrip(Model& model, int64_t batch) {
  std::string bytes;
  Status status = ExportOnnx(model, &bytes);
  ASSERT_TRUE(status.ok()) << status.message();
  std::unique_ptr<ModelBuilder> builder;
  status = ImportOnnx(bytes.data(), bytes.size(), {}, Allocator(), &builder);
  ASSERT_TRUE(status.ok()) << status.message();
  std::unique_ptr<Model> copy;
  status = builder->Build(/*seed=*/9, &copy);
  ASSERT_TRUE(status.ok()) << status.message();
  std::set<std::string> names, copy_names;
  for (Parameter* p : model.Parameters()) names.insert(p->name);
  for (Parameter* p : copy->Parameters()) copy_names.insert(p->name);
  EXPECT_EQ(names, copy_names);

  model.set_policy(KernelPolicy::kDense);
  copy->set_policy(KernelPolicy::kDense);
  const std::vector<float> images = RandomImages(model, batch);
  const std::vector<float> want = Predict(model, images, batch);
  const std::vector<float> got = Predict(*copy, images, batch);
  ASSERT_EQ(got.size(), want.size());
  float scale = 0.0f;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5f * scale) << i;
}

class OnnxExportTest : public PerTargetTest {};

// Imported, trained a step (weights and running statistics move), exported: the same model.
TEST_P(OnnxExportTest, TrainedTorchvisionModelsRoundTrip) {
  for (const char* name : {"resnet18", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_0"}) {
    SCOPED_TRACE(name);
    std::unique_ptr<ModelBuilder> builder;
    Status status =
        ImportOnnxFile(std::string("tests/onnx/") + name + ".onnx", {}, Allocator(), &builder);
    ASSERT_TRUE(status.ok()) << status.message();
    std::unique_ptr<Model> model;
    ASSERT_TRUE(builder->Build(1, &model).ok());
    const std::vector<float> images = RandomImages(*model, 2);
    const int32_t labels[] = {1, 2};
    StepResult result;
    ASSERT_TRUE(model->TrainStep(images.data(), labels, 2, &result).ok());
    ExpectRoundTrip(*model, 2);
    ExpectRanOnTarget();
  }
}

// Every layer the builder makes, through ONNX and back.
TEST_P(OnnxExportTest, EveryLayerKindRoundTrips) {
  const auto activation = [](ActivationKind kind) {
    ActivationFunction f;
    f.kind = kind;
    return f;
  };
  ActivationFunction clip;
  clip.lo = -0.5f, clip.hi = 2.0f;
  ModelBuilder b(3, 17, 17);
  b.Conv2d(16, 3, 2, 1, false, "stem").BatchNorm(1e-3, 0.01, "bn").Relu6("r0");
  b.DepthwiseConv2d(5, 1, 2, true, "dw").Activate(activation(ActivationKind::kHardSwish), "hs");
  b.GroupedConv2d(24, 3, 4, 1, 1, true, "grouped").Activate(clip, "clip");
  b.AdaptiveAvgPool(1, "squeeze").Conv2d(24, 1, 1, 0, true, "excite");
  b.Activate(activation(ActivationKind::kHardSigmoid), "gate").Multiply("clip", "gate", "scaled");
  b.From("scaled").Conv2d(8, 1, 1, 0, true, "left").Activate(activation(ActivationKind::kSilu));
  b.From("scaled").Conv2d(8, 3, 1, 1, true, "right").Activate(activation(ActivationKind::kSigmoid));
  b.Concat({"silu1", "sigmoid1"}, "joined").Conv2d(16, 1, 1, 0, true, "project");
  b.Add("project", "r0", "residual").Relu("relu").MaxPool(3, 2, 0, "maxpool", /*ceil_mode=*/true);
  b.AvgPool(3, 2, 1, /*count_include_pad=*/false, /*ceil_mode=*/true, "avgpool");
  b.Flatten("flat").Dropout(0.3f, "drop").Linear(12, true, "fc1").Relu().Linear(5, false, "fc2");
  std::unique_ptr<Model> model;
  Status status = b.Build(4, &model);
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectRoundTrip(*model, 3);
  ExpectRanOnTarget();
}

INSTANTIATE_PER_TARGET_TEST_SUITE(OnnxExportTest);

}  // namespace
}  // namespace sparsetrain
