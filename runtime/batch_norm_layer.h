// BatchNorm2d: the batch-norm layer.
#ifndef SPARSETRAIN_RUNTIME_BATCH_NORM_LAYER_H_
#define SPARSETRAIN_RUNTIME_BATCH_NORM_LAYER_H_

#include <memory>
#include <string>
#include <vector>

#include "runtime/layer.h"

namespace sparsetrain {

// Batch normalisation over the channels of 4-D inputs (PyTorch's BatchNorm2d): batch statistics
// in training (running statistics updated with `momentum`), running statistics in evaluation.
class BatchNorm2d : public UnaryLayer {
 public:
  static Status Create(std::string name, int64_t channels, double eps, double momentum,
                       const Allocator& allocator, std::unique_ptr<Layer>* out);
  const char* kind() const override { return "batchnorm2d"; }
  Status PlanOne(const TensorSpec& in, TensorSpec* out) const override;
  Status ForwardOne(const Activation& x, const ExecContext& ctx) override;
  Status BackwardOne(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
  std::vector<Parameter*> Parameters() override;
  // Weight 1, bias 0, running mean 0, running variance 1.
  void Initialize(Random* random) override;
  void AddMemory(MemoryFootprint* memory) const override;
  double eps() const { return eps_; }
  double momentum() const { return momentum_; }  // PyTorch's: the weight of the batch's statistics

 private:
  BatchNorm2d(std::string name, int64_t channels, double eps, double momentum)
      : UnaryLayer(std::move(name)), channels_(channels), eps_(eps), momentum_(momentum) {}
  int64_t channels_;
  double eps_, momentum_;
  Parameter weight_, bias_, running_mean_, running_var_;
  // Per padded channel, carved from scratch_ (allocated with the layer, so steps allocate
  // nothing). mean_ and inv_std_ keep what the last forward pass used for backward; the rest is
  // scratch of either pass.
  Buffer scratch_;
  double *sums_ = nullptr, *squares_ = nullptr;
  float *mean_ = nullptr, *inv_std_ = nullptr, *scale_ = nullptr, *shift_ = nullptr,
        *slope_ = nullptr, *zero_ = nullptr;
  bool used_batch_statistics_ = false;
  const Activation* x_ = nullptr;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_BATCH_NORM_LAYER_H_
