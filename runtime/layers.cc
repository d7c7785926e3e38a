#include "runtime/layers.h"

#include <cmath>
#include <cstring>

#include "kernels/batch_norm.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/reorder.h"
#include "runtime/pass_timer.h"

namespace sparsetrain {
namespace {

bool IsFlat(const TensorSpec& spec) {
  return spec.layout == Layout::kNCHW && spec.dims.h == 1 && spec.dims.w == 1;
}

Status CreateVector(Parameter* p, const std::string& name, int64_t length, Layout layout,
                    bool is_buffer, const Allocator& allocator) {
  p->name = name;
  p->shape = {length};
  p->is_buffer = is_buffer;
  // Per-channel vectors of 4-D layers are (1, C, 1, 1) in nChw16c: padded to whole channel
  // blocks with zeros, as the channel kernels load them.
  const Dims dims = layout == Layout::kNChw16c ? Dims{1, length, 1, 1} : Dims{length, 1, 1, 1};
  Status status = Tensor::Create(dims, layout, allocator, &p->value);
  if (!status.ok() || is_buffer) return status;
  return Tensor::Create(dims, layout, allocator, &p->grad);
}

void CopyActivation(const Activation& from, Activation* to) {
  std::memcpy(to->tensor.data(), from.tensor.data(),
              size_t(from.tensor.storage_floats()) * sizeof(float));
  to->zeros = from.zeros;
}

}  // namespace

// ---- Relu

Status Relu::Plan(const TensorSpec& in, TensorSpec* out) const {
  *out = in;
  return Status::Ok();
}

Status Relu::Forward(const Activation& x, const ExecContext& ctx) {
  Status status = PrepareActivation({x.tensor.dims(), x.tensor.layout()}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  output_.zeros =
      ReluForward(x.tensor.data(), output_.tensor.data(), x.tensor.storage_floats(), ctx.pool);
  return Status::Ok();
}

Status Relu::Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (!need_dx) return Status::Ok();
  Status status =
      PrepareActivation({dy.tensor.dims(), dy.tensor.layout()}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  input_grad_.zeros = ReluBackward(dy.tensor.data(), output_.tensor.data(),
                                   input_grad_.tensor.data(), dy.tensor.storage_floats(), ctx.pool);
  return Status::Ok();
}

// ---- MaxPool2d

Status MaxPool2d::Plan(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  const PoolShape shape = ShapeFor(in.dims);
  Status status = Validate(shape);
  if (!status.ok()) return MismatchError(status.message());
  *out = {shape.output(), Layout::kNChw16c};
  return Status::Ok();
}

Status MaxPool2d::Forward(const Activation& x, const ExecContext& ctx) {
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

Status MaxPool2d::Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) {
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

// ---- GlobalAvgPool

Status GlobalAvgPool::Plan(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  *out = {{in.dims.n, in.dims.c, 1, 1}, Layout::kNCHW};
  return Status::Ok();
}

Status GlobalAvgPool::Forward(const Activation& x, const ExecContext& ctx) {
  input_dims_ = x.tensor.dims();
  Status status = PrepareActivation({{input_dims_.n, input_dims_.c, 1, 1}, Layout::kNCHW},
                                    ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  GlobalAvgPoolForward(input_dims_, x.tensor.data(), output_.tensor.data(), ctx.pool);
  return Status::Ok();
}

Status GlobalAvgPool::Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (!need_dx) return Status::Ok();
  Status status = PrepareActivation({input_dims_, Layout::kNChw16c}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  GlobalAvgPoolBackward(input_dims_, dy.tensor.data(), input_grad_.tensor.data(), ctx.pool);
  return Status::Ok();
}

// ---- Flatten

Status Flatten::Plan(const TensorSpec& in, TensorSpec* out) const {
  *out = {{in.dims.n, in.dims.c * in.dims.h * in.dims.w, 1, 1}, Layout::kNCHW};
  return Status::Ok();
}

Status Flatten::Forward(const Activation& x, const ExecContext& ctx) {
  input_ = {x.tensor.dims(), x.tensor.layout()};
  const Dims& d = input_.dims;
  Status status =
      PrepareActivation({{d.n, d.c * d.h * d.w, 1, 1}, Layout::kNCHW}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  return Reorder(x.tensor.data(), input_.layout, output_.tensor.data(), Layout::kNCHW, d, ctx.pool);
}

Status Flatten::Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) {
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
    Status status = CreateVector(&linear->bias_, linear->name() + ".bias", out_features,
                                 Layout::kNCHW, /*is_buffer=*/false, allocator);
    if (!status.ok()) return status;
  }
  *out = std::move(linear);
  return Status::Ok();
}

Status Linear::Plan(const TensorSpec& in, TensorSpec* out) const {
  if (!IsFlat(in)) return MismatchError("needs a flat input (add flatten or global_avg_pool)");
  if (in.dims.c != in_) {
    return MismatchError("expects " + std::to_string(in_) + " input features, got " +
                         std::to_string(in.dims.c));
  }
  *out = {{in.dims.n, out_, 1, 1}, Layout::kNCHW};
  return Status::Ok();
}

void Linear::Initialize(Random* random) {
  const double stddev = std::sqrt(2.0 / double(in_));
  float* w = weight_.value.data();
  for (int64_t i = 0; i < in_ * out_; ++i) w[i] = float(stddev * random->Normal());
  ++weight_.version;
  if (!bias_.value.empty()) {
    std::fill(bias_.value.data(), bias_.value.data() + out_, 0.0f);
    ++bias_.version;
  }
}

std::vector<Parameter*> Linear::Parameters() {
  if (bias_.value.empty()) return {&weight_};
  return {&weight_, &bias_};
}

Status Linear::Forward(const Activation& x, const ExecContext& ctx) {
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

Status Linear::Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) {
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

// ---- BatchNorm2d

Status BatchNorm2d::Create(std::string name, int64_t channels, double eps, double momentum,
                           const Allocator& allocator, std::unique_ptr<Layer>* out) {
  if (channels <= 0 || !(eps > 0.0) || !(momentum >= 0.0 && momentum <= 1.0)) {
    return InvalidArgument("batchnorm2d '" + name +
                           "': needs channels > 0, eps > 0 and momentum in [0, 1]");
  }
  std::unique_ptr<BatchNorm2d> bn(new BatchNorm2d(std::move(name), channels, eps, momentum));
  const std::string& n = bn->name();
  const struct {
    Parameter* p;
    const char* field;
    bool is_buffer;
  } vectors[] = {{&bn->weight_, "weight", false},
                 {&bn->bias_, "bias", false},
                 {&bn->running_mean_, "running_mean", true},
                 {&bn->running_var_, "running_var", true}};
  for (const auto& v : vectors) {
    Status status =
        CreateVector(v.p, n + "." + v.field, channels, Layout::kNChw16c, v.is_buffer, allocator);
    if (!status.ok()) return status;
  }
  const size_t padded = size_t(PaddedChannels(channels));
  Status status =
      bn->scratch_.Allocate(padded * (2 * sizeof(double) + 6 * sizeof(float)), allocator);
  if (!status.ok()) return status.Within("batchnorm2d '" + n + "'");
  double* doubles = static_cast<double*>(bn->scratch_.data());
  bn->sums_ = doubles;
  bn->squares_ = doubles + padded;
  float* floats = reinterpret_cast<float*>(doubles + 2 * padded);
  for (float** f : {&bn->mean_, &bn->inv_std_, &bn->scale_, &bn->shift_, &bn->slope_, &bn->zero_}) {
    *f = floats;
    floats += padded;
  }
  bn->Initialize(nullptr);
  *out = std::move(bn);
  return Status::Ok();
}

void BatchNorm2d::Initialize(Random* /*random*/) {
  std::fill(weight_.value.data(), weight_.value.data() + channels_, 1.0f);
  std::fill(running_var_.value.data(), running_var_.value.data() + channels_, 1.0f);
  std::fill(bias_.value.data(), bias_.value.data() + channels_, 0.0f);
  std::fill(running_mean_.value.data(), running_mean_.value.data() + channels_, 0.0f);
  for (Parameter* p : Parameters()) ++p->version;
}

void BatchNorm2d::AddMemory(MemoryFootprint* memory) const {
  Layer::AddMemory(memory);
  memory->workspace_bytes += scratch_.bytes();
}

std::vector<Parameter*> BatchNorm2d::Parameters() {
  return {&weight_, &bias_, &running_mean_, &running_var_};
}

Status BatchNorm2d::Plan(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  if (in.dims.c != channels_) {
    return MismatchError("expects " + std::to_string(channels_) + " channels, got " +
                         std::to_string(in.dims.c));
  }
  *out = in;
  return Status::Ok();
}

Status BatchNorm2d::Forward(const Activation& x, const ExecContext& ctx) {
  const Dims dims = x.tensor.dims();
  Status status = PrepareActivation({dims, Layout::kNChw16c}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  const int64_t padded = PaddedChannels(channels_);
  const double count = double(dims.n * dims.h * dims.w);
  std::fill_n(mean_, padded, 0.0f);
  std::fill_n(inv_std_, padded, 0.0f);
  used_batch_statistics_ = ctx.training;
  float* running_mean = running_mean_.value.data();
  float* running_var = running_var_.value.data();
  if (ctx.training) {
    std::fill_n(sums_, padded, 0.0);
    std::fill_n(squares_, padded, 0.0);
    ChannelSums(dims, x.tensor.data(), mean_, nullptr, nullptr, sums_, nullptr, ctx.pool);
    for (int64_t c = 0; c < channels_; ++c) mean_[c] = float(sums_[c] / count);
    ChannelSums(dims, x.tensor.data(), mean_, x.tensor.data(), mean_, sums_, squares_, ctx.pool);
    const double unbiased = count > 1.0 ? count / (count - 1.0) : 1.0;
    for (int64_t c = 0; c < channels_; ++c) {
      const double var = squares_[c] / count;
      inv_std_[c] = float(1.0 / std::sqrt(var + eps_));
      running_mean[c] = float((1.0 - momentum_) * running_mean[c] + momentum_ * mean_[c]);
      running_var[c] = float((1.0 - momentum_) * running_var[c] + momentum_ * var * unbiased);
    }
  } else {
    for (int64_t c = 0; c < channels_; ++c) {
      mean_[c] = running_mean[c];
      inv_std_[c] = float(1.0 / std::sqrt(double(running_var[c]) + eps_));
    }
  }
  std::fill_n(scale_, padded, 0.0f);
  std::fill_n(shift_, padded, 0.0f);
  const float* gamma = weight_.value.data();
  const float* beta = bias_.value.data();
  for (int64_t c = 0; c < channels_; ++c) {
    scale_[c] = gamma[c] * inv_std_[c];
    shift_[c] = float(double(beta[c]) - double(mean_[c]) * scale_[c]);
  }
  x_ = &x;
  ChannelAffine(dims, x.tensor.data(), scale_, nullptr, nullptr, shift_, output_.tensor.data(),
                ctx.pool);
  return Status::Ok();
}

Status BatchNorm2d::Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  if (x_ == nullptr) return MismatchError("backward before forward");
  const Dims dims = x_->tensor.dims();
  const int64_t padded = PaddedChannels(channels_);
  const double count = double(dims.n * dims.h * dims.w);
  PassTimer timer(this, Pass::kBackwardData);
  // With the input's mean as "centre", ChannelSums gives sum(dy) and sum(dy * (x - mean)).
  double* sum_dy = sums_;
  double* sum_dy_xc = squares_;
  std::fill_n(sum_dy, padded, 0.0);
  std::fill_n(sum_dy_xc, padded, 0.0);
  std::fill_n(zero_, padded, 0.0f);
  ChannelSums(dims, dy.tensor.data(), zero_, x_->tensor.data(), mean_, sum_dy, sum_dy_xc, ctx.pool);
  if (!frozen()) {
    for (int64_t c = 0; c < channels_; ++c) {
      weight_.grad.data()[c] = float(sum_dy_xc[c] * inv_std_[c]);
      bias_.grad.data()[c] = float(sum_dy[c]);
    }
  }
  if (!need_dx) return Status::Ok();
  Status status = PrepareActivation({dims, Layout::kNChw16c}, ctx.allocator, &input_grad_);
  if (!status.ok()) return status;
  // dx = a dy + b x + shift: with batch statistics the mean and variance depend on x too.
  float* a = scale_;
  float* b = slope_;
  std::fill_n(a, padded, 0.0f);
  std::fill_n(b, padded, 0.0f);
  std::fill_n(shift_, padded, 0.0f);
  const float* gamma = weight_.value.data();
  for (int64_t c = 0; c < channels_; ++c) {
    const double scale = double(gamma[c]) * inv_std_[c];
    a[c] = float(scale);
    if (used_batch_statistics_) {
      const double slope = -scale * double(inv_std_[c]) * inv_std_[c] * sum_dy_xc[c] / count;
      b[c] = float(slope);
      shift_[c] = float(-scale * sum_dy[c] / count - slope * mean_[c]);
    }
  }
  ChannelAffine(dims, dy.tensor.data(), a, used_batch_statistics_ ? x_->tensor.data() : nullptr, b,
                shift_, input_grad_.tensor.data(), ctx.pool);
  return Status::Ok();
}

// ---- Dropout

Status Dropout::Plan(const TensorSpec& in, TensorSpec* out) const {
  if (!(drop_ >= 0.0f && drop_ < 1.0f)) {
    return Status(StatusCode::kInvalidArgument,
                  "dropout '" + name() + "': probability must be in [0, 1)");
  }
  *out = in;
  return Status::Ok();
}

Status Dropout::Forward(const Activation& x, const ExecContext& ctx) {
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

Status Dropout::Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) {
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
