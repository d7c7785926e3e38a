// Layers that join several inputs into one output.
#ifndef SPARSETRAIN_RUNTIME_JOIN_LAYERS_H_
#define SPARSETRAIN_RUNTIME_JOIN_LAYERS_H_

#include <vector>

#include "runtime/layer.h"

namespace sparsetrain {

// y = a + b, for two inputs of one shape (the join of a residual block).
class AddLayer : public Layer {
 public:
  explicit AddLayer(std::string name) : Layer(std::move(name)) {}
  const char* kind() const override { return "add"; }
  Status Plan(const std::vector<TensorSpec>& in, TensorSpec* out) const override;
  Status Forward(const LayerInputs& x, const ExecContext& ctx) override;
  // Both inputs' gradient is dy itself: nothing is computed or copied.
  Status Backward(const Activation& dy, InputMask need_dx, const ExecContext& ctx) override;
  const Activation& input_grad(size_t /*i*/) const override { return *dy_; }
  bool ReadsInputInBackward(size_t) const override { return false; }
  Activation* input_grad_storage(size_t) override { return nullptr; }

 private:
  const Activation* dy_ = &input_grad_;
};

// Its inputs' channels one after another (PyTorch's torch.cat along dim 1), for 4-D inputs of
// one batch and image size (SqueezeNet's fire modules, Inception-style branches).
class ConcatLayer : public Layer {
 public:
  ConcatLayer(std::string name, size_t inputs) : Layer(std::move(name)), grads_(inputs) {}
  const char* kind() const override { return "concat"; }
  bool ReadsInputInBackward(size_t) const override { return false; }
  Activation* input_grad_storage(size_t i) override { return &grads_[i]; }
  Status Plan(const std::vector<TensorSpec>& in, TensorSpec* out) const override;
  Status Forward(const LayerInputs& x, const ExecContext& ctx) override;
  Status Backward(const Activation& dy, InputMask need_dx, const ExecContext& ctx) override;
  const Activation& input_grad(size_t i) const override { return grads_[i]; }
  void AddMemory(MemoryFootprint* memory) const override;

 private:
  std::vector<Dims> inputs_;       // of the last forward pass
  std::vector<Activation> grads_;  // per input (sized once: a memory plan points into them)
};

// y = a * b, for b of a's shape or (N, C, 1, 1), one factor per channel of each image
// (squeeze-and-excitation's gate).
class MultiplyLayer : public Layer {
 public:
  explicit MultiplyLayer(std::string name) : Layer(std::move(name)) {}
  const char* kind() const override { return "multiply"; }
  Activation* input_grad_storage(size_t i) override { return &grads_[i]; }
  Status Plan(const std::vector<TensorSpec>& in, TensorSpec* out) const override;
  Status Forward(const LayerInputs& x, const ExecContext& ctx) override;
  Status Backward(const Activation& dy, InputMask need_dx, const ExecContext& ctx) override;
  const Activation& input_grad(size_t i) const override { return grads_[i]; }
  void AddMemory(MemoryFootprint* memory) const override;

 private:
  const Activation *a_ = nullptr, *b_ = nullptr;
  Activation grads_[2];
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_JOIN_LAYERS_H_
