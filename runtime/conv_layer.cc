#include "runtime/conv_layer.h"

#include <cmath>

#include "kernels/channels.h"
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
    status = CreateVectorParameter(&conv->bias_, conv->name() + ".bias", channels, Layout::kNChw16c,
                                   /*is_buffer=*/false, allocator);
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

// ---- GroupedConv2d

Status GroupedConv2d::Create(std::string name, int64_t in_channels, int64_t groups,
                             const Conv2dOptions& options, const Allocator& allocator,
                             std::unique_ptr<Layer>* out) {
  if (groups < 1 || in_channels % groups != 0 || options.out_channels % groups != 0) {
    return InvalidArgument("grouped_conv2d '" + name + "': " + std::to_string(groups) +
                           " groups do not divide " + std::to_string(in_channels) + " input and " +
                           std::to_string(options.out_channels) + " output channels");
  }
  std::unique_ptr<GroupedConv2d> conv(new GroupedConv2d(std::move(name), groups));
  const int64_t group_in = in_channels / groups, group_out = options.out_channels / groups;
  ConvShape geometry;
  geometry.c = group_in, geometry.k = group_out;
  geometry.r = geometry.s = options.kernel;
  geometry.stride_h = geometry.stride_w = options.stride;
  geometry.pad_h = geometry.pad_w = options.pad;
  for (int64_t g = 0; g < groups; ++g) {
    std::unique_ptr<ConvOp> op;
    Status status = ConvOp::Create(conv->name() + ".group" + std::to_string(g), geometry,
                                   options.bias, allocator, &op);
    if (!status.ok()) return status;
    conv->ops_.push_back(std::move(op));
  }
  Parameter& w = conv->weight_;
  w.name = conv->name() + ".weight";
  w.shape = {options.out_channels, group_in, options.kernel, options.kernel};
  for (Tensor* t : {&w.value, &w.grad}) {
    Status status = Tensor::Create({options.out_channels, group_in, options.kernel, options.kernel},
                                   Layout::kNCHW, allocator, t);
    if (!status.ok()) return status;
  }
  if (options.bias) {
    Status status = CreateVectorParameter(&conv->bias_, conv->name() + ".bias",
                                          options.out_channels, Layout::kNCHW, false, allocator);
    if (!status.ok()) return status;
  }
  conv->x_parts_.resize(size_t(groups));
  *out = std::move(conv);
  return Status::Ok();
}

ConvShape GroupedConv2d::ShapeFor(const Dims& input) const {
  ConvShape shape = ops_[0]->ShapeFor(input);
  shape.c = input.c;
  shape.k *= groups_;
  return shape;
}

Status GroupedConv2d::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  const ConvShape group = ops_[0]->ShapeFor(in.dims);
  if (in.dims.c != group.c * groups_) {
    return MismatchError("expects " + std::to_string(group.c * groups_) + " input channels, got " +
                         std::to_string(in.dims.c));
  }
  Status status = Validate(group);
  if (!status.ok()) return MismatchError(status.message());
  Dims y = group.output();
  y.c *= groups_;
  *out = {y, Layout::kNChw16c};
  return Status::Ok();
}

std::vector<Parameter*> GroupedConv2d::Parameters() {
  if (bias_.value.empty()) return {&weight_};
  return {&weight_, &bias_};
}

void GroupedConv2d::Initialize(Random* random) {
  const Dims& w = weight_.value.dims();  // (K, C / groups, R, S)
  InitializeLikePyTorch(w.c * w.h * w.w, random, &weight_, bias_.value.empty() ? nullptr : &bias_);
}

void GroupedConv2d::ShareWeights() {
  if (shared_version_ == weight_.version + bias_.version) return;
  const int64_t slice = weight_.value.dims().count() / groups_;
  const int64_t outputs = weight_.value.dims().n / groups_;
  for (int64_t g = 0; g < groups_; ++g) {
    // A group's rows of the (K, C / groups, R, S) weight are its own weight, in PyTorch's order.
    static_cast<void>(
        ops_[size_t(g)]->weight().value.CopyFrom(weight_.value.data() + g * slice, Layout::kNCHW));
    ++ops_[size_t(g)]->weight().version;
    if (Parameter* bias = ops_[size_t(g)]->bias()) {
      static_cast<void>(bias->value.CopyFrom(bias_.value.data() + g * outputs, Layout::kNCHW));
      ++bias->version;
    }
  }
  shared_version_ = weight_.version + bias_.version;
}

void GroupedConv2d::AddMemory(MemoryFootprint* memory) const {
  Layer::AddMemory(memory);
  for (const Activation& part : x_parts_) memory->activation_bytes += StorageBytes(part.tensor);
  for (const Activation* part : {&y_part_, &dy_part_, &dx_part_}) {
    memory->workspace_bytes += StorageBytes(part->tensor);
  }
  for (const auto& op : ops_) {
    memory->workspace_bytes += op->WorkspaceBytes();
    for (Parameter* p : op->Parameters()) {
      memory->workspace_bytes += StorageBytes(p->value) + StorageBytes(p->grad);
    }
  }
}

Status GroupedConv2d::ForwardOne(const Activation& x, const ExecContext& ctx) {
  const ConvShape group = ops_[0]->ShapeFor(x.tensor.dims());
  Dims y = group.output();
  y.c *= groups_;
  Status status = PrepareActivation({y, Layout::kNChw16c}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  status = PrepareActivation({group.output(), Layout::kNChw16c}, ctx.allocator, &y_part_);
  if (!status.ok()) return status;
  ShareWeights();
  PassTimer timer(this, Pass::kForward);
  x_ = &x;
  for (int64_t g = 0; g < groups_; ++g) {
    Activation& part = x_parts_[size_t(g)];
    status = PrepareActivation({group.input(), Layout::kNChw16c}, ctx.allocator, &part);
    if (!status.ok()) return status;
    CopyChannelsOut(x.tensor.dims().c, g * group.c, x.tensor.data(), group.input(),
                    part.tensor.data(), ctx.pool);
    status = ops_[size_t(g)]->Forward(group, part.tensor.data(), -1, y_part_.tensor.data(),
                                      ctx.policy, ctx.workspace, ctx.pool);
    if (!status.ok()) return status;
    CopyChannelsInto(group.output(), y_part_.tensor.data(), y.c, g * group.k, output_.tensor.data(),
                     ctx.pool);
  }
  ZeroChannelPadding(y, output_.tensor.data());
  return Status::Ok();
}

Status GroupedConv2d::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (x_ == nullptr) return MismatchError("backward before forward");
  const ConvShape group = ops_[0]->ShapeFor(x_->tensor.dims());
  const Dims& x_dims = x_->tensor.dims();
  Status status = PrepareActivation({group.output(), Layout::kNChw16c}, ctx.allocator, &dy_part_);
  if (status.ok() && need_dx) {
    status = PrepareActivation({x_dims, Layout::kNChw16c}, ctx.allocator, &input_grad_);
  }
  if (status.ok() && need_dx) {
    status = PrepareActivation({group.input(), Layout::kNChw16c}, ctx.allocator, &dx_part_);
  }
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  const int64_t slice = weight_.value.dims().count() / groups_;
  const int64_t outputs = weight_.value.dims().n / groups_;
  for (int64_t g = 0; g < groups_; ++g) {
    ConvOp& op = *ops_[size_t(g)];
    CopyChannelsOut(dy.tensor.dims().c, g * group.k, dy.tensor.data(), group.output(),
                    dy_part_.tensor.data(), ctx.pool);
    status = op.Backward(group, x_parts_[size_t(g)].tensor.data(), op.forward_input_zeros(),
                         dy_part_.tensor.data(), -1, !frozen(),
                         need_dx ? dx_part_.tensor.data() : nullptr, ctx.policy, ctx.workspace,
                         ctx.pool);
    if (!status.ok()) return status;
    if (!frozen()) {
      static_cast<void>(op.weight().grad.CopyTo(weight_.grad.data() + g * slice, Layout::kNCHW));
      if (Parameter* bias = op.bias()) {
        static_cast<void>(bias->grad.CopyTo(bias_.grad.data() + g * outputs, Layout::kNCHW));
      }
    }
    if (need_dx) {
      CopyChannelsInto(group.input(), dx_part_.tensor.data(), x_dims.c, g * group.c,
                       input_grad_.tensor.data(), ctx.pool);
    }
  }
  if (need_dx) ZeroChannelPadding(x_dims, input_grad_.tensor.data());
  return Status::Ok();
}

}  // namespace sparsetrain
