#include "runtime/model.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "runtime/loss.h"

namespace sparsetrain {

Status Model::SetOptimizer(const OptimizerConfig& config) {
  Status status = Validate(config);
  if (!status.ok()) return status;
  optimizer_ = std::make_unique<Optimizer>(config, allocator_);
  return Status::Ok();
}

Status Model::CheckBatch(const float* images, int64_t batch, const char* call) const {
  if (images == nullptr) return InvalidArgument(std::string(call) + ": images is null");
  if (batch <= 0) {
    return InvalidArgument(std::string(call) + ": batch must be positive, got " +
                           std::to_string(batch));
  }
  if (check_inputs_) {
    const int64_t count = batch * input_.dims.c * input_.dims.h * input_.dims.w;
    for (int64_t i = 0; i < count; ++i) {
      if (!std::isfinite(images[i])) {
        return InvalidArgument(std::string(call) + ": image value " + std::to_string(i) +
                               " is not finite");
      }
    }
  }
  return Status::Ok();
}

Status Model::RunForward(const float* images, int64_t batch, bool training,
                         const Activation** logits) {
  Dims dims = input_.dims;
  dims.n = batch;
  Status status = PrepareActivation({dims, Layout::kNChw16c}, allocator_, &input_batch_);
  if (!status.ok()) return status;
  for (const Graph::Node& node : graph_.nodes()) node.layer->ResetTelemetry();
  status = input_batch_.tensor.CopyFrom(images, Layout::kNCHW, pool_);
  if (!status.ok()) return status;
  return graph_.Forward(input_batch_, Context(training), logits);
}

ExecContext Model::Context(bool training) {
  return {pool_, training, policy_, uint64_t(optimizer_->steps()), &workspace_, allocator_};
}

const std::vector<Parameter*>& Model::TrainableParameters() {
  if (!trainable_known_) trainable_ = graph_.TrainableParameters(), trainable_known_ = true;
  return trainable_;
}

template <class Step>
Status Model::OnThreads(bool measure, const Step& step) {
  const WorkerWait wait = measure ? waits_.Choose(pool_) : waits_.chosen();
  SetWorkerWait(pool_, wait);
  const auto start = std::chrono::steady_clock::now();
  Status status = step();
  if (measure && status.ok()) {
    waits_.Record(
        wait, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
  }
  SetWorkerWait(pool_, WorkerWait::kSleep);
  return status;
}

Status Model::TrainStep(const float* images, const int32_t* labels, int64_t batch,
                        StepResult* result, float* logits) {
  return OnThreads(/*measure=*/true, [&] {
    return RunTrainStep(images, Targets{labels, nullptr}, batch, result, logits);
  });
}

Status Model::TrainStepTargets(const float* images, const float* targets, int64_t batch,
                               StepResult* result, float* outputs) {
  return OnThreads(/*measure=*/true, [&] {
    return RunTrainStep(images, Targets{nullptr, targets}, batch, result, outputs);
  });
}

Status Model::SetLoss(const LossConfig& config) {
  Status status = Validate(config, classes_);
  if (!status.ok()) return status;
  loss_ = config;
  return Status::Ok();
}

Status Model::CheckTargets(const Targets& targets, int64_t batch, StepResult* result,
                           const char* call) const {
  if (result == nullptr) return InvalidArgument(std::string(call) + ": result is null");
  const bool labels = TakesLabels(loss_.kind);
  if ((labels && targets.labels == nullptr) || (!labels && targets.values == nullptr)) {
    const std::string given = targets.labels != nullptr   ? "class labels"
                              : targets.values != nullptr ? "float targets"
                                                          : "null";
    return InvalidArgument(std::string(call) + ": the loss " + LossKindName(loss_.kind) +
                           " takes " + (labels ? "class labels" : "float targets") + ", given " +
                           given);
  }
  if (labels) {
    // Checked before the forward pass, which moves batch-norm running statistics.
    for (int64_t i = 0; i < batch; ++i) {
      if (targets.labels[i] < 0 || targets.labels[i] >= classes_) {
        return InvalidArgument(std::string(call) + ": label " + std::to_string(targets.labels[i]) +
                               " of example " + std::to_string(i) + " is outside [0, " +
                               std::to_string(classes_) + ")");
      }
    }
  } else if (check_inputs_) {
    for (int64_t i = 0; i < batch * classes_; ++i) {
      if (!std::isfinite(targets.values[i])) {
        return InvalidArgument(std::string(call) + ": target value " + std::to_string(i) +
                               " is not finite");
      }
    }
  }
  return Status::Ok();
}

Status Model::ForwardAndLoss(const float* images, const Targets& targets, int64_t batch,
                             bool training, StepResult* result, float* logits_out) {
  const char* call = training ? "train_step" : "eval_step";
  Status status = CheckBatch(images, batch, call);
  if (!status.ok()) return status;
  status = CheckTargets(targets, batch, result, call);
  if (!status.ok()) return status;
  const Activation* logits = nullptr;
  status = RunForward(images, batch, training, &logits);
  if (!status.ok()) return status;
  if (training) {
    status = PrepareActivation({{batch, classes_, 1, 1}, Layout::kNCHW}, allocator_, &logits_grad_);
    if (!status.ok()) return status;
  }
  StepResult r;
  r.examples = batch;
  status =
      ComputeLoss(loss_, logits->tensor.data(), targets.labels, targets.values, batch, classes_,
                  &r.loss, &r.correct, training ? logits_grad_.tensor.data() : nullptr);
  if (!status.ok()) return status.Within(call);
  if (logits_out != nullptr) {
    std::copy(logits->tensor.data(), logits->tensor.data() + batch * classes_, logits_out);
  }
  *result = r;
  return Status::Ok();
}

Status Model::RunTrainStep(const float* images, const Targets& targets, int64_t batch,
                           StepResult* result, float* logits_out) {
  StepResult r;
  Status status = ForwardAndLoss(images, targets, batch, /*training=*/true, &r, logits_out);
  if (!status.ok()) return status;
  status = graph_.Backward(logits_grad_, Context(/*training=*/true));
  if (!status.ok()) return status;
  const std::vector<Parameter*>& params = TrainableParameters();
  if (!params.empty()) {
    status = optimizer_->Step(params, pool_, &r.grad_norm);
    if (!status.ok()) return status;
  }
  *result = r;
  return Status::Ok();
}

Status Model::EvalStep(const float* images, const int32_t* labels, int64_t batch,
                       StepResult* result, float* logits_out) {
  return OnThreads(/*measure=*/false, [&] {
    return ForwardAndLoss(images, Targets{labels, nullptr}, batch, /*training=*/false, result,
                          logits_out);
  });
}

Status Model::EvalStepTargets(const float* images, const float* targets, int64_t batch,
                              StepResult* result, float* outputs) {
  return OnThreads(/*measure=*/false, [&] {
    return ForwardAndLoss(images, Targets{nullptr, targets}, batch, /*training=*/false, result,
                          outputs);
  });
}

Status Model::Predict(const float* images, int64_t batch, float* logits_out) {
  return OnThreads(/*measure=*/false, [&] { return RunPredict(images, batch, logits_out); });
}

Status Model::RunPredict(const float* images, int64_t batch, float* logits_out) {
  Status status = CheckBatch(images, batch, "predict");
  if (!status.ok()) return status;
  if (logits_out == nullptr) return InvalidArgument("predict: logits is null");
  const Activation* logits = nullptr;
  status = RunForward(images, batch, /*training=*/false, &logits);
  if (!status.ok()) return status;
  std::copy(logits->tensor.data(), logits->tensor.data() + batch * classes_, logits_out);
  return Status::Ok();
}

Status Model::SetFrozen(const std::string& name, bool frozen) {
  const std::vector<Graph::Node>& nodes = graph_.nodes();
  std::vector<Layer*> layers;
  for (const LayerGroup& group : groups_) {
    if (group.name != name) continue;
    for (int n = group.first; n < group.end; ++n) layers.push_back(nodes[n].layer.get());
  }
  // Else the layer of that name and every layer under it ("layer1.0" and "layer1.0.conv1").
  const std::string prefix = name + ".";
  if (layers.empty()) {
    for (const Graph::Node& node : nodes) {
      const std::string& layer = node.layer->name();
      if (layer == name || layer.compare(0, prefix.size(), prefix) == 0) {
        layers.push_back(node.layer.get());
      }
    }
  }
  if (layers.empty()) return InvalidArgument("no layer named '" + name + "' or '" + prefix + "*'");
  for (Layer* layer : layers) layer->SetFrozen(frozen);
  trainable_known_ = false;
  return Status::Ok();
}

bool Model::IsFrozen(const Parameter& p) const {
  for (const Graph::Node& node : graph_.nodes()) {
    for (Parameter* q : node.layer->Parameters()) {
      if (q == &p) return node.layer->frozen();
    }
  }
  return false;
}

Status Model::FindParameter(const std::string& name, const void* values, size_t count,
                            Parameter** found) const {
  for (Parameter* p : Parameters()) {
    if (p->name != name) continue;
    if (values == nullptr || count != size_t(p->value.dims().count())) {
      return InvalidArgument("parameter '" + name + "' has " +
                             std::to_string(p->value.dims().count()) + " values, not " +
                             std::to_string(count));
    }
    *found = p;
    return Status::Ok();
  }
  return InvalidArgument("no parameter named '" + name + "'");
}

Status Model::GetParameter(const std::string& name, float* values, size_t count) const {
  Parameter* p = nullptr;
  Status status = FindParameter(name, values, count, &p);
  return status.ok() ? p->value.CopyTo(values, Layout::kNCHW) : status;
}

Status Model::SetParameter(const std::string& name, const float* values, size_t count) {
  Parameter* p = nullptr;
  Status status = FindParameter(name, values, count, &p);
  if (!status.ok()) return status;
  if (!std::all_of(values, values + count, [](float v) { return std::isfinite(v); })) {
    return InvalidArgument("values for parameter '" + name + "' hold NaN or Inf");
  }
  status = p->value.CopyFrom(values, Layout::kNCHW);
  ++p->version;
  return status;
}

size_t Model::ParameterElements() const {
  size_t count = 0;
  for (const Parameter* p : Parameters()) count += size_t(p->value.dims().count());
  return count;
}

Status Model::CheckFlatCount(const void* values, size_t count) const {
  if (values != nullptr && count == ParameterElements()) return Status::Ok();
  return InvalidArgument("the model's parameters are " + std::to_string(ParameterElements()) +
                         " values, not " + std::to_string(count));
}

Status Model::GetParameters(float* values, size_t count) const {
  Status status = CheckFlatCount(values, count);
  if (!status.ok()) return status;
  for (const Parameter* p : Parameters()) {
    status = p->value.CopyTo(values, Layout::kNCHW);
    if (!status.ok()) return status;
    values += p->value.dims().count();
  }
  return Status::Ok();
}

Status Model::SetParameters(const float* values, size_t count) {
  Status status = CheckFlatCount(values, count);
  if (!status.ok()) return status;
  if (!std::all_of(values, values + count, [](float v) { return std::isfinite(v); })) {
    return InvalidArgument("parameter values hold NaN or Inf");
  }
  for (Parameter* p : Parameters()) {
    static_cast<void>(p->value.CopyFrom(values, Layout::kNCHW));  // valid for every parameter
    ++p->version;
    values += p->value.dims().count();
  }
  return Status::Ok();
}

std::vector<LayerReport> Model::Telemetry() const {
  std::vector<LayerReport> reports;
  for (const Graph::Node& node : graph_.nodes()) {
    const Layer& layer = *node.layer;
    reports.push_back({layer.name(), layer.kind(), layer.frozen(), layer.telemetry()});
  }
  return reports;
}

MemoryFootprint Model::Memory() const {
  MemoryFootprint m;
  for (Parameter* p : Parameters()) {
    m.parameter_bytes += StorageBytes(p->value);
    m.gradient_bytes += StorageBytes(p->grad);
  }
  m.optimizer_bytes = optimizer_->StateBytes();
  graph_.AddMemory(&m);
  m.activation_bytes += StorageBytes(input_batch_.tensor);
  m.workspace_bytes += StorageBytes(logits_grad_.tensor) + workspace_.bytes();
  return m;
}

}  // namespace sparsetrain
