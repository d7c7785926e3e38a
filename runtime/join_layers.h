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

 private:
  const Activation* dy_ = &input_grad_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_JOIN_LAYERS_H_
