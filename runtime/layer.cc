#include "runtime/layer.h"

namespace sparsetrain {

Status PrepareActivation(const TensorSpec& spec, const Allocator& allocator, Activation* a) {
  a->zeros = -1;
  const Dims& have = a->tensor.dims();
  if (!a->tensor.empty() && a->tensor.layout() == spec.layout && have.n == spec.dims.n &&
      have.c == spec.dims.c && have.h == spec.dims.h && have.w == spec.dims.w) {
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

}  // namespace sparsetrain
