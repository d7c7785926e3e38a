#include "runtime/layers.h"

#include <cmath>
#include <cstring>

#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/reorder.h"
#include "runtime/pass_timer.h"

namespace sparsetrain {
namespace {

bool IsFlat(const TensorSpec& spec) {
  return spec.layout == Layout::kNCHW && spec.dims.h == 1 && spec.dims.w == 1;
}

void CopyActivation(const Activation& from, Activation* to) {
  std::memcpy(to->tensor.data(), from.tensor.data(),
              size_t(from.tensor.storage_floats()) * sizeof(float));
  to->zeros = from.zeros;
}

}  // namespace

// ---- Relu

Status Relu::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  *out = in;
  return Status::Ok();
}

Status Relu::ForwardOne(const Activation& x, const ExecContext& ctx) {
  Status status = PrepareActivation({x.tensor.dims(), x.tensor.layout()}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  output_.zeros =
      ReluForward(x.tensor.data(), output_.tensor.data(), x.tensor.storage_floats(), ctx.pool);
  return Status::Ok();
}

Status Relu::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (!need_dx) return Status::Ok();
  Status status =
      PrepareActivation({dy.tensor.dims(), dy.tensor.layout()}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  input_grad_.zeros = ReluBackward(dy.tensor.data(), output_.tensor.data(),
                                   input_grad_.tensor.data(), dy.tensor.storage_floats(), ctx.pool);
  return Status::Ok();
}

// ---- ActivationLayer

Status ActivationLayer::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  Status status = Validate(f_);
  if (!status.ok())
    return InvalidArgument(std::string(kind()) + " '" + name() + "': " + status.message());
  *out = in;
  return Status::Ok();
}

Status ActivationLayer::ForwardOne(const Activation& x, const ExecContext& ctx) {
  const TensorSpec spec{x.tensor.dims(), x.tensor.layout()};
  Status status = PrepareActivation(spec, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  x_ = &x;
  output_.zeros = ActivationForward(f_, spec.dims, spec.layout, x.tensor.data(),
                                    output_.tensor.data(), ctx.pool);
  return Status::Ok();
}

Status ActivationLayer::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (!need_dx) return Status::Ok();
  if (x_ == nullptr) return MismatchError("backward before forward");
  Status status =
      PrepareActivation({dy.tensor.dims(), dy.tensor.layout()}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  const float* x = IsClip() ? output_.tensor.data() : x_->tensor.data();
  input_grad_.zeros = ActivationBackward(f_, x, dy.tensor.data(), input_grad_.tensor.data(),
                                         dy.tensor.storage_floats(), ctx.pool);
  return Status::Ok();
}

// ---- MaxPool2d

Status MaxPool2d::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  const PoolShape shape = ShapeFor(in.dims);
  Status status = Validate(shape);
  if (!status.ok()) return MismatchError(status.message());
  *out = {shape.output(), Layout::kNChw16c};
  return Status::Ok();
}

Status MaxPool2d::ForwardOne(const Activation& x, const ExecContext& ctx) {
  const PoolShape shape = ShapeFor(x.tensor.dims());
  Status status = PrepareActivation({shape.output(), Layout::kNChw16c}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  status = argmax_.Grow(size_t(output_.tensor.storage_floats()) * sizeof(int32_t), ctx.allocator);
  if (!status.ok()) return status.Within("maxpool2d '" + name() + "'");
  PassTimer timer(this, Pass::kForward);
  input_dims_ = x.tensor.dims();
  output_.zeros = MaxPoolForward(shape, x.tensor.data(), output_.tensor.data(),
                                 static_cast<int32_t*>(argmax_.data()), ctx.pool);
  return Status::Ok();
}

Status MaxPool2d::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (!need_dx) return Status::Ok();
  Status status = PrepareActivation({input_dims_, Layout::kNChw16c}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  input_grad_.zeros = MaxPoolBackward(ShapeFor(input_dims_), dy.tensor.data(),
                                      static_cast<const int32_t*>(argmax_.data()),
                                      input_grad_.tensor.data(), ctx.pool);
  return Status::Ok();
}

void MaxPool2d::AddMemory(MemoryFootprint* memory) const {
  Layer::AddMemory(memory);
  memory->activation_bytes += argmax_.bytes();  // backward needs them
}

// ---- AvgPool2d

Status AvgPool2d::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  const PoolShape shape = ShapeFor(in.dims);
  Status status = Validate(shape);
  if (!status.ok()) return MismatchError(status.message());
  *out = {shape.output(), Layout::kNChw16c};
  return Status::Ok();
}

Status AvgPool2d::ForwardOne(const Activation& x, const ExecContext& ctx) {
  const PoolShape shape = ShapeFor(x.tensor.dims());
  Status status = PrepareActivation({shape.output(), Layout::kNChw16c}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  input_dims_ = x.tensor.dims();
  AvgPoolForward(shape, x.tensor.data(), output_.tensor.data(), ctx.pool);
  return Status::Ok();
}

Status AvgPool2d::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (!need_dx) return Status::Ok();
  Status status = PrepareActivation({input_dims_, Layout::kNChw16c}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  AvgPoolBackward(ShapeFor(input_dims_), dy.tensor.data(), input_grad_.tensor.data(), ctx.pool);
  return Status::Ok();
}

// ---- GlobalAvgPool

Status GlobalAvgPool::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  *out = {{in.dims.n, in.dims.c, 1, 1}, Layout::kNCHW};
  return Status::Ok();
}

Status GlobalAvgPool::ForwardOne(const Activation& x, const ExecContext& ctx) {
  input_dims_ = x.tensor.dims();
  Status status = PrepareActivation({{input_dims_.n, input_dims_.c, 1, 1}, Layout::kNCHW},
                                    ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  GlobalAvgPoolForward(input_dims_, x.tensor.data(), output_.tensor.data(), ctx.pool);
  return Status::Ok();
}

Status GlobalAvgPool::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (!need_dx) return Status::Ok();
  Status status = PrepareActivation({input_dims_, Layout::kNChw16c}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  GlobalAvgPoolBackward(input_dims_, dy.tensor.data(), input_grad_.tensor.data(), ctx.pool);
  return Status::Ok();
}

// ---- Flatten

Status Flatten::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  *out = {{in.dims.n, in.dims.c * in.dims.h * in.dims.w, 1, 1}, Layout::kNCHW};
  return Status::Ok();
}

Status Flatten::ForwardOne(const Activation& x, const ExecContext& ctx) {
  input_ = {x.tensor.dims(), x.tensor.layout()};
  const Dims& d = input_.dims;
  Status status =
      PrepareActivation({{d.n, d.c * d.h * d.w, 1, 1}, Layout::kNCHW}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  return Reorder(x.tensor.data(), input_.layout, output_.tensor.data(), Layout::kNCHW, d, ctx.pool);
}

Status Flatten::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (!need_dx) return Status::Ok();
  // Back into the input's own layout: blocked after convolutions, flat after global pooling.
  Status status = PrepareActivation(input_, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  return Reorder(dy.tensor.data(), Layout::kNCHW, input_grad_.tensor.data(), input_.layout,
                 input_.dims, ctx.pool);
}

// ---- Linear

Status Linear::Create(std::string name, int64_t in_features, int64_t out_features, bool bias,
                      const Allocator& allocator, std::unique_ptr<Layer>* out) {
  if (in_features <= 0 || out_features <= 0) {
    return InvalidArgument("linear '" + name + "': feature counts must be positive");
  }
  std::unique_ptr<Linear> linear(new Linear(std::move(name), in_features, out_features));
  linear->weight_.name = linear->name() + ".weight";
  linear->weight_.shape = {out_features, in_features};
  for (Tensor* t : {&linear->weight_.value, &linear->weight_.grad}) {
    Status status = Tensor::Create({out_features, in_features, 1, 1}, Layout::kNCHW, allocator, t);
    if (!status.ok()) return status;
  }
  if (bias) {
    Status status = CreateVectorParameter(&linear->bias_, linear->name() + ".bias", out_features,
                                          Layout::kNCHW, /*is_buffer=*/false, allocator);
    if (!status.ok()) return status;
  }
  *out = std::move(linear);
  return Status::Ok();
}

Status Linear::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  if (!IsFlat(in)) return MismatchError("needs a flat input (add flatten or global_avg_pool)");
  if (in.dims.c != in_) {
    return MismatchError("expects " + std::to_string(in_) + " input features, got " +
                         std::to_string(in.dims.c));
  }
  *out = {{in.dims.n, out_, 1, 1}, Layout::kNCHW};
  return Status::Ok();
}

void Linear::Initialize(Random* random) {
  InitializeLikePyTorch(in_, random, &weight_, bias_.value.empty() ? nullptr : &bias_);
}

std::vector<Parameter*> Linear::Parameters() {
  if (bias_.value.empty()) return {&weight_};
  return {&weight_, &bias_};
}

Status Linear::ForwardOne(const Activation& x, const ExecContext& ctx) {
  const int64_t rows = x.tensor.dims().n;
  Status status = PrepareActivation({{rows, out_, 1, 1}, Layout::kNCHW}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  x_ = &x;
  LinearForward({rows, in_, out_}, x.tensor.data(), weight_.value.data(),
                bias_.value.empty() ? nullptr : bias_.value.data(), output_.tensor.data(),
                ctx.pool);
  return Status::Ok();
}

Status Linear::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (x_ == nullptr) return MismatchError("backward before forward");
  const LinearShape shape{x_->tensor.dims().n, in_, out_};
  if (!frozen()) {
    PassTimer timer(this, Pass::kBackwardWeights);
    LinearBackwardWeights(shape, x_->tensor.data(), dy.tensor.data(), weight_.grad.data(),
                          bias_.grad.empty() ? nullptr : bias_.grad.data(), ctx.pool);
  }
  if (!need_dx) return Status::Ok();
  Status status =
      PrepareActivation({x_->tensor.dims(), Layout::kNCHW}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  LinearBackwardData(shape, dy.tensor.data(), weight_.value.data(), input_grad_.tensor.data(),
                     ctx.pool);
  return Status::Ok();
}

// ---- Dropout

Status Dropout::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  if (!(drop_ >= 0.0f && drop_ < 1.0f)) {
    return Status(StatusCode::kInvalidArgument,
                  "dropout '" + name() + "': probability must be in [0, 1)");
  }
  *out = in;
  return Status::Ok();
}

Status Dropout::ForwardOne(const Activation& x, const ExecContext& ctx) {
  Status status = PrepareActivation({x.tensor.dims(), x.tensor.layout()}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  masked_ = ctx.training && drop_ > 0.0f;
  if (!masked_) {
    CopyActivation(x, &output_);
    return Status::Ok();
  }
  mask_seed_ = Random(seed_ ^ (ctx.step * 0x9E3779B97F4A7C15ull)).Next();
  output_.zeros = sparsetrain::Dropout(x.tensor.data(), output_.tensor.data(),
                                       x.tensor.storage_floats(), drop_, mask_seed_, ctx.pool);
  return Status::Ok();
}

Status Dropout::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (!need_dx) return Status::Ok();
  Status status =
      PrepareActivation({dy.tensor.dims(), dy.tensor.layout()}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  if (!masked_) {
    CopyActivation(dy, &input_grad_);
    return Status::Ok();
  }
  input_grad_.zeros = sparsetrain::Dropout(dy.tensor.data(), input_grad_.tensor.data(),
                                           dy.tensor.storage_floats(), drop_, mask_seed_, ctx.pool);
  return Status::Ok();
}

}  // namespace sparsetrain
