// Layer: one node of a network, with its forward and backward passes.
//
// Activations between layers are 4-D (N, C, H, W) in nChw16c, or flat (N, F, 1, 1) in NCHW once a
// Flatten, global pooling or Linear layer has run. A layer reads one or more inputs and writes one
// output. It owns the tensors it writes (its output and its input gradients) and reuses them from
// step to step; it keeps pointers to its inputs from Forward to Backward, so the model keeps every
// activation a step needs alive between the two.
#ifndef SPARSETRAIN_RUNTIME_LAYER_H_
#define SPARSETRAIN_RUNTIME_LAYER_H_

#include <pthreadpool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/base/status.h"
#include "kernels/conv_choice.h"
#include "kernels/layout.h"
#include "runtime/random.h"
#include "runtime/tensor.h"

namespace sparsetrain {

// Shape and layout of an activation, known when the model is built (for a batch of n).
struct TensorSpec {
  Dims dims;
  Layout layout = Layout::kNChw16c;
};

// A batch flowing between layers, with the number of zeros in its storage when the producer
// counted them as it wrote (ReLU, pooling, dropout do), else -1.
struct Activation {
  Tensor tensor;
  int64_t zeros = -1;
};

// Which convolution kernels a model uses: the calibrated per-layer choice, or one kind throughout.
enum class KernelPolicy { kAuto, kDense, kSparse };

struct ExecContext {
  pthreadpool_t pool = nullptr;  // the caller's threads (null: the calling thread only)
  bool training = true;          // batch statistics, dropout, gradients
  KernelPolicy policy = KernelPolicy::kAuto;
  uint64_t step = 0;                    // seeds per-step randomness (dropout)
  WorkspaceArena* workspace = nullptr;  // kernels' scratch, shared by the model's layers
  Allocator allocator;                  // the model's: activations and layers' scratch
};

// A learnable tensor or a buffer (batch-norm running statistics) of a layer.
struct Parameter {
  std::string name;            // "<layer>.<field>", as in a PyTorch state_dict
  std::vector<int64_t> shape;  // PyTorch's shape, e.g. (K, C, R, S) for conv weights
  Tensor value;            // in the layer's own layout; Tensor::CopyTo(kNCHW) gives PyTorch order
  Tensor grad;             // same layout as value; empty for buffers
  bool is_buffer = false;  // saved and loaded, never updated by the optimiser
  uint64_t version = 0;    // bumped whenever value changes outside the layer (update, load)
};

// Per-layer figures of the most recent step, per Pass.
struct LayerTelemetry {
  double input_zeros = -1.0;  // zero fraction of the input (forward), -1 if not measured
  double grad_zeros = -1.0;   // zero fraction of the output gradient (backward)
  bool is_conv = false;
  ConvKernel kernel[kPassCount] = {ConvKernel::kDense, ConvKernel::kDense, ConvKernel::kDense};
  bool ran[kPassCount] = {false, false, false};
  // Wall time per pass; non-conv layers put backward in kBackwardData.
  double ms[kPassCount] = {0.0, 0.0, 0.0};
};

// Makes `p` a vector parameter (or buffer) of `length` values named `name`, with its gradient
// unless it is a buffer. In nChw16c it is (1, C, 1, 1), padded with zeros to whole channel
// blocks as the channel kernels load it.
Status CreateVectorParameter(Parameter* p, const std::string& name, int64_t length, Layout layout,
                             bool is_buffer, const Allocator& allocator);

// Initialises a weight, and its bias when `bias` is not null, as PyTorch's Conv2d and Linear do
// by default: uniform in +-1/sqrt(fan_in) (kaiming_uniform_ with a = sqrt(5), and the bias's own
// bound). Values are drawn in PyTorch's element order and copied into each tensor's layout.
void InitializeLikePyTorch(int64_t fan_in, Random* random, Parameter* weight, Parameter* bias);

// "(2, 3, 4)": a parameter's shape in messages.
std::string ShapeText(const std::vector<int64_t>& shape);

// Bytes of a tensor's owned storage (0 when empty or wrapped).
int64_t StorageBytes(const Tensor& t);

// Makes `a` a tensor of `spec` (reallocating from `allocator` only when it grows), zeros unknown.
Status PrepareActivation(const TensorSpec& spec, const Allocator& allocator, Activation* a);

// Bytes of memory a model holds, by purpose.
struct MemoryFootprint {
  int64_t parameter_bytes = 0;  // values of parameters and buffers
  int64_t gradient_bytes = 0;
  int64_t optimizer_bytes = 0;
  int64_t activation_bytes = 0;  // layer outputs and the input batch (planned: Graph::PlanMemory)
  int64_t activation_gradient_bytes = 0;  // gradients of activations (planned)
  int64_t workspace_bytes = 0;  // pooling indices, transposed weights, kernel scratch, other sums
};

// The activations a layer reads, in the order of its inputs.
using LayerInputs = std::vector<const Activation*>;
// One bit per input of a layer (bit i: input i), saying whose gradient backward must write.
using InputMask = uint64_t;
constexpr int kMaxLayerInputs = 64;

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  virtual const char* kind() const = 0;  // "conv2d", "relu", ...

  // The output spec for inputs `in`, or kShapeMismatch naming the layer when they do not fit
  // (or are not as many as it takes).
  virtual Status Plan(const std::vector<TensorSpec>& in, TensorSpec* out) const = 0;

  // Computes output() from x (whose shapes Plan accepted). x must stay alive until Backward.
  virtual Status Forward(const LayerInputs& x, const ExecContext& ctx) = 0;
  // From dy (the gradient of output()), writes the parameter gradients unless frozen, and
  // input_grad(i) for each input i whose bit is set in need_dx.
  virtual Status Backward(const Activation& dy, InputMask need_dx, const ExecContext& ctx) = 0;

  const Activation& output() const { return output_; }
  // The gradient of input i, written by the last Backward that asked for it.
  virtual const Activation& input_grad(size_t /*i*/) const { return input_grad_; }

  // For memory planning (Graph::PlanMemory): what backward reads, and the tensors the layer
  // writes, which a plan may point into shared arenas (the layer then finds them the right shape
  // and allocates nothing).
  virtual bool ReadsInputInBackward(size_t /*i*/) const { return true; }
  virtual bool ReadsOutputInBackward() const { return false; }
  // Whether the output may be written over the input (element-wise, and backward reads the
  // output only): the ReLU family.
  virtual bool MayRunInPlace() const { return false; }
  Activation* output_storage() { return &output_; }
  // Where the gradient of input i is written; null when the layer passes dy on instead.
  virtual Activation* input_grad_storage(size_t /*i*/) { return &input_grad_; }

  // Sets parameters and buffers to their initial values (seeded by `random`).
  virtual void Initialize(Random* /*random*/) {}

  // Learnable tensors and buffers; containers list their children's.
  virtual std::vector<Parameter*> Parameters() { return {}; }
  // This layer, then (for containers) the layers inside it, depth first.
  virtual void CollectLayers(std::vector<Layer*>* layers) { layers->push_back(this); }

  bool frozen() const { return frozen_; }
  virtual void SetFrozen(bool frozen) { frozen_ = frozen; }
  // The parameters the optimiser updates: none when frozen, never buffers.
  virtual std::vector<Parameter*> TrainableParameters() {
    std::vector<Parameter*> trainable;
    if (frozen_) return trainable;
    for (Parameter* p : Parameters()) {
      if (!p->is_buffer) trainable.push_back(p);
    }
    return trainable;
  }
  // Whether Backward has parameter gradients to write. Called every step, so it builds no list:
  // whether the layer has learnable parameters at all is found once.
  virtual bool HasTrainableParameters() {
    if (learnable_ < 0) {
      learnable_ = 0;
      for (Parameter* p : Parameters()) learnable_ |= p->is_buffer ? 0 : 1;
    }
    return !frozen_ && learnable_ == 1;
  }

  virtual const LayerTelemetry& telemetry() const { return telemetry_; }
  virtual void ResetTelemetry() { telemetry_ = LayerTelemetry(); }
  // Adds the activation and workspace bytes this layer holds (parameters are counted by the model).
  virtual void AddMemory(MemoryFootprint* memory) const;

 protected:
  friend class PassTimer;  // records the pass into telemetry_ and reads what it wrote
  Status MismatchError(const std::string& what) const;

  Activation output_;
  Activation input_grad_;
  LayerTelemetry telemetry_;

 private:
  std::string name_;
  bool frozen_ = false;
  int learnable_ = -1;  // whether Parameters() holds a non-buffer; -1 until first asked
};

// A layer of one input, as most are: its passes see that input alone.
class UnaryLayer : public Layer {
 public:
  using Layer::Layer;
  Status Plan(const std::vector<TensorSpec>& in, TensorSpec* out) const final;
  Status Forward(const LayerInputs& x, const ExecContext& ctx) final {
    return ForwardOne(*x[0], ctx);
  }
  Status Backward(const Activation& dy, InputMask need_dx, const ExecContext& ctx) final {
    return BackwardOne(dy, (need_dx & 1) != 0, ctx);
  }

 protected:
  virtual Status PlanOne(const TensorSpec& in, TensorSpec* out) const = 0;
  virtual Status ForwardOne(const Activation& x, const ExecContext& ctx) = 0;
  // need_dx: whether input_grad() is wanted.
  virtual Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) = 0;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_LAYER_H_
