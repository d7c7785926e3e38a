#include "runtime/join_layers.h"

#include "kernels/elementwise.h"
#include "runtime/pass_timer.h"

namespace sparsetrain {

Status AddLayer::Plan(const std::vector<TensorSpec>& in, TensorSpec* out) const {
  if (in.size() != 2) return MismatchError("takes two inputs, given " + std::to_string(in.size()));
  if (in[0].layout != in[1].layout || !(in[0].dims == in[1].dims)) {
    return MismatchError("inputs differ: " + in[0].dims.text() + " and " + in[1].dims.text());
  }
  *out = in[0];
  return Status::Ok();
}

Status AddLayer::Forward(const LayerInputs& x, const ExecContext& ctx) {
  const Tensor& a = x[0]->tensor;
  Status status = PrepareActivation({a.dims(), a.layout()}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  Add(a.data(), x[1]->tensor.data(), output_.tensor.data(), output_.tensor.storage_floats(),
      ctx.pool);
  return Status::Ok();
}

Status AddLayer::Backward(const Activation& dy, InputMask /*need_dx*/,
                          const ExecContext& /*ctx*/) {
  dy_ = &dy;
  return Status::Ok();
}

}  // namespace sparsetrain
