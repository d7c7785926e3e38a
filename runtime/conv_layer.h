// Conv2d: a 2-D convolution layer with optional bias (square kernel, equal strides and padding);
// the passes run through ConvOp, which picks the dense or the sparse kernel per call. And its
// siblings of several groups: DepthwiseConv2d and GroupedConv2d.
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
  // The convolution's geometry on input of `dims` (for export).
  ConvShape ShapeFor(const Dims& input) const { return op_->ShapeFor(input); }

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
  // Its geometry on input of `dims` (k = c: one output per channel).
  ConvShape ShapeFor(const Dims& input) const;

 private:
  DepthwiseConv2d(std::string name, const ConvShape& geometry, bool bias)
      : UnaryLayer(std::move(name)), geometry_(geometry), has_bias_(bias) {}
  ConvShape geometry_;  // n, h and w come with each input
  bool has_bias_;
  Parameter weight_, bias_;
  const Activation* x_ = nullptr;
};

// A grouped convolution (PyTorch's groups, 1 < groups < channels: ResNeXt, ShuffleNet): each
// group of C / groups input channels is convolved into K / groups outputs by a ConvOp of its own
// (so each group gets the dense/sparse choice) on channel slices. The weight is PyTorch's
// (K, C / groups, R, S), held in that order; the groups' ops take their slices whenever it has
// changed, and their gradients are gathered back into it.
class GroupedConv2d : public UnaryLayer {
 public:
  static Status Create(std::string name, int64_t in_channels, int64_t groups,
                       const Conv2dOptions& options, const Allocator& allocator,
                       std::unique_ptr<Layer>* out);

  const char* kind() const override { return "grouped_conv2d"; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
  std::vector<Parameter*> Parameters() override;
  // PyTorch's default: weights and bias uniform in +-1/sqrt(C / groups * R * S).
  void Initialize(Random* random) override;
  void AddMemory(MemoryFootprint* memory) const override;
  int64_t groups() const { return groups_; }
  // The whole layer's geometry on input of `dims` (all channels, all outputs).
  ConvShape ShapeFor(const Dims& input) const;

 private:
  GroupedConv2d(std::string name, int64_t groups) : UnaryLayer(std::move(name)), groups_(groups) {}
  // Gives each group's op its slice of the weight and bias, if they changed since.
  void ShareWeights();
  int64_t groups_;
  std::vector<std::unique_ptr<ConvOp>> ops_;  // per group
  Parameter weight_, bias_;
  uint64_t shared_version_ = ~uint64_t{0};
  std::vector<Activation> x_parts_;        // per group: its input channels, kept for backward
  Activation y_part_, dy_part_, dx_part_;  // one group's at a time
  const Activation* x_ = nullptr;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_CONV_LAYER_H_
