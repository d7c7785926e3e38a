#include "runtime/conv_layer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "kernels/conv_dense.h"
#include "kernels/conv_sparse.h"
#include "kernels/elementwise.h"
#include "kernels/isa.h"
#include "kernels/reorder.h"
#include "runtime/pass_timer.h"

namespace sparsetrain {

Conv2d::Conv2d(std::string name, int64_t in_channels, const Conv2dOptions& options)
    : Layer(std::move(name)), in_channels_(in_channels), options_(options) {}

Status Conv2d::Create(std::string name, int64_t in_channels, const Conv2dOptions& options,
                      std::unique_ptr<Layer>* out) {
  std::unique_ptr<Conv2d> conv(new Conv2d(std::move(name), in_channels, options));
  // A nominal input the kernel fits, to check the geometry fields now rather than per batch.
  const int64_t h = std::max<int64_t>(options.kernel, 1);
  ConvShape probe = conv->ShapeFor({1, in_channels, h, h});
  Status status = Validate(probe);
  if (!status.ok()) return Status(status.code(), "conv2d '" + conv->name() + "': " + status.message());
  const Dims weight_dims = probe.weights();
  const int64_t k = options.out_channels;
  conv->weight_.name = conv->name() + ".weight";
  conv->weight_.shape = {k, in_channels, options.kernel, options.kernel};
  for (Tensor* t : {&conv->weight_.value, &conv->weight_.grad}) {
    status = Tensor::Create(weight_dims, Layout::kOIhw16i16o, t);
    if (!status.ok()) return status;
  }
  status = Tensor::Create(weight_dims, Layout::kIOhw16o16i, &conv->weight_transposed_);
  if (!status.ok()) return status;
  if (options.bias) {
    conv->bias_.name = conv->name() + ".bias";
    conv->bias_.shape = {k};
    for (Tensor* t : {&conv->bias_.value, &conv->bias_.grad}) {
      status = Tensor::Create({k, 1, 1, 1}, Layout::kNCHW, t);
      if (!status.ok()) return status;
    }
  }
  *out = std::move(conv);
  return Status::Ok();
}

ConvShape Conv2d::ShapeFor(const Dims& in) const {
  ConvShape s;
  s.n = in.n, s.c = in_channels_, s.h = in.h, s.w = in.w;
  s.k = options_.out_channels;
  s.r = s.s = options_.kernel;
  s.stride_h = s.stride_w = options_.stride;
  s.pad_h = s.pad_w = options_.pad;
  return s;
}

Status Conv2d::Plan(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  if (in.dims.c != in_channels_) {
    return MismatchError("expects " + std::to_string(in_channels_) + " input channels, got " +
                         std::to_string(in.dims.c));
  }
  const ConvShape shape = ShapeFor(in.dims);
  Status status = Validate(shape);
  if (!status.ok()) return MismatchError(status.message());
  *out = {shape.output(), Layout::kNChw16c};
  return Status::Ok();
}

void Conv2d::Initialize(Random* random) {
  const int64_t fan_in = in_channels_ * options_.kernel * options_.kernel;
  const double stddev = std::sqrt(2.0 / double(fan_in));
  std::vector<float> w(weight_.value.dims().count());
  for (float& v : w) v = float(stddev * random->Normal());
  // Same dims and a valid layout pair: the copy cannot fail.
  static_cast<void>(weight_.value.CopyFrom(w.data(), Layout::kNCHW));
  ++weight_.version;
  if (options_.bias) {
    std::fill(bias_.value.data(), bias_.value.data() + options_.out_channels, 0.0f);
    ++bias_.version;
  }
}

std::vector<Parameter*> Conv2d::Parameters() {
  if (options_.bias) return {&weight_, &bias_};
  return {&weight_};
}

void Conv2d::AddMemory(MemoryFootprint* memory) const {
  Layer::AddMemory(memory);
  memory->workspace_bytes += StorageBytes(weight_transposed_);
}

double Conv2d::ZeroFraction(const Activation& a, const ExecContext& ctx) {
  const int64_t storage = a.tensor.storage_floats();
  if (a.zeros < 0 && ctx.policy != KernelPolicy::kAuto) return -1.0;
  const int64_t count = a.zeros >= 0 ? a.zeros : CountZeros(a.tensor.data(), storage, ctx.pool);
  return double(count) / double(storage);
}

ConvKernel Conv2d::Choose(ConvPass pass, const ConvShape& shape, double zeros,
                          const ExecContext& ctx) {
  switch (ctx.policy) {
    case KernelPolicy::kDense:
      return ConvKernel::kDense;
    case KernelPolicy::kSparse:
      return ConvKernel::kSparse;
    case KernelPolicy::kAuto:
      break;
  }
  return selectors_[int(pass)].Choose(pass, shape, zeros, ActiveIsa());
}

template <class Run>
Status Conv2d::Timed(ConvPass pass, ConvKernel kernel, const Run& run) {
  const auto start = std::chrono::steady_clock::now();
  Status status = run();
  selectors_[int(pass)].Record(
      kernel, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  return status;
}

Status Conv2d::Forward(const Activation& x, const ExecContext& ctx) {
  const ConvShape shape = ShapeFor(x.tensor.dims());
  Status status = PrepareActivation({shape.output(), Layout::kNChw16c}, &output_);
  if (!status.ok()) return status;
  telemetry_.is_conv = true;
  PassTimer timer(&telemetry_, LayerPass::kForward);
  telemetry_.input_zeros = ZeroFraction(x, ctx);
  const ConvKernel kernel = Choose(ConvPass::kForward, shape, telemetry_.input_zeros, ctx);
  telemetry_.kernel[int(LayerPass::kForward)] = kernel;
  const float* bias = options_.bias ? bias_.value.data() : nullptr;
  x_ = &x;
  return Timed(ConvPass::kForward, kernel, [&] {
    return kernel == ConvKernel::kSparse
               ? ConvForwardSparse(shape, x.tensor.data(), weight_.value.data(), bias,
                                   output_.tensor.data(), ctx.pool)
               : ConvForwardDense(shape, x.tensor.data(), weight_.value.data(), bias,
                                  output_.tensor.data(), ctx.pool);
  });
}

Status Conv2d::Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (x_ == nullptr) return MismatchError("backward before forward");
  const ConvShape shape = ShapeFor(x_->tensor.dims());
  telemetry_.grad_zeros = ZeroFraction(dy, ctx);
  if (!frozen()) {
    PassTimer timer(&telemetry_, LayerPass::kBackwardWeights);
    const ConvKernel kernel =
        Choose(ConvPass::kBackwardWeights, shape, telemetry_.grad_zeros, ctx);
    telemetry_.kernel[int(LayerPass::kBackwardWeights)] = kernel;
    float* dbias = options_.bias ? bias_.grad.data() : nullptr;
    Status status = Timed(ConvPass::kBackwardWeights, kernel, [&] {
      return kernel == ConvKernel::kSparse
                 ? ConvBackwardWeightsSparse(shape, x_->tensor.data(), dy.tensor.data(),
                                             weight_.grad.data(), dbias, ctx.pool)
                 : ConvBackwardWeightsDense(shape, x_->tensor.data(), dy.tensor.data(),
                                            weight_.grad.data(), dbias, ctx.pool);
    });
    if (!status.ok()) return status;
  }
  if (!need_dx) return Status::Ok();
  Status status = PrepareActivation({shape.input(), Layout::kNChw16c}, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(&telemetry_, LayerPass::kBackwardData);
  if (transposed_version_ != weight_.version) {
    status = Reorder(weight_.value.data(), Layout::kOIhw16i16o, weight_transposed_.data(),
                     Layout::kIOhw16o16i, shape.weights(), ctx.pool);
    if (!status.ok()) return status;
    transposed_version_ = weight_.version;
  }
  const ConvKernel kernel = Choose(ConvPass::kBackwardData, shape, telemetry_.grad_zeros, ctx);
  telemetry_.kernel[int(LayerPass::kBackwardData)] = kernel;
  return Timed(ConvPass::kBackwardData, kernel, [&] {
    return kernel == ConvKernel::kSparse
               ? ConvBackwardDataSparse(shape, dy.tensor.data(), weight_transposed_.data(),
                                        input_grad_.tensor.data(), ctx.pool)
               : ConvBackwardDataDense(shape, dy.tensor.data(), weight_transposed_.data(),
                                       input_grad_.tensor.data(), ctx.pool);
  });
}

}  // namespace sparsetrain
