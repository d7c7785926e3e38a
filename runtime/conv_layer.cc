#include "runtime/conv_layer.h"

#include <cmath>

#include "kernels/conv_depthwise.h"
#include "runtime/pass_timer.h"

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

// ---- DepthwiseConv2d

Status DepthwiseConv2d::Create(std::string name, int64_t channels, const Conv2dOptions& options,
                               const Allocator& allocator, std::unique_ptr<Layer>* out) {
  ConvShape geometry;
  geometry.c = geometry.k = channels;
  geometry.r = geometry.s = options.kernel;
  geometry.stride_h = geometry.stride_w = options.stride;
  geometry.pad_h = geometry.pad_w = options.pad;
  geometry.h = geometry.w = options.kernel;  // a stand-in size, to check the rest
  Status status = ValidateDepthwise(geometry);
  if (options.out_channels != channels) {
    status = InvalidArgument("needs " + std::to_string(channels) +
                             " output channels (as many as its input), got " +
                             std::to_string(options.out_channels));
  }
  if (!status.ok()) return InvalidArgument("depthwise_conv2d '" + name + "': " + status.message());
  std::unique_ptr<DepthwiseConv2d> conv(
      new DepthwiseConv2d(std::move(name), geometry, options.bias));
  Parameter& w = conv->weight_;
  w.name = conv->name() + ".weight";
  w.shape = {channels, 1, options.kernel, options.kernel};
  for (Tensor* t : {&w.value, &w.grad}) {
    // (1, C, R, S) blocked: per channel block, per tap, 16 channels (kernels/conv_depthwise.h).
    status = Tensor::Create({1, channels, options.kernel, options.kernel}, Layout::kNChw16c,
                            allocator, t);
    if (!status.ok()) return status;
  }
  if (options.bias) {
    status = CreateVectorParameter(&conv->bias_, conv->name() + ".bias", channels,
                                   Layout::kNChw16c, /*is_buffer=*/false, allocator);
    if (!status.ok()) return status;
  }
  *out = std::move(conv);
  return Status::Ok();
}

ConvShape DepthwiseConv2d::ShapeFor(const Dims& input) const {
  ConvShape shape = geometry_;
  shape.n = input.n, shape.h = input.h, shape.w = input.w;
  return shape;
}

Status DepthwiseConv2d::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  if (in.dims.c != geometry_.c) {
    return MismatchError("expects " + std::to_string(geometry_.c) + " input channels, got " +
                         std::to_string(in.dims.c));
  }
  const ConvShape shape = ShapeFor(in.dims);
  Status status = Validate(shape);
  if (!status.ok()) return MismatchError(status.message());
  *out = {shape.output(), Layout::kNChw16c};
  return Status::Ok();
}

std::vector<Parameter*> DepthwiseConv2d::Parameters() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

void DepthwiseConv2d::Initialize(Random* random) {
  InitializeLikePyTorch(geometry_.r * geometry_.s, random, &weight_, has_bias_ ? &bias_ : nullptr);
}

Status DepthwiseConv2d::ForwardOne(const Activation& x, const ExecContext& ctx) {
  const ConvShape shape = ShapeFor(x.tensor.dims());
  Status status = PrepareActivation({shape.output(), Layout::kNChw16c}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  telemetry_.is_conv = true;
  PassTimer timer(this, Pass::kForward);
  x_ = &x;
  return DepthwiseForward(shape, x.tensor.data(), weight_.value.data(),
                          has_bias_ ? bias_.value.data() : nullptr, output_.tensor.data(),
                          ctx.pool);
}

Status DepthwiseConv2d::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (x_ == nullptr) return MismatchError("backward before forward");
  const ConvShape shape = ShapeFor(x_->tensor.dims());
  if (!frozen()) {
    PassTimer timer(this, Pass::kBackwardWeights);
    Status status =
        DepthwiseBackwardWeights(shape, x_->tensor.data(), dy.tensor.data(), weight_.grad.data(),
                                 has_bias_ ? bias_.grad.data() : nullptr, ctx.pool);
    if (!status.ok()) return status;
  }
  if (!need_dx) return Status::Ok();
  Status status = PrepareActivation({shape.input(), Layout::kNChw16c}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  return DepthwiseBackwardData(shape, dy.tensor.data(), weight_.value.data(),
                               input_grad_.tensor.data(), ctx.pool);
}

}  // namespace sparsetrain
