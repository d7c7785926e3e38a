// ModelBuilder: builds a Model layer by layer.
//
//   ModelBuilder b(1, 28, 28);                 // input channels, height, width
//   b.Conv2d(32, 3).Relu().MaxPool(2, 2).Flatten().Linear(10);
//   std::unique_ptr<Model> model;
//   Status s = b.Build(/*seed=*/1, &model);
//   model->TrainStep(images, labels, batch, &result);
//
// Each layer reads the current tensor (the previous layer's output) and becomes the current one.
// Tensors are named by the layer that writes them ("input": the model's input); From() makes a
// named tensor current again, so a network may branch, and joining layers (Add) name their
// inputs. A residual block is shorthand for a branch and an addition.
#ifndef SPARSETRAIN_RUNTIME_MODEL_BUILDER_H_
#define SPARSETRAIN_RUNTIME_MODEL_BUILDER_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kernels/activation.h"
#include "runtime/model.h"

namespace sparsetrain {

class ModelBuilder {
 public:
  // Parameters, and everything the model allocates later, come from `allocator`.
  ModelBuilder(int64_t channels, int64_t height, int64_t width,
               const Allocator& allocator = Allocator());

  // Each adds a layer after the current one; an empty name means an automatic one. Errors
  // (shapes that do not fit, bad arguments) are kept and returned by Build.
  ModelBuilder& Conv2d(int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t pad = -1,
                       bool bias = true, const std::string& name = "");  // pad -1: kernel / 2
  // Grouped: `groups` dividing both channel counts (PyTorch's groups); 1 is Conv2d, groups equal
  // to both channel counts DepthwiseConv2d.
  ModelBuilder& GroupedConv2d(int64_t out_channels, int64_t kernel, int64_t groups,
                              int64_t stride = 1, int64_t pad = -1, bool bias = true,
                              const std::string& name = "");
  // Depthwise: each channel convolved with its own filter (groups = channels, MobileNet's).
  ModelBuilder& DepthwiseConv2d(int64_t kernel, int64_t stride = 1, int64_t pad = -1,
                                bool bias = true, const std::string& name = "");
  ModelBuilder& BatchNorm(double eps = 1e-5, double momentum = 0.1, const std::string& name = "");
  ModelBuilder& Relu(const std::string& name = "");
  // ReLU6, clip, sigmoid, hard sigmoid, hard swish or SiLU (kernels/activation.h); automatic
  // names "relu6_1", "clip1", "sigmoid1", "hardsigmoid1", "hardswish1", "silu1", ...
  ModelBuilder& Activate(const ActivationFunction& f, const std::string& name = "");
  ModelBuilder& Relu6(const std::string& name = "");
  // Max pooling. A ReLU whose output only the pooling reads runs inside it (the pair reports as
  // one layer, "relu+maxpool2d", under the pooling's name).
  ModelBuilder& MaxPool(int64_t window, int64_t stride, int64_t pad = 0,
                        const std::string& name = "", bool ceil_mode = false);
  // Average pooling (PyTorch's AvgPool2d defaults: padding counts in the divisor, floor mode).
  ModelBuilder& AvgPool(int64_t window, int64_t stride, int64_t pad = 0,
                        bool count_include_pad = true, bool ceil_mode = false,
                        const std::string& name = "");
  // Adaptive average pooling to `size` x `size` (4-D output, so a convolution may follow, as in
  // squeeze-and-excitation), for inputs whose sides are multiples of `size`.
  ModelBuilder& AdaptiveAvgPool(int64_t size, const std::string& name = "");
  ModelBuilder& GlobalAvgPool(const std::string& name = "");
  ModelBuilder& Flatten(const std::string& name = "");
  ModelBuilder& Dropout(float drop, const std::string& name = "");
  ModelBuilder& Linear(int64_t out_features, bool bias = true, const std::string& name = "");

  // Makes the tensor named `tensor` (a layer's name, or "input") the current one.
  ModelBuilder& From(const std::string& tensor);
  // The sum of two named tensors of one shape (an empty name: the current tensor).
  ModelBuilder& Add(const std::string& a, const std::string& b, const std::string& name = "");
  // The named tensors' channels one after another (4-D, one batch and image size).
  ModelBuilder& Concat(const std::vector<std::string>& inputs, const std::string& name = "");
  // a * b, b of a's shape or one factor per channel (N, C, 1, 1) (a squeeze-and-excitation gate).
  ModelBuilder& Multiply(const std::string& a, const std::string& b, const std::string& name = "");

  // A residual block: layers added after BeginResidual form the body; after Shortcut, the
  // shortcut branch (none: identity); EndResidual adds the two under the block's name, which
  // also names the block's layers as a group for freezing.
  ModelBuilder& BeginResidual(const std::string& name = "");
  ModelBuilder& Shortcut();
  ModelBuilder& EndResidual();

  // Gives the parameter `field` ("weight", "bias", "running_mean", ...) of the layer added last
  // the name `name` and `values` (PyTorch's element order; `shape` must be the parameter's).
  // Build leaves the parameters of such a layer as they are set: importers bring trained values.
  ModelBuilder& SetParameter(const std::string& field, const std::string& name,
                             const std::vector<int64_t>& shape, const float* values);

  // The error kept since the last call, cleared: construction can go on without the layer that
  // failed (the C API reports each layer's error where it is added).
  Status TakeError() { return std::exchange(error_, Status::Ok()); }

  // The current output shape (batch of 1), for callers that size the next layer from it.
  const TensorSpec& current() const { return specs_[current_]; }
  // The current tensor's name, for a later layer to read it by (a residual's input, say).
  std::string current_name() const;
  // Whether a layer of this name has been added.
  bool has_layer(const std::string& name) const { return values_.count(name) != 0; }

  // Builds the model with parameters initialised from `seed` as PyTorch initialises its layers by
  // default (reproducibly; batch norm: weight 1, bias 0). Every
  // tensor but the last must be read by some layer.
  Status Build(uint64_t seed, std::unique_ptr<Model>* model);

 private:
  struct Block {
    std::string name;
    int input = 0;         // the tensor both branches read
    int body_output = -1;  // once Shortcut() is called
    int first_node = 0;
  };
  std::string NameFor(const char* prefix, const std::string& given);
  // Appends `layer` reading `inputs` (none: the current tensor) and makes its output current.
  void Append(Status status, std::unique_ptr<Layer> layer, std::vector<int> inputs = {});
  // Appends `layer` reading the tensors named `a` and `b` (empty: the current one).
  ModelBuilder& AppendJoin(const std::string& a, const std::string& b,
                           std::unique_ptr<Layer> layer);
  // The tensor named `name` (empty: the current one), or -1 with the error kept.
  int ValueNamed(const std::string& name);
  // Build's one graph rewrite: each ReLU read by a max pooling alone moves into the pooling.
  void FuseReluIntoPooling();

  Allocator allocator_;
  Graph graph_;
  std::vector<TensorSpec> specs_;  // per tensor, batch of 1
  int current_ = 0;
  std::map<std::string, int> values_;  // tensor by name
  std::vector<Block> blocks_;          // the residual blocks open, innermost last
  std::vector<LayerGroup> groups_;
  std::map<std::string, int> counts_;
  std::vector<std::string> names_;
  std::set<std::string> preset_;  // layers whose parameters SetParameter gave values
  Status error_;
  bool built_ = false;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_MODEL_BUILDER_H_
