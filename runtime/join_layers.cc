#include "runtime/join_layers.h"

#include "kernels/channels.h"
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

Status AddLayer::Backward(const Activation& dy, InputMask /*need_dx*/, const ExecContext& /*ctx*/) {
  dy_ = &dy;
  return Status::Ok();
}

Status ConcatLayer::Plan(const std::vector<TensorSpec>& in, TensorSpec* out) const {
  if (in.empty()) return MismatchError("takes at least one input");
  if (in.size() > size_t(kMaxLayerInputs)) {
    return MismatchError("takes at most " + std::to_string(kMaxLayerInputs) + " inputs");
  }
  Dims joined = in[0].dims;
  joined.c = 0;
  for (const TensorSpec& spec : in) {
    const Dims& d = spec.dims;
    if (spec.layout != Layout::kNChw16c || d.n != joined.n || d.h != joined.h || d.w != joined.w) {
      return MismatchError("needs 4-D inputs of one batch and image size, got " +
                           in[0].dims.text() + " and " + d.text());
    }
    joined.c += d.c;
  }
  *out = {joined, Layout::kNChw16c};
  return Status::Ok();
}

Status ConcatLayer::Forward(const LayerInputs& x, const ExecContext& ctx) {
  Dims joined = x[0]->tensor.dims();
  joined.c = 0;
  inputs_.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    inputs_[i] = x[i]->tensor.dims();
    joined.c += inputs_[i].c;
  }
  Status status = PrepareActivation({joined, Layout::kNChw16c}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  int64_t offset = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    CopyChannelsInto(inputs_[i], x[i]->tensor.data(), joined.c, offset, output_.tensor.data(),
                     ctx.pool);
    offset += inputs_[i].c;
  }
  ZeroChannelPadding(joined, output_.tensor.data());
  return Status::Ok();
}

Status ConcatLayer::Backward(const Activation& dy, InputMask need_dx, const ExecContext& ctx) {
  PassTimer timer(this, Pass::kBackwardData);
  int64_t offset = 0;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if ((need_dx >> i) & 1) {
      Status status = PrepareActivation({inputs_[i], Layout::kNChw16c}, ctx.allocator, &grads_[i]);
      if (!status.ok()) return status;
      CopyChannelsOut(dy.tensor.dims().c, offset, dy.tensor.data(), inputs_[i],
                      grads_[i].tensor.data(), ctx.pool);
    }
    offset += inputs_[i].c;
  }
  return Status::Ok();
}

void ConcatLayer::AddMemory(MemoryFootprint* memory) const {
  Layer::AddMemory(memory);
  for (const Activation& g : grads_) memory->workspace_bytes += StorageBytes(g.tensor);
}

namespace {

// Whether b is one factor per channel of each of a's images.
bool IsChannelGate(const Dims& a, const Dims& b) {
  return b.n == a.n && b.c == a.c && b.h == 1 && b.w == 1 && !(a == b);
}

}  // namespace

Status MultiplyLayer::Plan(const std::vector<TensorSpec>& in, TensorSpec* out) const {
  if (in.size() != 2) return MismatchError("takes two inputs, given " + std::to_string(in.size()));
  const Dims &a = in[0].dims, &b = in[1].dims;
  const bool same = in[0].layout == in[1].layout && a == b;
  const bool gate =
      in[0].layout == Layout::kNChw16c && in[1].layout == Layout::kNChw16c && IsChannelGate(a, b);
  if (!same && !gate) {
    return MismatchError("needs a second input of the first's shape or one factor per channel (" +
                         std::to_string(a.n) + ", " + std::to_string(a.c) + ", 1, 1), got " +
                         a.text() + " and " + b.text());
  }
  *out = in[0];
  return Status::Ok();
}

Status MultiplyLayer::Forward(const LayerInputs& x, const ExecContext& ctx) {
  a_ = x[0], b_ = x[1];
  const Tensor &a = a_->tensor, &b = b_->tensor;
  Status status = PrepareActivation({a.dims(), a.layout()}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  if (IsChannelGate(a.dims(), b.dims())) {
    ScaleChannels(a.dims(), a.data(), b.data(), output_.tensor.data(), ctx.pool);
  } else {
    Multiply(a.data(), b.data(), output_.tensor.data(), a.storage_floats(), ctx.pool);
  }
  return Status::Ok();
}

Status MultiplyLayer::Backward(const Activation& dy, InputMask need_dx, const ExecContext& ctx) {
  if (a_ == nullptr) return MismatchError("backward before forward");
  const Tensor &a = a_->tensor, &b = b_->tensor;
  const Tensor* inputs[2] = {&a, &b};
  float* grads[2] = {nullptr, nullptr};
  for (int i = 0; i < 2; ++i) {
    if (!((need_dx >> i) & 1)) continue;
    Status status =
        PrepareActivation({inputs[i]->dims(), inputs[i]->layout()}, ctx.allocator, &grads_[i]);
    if (!status.ok()) return status;
    grads[i] = grads_[i].tensor.data();
  }
  PassTimer timer(this, Pass::kBackwardData);
  if (IsChannelGate(a.dims(), b.dims())) {
    ScaleChannelsBackward(a.dims(), a.data(), b.data(), dy.tensor.data(), grads[0], grads[1],
                          ctx.pool);
  } else {
    MultiplyBackward(a.data(), b.data(), dy.tensor.data(), grads[0], grads[1], a.storage_floats(),
                     ctx.pool);
  }
  return Status::Ok();
}

void MultiplyLayer::AddMemory(MemoryFootprint* memory) const {
  Layer::AddMemory(memory);
  for (const Activation& g : grads_) memory->workspace_bytes += StorageBytes(g.tensor);
}

}  // namespace sparsetrain
