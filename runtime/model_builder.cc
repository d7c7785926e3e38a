#include "runtime/model_builder.h"

#include <algorithm>
#include <cctype>

#include "runtime/batch_norm_layer.h"
#include "runtime/join_layers.h"
#include "runtime/layers.h"

namespace sparsetrain {
namespace {

constexpr char kInputName[] = "input";

// A seed for a layer's randomness from its name (FNV-1a), so it does not depend on build order.
uint64_t SeedOf(const std::string& name) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

// pad < 0: kernel / 2, as the builder's callers ask.
Conv2dOptions ConvOptions(int64_t out_channels, int64_t kernel, int64_t stride, int64_t pad,
                          bool bias) {
  Conv2dOptions options;
  options.out_channels = out_channels;
  options.kernel = kernel;
  options.stride = stride;
  options.pad = pad < 0 ? kernel / 2 : pad;
  options.bias = bias;
  return options;
}

}  // namespace

ModelBuilder::ModelBuilder(int64_t channels, int64_t height, int64_t width,
                           const Allocator& allocator)
    : allocator_(allocator) {
  specs_.push_back({{1, channels, height, width}, Layout::kNChw16c});
  graph_ = Graph(specs_[0]);
  values_[kInputName] = 0;
  if (channels <= 0 || height <= 0 || width <= 0) {
    error_ = InvalidArgument("model input sizes must be positive");
  }
}

std::string ModelBuilder::NameFor(const char* prefix, const std::string& given) {
  if (!given.empty()) return given;
  return prefix + std::to_string(++counts_[prefix]);
}

std::string ModelBuilder::current_name() const {
  return current_ == 0 ? kInputName : graph_.nodes()[size_t(current_ - 1)].layer->name();
}

int ModelBuilder::ValueNamed(const std::string& name) {
  if (name.empty()) return current_;
  const auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  if (error_.ok()) error_ = InvalidArgument("model builder: no tensor named '" + name + "'");
  return -1;
}

void ModelBuilder::Append(Status status, std::unique_ptr<Layer> layer, std::vector<int> inputs) {
  if (!error_.ok()) return;
  if (built_) {
    error_ = InvalidArgument("model builder: already built");
    return;
  }
  if (!status.ok()) {
    error_ = status;
    return;
  }
  if (layer->name() == kInputName ||
      std::find(names_.begin(), names_.end(), layer->name()) != names_.end()) {
    error_ = InvalidArgument(layer->name() == kInputName
                                 ? "a layer may not be named 'input' (the model's input)"
                                 : "two layers are named '" + layer->name() + "'");
    return;
  }
  if (inputs.empty()) inputs.push_back(current_);
  std::vector<TensorSpec> in;
  for (int value : inputs) in.push_back(specs_[value]);
  TensorSpec out;
  status = layer->Plan(in, &out);
  if (!status.ok()) {
    error_ = status;
    return;
  }
  names_.push_back(layer->name());
  values_[layer->name()] = int(specs_.size());
  specs_.push_back(out);
  current_ = graph_.Append(std::move(layer), std::move(inputs), out);
}

ModelBuilder& ModelBuilder::Conv2d(int64_t out_channels, int64_t kernel, int64_t stride,
                                   int64_t pad, bool bias, const std::string& name) {
  const Conv2dOptions options = ConvOptions(out_channels, kernel, stride, pad, bias);
  std::unique_ptr<Layer> layer;
  Status status = sparsetrain::Conv2d::Create(NameFor("conv", name), current().dims.c, options,
                                              allocator_, &layer);
  Append(std::move(status), std::move(layer));
  return *this;
}

ModelBuilder& ModelBuilder::GroupedConv2d(int64_t out_channels, int64_t kernel, int64_t groups,
                                          int64_t stride, int64_t pad, bool bias,
                                          const std::string& name) {
  const int64_t channels = current().dims.c;
  if (groups == 1) return Conv2d(out_channels, kernel, stride, pad, bias, name);
  if (groups == channels && out_channels == channels) {
    return DepthwiseConv2d(kernel, stride, pad, bias, name);
  }
  const Conv2dOptions options = ConvOptions(out_channels, kernel, stride, pad, bias);
  std::unique_ptr<Layer> layer;
  Status status = sparsetrain::GroupedConv2d::Create(NameFor("conv", name), channels, groups,
                                                     options, allocator_, &layer);
  Append(std::move(status), std::move(layer));
  return *this;
}

ModelBuilder& ModelBuilder::DepthwiseConv2d(int64_t kernel, int64_t stride, int64_t pad, bool bias,
                                            const std::string& name) {
  const Conv2dOptions options = ConvOptions(current().dims.c, kernel, stride, pad, bias);
  std::unique_ptr<Layer> layer;
  Status status = sparsetrain::DepthwiseConv2d::Create(NameFor("conv", name), current().dims.c,
                                                       options, allocator_, &layer);
  Append(std::move(status), std::move(layer));
  return *this;
}

ModelBuilder& ModelBuilder::BatchNorm(double eps, double momentum, const std::string& name) {
  std::unique_ptr<Layer> layer;
  Status status =
      BatchNorm2d::Create(NameFor("bn", name), current().dims.c, eps, momentum, allocator_, &layer);
  Append(std::move(status), std::move(layer));
  return *this;
}

ModelBuilder& ModelBuilder::Relu(const std::string& name) {
  Append(Status::Ok(), std::make_unique<sparsetrain::Relu>(NameFor("relu", name)));
  return *this;
}

ModelBuilder& ModelBuilder::Activate(const ActivationFunction& f, const std::string& name) {
  std::string prefix = ActivationName(f);
  if (std::isdigit(static_cast<unsigned char>(prefix.back()))) prefix += '_';  // "relu6_1"
  Append(Status::Ok(), std::make_unique<ActivationLayer>(NameFor(prefix.c_str(), name), f));
  return *this;
}

ModelBuilder& ModelBuilder::Relu6(const std::string& name) {
  return Activate(ActivationFunction(), name);
}

ModelBuilder& ModelBuilder::MaxPool(int64_t window, int64_t stride, int64_t pad,
                                    const std::string& name, bool ceil_mode) {
  Append(Status::Ok(),
         std::make_unique<MaxPool2d>(NameFor("pool", name), window, stride, pad, ceil_mode));
  return *this;
}

ModelBuilder& ModelBuilder::AvgPool(int64_t window, int64_t stride, int64_t pad,
                                    bool count_include_pad, bool ceil_mode,
                                    const std::string& name) {
  PoolShape geometry{{}, window, stride, pad};
  geometry.count_include_pad = count_include_pad;
  geometry.ceil_mode = ceil_mode;
  Append(Status::Ok(), std::make_unique<AvgPool2d>(NameFor("avgpool", name), geometry));
  return *this;
}

ModelBuilder& ModelBuilder::AdaptiveAvgPool(int64_t size, const std::string& name) {
  if (!error_.ok()) return *this;
  const Dims& in = current().dims;
  if ((size <= 0 || current().layout != Layout::kNChw16c || in.h % size != 0 || in.w % size != 0 ||
       in.h != in.w)) {
    error_ =
        Status(StatusCode::kShapeMismatch,
               "adaptive average pooling to " + std::to_string(size) + "x" + std::to_string(size) +
                   " needs a square 4-D input whose side is a multiple of it, got " + in.text());
    return *this;
  }
  return AvgPool(in.h / size, in.h / size, 0, true, false, name);
}

void ModelBuilder::FuseReluIntoPooling() {
  std::vector<Graph::Node> nodes = graph_.TakeNodes();
  std::vector<int> value_now(nodes.size() + 1, 0);     // old value -> value in the new graph
  std::vector<int> nodes_before(nodes.size() + 1, 0);  // old node -> nodes kept before it
  std::vector<int> readers(nodes.size() + 1, 0), last_reader(nodes.size() + 1, -1);
  for (size_t n = 0; n < nodes.size(); ++n) {
    for (int value : nodes[n].inputs) ++readers[value], last_reader[value] = int(n);
  }
  for (size_t n = 0; n < nodes.size(); ++n) {
    nodes_before[n + 1] = nodes_before[n];
    auto* pool = readers[n + 1] == 1
                     ? dynamic_cast<MaxPool2d*>(nodes[size_t(last_reader[n + 1])].layer.get())
                     : nullptr;
    if (pool != nullptr && dynamic_cast<sparsetrain::Relu*>(nodes[n].layer.get()) != nullptr) {
      pool->FuseRelu();
      value_now[n + 1] = value_now[nodes[n].inputs[0]];
      continue;
    }
    std::vector<int> inputs;
    for (int value : nodes[n].inputs) inputs.push_back(value_now[value]);
    value_now[n + 1] = graph_.Append(std::move(nodes[n].layer), std::move(inputs), specs_[n + 1]);
    ++nodes_before[n + 1];
  }
  for (LayerGroup& group : groups_) {
    group.first = nodes_before[group.first];
    group.end = nodes_before[group.end];
  }
}

ModelBuilder& ModelBuilder::GlobalAvgPool(const std::string& name) {
  Append(Status::Ok(), std::make_unique<sparsetrain::GlobalAvgPool>(NameFor("avgpool", name)));
  return *this;
}

ModelBuilder& ModelBuilder::Flatten(const std::string& name) {
  Append(Status::Ok(), std::make_unique<sparsetrain::Flatten>(NameFor("flatten", name)));
  return *this;
}

ModelBuilder& ModelBuilder::Dropout(float drop, const std::string& name) {
  const std::string layer_name = NameFor("dropout", name);
  Append(Status::Ok(),
         std::make_unique<sparsetrain::Dropout>(layer_name, drop, SeedOf(layer_name)));
  return *this;
}

ModelBuilder& ModelBuilder::Linear(int64_t out_features, bool bias, const std::string& name) {
  std::unique_ptr<Layer> layer;
  Status status = sparsetrain::Linear::Create(NameFor("fc", name), current().dims.c, out_features,
                                              bias, allocator_, &layer);
  Append(std::move(status), std::move(layer));
  return *this;
}

ModelBuilder& ModelBuilder::From(const std::string& tensor) {
  if (!error_.ok()) return *this;
  const int value = ValueNamed(tensor);
  if (value >= 0) current_ = value;
  return *this;
}

ModelBuilder& ModelBuilder::Add(const std::string& a, const std::string& b,
                                const std::string& name) {
  return AppendJoin(a, b, std::make_unique<AddLayer>(NameFor("add", name)));
}

ModelBuilder& ModelBuilder::AppendJoin(const std::string& a, const std::string& b,
                                       std::unique_ptr<Layer> layer) {
  if (!error_.ok()) return *this;
  const int first = ValueNamed(a), second = ValueNamed(b);
  if (first >= 0 && second >= 0) Append(Status::Ok(), std::move(layer), {first, second});
  return *this;
}

ModelBuilder& ModelBuilder::Concat(const std::vector<std::string>& inputs,
                                   const std::string& name) {
  if (!error_.ok()) return *this;
  std::vector<int> values;
  for (const std::string& input : inputs) {
    values.push_back(ValueNamed(input));
    if (values.back() < 0) return *this;
  }
  if (values.empty()) {
    error_ = InvalidArgument("model builder: concat needs at least one input");
    return *this;
  }
  const size_t count = values.size();
  Append(Status::Ok(), std::make_unique<ConcatLayer>(NameFor("concat", name), count),
         std::move(values));
  return *this;
}

ModelBuilder& ModelBuilder::Multiply(const std::string& a, const std::string& b,
                                     const std::string& name) {
  return AppendJoin(a, b, std::make_unique<MultiplyLayer>(NameFor("mul", name)));
}

ModelBuilder& ModelBuilder::SetParameter(const std::string& field, const std::string& name,
                                         const std::vector<int64_t>& shape, const float* values) {
  if (!error_.ok()) return *this;
  if (graph_.empty() || built_) {
    error_ = InvalidArgument("model builder: no layer to set parameter '" + name + "' of");
    return *this;
  }
  Layer& layer = *graph_.nodes().back().layer;
  const std::string full_name = layer.name() + "." + field;
  for (Parameter* p : layer.Parameters()) {
    if (p->name != full_name) continue;
    if (p->shape != shape) {
      error_ = Status(StatusCode::kShapeMismatch,
                      "parameter '" + name + "' has shape " + ShapeText(shape) + ", layer '" +
                          layer.name() + "' needs " + ShapeText(p->shape));
      return *this;
    }
    // From PyTorch's order into the layer's layout: valid for every parameter shape.
    static_cast<void>(p->value.CopyFrom(values, Layout::kNCHW));
    ++p->version;
    p->name = name;
    preset_.insert(layer.name());
    return *this;
  }
  error_ = InvalidArgument("layer '" + layer.name() + "' has no parameter '" + field + "'");
  return *this;
}

ModelBuilder& ModelBuilder::BeginResidual(const std::string& name) {
  if (!error_.ok()) return *this;
  blocks_.push_back({NameFor("block", name), current_, -1, int(graph_.nodes().size())});
  return *this;
}

ModelBuilder& ModelBuilder::Shortcut() {
  if (!error_.ok()) return *this;
  if (blocks_.empty() || blocks_.back().body_output >= 0) {
    error_ = InvalidArgument("model builder: Shortcut() outside a residual block body");
    return *this;
  }
  blocks_.back().body_output = current_;
  current_ = blocks_.back().input;
  return *this;
}

ModelBuilder& ModelBuilder::EndResidual() {
  if (!error_.ok()) return *this;
  if (blocks_.empty()) {
    error_ = InvalidArgument("model builder: EndResidual() without BeginResidual()");
    return *this;
  }
  const Block block = blocks_.back();
  const int body = block.body_output >= 0 ? block.body_output : current_;
  const int shortcut = block.body_output >= 0 ? current_ : block.input;
  const Dims &a = specs_[body].dims, &b = specs_[shortcut].dims;
  if (specs_[body].layout != specs_[shortcut].layout || !(a == b)) {
    error_ = Status(StatusCode::kShapeMismatch, "residual block '" + block.name + "': body gives " +
                                                    a.text() + " but shortcut gives " + b.text());
    return *this;
  }
  blocks_.pop_back();
  Append(Status::Ok(), std::make_unique<AddLayer>(block.name), {body, shortcut});
  if (error_.ok()) groups_.push_back({block.name, block.first_node, int(graph_.nodes().size())});
  return *this;
}

Status ModelBuilder::Build(uint64_t seed, std::unique_ptr<Model>* model) {
  if (!error_.ok()) return error_;
  if (model == nullptr) return InvalidArgument("model builder: null output");
  if (built_) return InvalidArgument("model builder: already built");
  if (!blocks_.empty()) return InvalidArgument("model builder: a residual block is not ended");
  const TensorSpec& out = specs_.back();
  if (graph_.empty() || current_ != graph_.output() || out.layout != Layout::kNCHW ||
      out.dims.h != 1 || out.dims.w != 1) {
    return InvalidArgument("model must end in flat class scores (a linear layer)");
  }
  for (int value = 1; value < graph_.output(); ++value) {
    if (graph_.consumers(value).empty()) {
      return InvalidArgument("model builder: the output of '" +
                             graph_.nodes()[value - 1].layer->name() + "' is read by no layer");
    }
  }
  FuseReluIntoPooling();
  std::unique_ptr<Model> m(new Model());
  m->allocator_ = allocator_;
  m->workspace_ = WorkspaceArena(allocator_);
  m->input_ = specs_[0];
  m->classes_ = out.dims.c;
  m->graph_ = std::move(graph_);
  m->groups_ = std::move(groups_);
  m->optimizer_ = std::make_unique<Optimizer>(OptimizerConfig(), allocator_);
  Random random(seed);
  for (const Graph::Node& node : m->graph_.nodes()) {
    if (preset_.count(node.layer->name()) == 0) node.layer->Initialize(&random);
  }
  built_ = true;
  *model = std::move(m);
  return Status::Ok();
}

}  // namespace sparsetrain
