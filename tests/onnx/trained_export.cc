// Writes what tests/onnx/export_check.py checks: torchvision models imported from
// tests/onnx/, trained two steps, exported to OUT_DIR/<model>.onnx, with the input batch and this
// runtime's evaluation logits in OUT_DIR/<model>.safetensors.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "runtime/onnx_export.h"
#include "runtime/onnx_import.h"
#include "runtime/safetensors.h"

namespace sparsetrain {
namespace {

Status Run(const std::string& name, const std::string& out_dir) {
  std::unique_ptr<ModelBuilder> builder;
  Status status = ImportOnnxFile("tests/onnx/" + name + ".onnx", {}, Allocator(), &builder);
  if (!status.ok()) return status;
  std::unique_ptr<Model> model;
  status = builder->Build(1, &model);
  if (!status.ok()) return status;
  const int64_t batch = 4;
  const Dims d = model->input_spec().dims;
  std::vector<float> images(size_t(batch * d.c * d.h * d.w));
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : images) v = normal(rng);
  const int32_t labels[] = {0, 3, 5, 9};
  for (int step = 0; step < 2 && status.ok(); ++step) {
    StepResult result;
    status = model->TrainStep(images.data(), labels, batch, &result);
  }
  std::vector<float> logits(size_t(batch * model->classes()));
  if (status.ok()) status = model->Predict(images.data(), batch, logits.data());
  if (status.ok()) status = ExportOnnxFile(*model, out_dir + "/" + name + ".onnx");
  SafetensorsFile file;
  file.tensors.push_back({"input", {batch, d.c, d.h, d.w}, images});
  file.tensors.push_back({"logits", {batch, model->classes()}, logits});
  return status.ok() ? WriteSafetensors(out_dir + "/" + name + ".safetensors", file) : status;
}

}  // namespace
}  // namespace sparsetrain

int main(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) {
    const sparsetrain::Status status = sparsetrain::Run(argv[i], argv[1]);
    if (!status.ok()) {
      std::fprintf(stderr, "%s: %s\n", argv[i], status.message().c_str());
      return 1;
    }
  }
  return 0;
}
