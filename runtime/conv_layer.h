// Conv2d: a 2-D convolution with optional bias, run by the dense or the sparse kernels as the
// per-layer choice (kernels/conv_choice.h) decides from the zeros of the operand each pass skips.
#ifndef SPARSETRAIN_RUNTIME_CONV_LAYER_H_
#define SPARSETRAIN_RUNTIME_CONV_LAYER_H_

#include <memory>

#include "kernels/conv_shape.h"
#include "runtime/layer.h"

namespace sparsetrain {

struct Conv2dOptions {
  int64_t out_channels = 1;
  int64_t kernel = 3, stride = 1, pad = 1;
  bool bias = true;
};

class Conv2d : public Layer {
 public:
  static Status Create(std::string name, int64_t in_channels, const Conv2dOptions& options,
                       std::unique_ptr<Layer>* out);

  const char* kind() const override { return "conv2d"; }
  Status Plan(const TensorSpec& in, TensorSpec* out) const override;
  Status Forward(const Activation& x, const ExecContext& ctx) override;
  Status Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
  std::vector<Parameter*> Parameters() override;
  void AddMemory(MemoryFootprint* memory) const override;

  // He (Kaiming) normal weights for ReLU nets, zero bias.
  void Initialize(Random* random) override;

 private:
  Conv2d(std::string name, int64_t in_channels, const Conv2dOptions& options);
  ConvShape ShapeFor(const Dims& in) const;
  // The zero fraction of `a`'s storage, counted here if its producer did not; -1 when the policy
  // does not need it and it was not counted.
  static double ZeroFraction(const Activation& a, const ExecContext& ctx);
  ConvKernel Choose(ConvPass pass, const ConvShape& shape, double zeros, const ExecContext& ctx);
  // Runs `kernel` for `pass` through `run`, timing it for the pass's selector.
  template <class Run>
  Status Timed(ConvPass pass, ConvKernel kernel, const Run& run);

  int64_t in_channels_;
  Conv2dOptions options_;
  Parameter weight_, bias_;
  Tensor weight_transposed_;  // IOhw16o16i for backward-by-input, rebuilt when weight_ changes
  uint64_t transposed_version_ = ~uint64_t{0};
  ConvKernelSelector selectors_[3];  // per ConvPass
  const Activation* x_ = nullptr;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_CONV_LAYER_H_
