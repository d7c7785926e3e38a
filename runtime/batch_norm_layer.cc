#include "runtime/batch_norm_layer.h"

#include <cmath>

#include "kernels/batch_norm.h"
#include "runtime/pass_timer.h"

namespace sparsetrain {

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
    Status status = CreateVectorParameter(v.p, n + "." + v.field, channels, Layout::kNChw16c,
                                          v.is_buffer, allocator);
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

Status BatchNorm2d::PlanOne(const TensorSpec& in, TensorSpec* out) const {
  if (in.layout != Layout::kNChw16c) return MismatchError("needs a 4-D (N, C, H, W) input");
  if (in.dims.c != channels_) {
    return MismatchError("expects " + std::to_string(channels_) + " channels, got " +
                         std::to_string(in.dims.c));
  }
  *out = in;
  return Status::Ok();
}

Status BatchNorm2d::ForwardOne(const Activation& x, const ExecContext& ctx) {
  const Dims dims = x.tensor.dims();
  Status status = PrepareActivation({dims, Layout::kNChw16c}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  const int64_t padded = PaddedChannels(channels_);
  const double count = double(dims.n * dims.h * dims.w);
  std::fill_n(mean_, padded, 0.0f);
  std::fill_n(inv_std_, padded, 0.0f);
  // Frozen, it keeps its running statistics and normalises with them, as fine-tuning with
  // small batches needs.
  used_batch_statistics_ = ctx.training && !frozen();
  float* running_mean = running_mean_.value.data();
  float* running_var = running_var_.value.data();
  if (used_batch_statistics_) {
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

Status BatchNorm2d::BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) {
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

}  // namespace sparsetrain
