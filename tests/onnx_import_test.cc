// ONNX import against PyTorch, on torchvision's classifiers exported by
// tests/onnx/torchvision_golden.py: evaluation logits; three SGD steps, each from PyTorch's state
// (loss, the first step's gradients, every parameter and buffer after each step, the evaluation
// logits at the end); the evaluation-mode export (batch norm folded); a model cut at its pooled
// features with a new head. Training figures are float64 PyTorch's, and each may be missed by
// ten times as much as PyTorch's own float32 computation misses it (the golden file's "dev.*";
// see the script for why these networks need that), or by 1e-4 of its scale, and the first step's
// parameters also by what ReLU decisions within rounding of zero move their channel ("flip.*").
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/onnx_import.h"
#include "runtime/safetensors.h"
#include "tests/expect_close.h"
#include "tests/per_target_test.h"

namespace sparsetrain {
namespace {

constexpr char kDir[] = "tests/onnx/";

struct Golden {
  std::map<std::string, std::vector<float>> tensors;
  std::map<std::string, std::string> metadata;
  int64_t batch = 0;
  std::vector<int32_t> labels;
  const std::vector<float>& operator[](const std::string& name) const { return tensors.at(name); }
};

Golden ReadGolden(const std::string& model) {
  SafetensorsFile file;
  Status status = ReadSafetensors(kDir + model + ".safetensors", &file);
  EXPECT_TRUE(status.ok()) << status.message();
  Golden g;
  g.metadata = file.metadata;
  for (NamedTensor& t : file.tensors) {
    if (t.name == "input") g.batch = t.shape[0];
    g.tensors[t.name] = std::move(t.data);
  }
  for (float v : g.tensors["labels"]) g.labels.push_back(int32_t(v));
  return g;
}

// Every element within 1e-4 of the largest reference magnitude, or within ten times PyTorch's own
// float32 deviation from float64 for it; plus, where given, `flip_factor` times how far inverted
// ReLU decisions move the element's output channel (`flips`: one per index of the first axis).
void ExpectAsClose(const std::string& what, const std::vector<float>& ours, const Golden& g,
                   const std::string& name, const std::vector<float>& flips = {},
                   float flip_factor = 1.0f) {
  const std::vector<float>& want = g[name];
  ASSERT_EQ(ours.size(), want.size()) << what;
  float scale = 0.0f;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  const float tolerance = 1e-4f * scale + 10.0f * g["dev." + name][0];
  const size_t per_channel = flips.empty() ? 1 : want.size() / flips.size();
  for (size_t i = 0; i < want.size(); ++i) {
    const float flip = flips.empty() ? 0.0f : flip_factor * flips[i / per_channel];
    ASSERT_NEAR(ours[i], want[i], tolerance + flip) << what << "[" << i << "]";
  }
}

// Per output channel, how far step 0's gradient of a parameter moves when ReLU decisions near
// zero invert; none for buffers.
std::vector<float> FlipsOf(const Golden& g, const std::string& parameter) {
  const auto it = g.tensors.find("flip.grad." + parameter);
  return it == g.tensors.end() ? std::vector<float>() : it->second;
}

std::unique_ptr<Model> Import(const std::string& file, const OnnxImportOptions& options = {}) {
  std::unique_ptr<ModelBuilder> builder;
  Status status = ImportOnnxFile(kDir + file, options, Allocator(), &builder);
  EXPECT_TRUE(status.ok()) << file << ": " << status.message();
  std::unique_ptr<Model> model;
  if (builder == nullptr) return model;
  status = builder->Build(/*seed=*/5, &model);
  EXPECT_TRUE(status.ok()) << file << ": " << status.message();
  return model;
}

std::vector<float> Predict(Model& model, const Golden& g) {
  std::vector<float> logits(size_t(g.batch * model.classes()));
  Status status = model.Predict(g["input"].data(), g.batch, logits.data());
  EXPECT_TRUE(status.ok()) << status.message();
  return logits;
}

class OnnxImportTest : public PerTargetTest {};

// A model's state from the golden file ("state<step>.*"), through a checkpoint of its tensors.
void LoadState(Model& model, const Golden& g, int step) {
  SafetensorsFile state;
  for (Parameter* p : model.Parameters()) {
    const std::string key = "state" + std::to_string(step) + "." + p->name;
    ASSERT_EQ(g.tensors.count(key), 1u) << p->name << " is no state_dict key";
    state.tensors.push_back({p->name, p->shape, g[key]});
  }
  const std::string path = testing::TempDir() + "onnx_state.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, state).ok());
  Status status = model.LoadCheckpoint(path);
  ASSERT_TRUE(status.ok()) << status.message();
}

// Each model through import, prediction and three SGD steps: the losses, and after the first step
// every gradient, parameter and buffer where float32 can match them. Later steps' tensors are
// not compared: a float32 ReLU decision within rounding of zero flips now and then (seen on one
// ISA or another in squeezenet1_0 and resnet18, moving bias updates by 0.5%), and a flip is no
// error. In mobilenet_v2 even the first step's are out of reach: batch-norm outputs that
// ReLU6 clips lie within float32 rounding of zero (features.17.conv.0.1, channel 276: -8.0e-6 in
// float64), this runtime's float32 lands on the other side, and the gradient of every layer
// upstream moves by up to 5% of its norm; PyTorch's float32 happens to land on float64's side.
// Its losses are compared; tests/pytorch_golden_test.cc checks the same layers' gradients.
TEST_P(OnnxImportTest, TorchvisionModelsTrainLikePyTorch) {
  const std::pair<const char*, bool> models[] = {{"resnet18", true},
                                                 {"resnet50", true},
                                                 {"mobilenet_v2", false},
                                                 {"mobilenet_v3_small", true},
                                                 {"squeezenet1_0", true}};
  for (const auto& [name, compare_tensors] : models) {
    SCOPED_TRACE(name);
    const Golden g = ReadGolden(name);
    std::unique_ptr<Model> model = Import(std::string(name) + ".onnx");
    ASSERT_NE(model, nullptr);
    ASSERT_EQ(model->classes(), 10);
    // Layers are named as PyTorch's modules (a block's addition after the block), short enough
    // for the C API's st_layer_info.
    std::set<std::string> layers;
    for (const LayerReport& layer : model->Telemetry()) {
      EXPECT_LT(layer.name.size(), 64u) << layer.name;
      layers.insert(layer.name);
    }
    if (std::string(name) == "resnet18") {
      for (const char* layer :
           {"conv1", "bn1", "layer1.0.conv1", "layer1.0.relu", "layer4.1", "fc"}) {
        EXPECT_EQ(layers.count(layer), 1u) << layer;
      }
    }
    ExpectClose("eval_logits", Predict(*model, g), g["eval_logits"]);
    ExpectRanOnTarget();

    OptimizerConfig sgd;
    sgd.kind = OptimizerKind::kSgd;
    sgd.lr = 0.01, sgd.momentum = 0.0, sgd.weight_decay = 0.0;
    ASSERT_TRUE(model->SetOptimizer(sgd).ok());
    for (int step = 0; step < 3; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      if (step > 0) LoadState(*model, g, step);
      StepResult result;
      Status status = model->TrainStep(g["input"].data(), g.labels.data(), g.batch, &result);
      ASSERT_TRUE(status.ok()) << status.message();
      ExpectAsClose("loss", {float(result.loss)}, g, "loss" + std::to_string(step));
      if (step > 0 || !compare_tensors) continue;
      for (Parameter* p : model->Parameters()) {
        const std::vector<float> flips = FlipsOf(g, p->name);
        if (!p->is_buffer) {
          ExpectAsClose("grad." + p->name, InPyTorchOrder(p->grad), g, "grad." + p->name, flips);
        }
        ExpectAsClose("state1." + p->name, InPyTorchOrder(p->value), g, "state1." + p->name,
                      flips, float(sgd.lr));
      }
    }
    LoadState(*model, g, 3);  // evaluation from PyTorch's last state: its running statistics
    ExpectAsClose("eval_logits_after", Predict(*model, g), g, "eval_logits_after");

    // Batch norm folded into the convolutions: no batch norm left, the same predictions.
    std::unique_ptr<Model> folded = Import(std::string(name) + "_eval.onnx");
    ASSERT_NE(folded, nullptr);
    for (const LayerReport& layer : folded->Telemetry()) EXPECT_NE(layer.kind, "batchnorm");
    ExpectClose("eval_logits (eval-mode export)", Predict(*folded, g), g["eval_logits"]);
  }
}

// Cut at the pooled features, a new head: the imported part keeps its values and the head,
// initialised afresh, sees PyTorch's features.
TEST_P(OnnxImportTest, CutAtFeaturesTakesANewHead) {
  for (const char* name : {"resnet18", "mobilenet_v2"}) {
    SCOPED_TRACE(name);
    const Golden g = ReadGolden(name);
    OnnxImportOptions options;
    options.cut_at = g.metadata.at("features_at");
    std::unique_ptr<ModelBuilder> builder;
    Status status =
        ImportOnnxFile(kDir + std::string(name) + ".onnx", options, Allocator(), &builder);
    ASSERT_TRUE(status.ok()) << status.message();
    const int64_t features = builder->current().dims.c;
    builder->Linear(5, true, "head");
    std::unique_ptr<Model> model;
    status = builder->Build(/*seed=*/3, &model);
    ASSERT_TRUE(status.ok()) << status.message();
    ASSERT_EQ(model->classes(), 5);

    const std::vector<Parameter*> params = model->Parameters();
    ASSERT_GE(params.size(), 2u);
    const std::vector<float> w = InPyTorchOrder(params[params.size() - 2]->value);
    const std::vector<float> b = InPyTorchOrder(params.back()->value);
    EXPECT_EQ(params.back()->name, "head.bias");
    float largest = 0.0f;  // initialised as PyTorch's Linear: within 1/sqrt(features), not zero
    for (float v : w) largest = std::max(largest, std::fabs(v));
    EXPECT_GT(largest, 0.0f);
    EXPECT_LE(largest, 1.0f / std::sqrt(float(features)));

    const std::vector<float>& f = g["features"];
    ASSERT_EQ(int64_t(f.size()), g.batch * features);
    std::vector<float> want(size_t(g.batch * 5));
    for (int64_t n = 0; n < g.batch; ++n) {
      for (int64_t k = 0; k < 5; ++k) {
        double sum = b[size_t(k)];
        for (int64_t c = 0; c < features; ++c) {
          sum += double(w[size_t(k * features + c)]) * f[size_t(n * features + c)];
        }
        want[size_t(n * 5 + k)] = float(sum);
      }
    }
    ExpectClose("head logits", Predict(*model, g), want);
    ExpectRanOnTarget();
  }
}

// The fuzzers' seeds (tests/fuzz/make_seeds.py: Pad before a pool, ReduceMean, MatMul + Add,
// Reshape, Constant, Identity, a grouped convolution, hard swish as HardSigmoid * x, a
// squeeze-and-excitation gate, Concat, Add) import, build and predict finite values. (The
// torchvision models above check the numbers of the forms PyTorch writes; these are the other
// spellings the importer accepts.)
TEST(OnnxImportSeedsTest, FuzzSeedsImportAndPredict) {
  for (const char* name : {"conv_bn_pool", "branches", "pad_pool_matmul"}) {
    SCOPED_TRACE(name);
    std::unique_ptr<ModelBuilder> builder;
    Status status = ImportOnnxFile(std::string("tests/fuzz/corpus/onnx/") + name + ".onnx", {},
                                   Allocator(), &builder);
    ASSERT_TRUE(status.ok()) << status.message();
    std::unique_ptr<Model> model;
    status = builder->Build(1, &model);
    ASSERT_TRUE(status.ok()) << status.message();
    const Dims d = model->input_spec().dims;
    std::vector<float> images(size_t(2 * d.c * d.h * d.w), 0.5f);
    std::vector<float> logits(size_t(2 * model->classes()));
    ASSERT_TRUE(model->Predict(images.data(), 2, logits.data()).ok());
    for (float v : logits) EXPECT_TRUE(std::isfinite(v));
  }
}

INSTANTIATE_PER_TARGET_TEST_SUITE(OnnxImportTest);

}  // namespace
}  // namespace sparsetrain
