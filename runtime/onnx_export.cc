#include "runtime/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <limits>
#include <vector>

#include "runtime/atomic_file.h"
#include "runtime/batch_norm_layer.h"
#include "runtime/conv_layer.h"
#include "runtime/join_layers.h"
#include "runtime/layers.h"
#include "runtime/onnx_arena.h"

namespace sparsetrain {
namespace {

constexpr int kOpset = 14;  // HardSwish's first
constexpr char kInput[] = "input";
constexpr char kOutput[] = "logits";

// Builds the graph node by node: each layer becomes one ONNX node or a few.
class Exporter {
 public:
  explicit Exporter(onnx::GraphProto* graph) : graph_(*graph) {}

  Status Layer(const Graph& g, int node);
  // The ONNX name of value `v`.
  const std::string& name(int v) const { return names_[size_t(v)]; }
  void Name(int v, std::string name) {
    if (names_.size() <= size_t(v)) names_.resize(size_t(v) + 1);
    names_[size_t(v)] = std::move(name);
  }

 private:
  onnx::NodeProto* Node(const char* op, const std::string& name,
                        const std::vector<std::string>& inputs, const std::string& output);
  void Ints(onnx::NodeProto* node, const char* name, const std::vector<int64_t>& values);
  void Int(onnx::NodeProto* node, const char* name, int64_t value);
  void Float(onnx::NodeProto* node, const char* name, float value);
  // An initializer `name` of `shape` with `values` (PyTorch's element order).
  void Initializer(const std::string& name, const std::vector<int64_t>& shape,
                   const std::vector<float>& values);
  // The layer's parameters as initializers under their own names, appended to `inputs`.
  void ParameterInputs(sparsetrain::Layer& layer, std::vector<std::string>* inputs);
  void Window(onnx::NodeProto* node, int64_t kernel, int64_t stride, int64_t pad);
  Status Conv(sparsetrain::Layer& layer, const ConvShape& shape, int64_t groups,
              const std::string& x, const std::string& y);

  onnx::GraphProto& graph_;
  std::vector<std::string> names_;
};

onnx::NodeProto* Exporter::Node(const char* op, const std::string& name,
                                const std::vector<std::string>& inputs, const std::string& output) {
  onnx::NodeProto* node = graph_.add_node();
  node->set_op_type(op);
  node->set_name(name);
  for (const std::string& in : inputs) node->add_input(in);
  node->add_output(output);
  return node;
}

void Exporter::Ints(onnx::NodeProto* node, const char* name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void Exporter::Int(onnx::NodeProto* node, const char* name, int64_t value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void Exporter::Float(onnx::NodeProto* node, const char* name, float value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

void Exporter::Initializer(const std::string& name, const std::vector<int64_t>& shape,
                           const std::vector<float>& values) {
  onnx::TensorProto* t = graph_.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : shape) t->add_dims(d);
  t->set_raw_data(values.data(), values.size() * sizeof(float));  // little-endian, as ONNX's
}

void Exporter::ParameterInputs(sparsetrain::Layer& layer, std::vector<std::string>* inputs) {
  for (const Parameter* p : layer.Parameters()) {
    std::vector<float> values(size_t(p->value.dims().count()));
    static_cast<void>(p->value.CopyTo(values.data(), Layout::kNCHW));  // valid for any parameter
    Initializer(p->name, p->shape, values);
    inputs->push_back(p->name);
  }
}

void Exporter::Window(onnx::NodeProto* node, int64_t kernel, int64_t stride, int64_t pad) {
  Ints(node, "kernel_shape", {kernel, kernel});
  Ints(node, "strides", {stride, stride});
  Ints(node, "pads", {pad, pad, pad, pad});
}

Status Exporter::Conv(sparsetrain::Layer& layer, const ConvShape& shape, int64_t groups,
                      const std::string& x, const std::string& y) {
  std::vector<std::string> inputs{x};
  ParameterInputs(layer, &inputs);
  onnx::NodeProto* node = Node("Conv", layer.name(), inputs, y);
  Window(node, shape.r, shape.stride_h, shape.pad_h);
  Ints(node, "dilations", {1, 1});
  Int(node, "group", groups);
  return Status::Ok();
}

Status Exporter::Layer(const Graph& g, int n) {
  const Graph::Node& node = g.nodes()[size_t(n)];
  sparsetrain::Layer& layer = *node.layer;
  const std::string& x = name(node.inputs[0]);
  const std::string& y = name(n + 1);
  const Dims in = g.spec(node.inputs[0]).dims;
  const std::string& id = layer.name();
  std::vector<std::string> inputs;
  for (int v : node.inputs) inputs.push_back(name(v));

  if (auto* conv = dynamic_cast<const Conv2d*>(&layer)) {
    return Conv(layer, conv->ShapeFor(in), 1, x, y);
  }
  if (auto* conv = dynamic_cast<const DepthwiseConv2d*>(&layer)) {
    return Conv(layer, conv->ShapeFor(in), in.c, x, y);
  }
  if (auto* conv = dynamic_cast<const GroupedConv2d*>(&layer)) {
    return Conv(layer, conv->ShapeFor(in), conv->groups(), x, y);
  }
  if (auto* bn = dynamic_cast<const BatchNorm2d*>(&layer)) {
    ParameterInputs(layer, &inputs);
    onnx::NodeProto* out = Node("BatchNormalization", id, inputs, y);
    Float(out, "epsilon", float(bn->eps()));
    Float(out, "momentum", float(1.0 - bn->momentum()));  // ONNX weighs the running value
    return Status::Ok();
  }
  if (dynamic_cast<const Relu*>(&layer) != nullptr) {
    Node("Relu", id, {x}, y);
    return Status::Ok();
  }
  if (auto* activation = dynamic_cast<const ActivationLayer*>(&layer)) {
    const ActivationFunction& f = activation->function();
    switch (f.kind) {
      case ActivationKind::kClip:
        Initializer(id + ".min", {}, {f.lo});
        Initializer(id + ".max", {}, {f.hi});
        Node("Clip", id, {x, id + ".min", id + ".max"}, y);
        break;
      case ActivationKind::kSigmoid:
        Node("Sigmoid", id, {x}, y);
        break;
      case ActivationKind::kHardSigmoid: {
        onnx::NodeProto* out = Node("HardSigmoid", id, {x}, y);
        Float(out, "alpha", f.alpha);
        Float(out, "beta", f.beta);
        break;
      }
      case ActivationKind::kHardSwish:
        Node("HardSwish", id, {x}, y);
        break;
      case ActivationKind::kSilu:
        Node("Sigmoid", id + ".sigmoid", {x}, id + ".sigmoid");
        Node("Mul", id, {x, id + ".sigmoid"}, y);
        break;
    }
    return Status::Ok();
  }
  if (auto* pool = dynamic_cast<const MaxPool2d*>(&layer)) {
    const PoolShape shape = pool->ShapeFor(in);
    std::string source = x;
    if (shape.relu) {  // the ReLU the builder fused into the pooling
      source = id + ".relu";
      Node("Relu", source, {x}, source);
    }
    onnx::NodeProto* out = Node("MaxPool", id, {source}, y);
    Window(out, shape.window, shape.stride, shape.pad);
    Int(out, "ceil_mode", shape.ceil_mode ? 1 : 0);
    return Status::Ok();
  }
  if (auto* pool = dynamic_cast<const AvgPool2d*>(&layer)) {
    const PoolShape shape = pool->ShapeFor(in);
    onnx::NodeProto* out = Node("AveragePool", id, {x}, y);
    Window(out, shape.window, shape.stride, shape.pad);
    Int(out, "ceil_mode", shape.ceil_mode ? 1 : 0);
    Int(out, "count_include_pad", shape.count_include_pad ? 1 : 0);
    return Status::Ok();
  }
  if (dynamic_cast<const GlobalAvgPool*>(&layer) != nullptr) {  // (N, C, 1, 1), then flat
    Node("GlobalAveragePool", id + ".pool", {x}, id + ".pool");
    Int(Node("Flatten", id, {id + ".pool"}, y), "axis", 1);
    return Status::Ok();
  }
  if (dynamic_cast<const sparsetrain::Flatten*>(&layer) != nullptr) {
    Int(Node("Flatten", id, {x}, y), "axis", 1);
    return Status::Ok();
  }
  if (dynamic_cast<const Linear*>(&layer) != nullptr) {
    ParameterInputs(layer, &inputs);
    Int(Node("Gemm", id, inputs, y), "transB", 1);
    return Status::Ok();
  }
  if (dynamic_cast<const AddLayer*>(&layer) != nullptr) {
    Node("Add", id, inputs, y);
    return Status::Ok();
  }
  if (dynamic_cast<const MultiplyLayer*>(&layer) != nullptr) {
    Node("Mul", id, inputs, y);  // a (N, C, 1, 1) gate broadcasts as in ONNX
    return Status::Ok();
  }
  if (dynamic_cast<const ConcatLayer*>(&layer) != nullptr) {
    Int(Node("Concat", id, inputs, y), "axis", 1);
    return Status::Ok();
  }
  return Status(StatusCode::kUnsupported,
                "ONNX export: layer '" + id + "' (" + layer.kind() + ") has no ONNX form");
}

void AddValueInfo(onnx::ValueInfoProto* info, const std::string& name, const Dims& dims, int rank) {
  info->set_name(name);
  onnx::TypeProto::Tensor* type = info->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* shape = type->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  const int64_t sizes[] = {dims.c, dims.h, dims.w};
  for (int i = 0; i + 1 < rank; ++i) shape->add_dim()->set_dim_value(sizes[i]);
}

}  // namespace

Status ExportOnnx(const Model& model, std::string* bytes) {
  if (bytes == nullptr) return InvalidArgument("ExportOnnx: null output");
  return WithArena(model.allocator(), [&](google::protobuf::Arena* arena) {
    auto* proto = google::protobuf::Arena::CreateMessage<onnx::ModelProto>(arena);
    proto->set_ir_version(7);
    proto->set_producer_name("SparseTrain");
    onnx::OperatorSetIdProto* opset = proto->add_opset_import();
    opset->set_domain("");
    opset->set_version(kOpset);
    onnx::GraphProto* graph = proto->mutable_graph();
    graph->set_name("sparsetrain");

    const Graph& g = model.graph();
    Exporter exporter(graph);
    exporter.Name(0, kInput);
    for (int n = 0; n < int(g.nodes().size()); ++n) {
      // Dropout is the identity in inference: its output is its input under the same name.
      const Graph::Node& node = g.nodes()[size_t(n)];
      const bool dropout = dynamic_cast<const Dropout*>(node.layer.get()) != nullptr;
      const bool last = n + 1 == int(g.nodes().size());
      exporter.Name(n + 1, dropout ? exporter.name(node.inputs[0])
                           : last  ? kOutput
                                   : node.layer->name());
      if (dropout) continue;
      Status status = exporter.Layer(g, n);
      if (!status.ok()) return status;
    }
    if (exporter.name(g.output()) != kOutput) {
      onnx::NodeProto* identity = graph->add_node();
      identity->set_op_type("Identity");
      identity->set_name(kOutput);
      identity->add_input(exporter.name(g.output()));
      identity->add_output(kOutput);
    }
    AddValueInfo(graph->add_input(), kInput, g.spec(0).dims, 4);
    AddValueInfo(graph->add_output(), kOutput, g.spec(g.output()).dims, 2);
    if (!proto->SerializeToString(bytes)) {
      return Status(StatusCode::kUnsupported, "ONNX export: the model is over protobuf's 2 GiB");
    }
    return Status::Ok();
  });
}

Status ExportOnnxFile(const Model& model, const std::string& path) {
  std::string bytes;
  Status status = ExportOnnx(model, &bytes);
  return status.ok() ? WriteFileAtomically(path, bytes, "ONNX model") : status;
}

}  // namespace sparsetrain
