#include "runtime/conv_op.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "kernels/conv_family.h"
#include "kernels/elementwise.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"
#include "kernels/reorder.h"
#include "runtime/verbose.h"

namespace sparsetrain {

Status ConvOp::Create(std::string name, const ConvShape& geometry, bool bias,
                      const Allocator& allocator, std::unique_ptr<ConvOp>* out) {
  std::unique_ptr<ConvOp> op(new ConvOp(std::move(name), allocator));
  op->geometry_ = geometry;
  op->has_bias_ = bias;
  op->ResetTelemetry();
  // A nominal input the kernel fits, to check the geometry now rather than per call.
  const ConvShape probe = op->ShapeFor(
      {1, geometry.c, std::max<int64_t>(geometry.r, 1), std::max<int64_t>(geometry.s, 1)});
  Status status = Validate(probe);
  if (!status.ok()) return status.Within("conv2d '" + op->name_ + "'");
  const Dims weight_dims = probe.weights();
  op->weight_.name = op->name_ + ".weight";
  op->weight_.shape = {geometry.k, geometry.c, geometry.r, geometry.s};
  for (Tensor* t : {&op->weight_.value, &op->weight_.grad}) {
    status = Tensor::Create(weight_dims, Layout::kOIhw16i16o, allocator, t);
    if (!status.ok()) return status;
  }
  if (bias) {
    op->bias_.name = op->name_ + ".bias";
    op->bias_.shape = {geometry.k};
    for (Tensor* t : {&op->bias_.value, &op->bias_.grad}) {
      status = Tensor::Create({geometry.k, 1, 1, 1}, Layout::kNCHW, allocator, t);
      if (!status.ok()) return status;
    }
  }
  *out = std::move(op);
  return Status::Ok();
}

ConvShape ConvOp::ShapeFor(const Dims& input) const {
  ConvShape s = geometry_;
  s.n = input.n, s.h = input.h, s.w = input.w;
  return s;
}

std::vector<Parameter*> ConvOp::Parameters() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

void ConvOp::Initialize(Random* random) {
  InitializeLikePyTorch(geometry_.c * geometry_.r * geometry_.s, random, &weight_,
                        has_bias_ ? &bias_ : nullptr);
}

int64_t ConvOp::ZeroCount(const float* data, int64_t zeros, int64_t storage, bool needed,
                          pthreadpool_t pool) const {
  if (zeros >= 0) return zeros;
  if (!needed && !measure_zeros_ && !Verbose()) return -1;
  return CountZeros(data, storage, pool);
}

ConvKernel ConvOp::Choose(Pass pass, const ConvShape& shape, double zeros, KernelPolicy policy) {
  if (policy != KernelPolicy::kAuto) {
    reason_ = ChoiceReason();
    return policy == KernelPolicy::kSparse ? ConvKernel::kSparse : ConvKernel::kDense;
  }
  ConvKernelSelector& selector = selectors_[int(pass)];
  const ConvKernel kernel = selector.Choose(pass, shape, zeros, ActiveIsa());
  reason_ = selector.reason();
  return kernel;
}

int64_t ConvOp::WorkspaceFloats(Pass pass, const ConvShape& shape, int64_t threads) {
  WorkspaceNeed& need = workspace_needs_[int(pass)];
  if (need.n != shape.n || need.h != shape.h || need.w != shape.w || need.threads != threads) {
    // Room for either family, so that the selector trying the other one never allocates mid-run.
    need = {shape.n, shape.h, shape.w, threads, EitherFamilyWorkspaceFloats(pass, shape, threads)};
  }
  return need.floats;
}

template <class Run>
Status ConvOp::Timed(Pass pass, const ConvShape& shape, ConvKernel kernel, const char* kernel_name,
                     double zeros, WorkspaceArena* arena, pthreadpool_t pool, const Run& run) {
  const ConvFamily& family = ConvFamilyOf(kernel);
  Workspace workspace;
  Status status = arena->Reserve(WorkspaceFloats(pass, shape, ThreadCount(pool)), &workspace);
  if (!status.ok()) return status;
  const auto start = std::chrono::steady_clock::now();
  status = run(family, workspace);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  selectors_[int(pass)].Record(kernel, ms);
  const int p = int(pass);
  telemetry_.kernel[p] = kernel;
  telemetry_.ms[p] = ms;
  telemetry_.ran[p] = status.ok();
  if (Verbose()) {
    LogPass("conv2d", name_, pass, ProblemDescriptor(shape), kernel_name, zeros, ms);
    if (VerboseLevel() >= 2) LogChoice(name_, pass, reason_);
  }
  return status;
}

Status ConvOp::Forward(const ConvShape& shape, const float* x, int64_t x_zeros, float* y,
                       KernelPolicy policy, WorkspaceArena* arena, pthreadpool_t pool) {
  const int64_t storage = StorageFloats(shape.input(), Layout::kNChw16c);
  forward_input_zeros_ = ZeroCount(x, x_zeros, storage, policy == KernelPolicy::kAuto, pool);
  const double zeros = ZeroFraction(forward_input_zeros_, shape.input(), Layout::kNChw16c);
  telemetry_.input_zeros = zeros;
  const ConvKernel kernel = Choose(Pass::kForward, shape, zeros, policy);
  const float* b = has_bias_ ? bias_.value.data() : nullptr;
  return Timed(Pass::kForward, shape, kernel, ConvKernelName(kernel), zeros, arena, pool,
               [&](const ConvFamily& family, Workspace workspace) {
                 return family.forward(shape, x, weight_.value.data(), b, y, workspace, pool);
               });
}

Status ConvOp::Backward(const ConvShape& shape, const float* x, int64_t x_zeros, const float* dy,
                        int64_t dy_zeros, bool weight_grads, float* dx, KernelPolicy policy,
                        WorkspaceArena* arena, pthreadpool_t pool) {
  // A sparse backward-by-weights walks x or dy, whichever has more zeros: under a forced sparse
  // policy too, it needs both counts.
  const bool counts_needed =
      policy == KernelPolicy::kAuto ||
      (weight_grads && policy == KernelPolicy::kSparse && SparseWeightsCanSkipX(shape));
  const int64_t dy_storage = StorageFloats(shape.output(), Layout::kNChw16c);
  const double dy_fraction = ZeroFraction(ZeroCount(dy, dy_zeros, dy_storage, counts_needed, pool),
                                          shape.output(), Layout::kNChw16c);
  telemetry_.grad_zeros = dy_fraction;
  if (weight_grads) {
    const int64_t x_storage = StorageFloats(shape.input(), Layout::kNChw16c);
    const double x_fraction =
        SparseWeightsCanSkipX(shape)
            ? ZeroFraction(ZeroCount(x, x_zeros, x_storage, counts_needed, pool), shape.input(),
                           Layout::kNChw16c)
            : -1.0;
    const WeightsWalk walk = ChooseWeightsWalk(shape, x_fraction, dy_fraction);
    const double walked =
        SkippedOperandZeros(Pass::kBackwardWeights, shape, x_fraction, dy_fraction);
    const ConvKernel kernel = Choose(Pass::kBackwardWeights, shape, walked, policy);
    float* dbias = has_bias_ ? bias_.grad.data() : nullptr;
    Status status = Timed(Pass::kBackwardWeights, shape, kernel,
                          ConvRunName(kernel, Pass::kBackwardWeights, walk), walked, arena, pool,
                          [&](const ConvFamily& family, Workspace workspace) {
                            return family.backward_weights(shape, x, dy, weight_.grad.data(), dbias,
                                                           walk, workspace, pool);
                          });
    if (!status.ok()) return status;
  }
  if (dx == nullptr) return Status::Ok();
  if (weight_transposed_.empty()) {  // a first layer never needs it
    Status status =
        Tensor::Create(shape.weights(), Layout::kIOhw16o16i, allocator_, &weight_transposed_);
    if (!status.ok()) return status;
  }
  const ConvKernel kernel = Choose(Pass::kBackwardData, shape, dy_fraction, policy);
  return Timed(Pass::kBackwardData, shape, kernel, ConvKernelName(kernel), dy_fraction, arena, pool,
               [&](const ConvFamily& family, Workspace workspace) {
                 if (transposed_version_ !=
                     weight_.version) {  // once per weight update, counted in the pass
                   Status status =
                       Reorder(weight_.value.data(), Layout::kOIhw16i16o, weight_transposed_.data(),
                               Layout::kIOhw16o16i, shape.weights(), pool);
                   if (!status.ok()) return status;
                   transposed_version_ = weight_.version;
                 }
                 return family.backward_data(shape, dy, weight_transposed_.data(), dx, workspace,
                                             pool);
               });
}

}  // namespace sparsetrain
