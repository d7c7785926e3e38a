#include "capi/conversions.h"

#include <algorithm>
#include <cstring>

namespace sparsetrain::capi {
namespace {

template <class C, class Runtime>
struct Entry {
  C c;
  Runtime runtime;
};

// Every runtime member 0 .. count-1 appears in `table` exactly once, and so does every C value.
template <class C, class Runtime, size_t N>
constexpr bool OneToOne(const Entry<C, Runtime> (&table)[N], int count) {
  if (int(N) != count) return false;
  for (size_t i = 0; i < N; ++i) {
    for (size_t j = i + 1; j < N; ++j) {
      if (table[i].c == table[j].c || table[i].runtime == table[j].runtime) return false;
    }
    if (int(table[i].runtime) < 0 || int(table[i].runtime) >= count) return false;
  }
  return true;
}

// The C and runtime values agree numerically (the header documents the numbers).
template <class C, class Runtime, size_t N>
constexpr bool SameNumbers(const Entry<C, Runtime> (&table)[N]) {
  for (const auto& entry : table) {
    if (int(entry.c) != int(entry.runtime)) return false;
  }
  return true;
}

template <class C, class Runtime, size_t N>
bool Find(const Entry<C, Runtime> (&table)[N], C value, Runtime* out) {
  for (const auto& entry : table) {
    if (entry.c == value) {
      *out = entry.runtime;
      return true;
    }
  }
  return false;
}

template <class C, class Runtime, size_t N>
C FindC(const Entry<C, Runtime> (&table)[N], Runtime value) {
  for (const auto& entry : table) {
    if (entry.runtime == value) return entry.c;
  }
  return table[0].c;  // unreachable: OneToOne covers every runtime member
}

constexpr Entry<st_status, StatusCode> kStatuses[] = {
    {ST_OK, StatusCode::kOk},
    {ST_INVALID_ARGUMENT, StatusCode::kInvalidArgument},
    {ST_SHAPE_MISMATCH, StatusCode::kShapeMismatch},
    {ST_UNSUPPORTED, StatusCode::kUnsupported},
    {ST_OUT_OF_MEMORY, StatusCode::kOutOfMemory},
    {ST_IO_ERROR, StatusCode::kIoError},
    {ST_CORRUPT_DATA, StatusCode::kCorruptData},
    {ST_INTERNAL, StatusCode::kInternal},
};
static_assert(OneToOne(kStatuses, int(StatusCode::kInternal) + 1));

constexpr Entry<st_layout, Layout> kLayouts[] = {
    {ST_LAYOUT_NCHW, Layout::kNCHW},
    {ST_LAYOUT_NCHW16C, Layout::kNChw16c},
    {ST_LAYOUT_OIHW16I16O, Layout::kOIhw16i16o},
    {ST_LAYOUT_IOHW16O16I, Layout::kIOhw16o16i},
};
static_assert(OneToOne(kLayouts, int(Layout::kIOhw16o16i) + 1) && SameNumbers(kLayouts));

constexpr Entry<st_isa, Isa> kIsas[] = {
    {ST_ISA_AUTO, Isa::kAuto}, {ST_ISA_AVX512, Isa::kAvx512}, {ST_ISA_AVX2, Isa::kAvx2},
    {ST_ISA_SSE4, Isa::kSse4}, {ST_ISA_SCALAR, Isa::kScalar}, {ST_ISA_NEON, Isa::kNeon},
    {ST_ISA_SVE, Isa::kSve},   {ST_ISA_SVE2, Isa::kSve2},
};
static_assert(OneToOne(kIsas, int(Isa::kSve2) + 1) && SameNumbers(kIsas));

constexpr Entry<st_kernel, KernelPolicy> kPolicies[] = {
    {ST_KERNEL_AUTO, KernelPolicy::kAuto},
    {ST_KERNEL_DENSE, KernelPolicy::kDense},
    {ST_KERNEL_SPARSE, KernelPolicy::kSparse},
};
static_assert(OneToOne(kPolicies, int(KernelPolicy::kSparse) + 1) && SameNumbers(kPolicies));

constexpr Entry<st_kernel, ConvKernel> kKernels[] = {
    {ST_KERNEL_DENSE, ConvKernel::kDense},
    {ST_KERNEL_SPARSE, ConvKernel::kSparse},
};
static_assert(OneToOne(kKernels, int(ConvKernel::kSparse) + 1));

constexpr Entry<st_pass, Pass> kPasses[] = {
    {ST_PASS_FORWARD, Pass::kForward},
    {ST_PASS_BACKWARD_DATA, Pass::kBackwardData},
    {ST_PASS_BACKWARD_WEIGHTS, Pass::kBackwardWeights},
};
static_assert(OneToOne(kPasses, kPassCount) && SameNumbers(kPasses));

constexpr Entry<st_optimizer_kind, OptimizerKind> kOptimizers[] = {
    {ST_OPTIMIZER_SGD, OptimizerKind::kSgd},
    {ST_OPTIMIZER_ADAM, OptimizerKind::kAdam},
    {ST_OPTIMIZER_ADAMW, OptimizerKind::kAdamW},
};
static_assert(OneToOne(kOptimizers, int(OptimizerKind::kAdamW) + 1) && SameNumbers(kOptimizers));

constexpr Entry<st_schedule_kind, ScheduleKind> kSchedules[] = {
    {ST_SCHEDULE_CONSTANT, ScheduleKind::kConstant},
    {ST_SCHEDULE_STEP, ScheduleKind::kStep},
    {ST_SCHEDULE_COSINE, ScheduleKind::kCosine},
};
static_assert(OneToOne(kSchedules, int(ScheduleKind::kCosine) + 1) && SameNumbers(kSchedules));

constexpr Entry<st_loss_kind, LossKind> kLosses[] = {
    {ST_LOSS_SOFTMAX_CROSS_ENTROPY, LossKind::kSoftmaxCrossEntropy},
    {ST_LOSS_MSE, LossKind::kMeanSquaredError},
    {ST_LOSS_L1, LossKind::kL1},
    {ST_LOSS_BCE_WITH_LOGITS, LossKind::kBinaryCrossEntropyWithLogits},
};
static_assert(OneToOne(kLosses, int(LossKind::kBinaryCrossEntropyWithLogits) + 1) &&
              SameNumbers(kLosses));

constexpr struct {
  st_status status;
  const char* name;
} kStatusNames[] = {
    {ST_OK, "ST_OK"},
    {ST_INVALID_ARGUMENT, "ST_INVALID_ARGUMENT"},
    {ST_SHAPE_MISMATCH, "ST_SHAPE_MISMATCH"},
    {ST_UNSUPPORTED, "ST_UNSUPPORTED"},
    {ST_OUT_OF_MEMORY, "ST_OUT_OF_MEMORY"},
    {ST_IO_ERROR, "ST_IO_ERROR"},
    {ST_CORRUPT_DATA, "ST_CORRUPT_DATA"},
    {ST_BAD_HANDLE, "ST_BAD_HANDLE"},
    {ST_INTERNAL, "ST_INTERNAL"},
};
static_assert(sizeof kStatusNames / sizeof *kStatusNames == ST_INTERNAL + 1);

void CopyName(const std::string& from, char* to, size_t size) {
  const size_t n = std::min(from.size(), size - 1);
  std::memcpy(to, from.data(), n);
  to[n] = '\0';
}

}  // namespace

bool ToRuntime(st_layout value, Layout* out) { return Find(kLayouts, value, out); }
bool ToRuntime(st_isa value, Isa* out) { return Find(kIsas, value, out); }
bool ToRuntime(st_kernel value, KernelPolicy* out) { return Find(kPolicies, value, out); }
bool ToRuntime(st_pass value, Pass* out) { return Find(kPasses, value, out); }
bool ToRuntime(st_optimizer_kind value, OptimizerKind* out) {
  return Find(kOptimizers, value, out);
}
bool ToRuntime(st_schedule_kind value, ScheduleKind* out) { return Find(kSchedules, value, out); }
bool ToRuntime(st_loss_kind value, LossKind* out) { return Find(kLosses, value, out); }

st_status ToC(StatusCode code) { return FindC(kStatuses, code); }
st_layout ToC(Layout layout) { return FindC(kLayouts, layout); }
st_isa ToC(Isa isa) { return FindC(kIsas, isa); }
st_kernel ToC(ConvKernel kernel) { return FindC(kKernels, kernel); }

const char* StatusName(st_status status) {
  for (const auto& entry : kStatusNames) {
    if (entry.status == status) return entry.name;
  }
  return "ST_UNKNOWN";
}

st_status ToDims(const int64_t dims[4], Dims* out, const char* call) {
  ST_RETURN_IF_ERROR(NotNull(dims, "dims", call));
  for (int i = 0; i < 4; ++i) {
    if (dims[i] <= 0) {
      return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": dims[" + std::to_string(i) +
                                           "] must be positive, got " + std::to_string(dims[i]));
    }
  }
  *out = {dims[0], dims[1], dims[2], dims[3]};
  return ST_OK;
}

void WriteDims(const Dims& d, int64_t dims[4]) {
  dims[0] = d.n, dims[1] = d.c, dims[2] = d.h, dims[3] = d.w;
}

st_status ToOptimizerConfig(const st_optimizer_config& config, const char* call,
                            OptimizerConfig* out) {
  OptimizerConfig c;
  ST_RETURN_IF_ERROR(Convert(config.kind, "optimizer kind", call, &c.kind));
  ST_RETURN_IF_ERROR(Convert(config.schedule, "schedule", call, &c.schedule.kind));
  c.lr = config.learning_rate;
  c.momentum = config.momentum;
  c.nesterov = config.nesterov != 0;
  c.beta1 = config.beta1, c.beta2 = config.beta2, c.eps = config.eps;
  c.weight_decay = config.weight_decay;
  c.clip_norm = config.clip_norm;
  c.schedule.warmup_steps = config.warmup_steps;
  c.schedule.step_size = config.step_size;
  c.schedule.gamma = config.gamma;
  c.schedule.total_steps = config.total_steps;
  c.schedule.min_lr = config.min_learning_rate;
  *out = c;
  return ST_OK;
}

st_optimizer_config ToC(const OptimizerConfig& c) {
  st_optimizer_config config{};
  config.kind = FindC(kOptimizers, c.kind);
  config.learning_rate = c.lr;
  config.momentum = c.momentum;
  config.nesterov = c.nesterov ? 1 : 0;
  config.beta1 = c.beta1, config.beta2 = c.beta2, config.eps = c.eps;
  config.weight_decay = c.weight_decay;
  config.clip_norm = c.clip_norm;
  config.schedule = FindC(kSchedules, c.schedule.kind);
  config.warmup_steps = c.schedule.warmup_steps;
  config.step_size = c.schedule.step_size;
  config.gamma = c.schedule.gamma;
  config.total_steps = c.schedule.total_steps;
  config.min_learning_rate = c.schedule.min_lr;
  return config;
}

st_step_result ToC(const StepResult& r) {
  st_step_result result{};
  result.loss = r.loss;
  result.correct = r.correct;
  result.examples = r.examples;
  result.grad_norm = r.grad_norm;
  return result;
}

st_memory_info ToC(const MemoryFootprint& f) {
  st_memory_info info{};
  info.parameter_bytes = f.parameter_bytes;
  info.gradient_bytes = f.gradient_bytes;
  info.optimizer_bytes = f.optimizer_bytes;
  info.activation_bytes = f.activation_bytes;
  info.workspace_bytes = f.workspace_bytes + f.activation_gradient_bytes;  // as before 1.2
  return info;
}

st_conv_call ToC(const LayerTelemetry& t, Pass pass) {
  const int p = int(pass);
  st_conv_call call{};
  call.ran = t.ran[p] ? 1 : 0;
  call.kernel = ToC(t.kernel[p]);
  call.zeros = pass == Pass::kForward ? t.input_zeros : t.grad_zeros;
  call.milliseconds = t.ms[p];
  return call;
}

st_layer_info ToC(const LayerReport& r) {
  st_layer_info info{};
  CopyName(r.name, info.name, sizeof(info.name));
  CopyName(r.kind, info.kind, sizeof(info.kind));
  info.frozen = r.frozen ? 1 : 0;
  info.is_conv = r.telemetry.is_conv ? 1 : 0;
  info.input_zeros = r.telemetry.input_zeros;
  info.grad_zeros = r.telemetry.grad_zeros;
  for (int p = 0; p < kPassCount; ++p) {
    info.ran[p] = r.telemetry.ran[p] ? 1 : 0;
    info.kernel[p] = ToC(r.telemetry.kernel[p]);
    info.milliseconds[p] = r.telemetry.ms[p];
  }
  return info;
}

}  // namespace sparsetrain::capi
