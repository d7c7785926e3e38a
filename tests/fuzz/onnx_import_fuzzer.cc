// libFuzzer harness: ONNX import of arbitrary bytes must refuse with a status or give a builder
// that builds; never crash, leak or trip a sanitizer. Run by tests/fuzz/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "runtime/onnx_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<sparsetrain::ModelBuilder> builder;
  const sparsetrain::Status status =
      sparsetrain::ImportOnnx(data, size, {}, sparsetrain::Allocator(), &builder);
  if (status.ok() != (builder != nullptr)) __builtin_trap();  // a result exactly when it is OK
  if (builder != nullptr) {
    std::unique_ptr<sparsetrain::Model> model;
    static_cast<void>(builder->Build(1, &model));  // may refuse (no classifier at the end)
  }
  return 0;
}
