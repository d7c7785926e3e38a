#include "runtime/layer.h"

#include <chrono>
#include <cmath>

#include "runtime/pass_timer.h"
#include "runtime/verbose.h"

namespace sparsetrain {

Status PrepareActivation(const TensorSpec& spec, const Allocator& allocator, Activation* a) {
  a->zeros = -1;
  if (!a->tensor.empty() && a->tensor.layout() == spec.layout && a->tensor.dims() == spec.dims) {
    return Status::Ok();
  }
  return a->tensor.Reshape(spec.dims, spec.layout, allocator);
}

Status Layer::MismatchError(const std::string& what) const {
  return Status(StatusCode::kShapeMismatch, std::string(kind()) + " '" + name_ + "': " + what);
}

Status UnaryLayer::Plan(const std::vector<TensorSpec>& in, TensorSpec* out) const {
  if (in.size() != 1) {
    return MismatchError("takes one input, given " + std::to_string(in.size()));
  }
  return PlanOne(in[0], out);
}

Status CreateVectorParameter(Parameter* p, const std::string& name, int64_t length, Layout layout,
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

void InitializeLikePyTorch(int64_t fan_in, Random* random, Parameter* weight, Parameter* bias) {
  const double bound = 1.0 / std::sqrt(double(fan_in));
  for (Parameter* p : {weight, bias}) {
    if (p == nullptr) continue;
    std::vector<float> values(static_cast<size_t>(p->value.dims().count()));
    for (float& v : values) v = float(bound * (2.0 * random->Uniform() - 1.0));
    // A parameter's own tensor takes PyTorch's order: the pair of layouts is always valid.
    static_cast<void>(p->value.CopyFrom(values.data(), Layout::kNCHW));
    ++p->version;
  }
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + ")";
}

int64_t StorageBytes(const Tensor& t) { return t.capacity_bytes(); }

void Layer::AddMemory(MemoryFootprint* memory) const {
  memory->activation_bytes += StorageBytes(output_.tensor);
  memory->workspace_bytes += StorageBytes(input_grad_.tensor);
}

PassTimer::~PassTimer() {
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  LayerTelemetry& telemetry = layer_->telemetry_;
  telemetry.ms[int(pass_)] = ms;
  telemetry.ran[int(pass_)] = true;
  if (!Verbose()) return;
  const bool wrote_input_grad = pass_ == Pass::kBackwardData && !layer_->input_grad_.tensor.empty();
  const Activation& written = wrote_input_grad ? layer_->input_grad_ : layer_->output_;
  const double zeros =
      pass_ != Pass::kBackwardWeights
          ? ZeroFraction(written.zeros, written.tensor.dims(), written.tensor.layout())
          : -1.0;
  LogPass(layer_->kind(), layer_->name(), pass_, written.tensor.dims().text(), nullptr, zeros, ms);
}

}  // namespace sparsetrain
