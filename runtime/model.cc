#include "runtime/model.h"

#include <chrono>
#include <cmath>
#include <set>

#include "runtime/layers.h"
#include "runtime/loss.h"
#include "runtime/safetensors.h"

namespace sparsetrain {
namespace {

constexpr char kCheckpointFormat[] = "sparsetrain.checkpoint.v1";
constexpr char kOptimizerPrefix[] = "optimizer.";

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + ")";
}

// A seed for a layer's randomness from its name (FNV-1a), so it does not depend on build order.
uint64_t SeedOf(const std::string& name) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

std::vector<float> ToPyTorchOrder(const Tensor& t) {
  std::vector<float> values(size_t(t.dims().count()));
  // A parameter's own tensor converts to NCHW: the pair of layouts is always valid.
  static_cast<void>(t.CopyTo(values.data(), Layout::kNCHW));
  return values;
}

}  // namespace

// ---- Model

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
  for (Layer* layer : layers_) layer->ResetTelemetry();
  status = input_batch_.tensor.CopyFrom(images, Layout::kNCHW, pool_);
  if (!status.ok()) return status;
  return body_.Forward(input_batch_, Context(training), logits);
}

ExecContext Model::Context(bool training) {
  return {pool_, training, policy_, uint64_t(optimizer_->steps()), &workspace_, allocator_};
}

const std::vector<Parameter*>& Model::TrainableParameters() {
  if (!trainable_known_) trainable_ = body_.TrainableParameters(), trainable_known_ = true;
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
  return OnThreads(/*measure=*/true,
                   [&] { return RunTrainStep(images, labels, batch, result, logits); });
}

Status Model::RunTrainStep(const float* images, const int32_t* labels, int64_t batch,
                           StepResult* result, float* logits_out) {
  Status status = CheckBatch(images, batch, "train_step");
  if (!status.ok()) return status;
  if (labels == nullptr || result == nullptr) {
    return InvalidArgument("train_step: labels and result must not be null");
  }
  // Labels are checked before the forward pass, which moves batch-norm running statistics.
  for (int64_t i = 0; i < batch; ++i) {
    if (labels[i] < 0 || labels[i] >= classes_) {
      return InvalidArgument("train_step: label " + std::to_string(labels[i]) + " of example " +
                             std::to_string(i) + " is outside [0, " + std::to_string(classes_) +
                             ")");
    }
  }
  const Activation* logits = nullptr;
  status = RunForward(images, batch, /*training=*/true, &logits);
  if (!status.ok()) return status;
  status = PrepareActivation({{batch, classes_, 1, 1}, Layout::kNCHW}, allocator_, &logits_grad_);
  if (!status.ok()) return status;
  StepResult r;
  r.examples = batch;
  status = SoftmaxCrossEntropy(logits->tensor.data(), labels, batch, classes_, &r.loss, &r.correct,
                               logits_grad_.tensor.data());
  if (!status.ok()) return status;
  if (logits_out != nullptr) {
    std::copy(logits->tensor.data(), logits->tensor.data() + batch * classes_, logits_out);
  }
  const Activation* input_grad = nullptr;
  status = body_.Backward(logits_grad_, /*need_dx=*/false, Context(/*training=*/true), &input_grad);
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
  return OnThreads(/*measure=*/false,
                   [&] { return RunEvalStep(images, labels, batch, result, logits_out); });
}

Status Model::RunEvalStep(const float* images, const int32_t* labels, int64_t batch,
                          StepResult* result, float* logits_out) {
  Status status = CheckBatch(images, batch, "eval_step");
  if (!status.ok()) return status;
  if (labels == nullptr || result == nullptr) {
    return InvalidArgument("eval_step: labels and result must not be null");
  }
  const Activation* logits = nullptr;
  status = RunForward(images, batch, /*training=*/false, &logits);
  if (!status.ok()) return status;
  StepResult r;
  r.examples = batch;
  status = SoftmaxCrossEntropy(logits->tensor.data(), labels, batch, classes_, &r.loss, &r.correct,
                               nullptr);
  if (!status.ok()) return status.Within("eval_step");
  if (logits_out != nullptr) {
    std::copy(logits->tensor.data(), logits->tensor.data() + batch * classes_, logits_out);
  }
  *result = r;
  return Status::Ok();
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
  for (Layer* layer : layers_) {
    if (layer->name() == name) {
      layer->SetFrozen(frozen);
      trainable_known_ = false;
      return Status::Ok();
    }
  }
  return InvalidArgument("no layer named '" + name + "'");
}

std::vector<LayerReport> Model::Telemetry() const {
  std::vector<LayerReport> reports;
  for (Layer* layer : layers_) {
    reports.push_back({layer->name(), layer->kind(), layer->frozen(), layer->telemetry()});
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
  body_.AddMemory(&m);
  m.activation_bytes += StorageBytes(input_batch_.tensor);
  m.workspace_bytes += StorageBytes(logits_grad_.tensor) + workspace_.bytes();
  return m;
}

Status Model::SaveCheckpoint(const std::string& path) const {
  SafetensorsFile file;
  file.metadata = {{"format", kCheckpointFormat},
                   {"step", std::to_string(optimizer_->steps())},
                   {"optimizer", OptimizerKindName(optimizer_->config().kind)}};
  for (Parameter* p : Parameters()) {
    file.tensors.push_back({p->name, p->shape, ToPyTorchOrder(p->value)});
    for (const auto& [field, state] : optimizer_->StateOf(*p)) {
      file.tensors.push_back(
          {kOptimizerPrefix + p->name + "." + field, p->shape, ToPyTorchOrder(*state)});
    }
  }
  return WriteSafetensors(path, file);
}

Status Model::LoadCheckpoint(const std::string& path) {
  SafetensorsFile file;
  Status status = ReadSafetensors(path, &file);
  if (!status.ok()) return status;
  const auto corrupt = [&](const std::string& what) {
    return Status(StatusCode::kCorruptData, "checkpoint '" + path + "': " + what);
  };
  std::map<std::string, const NamedTensor*> by_name;
  for (const NamedTensor& t : file.tensors) by_name[t.name] = &t;

  // Validate everything first: the model changes only once the whole file is known good.
  const std::vector<Parameter*> params = Parameters();
  std::set<std::string> expected;
  for (Parameter* p : params) {
    expected.insert(p->name);
    const auto it = by_name.find(p->name);
    if (it == by_name.end()) return corrupt("missing tensor '" + p->name + "'");
    if (it->second->shape != p->shape) {
      return Status(StatusCode::kShapeMismatch, "checkpoint '" + path + "': tensor '" + p->name +
                                                    "' has shape " + ShapeText(it->second->shape) +
                                                    ", the model needs " + ShapeText(p->shape));
    }
    for (float v : it->second->data) {
      if (!std::isfinite(v)) return corrupt("tensor '" + p->name + "' holds NaN or Inf");
    }
  }
  for (const NamedTensor& t : file.tensors) {
    if (expected.count(t.name) == 0 && t.name.rfind(kOptimizerPrefix, 0) != 0) {
      return corrupt("tensor '" + t.name + "' matches no parameter of this model");
    }
  }
  int64_t step = 0;
  const auto step_text = file.metadata.find("step");
  if (step_text != file.metadata.end()) {
    char* end = nullptr;
    step = std::strtoll(step_text->second.c_str(), &end, 10);
    if (end == step_text->second.c_str() || *end != '\0' || step < 0) {
      return corrupt("metadata step '" + step_text->second + "' is not a step count");
    }
  }
  // Optimiser state, when saved by the same kind of optimiser, must be complete.
  auto optimizer = std::make_unique<Optimizer>(optimizer_->config(), allocator_);
  const auto saved_kind = file.metadata.find("optimizer");
  const bool same_optimizer = saved_kind != file.metadata.end() &&
                              saved_kind->second == OptimizerKindName(optimizer_->config().kind);
  std::vector<std::pair<Tensor*, const NamedTensor*>> state_copies;
  if (same_optimizer) {
    for (Parameter* p : params) {
      if (p->is_buffer) continue;
      status = optimizer->EnsureState(*p);
      if (!status.ok()) return status;
      for (const auto& [field, tensor] : optimizer->StateOf(*p)) {
        const std::string name = kOptimizerPrefix + p->name + "." + field;
        const auto it = by_name.find(name);
        if (it == by_name.end()) return corrupt("missing optimiser state '" + name + "'");
        if (it->second->shape != p->shape)
          return corrupt("optimiser state '" + name + "' has the wrong shape");
        state_copies.emplace_back(tensor, it->second);
      }
    }
  }
  // Apply. Conversions from NCHW into each tensor's own layout cannot fail for these shapes.
  for (Parameter* p : params) {
    static_cast<void>(p->value.CopyFrom(by_name[p->name]->data.data(), Layout::kNCHW));
    ++p->version;
  }
  for (const auto& [tensor, saved] : state_copies) {
    static_cast<void>(tensor->CopyFrom(saved->data.data(), Layout::kNCHW));
  }
  optimizer->set_steps(step);
  optimizer_ = std::move(optimizer);
  return Status::Ok();
}

// ---- ModelBuilder

ModelBuilder::ModelBuilder(int64_t channels, int64_t height, int64_t width,
                           const Allocator& allocator)
    : allocator_(allocator) {
  input_ = {{1, channels, height, width}, Layout::kNChw16c};
  frames_.push_back({});
  frames_.back().spec = input_;
  if (channels <= 0 || height <= 0 || width <= 0) {
    error_ = InvalidArgument("model input sizes must be positive");
  }
}

std::string ModelBuilder::NameFor(const char* prefix, const std::string& given) {
  if (!given.empty()) return given;
  return prefix + std::to_string(++counts_[prefix]);
}

void ModelBuilder::Add(Status status, std::unique_ptr<Layer> layer) {
  if (!error_.ok()) return;
  if (built_) {
    error_ = InvalidArgument("model builder: already built");
    return;
  }
  if (!status.ok()) {
    error_ = status;
    return;
  }
  for (const std::string& name : names_) {
    if (name == layer->name()) {
      error_ = InvalidArgument("two layers are named '" + name + "'");
      return;
    }
  }
  Frame& frame = frames_.back();
  TensorSpec out;
  status = layer->Plan(frame.spec, &out);
  if (!status.ok()) {
    error_ = status;
    return;
  }
  names_.push_back(layer->name());
  frame.spec = out;
  (frame.in_shortcut ? frame.shortcut : frame.body).Append(std::move(layer));
}

ModelBuilder& ModelBuilder::Conv2d(int64_t out_channels, int64_t kernel, int64_t stride,
                                   int64_t pad, bool bias, const std::string& name) {
  Conv2dOptions options;
  options.out_channels = out_channels;
  options.kernel = kernel;
  options.stride = stride;
  options.pad = pad < 0 ? kernel / 2 : pad;
  options.bias = bias;
  std::unique_ptr<Layer> layer;
  Status status = sparsetrain::Conv2d::Create(NameFor("conv", name), current().dims.c, options,
                                              allocator_, &layer);
  Add(std::move(status), std::move(layer));
  return *this;
}

ModelBuilder& ModelBuilder::BatchNorm(double eps, double momentum, const std::string& name) {
  std::unique_ptr<Layer> layer;
  Status status =
      BatchNorm2d::Create(NameFor("bn", name), current().dims.c, eps, momentum, allocator_, &layer);
  Add(std::move(status), std::move(layer));
  return *this;
}

ModelBuilder& ModelBuilder::Relu(const std::string& name) {
  Add(Status::Ok(), std::make_unique<sparsetrain::Relu>(NameFor("relu", name)));
  return *this;
}

ModelBuilder& ModelBuilder::MaxPool(int64_t window, int64_t stride, int64_t pad,
                                    const std::string& name) {
  // A ReLU right before runs inside the pooling (one pass over the data instead of three).
  Frame& frame = frames_.back();
  Sequence& sequence = frame.in_shortcut ? frame.shortcut : frame.body;
  std::unique_ptr<Layer> relu;
  if (error_.ok() && !sequence.empty() && std::string(sequence.layers().back()->kind()) == "relu") {
    relu = sequence.PopBack();  // its output spec equals its input's: frame.spec stays right
  }
  Add(Status::Ok(),
      std::make_unique<MaxPool2d>(NameFor("pool", name), window, stride, pad, relu != nullptr));
  if (!error_.ok() && relu != nullptr) sequence.Append(std::move(relu));
  return *this;
}

ModelBuilder& ModelBuilder::GlobalAvgPool(const std::string& name) {
  Add(Status::Ok(), std::make_unique<sparsetrain::GlobalAvgPool>(NameFor("avgpool", name)));
  return *this;
}

ModelBuilder& ModelBuilder::Flatten(const std::string& name) {
  Add(Status::Ok(), std::make_unique<sparsetrain::Flatten>(NameFor("flatten", name)));
  return *this;
}

ModelBuilder& ModelBuilder::Dropout(float drop, const std::string& name) {
  const std::string layer_name = NameFor("dropout", name);
  Add(Status::Ok(), std::make_unique<sparsetrain::Dropout>(layer_name, drop, SeedOf(layer_name)));
  return *this;
}

ModelBuilder& ModelBuilder::Linear(int64_t out_features, bool bias, const std::string& name) {
  std::unique_ptr<Layer> layer;
  Status status = sparsetrain::Linear::Create(NameFor("fc", name), current().dims.c, out_features,
                                              bias, allocator_, &layer);
  Add(std::move(status), std::move(layer));
  return *this;
}

ModelBuilder& ModelBuilder::BeginResidual(const std::string& name) {
  if (!error_.ok()) return *this;
  Frame frame;
  frame.name = NameFor("block", name);
  frame.input = frame.spec = current();
  frames_.push_back(std::move(frame));
  return *this;
}

ModelBuilder& ModelBuilder::Shortcut() {
  if (!error_.ok()) return *this;
  Frame& frame = frames_.back();
  if (frames_.size() == 1 || frame.in_shortcut) {
    error_ = InvalidArgument("model builder: Shortcut() outside a residual block body");
    return *this;
  }
  frame.in_shortcut = true;
  frame.body_output = frame.spec;
  frame.spec = frame.input;
  return *this;
}

ModelBuilder& ModelBuilder::EndResidual() {
  if (!error_.ok()) return *this;
  if (frames_.size() == 1) {
    error_ = InvalidArgument("model builder: EndResidual() without BeginResidual()");
    return *this;
  }
  Frame frame = std::move(frames_.back());
  frames_.pop_back();
  Add(Status::Ok(),
      std::make_unique<Residual>(frame.name, std::move(frame.body), std::move(frame.shortcut)));
  return *this;
}

Status ModelBuilder::Build(uint64_t seed, std::unique_ptr<Model>* model) {
  if (!error_.ok()) return error_;
  if (model == nullptr) return InvalidArgument("model builder: null output");
  if (built_) return InvalidArgument("model builder: already built");
  if (frames_.size() != 1) return InvalidArgument("model builder: a residual block is not ended");
  const TensorSpec& out = frames_[0].spec;
  if (frames_[0].body.empty() || out.layout != Layout::kNCHW || out.dims.h != 1 ||
      out.dims.w != 1) {
    return InvalidArgument("model must end in flat class scores (a linear layer)");
  }
  std::unique_ptr<Model> m(new Model());
  m->allocator_ = allocator_;
  m->workspace_ = WorkspaceArena(allocator_);
  m->input_ = input_;
  m->classes_ = out.dims.c;
  m->body_ = std::move(frames_[0].body);
  m->body_.CollectLayers(&m->layers_);
  m->optimizer_ = std::make_unique<Optimizer>(OptimizerConfig(), allocator_);
  Random random(seed);
  m->body_.Initialize(&random);
  built_ = true;
  *model = std::move(m);
  return Status::Ok();
}

}  // namespace sparsetrain
