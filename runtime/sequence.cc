#include "runtime/sequence.h"

#include "kernels/elementwise.h"
#include "runtime/pass_timer.h"

namespace sparsetrain {

Status Sequence::Plan(const TensorSpec& in, TensorSpec* out) const {
  TensorSpec spec = in;
  for (const auto& layer : layers_) {
    TensorSpec next;
    Status status = layer->Plan(spec, &next);
    if (!status.ok()) return status;
    spec = next;
  }
  *out = spec;
  return Status::Ok();
}

Status Sequence::Forward(const Activation& x, const ExecContext& ctx, const Activation** y) {
  const Activation* a = &x;
  for (const auto& layer : layers_) {
    Status status = layer->Forward(*a, ctx);
    if (!status.ok()) return status;
    a = &layer->output();
  }
  *y = a;
  return Status::Ok();
}

Status Sequence::Backward(const Activation& dy, bool need_dx, const ExecContext& ctx,
                          const Activation** dx) {
  // The lowest layer that has to run: the first, if the input gradient is wanted, else the first
  // with trainable parameters.
  size_t lowest = 0;
  if (!need_dx) {
    lowest = layers_.size();
    for (size_t i = 0; i < layers_.size(); ++i) {
      if (layers_[i]->HasTrainableParameters()) {
        lowest = i;
        break;
      }
    }
  }
  const Activation* g = &dy;
  for (size_t i = layers_.size(); i-- > lowest;) {
    Status status = layers_[i]->Backward(*g, need_dx || i > lowest, ctx);
    if (!status.ok()) return status;
    g = &layers_[i]->input_grad();
  }
  *dx = g;
  return Status::Ok();
}

std::vector<Parameter*> Sequence::Parameters() const {
  std::vector<Parameter*> all;
  for (const auto& layer : layers_) {
    for (Parameter* p : layer->Parameters()) all.push_back(p);
  }
  return all;
}

void Sequence::CollectLayers(std::vector<Layer*>* layers) const {
  for (const auto& layer : layers_) layer->CollectLayers(layers);
}

void Sequence::Initialize(Random* random) const {
  for (const auto& layer : layers_) layer->Initialize(random);
}

std::vector<Parameter*> Sequence::TrainableParameters() const {
  std::vector<Parameter*> all;
  for (const auto& layer : layers_) {
    for (Parameter* p : layer->TrainableParameters()) all.push_back(p);
  }
  return all;
}

bool Sequence::HasTrainableParameters() const {
  for (const auto& layer : layers_) {
    if (layer->HasTrainableParameters()) return true;
  }
  return false;
}

void Sequence::SetFrozen(bool frozen) const {
  for (const auto& layer : layers_) layer->SetFrozen(frozen);
}

void Sequence::AddMemory(MemoryFootprint* memory) const {
  for (const auto& layer : layers_) layer->AddMemory(memory);
}

Status Residual::Plan(const TensorSpec& in, TensorSpec* out) const {
  TensorSpec body_out, shortcut_out;
  Status status = body_.Plan(in, &body_out);
  if (!status.ok()) return status;
  status = shortcut_.Plan(in, &shortcut_out);
  if (!status.ok()) return status;
  const Dims &a = body_out.dims, &b = shortcut_out.dims;
  if (body_out.layout != shortcut_out.layout || a.n != b.n || a.c != b.c || a.h != b.h ||
      a.w != b.w) {
    return MismatchError("body gives " + std::to_string(a.c) + "x" + std::to_string(a.h) + "x" +
                         std::to_string(a.w) + " but shortcut gives " + std::to_string(b.c) + "x" +
                         std::to_string(b.h) + "x" + std::to_string(b.w));
  }
  *out = body_out;
  return Status::Ok();
}

Status Residual::Forward(const Activation& x, const ExecContext& ctx) {
  const Activation *body_y = nullptr, *shortcut_y = nullptr;
  Status status = body_.Forward(x, ctx, &body_y);
  if (!status.ok()) return status;
  status = shortcut_.Forward(x, ctx, &shortcut_y);
  if (!status.ok()) return status;
  status =
      PrepareActivation({body_y->tensor.dims(), body_y->tensor.layout()}, ctx.allocator, &output_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kForward);
  Add(body_y->tensor.data(), shortcut_y->tensor.data(), output_.tensor.data(),
      output_.tensor.storage_floats(), ctx.pool);
  return Status::Ok();
}

Status Residual::Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) {
  const Activation *body_dx = nullptr, *shortcut_dx = nullptr;
  Status status = body_.Backward(dy, need_dx, ctx, &body_dx);
  if (!status.ok()) return status;
  status = shortcut_.Backward(dy, need_dx, ctx, &shortcut_dx);
  if (!status.ok() || !need_dx) return status;
  status = PrepareActivation({body_dx->tensor.dims(), body_dx->tensor.layout()}, ctx.allocator,
                             &input_grad_);
  if (!status.ok()) return status;
  PassTimer timer(this, Pass::kBackwardData);
  Add(body_dx->tensor.data(), shortcut_dx->tensor.data(), input_grad_.tensor.data(),
      input_grad_.tensor.storage_floats(), ctx.pool);
  return Status::Ok();
}

std::vector<Parameter*> Residual::Parameters() {
  std::vector<Parameter*> all = body_.Parameters();
  for (Parameter* p : shortcut_.Parameters()) all.push_back(p);
  return all;
}

void Residual::CollectLayers(std::vector<Layer*>* layers) {
  layers->push_back(this);
  body_.CollectLayers(layers);
  shortcut_.CollectLayers(layers);
}

void Residual::Initialize(Random* random) {
  body_.Initialize(random);
  shortcut_.Initialize(random);
}

std::vector<Parameter*> Residual::TrainableParameters() {
  std::vector<Parameter*> all = body_.TrainableParameters();
  for (Parameter* p : shortcut_.TrainableParameters()) all.push_back(p);
  return all;
}

bool Residual::HasTrainableParameters() {
  return body_.HasTrainableParameters() || shortcut_.HasTrainableParameters();
}

void Residual::SetFrozen(bool frozen) {
  Layer::SetFrozen(frozen);
  body_.SetFrozen(frozen);
  shortcut_.SetFrozen(frozen);
}

void Residual::AddMemory(MemoryFootprint* memory) const {
  Layer::AddMemory(memory);
  body_.AddMemory(memory);
  shortcut_.AddMemory(memory);
}

}  // namespace sparsetrain
