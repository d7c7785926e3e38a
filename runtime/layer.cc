#include "runtime/layer.h"

#include <chrono>

#include "runtime/pass_timer.h"
#include "runtime/verbose.h"

namespace sparsetrain {

Status PrepareActivation(const TensorSpec& spec, const Allocator& allocator, Activation* a) {
  a->zeros = -1;
  if (!a->tensor.empty() && a->tensor.layout() == spec.layout && a->tensor.dims() == spec.dims) {
    return Status::Ok();
  }
  return a->tensor.Reshape(spec.dims, spec.layout, allocator);
}

Status Layer::MismatchError(const std::string& what) const {
  return Status(StatusCode::kShapeMismatch, std::string(kind()) + " '" + name_ + "': " + what);
}

int64_t StorageBytes(const Tensor& t) { return t.capacity_bytes(); }

void Layer::AddMemory(MemoryFootprint* memory) const {
  memory->activation_bytes += StorageBytes(output_.tensor);
  memory->workspace_bytes += StorageBytes(input_grad_.tensor);
}

PassTimer::~PassTimer() {
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  LayerTelemetry& telemetry = layer_->telemetry_;
  telemetry.ms[int(pass_)] = ms;
  telemetry.ran[int(pass_)] = true;
  if (!Verbose()) return;
  const bool wrote_input_grad = pass_ == Pass::kBackwardData && !layer_->input_grad_.tensor.empty();
  const Activation& written = wrote_input_grad ? layer_->input_grad_ : layer_->output_;
  const double zeros = pass_ != Pass::kBackwardWeights && written.zeros >= 0
                           ? double(written.zeros) / double(written.tensor.storage_floats())
                           : -1.0;
  LogPass(layer_->kind(), layer_->name(), pass_, written.tensor.dims().text(), nullptr, zeros, ms);
}

}  // namespace sparsetrain
