#include "runtime/onnx_import.h"

#include "runtime/onnx_arena.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace sparsetrain {
namespace {

// An initializer or a Constant node's value.
struct Constant {
  std::vector<int64_t> dims;
  std::vector<float> floats;  // FLOAT tensors
  std::vector<int64_t> ints;  // INT64, INT32 and BOOL tensors
};

// A Pad node: only a pooling may read it, which takes the padding over.
struct Padding {
  std::string source;  // the ONNX tensor padded
  int64_t pad = 0;     // on every side of both spatial axes
  float value = 0.0f;
};

Status Corrupt(const std::string& message) {
  return Status(StatusCode::kCorruptData, "ONNX model: " + message);
}

template <class T>
std::vector<T> LittleEndianValues(const std::string& raw, size_t count) {
  std::vector<T> values(count);
  std::memcpy(values.data(), raw.data(), count * sizeof(T));  // x86 and aarch64 are little-endian
  return values;
}

// Whether every float in `t` is finite, read where it lies.
bool AllFinite(const onnx::TensorProto& t) {
  const std::string& raw = t.raw_data();
  for (size_t at = 0; at + sizeof(float) <= raw.size(); at += sizeof(float)) {
    float v;
    std::memcpy(&v, raw.data() + at, sizeof v);
    if (!std::isfinite(v)) return false;
  }
  for (float v : t.float_data()) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

// Checks `t` (what names it in messages) and, when `c` is not null, copies it out: Run checks
// every constant once up front, and a layer copies out only the one it takes.
Status ReadTensor(const onnx::TensorProto& t, const std::string& what, Constant* c) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    return Status(StatusCode::kUnsupported,
                  "ONNX model: " + what +
                      " keeps its data in an external file; save the model "
                      "with its data inside (onnx.save(..., save_as_external_data=False))");
  }
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || (d > 0 && count > (int64_t(1) << 31) / d)) {
      return Corrupt(what + " has an invalid shape");
    }
    count *= d;
  }
  const size_t n = size_t(count);
  const std::string& raw = t.raw_data();
  const auto holds = [&](size_t stored, size_t element_bytes) {
    return raw.empty() ? stored == n : raw.size() == n * element_bytes;
  };
  const auto wrong_count = [&] { return Corrupt(what + " holds the wrong number of values"); };
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (!holds(size_t(t.float_data_size()), 4)) return wrong_count();
      if (c == nullptr && !AllFinite(t)) return Corrupt(what + " holds NaN or Inf");
      if (c != nullptr) {
        c->floats = raw.empty() ? std::vector<float>(t.float_data().begin(), t.float_data().end())
                                : LittleEndianValues<float>(raw, n);
      }
      break;
    case onnx::TensorProto::INT64:
      if (!holds(size_t(t.int64_data_size()), 8)) return wrong_count();
      if (c != nullptr) {
        c->ints = raw.empty() ? std::vector<int64_t>(t.int64_data().begin(), t.int64_data().end())
                              : LittleEndianValues<int64_t>(raw, n);
      }
      break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::BOOL: {
      const size_t element_bytes = t.data_type() == onnx::TensorProto::BOOL ? 1 : 4;
      if (!holds(size_t(t.int32_data_size()), element_bytes)) return wrong_count();
      if (c == nullptr) break;
      if (raw.empty()) {
        c->ints.assign(t.int32_data().begin(), t.int32_data().end());
      } else if (element_bytes == 1) {
        for (uint8_t v : LittleEndianValues<uint8_t>(raw, n)) c->ints.push_back(v);
      } else {
        for (int32_t v : LittleEndianValues<int32_t>(raw, n)) c->ints.push_back(v);
      }
      break;
    }
    default:
      return Status(StatusCode::kUnsupported, "ONNX model: " + what + " has element type " +
                                                  std::to_string(t.data_type()) +
                                                  "; float, int64, int32 and bool are read");
  }
  if (c != nullptr) c->dims.assign(t.dims().begin(), t.dims().end());
  return Status::Ok();
}

// The mapping of one graph onto a builder, node by node.
class Importer {
 public:
  Importer(const onnx::GraphProto& graph, ModelBuilder* builder)
      : graph_(graph), builder_(*builder) {}

  // `input`: the graph's input tensor; `target`: the tensor the model ends at.
  Status Run(const std::string& input, const std::string& target);

 private:
  using Node = onnx::NodeProto;
  Status Convert(const Node& node);
  // kUnsupported naming the node unless every attribute of `node` is in `known`.
  Status CheckAttributes(const Node& node, std::initializer_list<const char*> known) const;
  Status Unsupported(const Node& node, const std::string& what) const;
  Status Mismatch(const Node& node, const std::string& what) const;
  // The builder's kept error, if any, as the node's.
  Status Check(const Node& node);

  int64_t IntAttribute(const Node& node, const char* name, int64_t fallback) const;
  float FloatAttribute(const Node& node, const char* name, float fallback) const;
  std::vector<int64_t> IntsAttribute(const Node& node, const char* name) const;

  // The builder's tensor for ONNX activation input `i` of `node` (made current), or an error.
  Status Activation(const Node& node, int i, std::string* tensor);
  // Reads constant input `i` into *c (validated when the import began); false where the input is
  // absent (an empty name) or not a constant. One tensor at a time is copied out of the file.
  bool ConstantInput(const Node& node, int i, Constant* c) const;
  // The one node that reads `tensor`, or null when it has none or several.
  const Node* SoleReader(const std::string& tensor) const;
  // `node`'s output tensor `i`, which must be read by no imported node.
  Status CheckUnread(const Node& node, int i) const;

  // The layer's name: its weight's state_dict prefix, else the module path of the node's scope,
  // else the node's name, else automatic.
  std::string LayerName(const Node& node, const std::string& weight) const;
  // Sets the layer's `field` from the initializer named by input `i` of `node` (`read`: its
  // values, when the caller has copied them out already).
  Status SetParameter(const Node& node, int i, const char* field, const Constant* read = nullptr);
  // Spatial kernel, stride and padding of a convolution or pooling, square and symmetric.
  Status Window(const Node& node, int64_t* kernel, int64_t* stride, int64_t* pad) const;
  // The output of `node` is the builder's current tensor; so is that of `absorbed`, a node fused
  // into it (which is then skipped), when there is one.
  void Produced(const Node& node, const Node* absorbed = nullptr);

  Status Conv(const Node& node);
  Status BatchNormalization(const Node& node);
  Status Clip(const Node& node);
  Status Activate(const Node& node, const ActivationFunction& f);
  // HardSigmoid(x) * x is hard swish, Sigmoid(x) * x SiLU: true when `node` feeds such a Mul.
  bool ActivationTimesInput(const Node& node, const Node** mul) const;
  Status Join(const Node& node);
  Status Pool(const Node& node, bool max);
  Status GlobalAveragePool(const Node& node);
  Status Pad(const Node& node);
  Status Flatten(const Node& node, bool reshape);
  Status Linear(const Node& node);

  const onnx::GraphProto& graph_;
  ModelBuilder& builder_;
  std::map<std::string, const onnx::TensorProto*> constants_;
  std::map<std::string, std::string> tensors_;  // ONNX activation -> builder tensor
  std::map<std::string, Padding> paddings_;
  std::map<std::string, std::vector<const Node*>> readers_;  // among the imported nodes
  std::set<const Node*> done_;                               // fused into an earlier layer
};

void Importer::Produced(const Node& node, const Node* absorbed) {
  tensors_[node.output(0)] = builder_.current_name();
  if (absorbed == nullptr) return;
  done_.insert(absorbed);
  tensors_[absorbed->output(0)] = builder_.current_name();
}

Status Importer::Unsupported(const Node& node, const std::string& what) const {
  return Status(StatusCode::kUnsupported,
                "ONNX node '" + node.name() + "' (" + node.op_type() + "): " + what);
}

Status Importer::Mismatch(const Node& node, const std::string& what) const {
  return Status(StatusCode::kShapeMismatch,
                "ONNX node '" + node.name() + "' (" + node.op_type() + "): " + what);
}

Status Importer::Check(const Node& node) {
  Status status = builder_.TakeError();
  if (status.ok()) return status;
  return Status(status.code(),
                "ONNX node '" + node.name() + "' (" + node.op_type() + "): " + status.message());
}

Status Importer::CheckAttributes(const Node& node, std::initializer_list<const char*> known) const {
  for (const onnx::AttributeProto& a : node.attribute()) {
    bool found = false;
    for (const char* name : known) found |= a.name() == name;
    if (!found) return Unsupported(node, "attribute '" + a.name() + "' is not supported");
  }
  return Status::Ok();
}

int64_t Importer::IntAttribute(const Node& node, const char* name, int64_t fallback) const {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return fallback;
}

float Importer::FloatAttribute(const Node& node, const char* name, float fallback) const {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return a.f();
  }
  return fallback;
}

std::vector<int64_t> Importer::IntsAttribute(const Node& node, const char* name) const {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  }
  return {};
}

Status Importer::Activation(const Node& node, int i, std::string* tensor) {
  if (i >= node.input_size()) return Corrupt("node '" + node.name() + "' lacks an input");
  const auto it = tensors_.find(node.input(i));
  if (it == tensors_.end()) {
    if (paddings_.count(node.input(i)) != 0) {
      return Unsupported(node, "reads a Pad; only pooling may read one");
    }
    if (constants_.count(node.input(i)) != 0) {
      return Unsupported(node, "input '" + node.input(i) + "' is a constant, not an activation");
    }
    return Corrupt("node '" + node.name() + "' reads '" + node.input(i) +
                   "', which no earlier node writes");
  }
  *tensor = it->second;
  builder_.From(*tensor);
  return Status::Ok();
}

bool Importer::ConstantInput(const Node& node, int i, Constant* c) const {
  if (i >= node.input_size() || node.input(i).empty()) return false;
  const auto it = constants_.find(node.input(i));
  if (it == constants_.end()) return false;
  *c = Constant();
  return ReadTensor(*it->second, it->first, c).ok();
}

const onnx::NodeProto* Importer::SoleReader(const std::string& tensor) const {
  const auto it = readers_.find(tensor);
  return it != readers_.end() && it->second.size() == 1 ? it->second[0] : nullptr;
}

Status Importer::CheckUnread(const Node& node, int i) const {
  if (i < node.output_size() && readers_.count(node.output(i)) != 0) {
    return Unsupported(node, "output " + std::to_string(i) + " ('" + node.output(i) +
                                 "') is read; only the first output is supported");
  }
  return Status::Ok();
}

// PyTorch's module path from the scope torch.onnx.export gives a node
// ("/layer1/layer1.0/relu/Relu": "layer1.0.relu"); empty for a node outside any module. Each
// scope segment but the last (the op) names a module, as its parent's name with its own after a
// dot ("layer1.0" under "layer1") or by its own name.
std::string ModulePath(const std::string& node_name) {
  std::vector<std::string> segments, modules;
  for (size_t begin = 0, end; begin < node_name.size(); begin = end + 1) {
    end = std::min(node_name.find('/', begin), node_name.size());
    if (end > begin) segments.push_back(node_name.substr(begin, end - begin));
  }
  if (segments.size() < 2) return "";
  segments.pop_back();
  for (const std::string& segment : segments) {
    if (!modules.empty() && segment.rfind(modules.back() + ".", 0) == 0) {
      modules.back() = segment;
    } else {
      modules.push_back(segment);
    }
  }
  std::string path;
  for (const std::string& module : modules) path += (path.empty() ? "" : ".") + module;
  return path;
}

std::string Importer::LayerName(const Node& node, const std::string& weight) const {
  const std::string suffix = ".weight";
  if (weight.size() > suffix.size() &&
      weight.compare(weight.size() - suffix.size(), suffix.size(), suffix) == 0) {
    const std::string prefix = weight.substr(0, weight.size() - suffix.size());
    if (!builder_.has_layer(prefix)) return prefix;
  }
  const std::string module = ModulePath(node.name());
  if (!module.empty() && !builder_.has_layer(module)) return module;
  return builder_.has_layer(node.name()) ? std::string() : node.name();
}

Status Importer::SetParameter(const Node& node, int i, const char* field, const Constant* read) {
  Constant c;
  if (read == nullptr && ConstantInput(node, i, &c)) read = &c;
  if (read == nullptr || read->floats.empty()) {
    return Unsupported(node, std::string("its ") + field + " must be a float initializer");
  }
  builder_.SetParameter(field, node.input(i), read->dims, read->floats.data());
  return Check(node);
}

Status Importer::Window(const Node& node, int64_t* kernel, int64_t* stride, int64_t* pad) const {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == "auto_pad" && a.s() != "NOTSET") {
      return Unsupported(node, "attribute 'auto_pad' = " + a.s() + " (give explicit pads)");
    }
  }
  for (int64_t d : IntsAttribute(node, "dilations")) {
    if (d != 1) return Unsupported(node, "attribute 'dilations' other than 1");
  }
  const std::vector<int64_t> kernels = IntsAttribute(node, "kernel_shape");
  std::vector<int64_t> strides = IntsAttribute(node, "strides");
  std::vector<int64_t> pads = IntsAttribute(node, "pads");
  if (strides.empty()) strides = {1, 1};
  if (pads.empty()) pads = {0, 0, 0, 0};
  if (kernels.size() != 2 || kernels[0] != kernels[1]) {
    return Unsupported(node, "attribute 'kernel_shape': only square 2-D windows are supported");
  }
  if (strides.size() != 2 || strides[0] != strides[1]) {
    return Unsupported(node, "attribute 'strides': only equal strides are supported");
  }
  if (pads.size() != 4 || pads[1] != pads[0] || pads[2] != pads[0] || pads[3] != pads[0]) {
    return Unsupported(node, "attribute 'pads': only the same padding on every side is supported");
  }
  *kernel = kernels[0];
  *stride = strides[0];
  *pad = pads[0];
  return Status::Ok();
}

Status Importer::Conv(const Node& node) {
  Status status =
      CheckAttributes(node, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
  std::string x;
  if (status.ok()) status = Activation(node, 0, &x);
  if (!status.ok()) return status;
  Constant w;
  if (!ConstantInput(node, 1, &w) || w.dims.size() != 4 || w.dims[2] != w.dims[3]) {
    return Unsupported(node, "the weight must be a 4-D initializer with a square kernel");
  }
  int64_t kernel = 0, stride = 0, pad = 0;
  status = Window(node, &kernel, &stride, &pad);
  if (!status.ok()) return status;
  if (kernel != w.dims[2]) return Mismatch(node, "kernel_shape does not match the weight");
  const bool bias = node.input_size() > 2 && !node.input(2).empty();
  const int64_t groups = IntAttribute(node, "group", 1);
  builder_.GroupedConv2d(w.dims[0], kernel, groups, stride, pad, bias,
                         LayerName(node, node.input(1)));
  status = Check(node);
  if (status.ok()) status = SetParameter(node, 1, "weight", &w);
  if (status.ok() && bias) status = SetParameter(node, 2, "bias");
  if (status.ok()) Produced(node);
  return status;
}

Status Importer::BatchNormalization(const Node& node) {
  Status status = CheckAttributes(node, {"epsilon", "momentum", "training_mode"});
  std::string x;
  if (status.ok()) status = Activation(node, 0, &x);
  for (int i = 1; status.ok() && i < node.output_size(); ++i) status = CheckUnread(node, i);
  if (!status.ok()) return status;
  // ONNX's momentum weighs the old running value; PyTorch's the batch's.
  const double momentum = 1.0 - double(FloatAttribute(node, "momentum", 0.9f));
  builder_.BatchNorm(FloatAttribute(node, "epsilon", 1e-5f), momentum,
                     LayerName(node, node.input(1)));
  status = Check(node);
  const char* fields[] = {"weight", "bias", "running_mean", "running_var"};
  for (int i = 0; status.ok() && i < 4; ++i) status = SetParameter(node, i + 1, fields[i]);
  if (status.ok()) Produced(node);
  return status;
}

bool Importer::ActivationTimesInput(const Node& node, const Node** mul) const {
  const Node* reader = SoleReader(node.output(0));
  if (reader == nullptr || reader->op_type() != "Mul" || reader->input_size() != 2) return false;
  const std::string& x = node.input(0);
  const std::string& y = node.output(0);
  const bool pair = (reader->input(0) == x && reader->input(1) == y) ||
                    (reader->input(0) == y && reader->input(1) == x);
  if (pair) *mul = reader;
  return pair;
}

Status Importer::Activate(const Node& node, const ActivationFunction& f) {
  std::string x;
  Status status = Activation(node, 0, &x);
  if (!status.ok()) return status;
  ActivationFunction applied = f;
  const Node* mul = nullptr;
  const bool pytorch_hardsigmoid = f.kind == ActivationKind::kHardSigmoid &&
                                   std::fabs(f.alpha - 1.0f / 6.0f) < 1e-7f && f.beta == 0.5f;
  if ((pytorch_hardsigmoid || f.kind == ActivationKind::kSigmoid) &&
      ActivationTimesInput(node, &mul)) {
    applied.kind = pytorch_hardsigmoid ? ActivationKind::kHardSwish : ActivationKind::kSilu;
  }
  if (applied.kind == ActivationKind::kClip && applied.lo == 0.0f &&
      applied.hi == std::numeric_limits<float>::infinity()) {
    builder_.Relu(LayerName(node, ""));
  } else {
    builder_.Activate(applied, LayerName(node, ""));
  }
  status = Check(node);
  if (status.ok()) Produced(node, mul);
  return status;
}

Status Importer::Clip(const Node& node) {
  Status status = CheckAttributes(node, {});
  if (!status.ok()) return status;
  ActivationFunction f;
  f.lo = -std::numeric_limits<float>::infinity();
  f.hi = std::numeric_limits<float>::infinity();
  for (int i = 1; i <= 2 && i < node.input_size(); ++i) {
    if (node.input(i).empty()) continue;
    Constant c;
    if (!ConstantInput(node, i, &c) || c.floats.size() != 1) {
      return Unsupported(node, std::string(i == 1 ? "min" : "max") + " must be a float constant");
    }
    (i == 1 ? f.lo : f.hi) = c.floats[0];
  }
  if (f.lo != 0.0f && !std::isfinite(f.hi)) {
    return Unsupported(node, "clip needs both bounds, or min 0 (ReLU)");
  }
  return Activate(node, f);
}

Status Importer::Join(const Node& node) {
  Status status =
      node.op_type() == "Concat" ? CheckAttributes(node, {"axis"}) : CheckAttributes(node, {});
  if (!status.ok()) return status;
  std::vector<std::string> inputs(size_t(node.input_size()));
  for (int i = 0; status.ok() && i < node.input_size(); ++i)
    status = Activation(node, i, &inputs[i]);
  if (!status.ok()) return status;
  const std::string name = LayerName(node, "");
  if (node.op_type() == "Concat") {
    const int64_t axis = IntAttribute(node, "axis", 1);
    if (axis != 1 && axis != -3) return Unsupported(node, "concatenation on an axis other than 1");
    builder_.Concat(inputs, name);
  } else if (inputs.size() != 2) {
    return Corrupt("node '" + node.name() + "' needs two inputs");
  } else if (node.op_type() == "Add") {
    builder_.Add(inputs[0], inputs[1], name);
  } else {
    // The per-channel factor (a squeeze-and-excitation gate) goes second.
    const Dims a = builder_.From(inputs[0]).current().dims;
    const Dims b = builder_.From(inputs[1]).current().dims;
    if (a.h * a.w == 1 && b.h * b.w > 1) std::swap(inputs[0], inputs[1]);
    builder_.Multiply(inputs[0], inputs[1], name);
  }
  status = Check(node);
  if (status.ok()) Produced(node);
  return status;
}

Status Importer::Pool(const Node& node, bool max) {
  Status status = max ? CheckAttributes(node, {"auto_pad", "ceil_mode", "dilations", "kernel_shape",
                                               "pads", "storage_order", "strides"})
                      : CheckAttributes(node, {"auto_pad", "ceil_mode", "count_include_pad",
                                               "kernel_shape", "pads", "strides"});
  if (status.ok()) status = CheckUnread(node, 1);
  if (status.ok() && IntAttribute(node, "storage_order", 0) != 0) {
    status = Unsupported(node, "attribute 'storage_order' other than 0");
  }
  int64_t kernel = 0, stride = 0, pad = 0;
  if (status.ok()) status = Window(node, &kernel, &stride, &pad);
  if (!status.ok()) return status;
  bool count_include_pad = IntAttribute(node, "count_include_pad", 0) != 0;
  const auto padding = node.input_size() > 0 ? paddings_.find(node.input(0)) : paddings_.end();
  std::string x;
  if (padding != paddings_.end()) {
    // A Pad before the pooling: zeros counted in an average, or -inf (nothing) under a max.
    const Padding& p = padding->second;
    const bool fits = max ? p.value <= -std::numeric_limits<float>::max() : p.value == 0.0f;
    if (pad != 0 || !fits) {
      return Unsupported(node, max ? "reads a Pad whose value is not -inf"
                                   : "reads a Pad whose value is not 0, or pads twice");
    }
    pad = p.pad;
    count_include_pad = true;
    builder_.From(tensors_[p.source]);
  } else {
    status = Activation(node, 0, &x);
    if (!status.ok()) return status;
  }
  const bool ceil_mode = IntAttribute(node, "ceil_mode", 0) != 0;
  const std::string name = LayerName(node, "");
  if (max) {
    builder_.MaxPool(kernel, stride, pad, name, ceil_mode);
  } else {
    builder_.AvgPool(kernel, stride, pad, count_include_pad, ceil_mode, name);
  }
  status = Check(node);
  if (status.ok()) Produced(node);
  return status;
}

Status Importer::GlobalAveragePool(const Node& node) {
  std::string x;
  Status status = node.op_type() == "ReduceMean" ? CheckAttributes(node, {"axes", "keepdims"})
                                                 : CheckAttributes(node, {});
  if (status.ok()) status = Activation(node, 0, &x);
  if (!status.ok()) return status;
  if (node.op_type() == "ReduceMean") {
    std::vector<int64_t> axes = IntsAttribute(node, "axes");
    Constant c;
    if (ConstantInput(node, 1, &c)) axes = c.ints;  // opset 18: an input
    for (int64_t& axis : axes) axis = axis < 0 ? axis + 4 : axis;
    const bool spatial =
        axes.size() == 2 && std::set<int64_t>(axes.begin(), axes.end()) == std::set<int64_t>{2, 3};
    if (!spatial) return Unsupported(node, "a mean over axes other than the spatial ones (2, 3)");
  }
  // Flat features when only flattening follows (or nothing: the cut), else 4-D for a gate.
  bool flat = true;
  const auto it = readers_.find(node.output(0));
  if (it != readers_.end()) {
    for (const Node* reader : it->second) flat &= reader->op_type() == "Flatten";
  }
  const std::string name = LayerName(node, "");
  if (flat) {
    builder_.GlobalAvgPool(name);
  } else {
    builder_.AdaptiveAvgPool(1, name);
  }
  status = Check(node);
  if (status.ok()) Produced(node);
  return status;
}

Status Importer::Pad(const Node& node) {
  Status status = CheckAttributes(node, {"mode"});
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == "mode" && a.s() != "constant") {
      return Unsupported(node, "attribute 'mode' = " + a.s() + " (only constant)");
    }
  }
  std::string x;
  if (status.ok()) status = Activation(node, 0, &x);
  if (!status.ok()) return status;
  Constant pads, value;
  if (!ConstantInput(node, 1, &pads) || pads.ints.size() != 8) {
    return Unsupported(node, "pads must be 8 constants");
  }
  const bool has_value = ConstantInput(node, 2, &value);
  const std::vector<int64_t>& p = pads.ints;
  // (begin N, C, H, W, end N, C, H, W): nothing on N and C, the same on every spatial side.
  if (p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0 || p[3] != p[2] || p[6] != p[2] ||
      p[7] != p[2] || p[2] < 0) {
    return Unsupported(node, "pads other than the same on every spatial side");
  }
  if (has_value && value.floats.size() != 1) return Unsupported(node, "a non-float value");
  paddings_[node.output(0)] = {node.input(0), p[2], has_value ? value.floats[0] : 0.0f};
  return Status::Ok();
}

Status Importer::Flatten(const Node& node, bool reshape) {
  Status status = reshape ? CheckAttributes(node, {"allowzero"}) : CheckAttributes(node, {"axis"});
  std::string x;
  if (status.ok()) status = Activation(node, 0, &x);
  if (!status.ok()) return status;
  const Dims in = builder_.current().dims;
  if (reshape) {
    // Only to (batch, features): a shape of two, the batch as 0 or -1, the features as -1 or all.
    Constant shape;
    const int64_t features = in.c * in.h * in.w;
    const bool flattens = ConstantInput(node, 1, &shape) && shape.ints.size() == 2 &&
                          (shape.ints[0] == 0 || shape.ints[0] == -1) &&
                          (shape.ints[1] == -1 || shape.ints[1] == features) &&
                          !(shape.ints[0] == -1 && shape.ints[1] == -1);
    if (!flattens) {
      return Unsupported(node,
                         "a reshape other than flattening to (batch, features) with a "
                         "constant shape (export with torch.flatten)");
    }
  } else if (IntAttribute(node, "axis", 1) != 1) {
    return Unsupported(node, "attribute 'axis' other than 1");
  }
  if (builder_.current().layout == Layout::kNCHW) {  // already flat: nothing to do
    tensors_[node.output(0)] = x;
    return Status::Ok();
  }
  builder_.Flatten(LayerName(node, ""));
  status = Check(node);
  if (status.ok()) Produced(node);
  return status;
}

Status Importer::Linear(const Node& node) {
  const bool gemm = node.op_type() == "Gemm";
  Status status = gemm ? CheckAttributes(node, {"alpha", "beta", "transA", "transB"})
                       : CheckAttributes(node, {});
  std::string x;
  if (status.ok()) status = Activation(node, 0, &x);
  if (!status.ok()) return status;
  if (gemm &&
      (FloatAttribute(node, "alpha", 1.0f) != 1.0f || FloatAttribute(node, "beta", 1.0f) != 1.0f ||
       IntAttribute(node, "transA", 0) != 0)) {
    return Unsupported(node, "alpha, beta other than 1 or transA (not a linear layer)");
  }
  Constant b;
  if (!ConstantInput(node, 1, &b) || b.dims.size() != 2 || b.floats.empty()) {
    return Unsupported(node, "the weight must be a 2-D float initializer");
  }
  // PyTorch's weight is (out, in): Gemm's B with transB, else B transposed (MatMul's too).
  const bool transposed = gemm && IntAttribute(node, "transB", 0) != 0;
  const int64_t out = transposed ? b.dims[0] : b.dims[1];
  const int64_t in = transposed ? b.dims[1] : b.dims[0];
  std::vector<float> transpose;
  if (!transposed) {
    transpose.resize(b.floats.size());
    for (int64_t o = 0; o < out; ++o) {
      for (int64_t i = 0; i < in; ++i)
        transpose[size_t(o * in + i)] = b.floats[size_t(i * out + o)];
    }
  }
  const float* weight = transposed ? b.floats.data() : transpose.data();
  // MatMul's bias is the Add that follows it.
  const Node* add = gemm ? nullptr : SoleReader(node.output(0));
  int bias_input = gemm ? 2 : -1;
  Constant bias;
  if (add != nullptr && add->op_type() == "Add" && add->input_size() == 2) {
    bias_input = add->input(0) == node.output(0) ? 1 : 0;
    if (!ConstantInput(*add, bias_input, &bias)) add = nullptr, bias_input = -1;
  } else {
    add = nullptr;
  }
  const Node& bias_node = add != nullptr ? *add : node;
  const bool has_bias = bias_input >= 0 && bias_input < bias_node.input_size() &&
                        !bias_node.input(bias_input).empty();
  if (has_bias && !ConstantInput(bias_node, bias_input, &bias)) {
    return Unsupported(node, "the bias must be a float initializer");
  }
  if (has_bias && int64_t(bias.floats.size()) != out) {
    return Mismatch(node, "the bias has " + std::to_string(bias.floats.size()) + " values for " +
                              std::to_string(out) + " outputs");
  }
  builder_.Linear(out, has_bias, LayerName(node, gemm ? node.input(1) : ""));
  status = Check(node);
  if (!status.ok()) return status;
  builder_.SetParameter("weight", node.input(1), {out, in}, weight);
  if (has_bias)
    builder_.SetParameter("bias", bias_node.input(bias_input), {out}, bias.floats.data());
  status = Check(node);
  if (status.ok()) Produced(node, add);
  return status;
}

Status Importer::Convert(const Node& node) {
  if (!node.domain().empty() && node.domain() != "ai.onnx") {
    return Unsupported(node, "operators of domain '" + node.domain() + "' are not supported");
  }
  const std::string& op = node.op_type();
  if (op == "Conv") return Conv(node);
  if (op == "BatchNormalization") return BatchNormalization(node);
  if (op == "Relu") {
    Status status = CheckAttributes(node, {});
    return status.ok() ? Activate(node, {ActivationKind::kClip, 0.0f,
                                         std::numeric_limits<float>::infinity()})
                       : status;
  }
  if (op == "Clip") return Clip(node);
  if (op == "HardSigmoid") {
    Status status = CheckAttributes(node, {"alpha", "beta"});
    ActivationFunction f;
    f.kind = ActivationKind::kHardSigmoid;
    f.alpha = FloatAttribute(node, "alpha", 0.2f);
    f.beta = FloatAttribute(node, "beta", 0.5f);
    return status.ok() ? Activate(node, f) : status;
  }
  if (op == "HardSwish" || op == "Sigmoid") {
    Status status = CheckAttributes(node, {});
    ActivationFunction f;
    f.kind = op == "HardSwish" ? ActivationKind::kHardSwish : ActivationKind::kSigmoid;
    return status.ok() ? Activate(node, f) : status;
  }
  if (op == "Add" || op == "Mul" || op == "Concat") return Join(node);
  if (op == "MaxPool" || op == "AveragePool") return Pool(node, op == "MaxPool");
  if (op == "GlobalAveragePool" || op == "ReduceMean") return GlobalAveragePool(node);
  if (op == "Pad") return Pad(node);
  if (op == "Flatten" || op == "Reshape") return Flatten(node, op == "Reshape");
  if (op == "Gemm" || op == "MatMul") return Linear(node);
  if (op == "Dropout") {
    Status status = CheckAttributes(node, {"seed"});
    std::string x;
    if (status.ok()) status = CheckUnread(node, 1);
    if (status.ok()) status = Activation(node, 0, &x);
    if (!status.ok()) return status;
    Constant ratio;
    const bool has_ratio = node.input_size() > 1 && !node.input(1).empty();
    if (has_ratio && (!ConstantInput(node, 1, &ratio) || ratio.floats.size() != 1)) {
      return Unsupported(node, "the ratio must be a float constant");
    }
    builder_.Dropout(has_ratio ? ratio.floats[0] : 0.5f, LayerName(node, ""));
    status = Check(node);
    if (status.ok()) Produced(node);
    return status;
  }
  if (op == "Identity") {
    const auto constant = constants_.find(node.input_size() > 0 ? node.input(0) : "");
    if (constant != constants_.end()) {  // a constant under another name (eval-mode exports)
      constants_[node.output(0)] = constant->second;
      return Status::Ok();
    }
    std::string x;
    Status status = Activation(node, 0, &x);
    if (status.ok()) tensors_[node.output(0)] = x;
    return status;
  }
  if (op == "Constant") {  // read where it is used, validated in Run
    return Status::Ok();
  }
  return Unsupported(node, "operator " + op + " is not supported");
}

Status Importer::Run(const std::string& input, const std::string& target) {
  std::map<std::string, const Node*> producers;
  for (const Node& node : graph_.node()) {
    for (const std::string& out : node.output()) {
      if (!out.empty() && !producers.emplace(out, &node).second) {
        return Corrupt("tensor '" + out + "' is written by two nodes");
      }
    }
  }
  // The nodes the target depends on, found backwards from it; the rest are left out.
  std::set<const Node*> needed;
  std::vector<std::string> pending{target};
  while (!pending.empty()) {
    const std::string name = pending.back();
    pending.pop_back();
    const auto it = producers.find(name);
    if (it == producers.end() || !needed.insert(it->second).second) continue;
    for (const std::string& in : it->second->input()) pending.push_back(in);
  }
  // Constants are validated here, one at a time, and read again where a layer takes them.
  for (const onnx::TensorProto& t : graph_.initializer()) constants_[t.name()] = &t;
  for (const Node& node : graph_.node()) {
    if (needed.count(&node) == 0) continue;
    for (const std::string& in : node.input()) readers_[in].push_back(&node);
    if (node.op_type() != "Constant") continue;
    if (node.attribute_size() != 1 || node.attribute(0).name() != "value" ||
        node.output_size() != 1) {
      return Unsupported(node, "only a constant of attribute 'value' is supported");
    }
    constants_[node.output(0)] = &node.attribute(0).t();
  }
  for (const auto& [name, tensor] : constants_) {
    if (readers_.count(name) == 0) continue;
    Status status = ReadTensor(*tensor, "constant '" + name + "'", nullptr);
    if (!status.ok()) return status;
  }
  tensors_[input] = builder_.current_name();
  for (const Node& node : graph_.node()) {
    if (needed.count(&node) == 0 || done_.count(&node) != 0) continue;
    Status status = Convert(node);
    if (!status.ok()) return status;
  }
  const auto it = tensors_.find(target);
  if (it == tensors_.end()) {
    return Status(StatusCode::kUnsupported,
                  "ONNX model: tensor '" + target + "' is not an activation the model can end at");
  }
  builder_.From(it->second);
  return builder_.TakeError();
}

// The graph's one input that is not an initializer: its name and (C, H, W).
Status ReadInput(const onnx::GraphProto& graph, std::string* name, Dims* dims) {
  std::set<std::string> initializers;
  for (const onnx::TensorProto& t : graph.initializer()) initializers.insert(t.name());
  const onnx::ValueInfoProto* input = nullptr;
  for (const onnx::ValueInfoProto& v : graph.input()) {
    if (initializers.count(v.name()) != 0) continue;
    if (input != nullptr) {
      return Status(StatusCode::kUnsupported, "ONNX model: inputs '" + input->name() + "' and '" +
                                                  v.name() + "'; a model has one image input");
    }
    input = &v;
  }
  if (input == nullptr) return Corrupt("the graph has no input");
  const onnx::TypeProto::Tensor& type = input->type().tensor_type();
  if (type.elem_type() != onnx::TensorProto::FLOAT || type.shape().dim_size() != 4) {
    return Status(StatusCode::kUnsupported, "ONNX model: input '" + input->name() +
                                                "' must be a 4-D float tensor (N, C, H, W)");
  }
  int64_t size[3];
  for (int i = 0; i < 3; ++i) {
    const onnx::TensorShapeProto::Dimension& d = type.shape().dim(i + 1);
    if (!d.has_dim_value() || d.dim_value() <= 0) {
      return Status(StatusCode::kUnsupported, "ONNX model: input '" + input->name() +
                                                  "' needs fixed channels, height and width");
    }
    size[i] = d.dim_value();
  }
  *name = input->name();
  *dims = {1, size[0], size[1], size[2]};
  return Status::Ok();
}

Status ImportGraph(const onnx::ModelProto& model, const OnnxImportOptions& options,
                   const Allocator& allocator, std::unique_ptr<ModelBuilder>* builder) {
  int64_t opset = -1;
  for (const onnx::OperatorSetIdProto& set : model.opset_import()) {
    if (set.domain().empty() || set.domain() == "ai.onnx") opset = set.version();
  }
  if (opset < 11 || opset > 18) {
    return Status(StatusCode::kUnsupported,
                  "ONNX model: opset " + std::to_string(opset) + "; opsets 11 to 18 are read");
  }
  const onnx::GraphProto& graph = model.graph();
  std::string input;
  Dims dims;
  Status status = ReadInput(graph, &input, &dims);
  if (!status.ok()) return status;
  std::string target = options.cut_at;
  if (target.empty()) {
    if (graph.output_size() == 0) return Corrupt("the graph has no output");
    target = graph.output(0).name();
  }
  for (const onnx::NodeProto& node : graph.node()) {  // a node's name stands for its output
    if (node.name() == target && node.output_size() > 0) target = node.output(0);
  }
  auto result = std::make_unique<ModelBuilder>(dims.c, dims.h, dims.w, allocator);
  Importer importer(graph, result.get());
  status = importer.Run(input, target);
  if (status.ok()) *builder = std::move(result);
  return status;
}

}  // namespace

Status ImportOnnx(const void* data, size_t bytes, const OnnxImportOptions& options,
                  const Allocator& allocator, std::unique_ptr<ModelBuilder>* builder) {
  if (builder == nullptr || (data == nullptr && bytes != 0)) {
    return InvalidArgument("ImportOnnx: null argument");
  }
  if (bytes > size_t(INT_MAX)) {
    return Status(StatusCode::kUnsupported, "ONNX model: larger than 2 GiB");
  }
  return WithArena(allocator, [&](google::protobuf::Arena* arena) {
    auto* model = google::protobuf::Arena::CreateMessage<onnx::ModelProto>(arena);
    if (!model->ParseFromArray(data, int(bytes))) {
      return Corrupt("not a valid ONNX protobuf (truncated or damaged)");
    }
    if (!model->has_graph()) return Corrupt("no graph");
    return ImportGraph(*model, options, allocator, builder);
  });
}

Status ImportOnnxFile(const std::string& path, const OnnxImportOptions& options,
                      const Allocator& allocator, std::unique_ptr<ModelBuilder>* builder) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status(StatusCode::kIoError, "cannot open ONNX model '" + path + "'");
  const std::streamoff size = in.tellg();
  Buffer bytes;
  Status status = bytes.Allocate(size_t(std::max<std::streamoff>(size, 1)), allocator);
  if (!status.ok()) return status;
  in.seekg(0);
  if (size > 0 && !in.read(static_cast<char*>(bytes.data()), size)) {
    return Status(StatusCode::kIoError, "cannot read ONNX model '" + path + "'");
  }
  status = ImportOnnx(bytes.data(), size_t(size), options, allocator, builder);
  if (!status.ok() && status.code() != StatusCode::kIoError) {
    return Status(status.code(), "'" + path + "': " + status.message());
  }
  return status;
}

}  // namespace sparsetrain
