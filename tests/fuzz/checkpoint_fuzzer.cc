// libFuzzer harness: a checkpoint from arbitrary bytes must be refused with a status, or load
// whole into the model it was made for (tests/fuzz/corpus/checkpoint holds its checkpoints);
// never crash, leak or trip a sanitizer. Run by tests/fuzz/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "runtime/model_builder.h"

namespace {

// conv (2, 1, 3, 3) + bias, batch norm "bn" (2), linear "fc" (3, 32) + bias, Adam.
std::unique_ptr<sparsetrain::Model> Network() {
  sparsetrain::ModelBuilder b(1, 4, 4);
  b.Conv2d(2, 3, 1, 1, true, "conv").BatchNorm(1e-5, 0.1, "bn").Relu().Flatten();
  b.Linear(3, true, "fc");
  std::unique_ptr<sparsetrain::Model> model;
  if (!b.Build(1, &model).ok()) __builtin_trap();
  return model;
}

// Every parameter and buffer, and the step count.
std::vector<float> State(const sparsetrain::Model& model) {
  std::vector<float> state(model.ParameterElements());
  if (!model.GetParameters(state.data(), state.size()).ok()) __builtin_trap();
  state.push_back(float(model.steps()));
  return state;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<sparsetrain::Model> model = Network();
  const std::vector<float> before = State(*model);
  const sparsetrain::Status status = model->LoadCheckpoint(data, size);
  if (!status.ok() && State(*model) != before) __builtin_trap();  // a refusal changes nothing
  return 0;
}
