// Fine-tuning an imported ONNX model: how long the import takes, and training throughput with a
// new head, the backbone frozen or not. bench/torch_finetune.py is the PyTorch side and
// tools/bench_finetune.sh runs both.
//
//   finetune_bench --onnx resnet18.onnx --cut /Flatten_output_0 [--classes 10] [--batch 32]
//                  [--steps 20] [--threads 2] [--frozen 0|1] [--imports 5]
//                  [--kernel auto|dense|sparse]
//
// Images are seeded normal noise, the optimiser SGD (lr 0.01, momentum 0.9); the timed steps
// follow ten untimed ones. Ends with
//   RESULT import_ms=<median> images_per_s=<x> loss=<last>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/provenance.h"
#include "bench/timing.h"
#include "runtime/onnx_import.h"
#include "runtime/thread_pool.h"

namespace st = sparsetrain;

namespace {

struct Options {
  std::string onnx, cut, kernel = "auto";
  int64_t classes = 10, batch = 32, steps = 20, threads = 2, frozen = 0, imports = 5;
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "finetune_bench: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--onnx")
      o.onnx = value;
    else if (flag == "--cut")
      o.cut = value;
    else if (flag == "--classes")
      o.classes = std::atoll(value.c_str());
    else if (flag == "--batch")
      o.batch = std::atoll(value.c_str());
    else if (flag == "--steps")
      o.steps = std::atoll(value.c_str());
    else if (flag == "--threads")
      o.threads = std::atoll(value.c_str());
    else if (flag == "--frozen")
      o.frozen = std::atoll(value.c_str());
    else if (flag == "--imports")
      o.imports = std::atoll(value.c_str());
    else if (flag == "--kernel")
      o.kernel = value;
    else
      return Fail("unknown flag " + flag);
  }
  if (o.onnx.empty() || o.batch <= 0 || o.steps <= 0 || o.imports <= 0 ||
      (o.kernel != "auto" && o.kernel != "dense" && o.kernel != "sparse")) {
    return Fail(
        "needs --onnx FILE, positive --batch, --steps, --imports, --kernel auto|dense|sparse");
  }
  std::printf("# cpu: %s\n# date: %s\n", st::CpuDescription().c_str(), st::TodayUtc().c_str());

  st::OnnxImportOptions options;
  options.cut_at = o.cut;
  std::unique_ptr<st::ModelBuilder> builder;
  st::Status status;
  const double import_ms = st::MedianMs(int(o.imports), 1, [&] {
    status = st::ImportOnnxFile(o.onnx, options, st::Allocator(), &builder);
  });
  if (!status.ok()) return Fail(status.message());
  if (!o.cut.empty()) builder->Linear(o.classes, true, "head");
  std::unique_ptr<st::Model> model;
  status = builder->Build(1, &model);
  if (!status.ok()) return Fail(status.message());
  if (o.frozen != 0) {  // everything but the new head
    for (const st::LayerReport& layer : model->Telemetry()) {
      if (layer.name != "head") status = model->SetFrozen(layer.name, true);
      if (!status.ok()) return Fail(status.message());
    }
  }
  std::unique_ptr<st::ThreadPool> threads;
  status = st::ThreadPool::Create(int(o.threads), &threads);
  if (!status.ok()) return Fail(status.message());
  model->set_pool(threads->get());
  model->set_policy(o.kernel == "dense"    ? st::KernelPolicy::kDense
                    : o.kernel == "sparse" ? st::KernelPolicy::kSparse
                                           : st::KernelPolicy::kAuto);
  st::OptimizerConfig sgd;
  sgd.kind = st::OptimizerKind::kSgd;
  sgd.lr = 0.01, sgd.momentum = 0.9;
  status = model->SetOptimizer(sgd);
  if (!status.ok()) return Fail(status.message());

  const st::Dims d = model->input_spec().dims;
  std::vector<float> images(size_t(o.batch * d.c * d.h * d.w));
  std::vector<int32_t> labels(size_t(o.batch));
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : images) v = normal(rng);
  for (int64_t i = 0; i < o.batch; ++i) labels[size_t(i)] = int32_t(i % model->classes());
  st::StepResult result;
  const auto step = [&] {
    status = model->TrainStep(images.data(), labels.data(), o.batch, &result);
  };
  // Warm-up past memory planning and the kernel choice's probes (ConvKernelSelector: the first
  // eight calls of each pass alternate dense and sparse, then it runs 500 on its choice).
  for (int i = 0; i < 10 && status.ok(); ++i) step();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < o.steps && status.ok(); ++i) step();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!status.ok()) return Fail(status.message());
  std::printf("RESULT import_ms=%.1f images_per_s=%.1f loss=%.4f\n", import_ms,
              double(o.steps * o.batch) / seconds, result.loss);
  return 0;
}
