// Conv2d: a 2-D convolution layer with optional bias (square kernel, equal strides and padding);
// the passes run through ConvOp, which picks the dense or the sparse kernel per call. And its
// depthwise sibling, DepthwiseConv2d.
#ifndef SPARSETRAIN_RUNTIME_CONV_LAYER_H_
#define SPARSETRAIN_RUNTIME_CONV_LAYER_H_

#include <memory>

#include "runtime/conv_op.h"
#include "runtime/layer.h"

namespace sparsetrain {

struct Conv2dOptions {
  int64_t out_channels = 1;
  int64_t kernel = 3, stride = 1, pad = 1;
  bool bias = true;
};

class Conv2d : public UnaryLayer {
 public:
  static Status Create(std::string name, int64_t in_channels, const Conv2dOptions& options,
                       const Allocator& allocator, std::unique_ptr<Layer>* out);

  const char* kind() const override { return "conv2d"; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
  std::vector<Parameter*> Parameters() override { return op_->Parameters(); }
  void Initialize(Random* random) override { op_->Initialize(random); }
  void AddMemory(MemoryFootprint* memory) const override;
  // The op keeps the figures of its passes.
  const LayerTelemetry& telemetry() const override { return op_->telemetry(); }
  void ResetTelemetry() override { op_->ResetTelemetry(); }

 private:
  Conv2d(std::string name, std::unique_ptr<ConvOp> op)
      : UnaryLayer(std::move(name)), op_(std::move(op)) {}
  std::unique_ptr<ConvOp> op_;
  const Activation* x_ = nullptr;
};

// A depthwise convolution (groups = input channels = output channels, as in MobileNet), with
// optional bias, on the dense kernels of kernels/conv_depthwise.h. Its weight is PyTorch's
// (C, 1, R, S).
class DepthwiseConv2d : public UnaryLayer {
 public:
  static Status Create(std::string name, int64_t channels, const Conv2dOptions& options,
                       const Allocator& allocator, std::unique_ptr<Layer>* out);

  const char* kind() const override { return "depthwise_conv2d"; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
  std::vector<Parameter*> Parameters() override;
  // PyTorch's default: weights and bias uniform in +-1/sqrt(R * S) (one input channel each).
  void Initialize(Random* random) override;

 private:
  DepthwiseConv2d(std::string name, const ConvShape& geometry, bool bias)
      : UnaryLayer(std::move(name)), geometry_(geometry), has_bias_(bias) {}
  ConvShape ShapeFor(const Dims& input) const;
  ConvShape geometry_;  // n, h and w come with each input
  bool has_bias_;
  Parameter weight_, bias_;
  const Activation* x_ = nullptr;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_CONV_LAYER_H_
