// The one-input layers other than Conv2d (conv_layer.h) and BatchNorm2d (batch_norm_layer.h).
#ifndef SPARSETRAIN_RUNTIME_LAYERS_H_
#define SPARSETRAIN_RUNTIME_LAYERS_H_

#include <memory>
#include <vector>

#include "kernels/activation.h"
#include "kernels/pool.h"
#include "runtime/layer.h"

namespace sparsetrain {

// max(x, 0), counting the zeros it writes (and those of its input gradient) for the next
// convolution's kernel choice.
class Relu : public UnaryLayer {
 public:
  explicit Relu(std::string name) : UnaryLayer(std::move(name)) {}
  const char* kind() const override { return "relu"; }
  bool ReadsInputInBackward(size_t) const override { return false; }
  bool ReadsOutputInBackward() const override { return true; }
  bool MayRunInPlace() const override { return true; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
};

// An activation function of kernels/activation.h (ReLU6, clip, sigmoid, hard sigmoid, hard swish,
// SiLU), counting the zeros it writes like Relu.
class ActivationLayer : public UnaryLayer {
 public:
  ActivationLayer(std::string name, const ActivationFunction& f)
      : UnaryLayer(std::move(name)), f_(f) {}
  const char* kind() const override { return ActivationName(f_); }
  // Clip's gradient is the same read from its output (x is strictly inside the bounds exactly
  // when y is), so clip and ReLU6 run in place; the others read their input.
  bool ReadsInputInBackward(size_t) const override { return !IsClip(); }
  bool ReadsOutputInBackward() const override { return IsClip(); }
  bool MayRunInPlace() const override { return IsClip(); }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
  const ActivationFunction& function() const { return f_; }

 private:
  bool IsClip() const { return f_.kind == ActivationKind::kClip; }
  ActivationFunction f_;
  const Activation* x_ = nullptr;
};

// Max pooling over square windows (PyTorch's MaxPool2d, floor or ceil mode), optionally with the
// ReLU before it fused in (relu then max pooling equals max pooling of max(x, 0) at no extra
// cost).
class MaxPool2d : public UnaryLayer {
 public:
  MaxPool2d(std::string name, int64_t window, int64_t stride, int64_t pad, bool ceil_mode)
      : UnaryLayer(std::move(name)),
        window_(window),
        stride_(stride),
        pad_(pad),
        ceil_mode_(ceil_mode) {}
  // From now on the pooling applies max(x, 0) first, standing in for a ReLU before it.
  void FuseRelu() { relu_ = true; }
  const char* kind() const override { return relu_ ? "relu+maxpool2d" : "maxpool2d"; }
  bool ReadsInputInBackward(size_t) const override { return false; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
  void AddMemory(MemoryFootprint* memory) const override;
  // Its geometry on input of `in` (relu set when a ReLU is fused in).
  PoolShape ShapeFor(const Dims& in) const {
    PoolShape shape{in, window_, stride_, pad_, relu_};
    shape.ceil_mode = ceil_mode_;
    return shape;
  }

 private:
  int64_t window_, stride_, pad_;
  bool ceil_mode_;
  bool relu_ = false;
  Buffer argmax_;  // int32 per output element: where backward sends its gradient
  Dims input_dims_;
};

// Average pooling over square windows (PyTorch's AvgPool2d: count_include_pad either way, floor
// or ceil mode); adaptive average pooling is this with window = stride = input / output size.
class AvgPool2d : public UnaryLayer {
 public:
  AvgPool2d(std::string name, const PoolShape& geometry)
      : UnaryLayer(std::move(name)), geometry_(geometry) {}
  const char* kind() const override { return "avgpool2d"; }
  bool ReadsInputInBackward(size_t) const override { return false; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
  PoolShape ShapeFor(const Dims& in) const {
    PoolShape shape = geometry_;
    shape.input = in;
    return shape;
  }

 private:
  PoolShape geometry_;  // all but the input
  Dims input_dims_;
};

// Mean over the pixels of each channel: (N, C, H, W) to flat (N, C).
class GlobalAvgPool : public UnaryLayer {
 public:
  explicit GlobalAvgPool(std::string name) : UnaryLayer(std::move(name)) {}
  const char* kind() const override { return "global_avg_pool"; }
  bool ReadsInputInBackward(size_t) const override { return false; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;

 private:
  Dims input_dims_;
};

// (N, C, H, W) to flat (N, C * H * W) in PyTorch's order (channel-major).
class Flatten : public UnaryLayer {
 public:
  explicit Flatten(std::string name) : UnaryLayer(std::move(name)) {}
  const char* kind() const override { return "flatten"; }
  bool ReadsInputInBackward(size_t) const override { return false; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;

 private:
  TensorSpec input_;  // of the last forward pass
};

// y = x W^T + b on flat inputs; W is (out, in) as in PyTorch.
class Linear : public UnaryLayer {
 public:
  static Status Create(std::string name, int64_t in_features, int64_t out_features, bool bias,
                       const Allocator& allocator, std::unique_ptr<Layer>* out);
  const char* kind() const override { return "linear"; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
  std::vector<Parameter*> Parameters() override;
  // PyTorch's default: weights and bias uniform in +-1/sqrt(in_features).
  void Initialize(Random* random) override;

 private:
  Linear(std::string name, int64_t in, int64_t out)
      : UnaryLayer(std::move(name)), in_(in), out_(out) {}
  int64_t in_, out_;
  Parameter weight_, bias_;
  const Activation* x_ = nullptr;
};

// Inverted dropout: in training each element is zeroed with probability `drop` and the rest
// scaled by 1 / (1 - drop); in evaluation the identity.
class Dropout : public UnaryLayer {
 public:
  Dropout(std::string name, float drop, uint64_t seed)
      : UnaryLayer(std::move(name)), drop_(drop), seed_(seed) {}
  const char* kind() const override { return "dropout"; }
  bool ReadsInputInBackward(size_t) const override { return false; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;

 private:
  float drop_;
  uint64_t seed_;
  uint64_t mask_seed_ = 0;  // of the last training forward pass
  bool masked_ = false;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_LAYERS_H_
