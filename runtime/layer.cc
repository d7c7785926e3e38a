#include "runtime/layer.h"

namespace sparsetrain {

Status PrepareActivation(const TensorSpec& spec, Activation* a) {
  a->zeros = -1;
  const Dims& have = a->tensor.dims();
  if (!a->tensor.empty() && a->tensor.layout() == spec.layout && have.n == spec.dims.n &&
      have.c == spec.dims.c && have.h == spec.dims.h && have.w == spec.dims.w) {
    return Status::Ok();
  }
  return Tensor::Create(spec.dims, spec.layout, &a->tensor);
}

Status Layer::MismatchError(const std::string& what) const {
  return Status(StatusCode::kShapeMismatch, std::string(kind()) + " '" + name_ + "': " + what);
}

int64_t Layer::ActivationBytes() const {
  const auto bytes = [](const Activation& a) {
    return a.tensor.empty() ? 0 : a.tensor.storage_floats() * int64_t(sizeof(float));
  };
  return bytes(output_) + bytes(input_grad_);
}

}  // namespace sparsetrain
