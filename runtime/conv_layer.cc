#include "runtime/conv_layer.h"

namespace sparsetrain {

Status Conv2d::Create(std::string name, int64_t in_channels, const Conv2dOptions& options,
                      const Allocator& allocator, std::unique_ptr<Layer>* out) {
  ConvShape geometry;
  geometry.c = in_channels;
  geometry.k = options.out_channels;
  geometry.r = geometry.s = options.kernel;
  geometry.stride_h = geometry.stride_w = options.stride;
  geometry.pad_h = geometry.pad_w = options.pad;
  std::unique_ptr<ConvOp> op;
  Status status = ConvOp::Create(name, geometry, options.bias, allocator, &op);
  if (!status.ok()) return status;
  out->reset(new Conv2d(std::move(name), std::move(op)));
  return Status::Ok();
}

Status Conv2d::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  const ConvShape shape = op_->ShapeFor(in.dims);
  if (in.dims.c != shape.c) {
    return MismatchError("expects " + std::to_string(shape.c) + " input channels, got " +
                         std::to_string(in.dims.c));
  }
  Status status = Validate(shape);
  if (!status.ok()) return MismatchError(status.message());
  *out = {shape.output(), Layout::kNChw16c};
  return Status::Ok();
}

void Conv2d::AddMemory(MemoryFootprint* memory) const {
  Layer::AddMemory(memory);
  memory->workspace_bytes += op_->WorkspaceBytes();
}

Status Conv2d::ForwardOne(const Activation& x, const ExecContext& ctx) {
  const ConvShape shape = op_->ShapeFor(x.tensor.dims());
  Status status = PrepareActivation({shape.output(), Layout::kNChw16c}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  x_ = &x;
  return op_->Forward(shape, x.tensor.data(), x.zeros, output_.tensor.data(), ctx.policy,
                      ctx.workspace, ctx.pool);
}

Status Conv2d::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (x_ == nullptr) return MismatchError("backward before forward");
  const ConvShape shape = op_->ShapeFor(x_->tensor.dims());
  if (need_dx) {
    Status status =
        PrepareActivation({shape.input(), Layout::kNChw16c}, ctx.allocator, &input_grad_);
    if (!status.ok()) return status;
  }
  return op_->Backward(shape, x_->tensor.data(), op_->forward_input_zeros(), dy.tensor.data(),
                       dy.zeros, !frozen(), need_dx ? input_grad_.tensor.data() : nullptr,
                       ctx.policy, ctx.workspace, ctx.pool);
}

}  // namespace sparsetrain
