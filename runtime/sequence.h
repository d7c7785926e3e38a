// Sequence: layers run one after another - the body of a model and the branches of a residual
// block - and Residual, the block that adds a branch to its shortcut (He et al., 2016).
#ifndef SPARSETRAIN_RUNTIME_SEQUENCE_H_
#define SPARSETRAIN_RUNTIME_SEQUENCE_H_

#include <memory>
#include <vector>

#include "runtime/layer.h"

namespace sparsetrain {

class Sequence {
 public:
  void Append(std::unique_ptr<Layer> layer) { layers_.push_back(std::move(layer)); }
  std::unique_ptr<Layer> PopBack() {
    std::unique_ptr<Layer> last = std::move(layers_.back());
    layers_.pop_back();
    return last;
  }
  bool empty() const { return layers_.empty(); }
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }

  Status Plan(const TensorSpec& in, TensorSpec* out) const;
  // Runs every layer; *y is the last one's output (x itself for an empty sequence).
  Status Forward(const Activation& x, const ExecContext& ctx, const Activation** y);
  // Back from dy, only as far down as something needs a gradient: the input (need_dx) or a
  // layer's trainable parameters. *dx is the gradient of the input when need_dx.
  Status Backward(const Activation& dy, bool need_dx, const ExecContext& ctx,
                  const Activation** dx);

  std::vector<Parameter*> Parameters() const;
  void CollectLayers(std::vector<Layer*>* layers) const;
  void Initialize(Random* random) const;
  std::vector<Parameter*> TrainableParameters() const;
  bool HasTrainableParameters() const;
  void SetFrozen(bool frozen) const;
  void AddMemory(MemoryFootprint* memory) const;

 private:
  std::vector<std::unique_ptr<Layer>> layers_;
};

// y = body(x) + shortcut(x); an empty shortcut is the identity.
class Residual : public Layer {
 public:
  Residual(std::string name, Sequence body, Sequence shortcut)
      : Layer(std::move(name)), body_(std::move(body)), shortcut_(std::move(shortcut)) {}
  const char* kind() const override { return "residual"; }
  Status Plan(const TensorSpec& in, TensorSpec* out) const override;
  Status Forward(const Activation& x, const ExecContext& ctx) override;
  Status Backward(const Activation& dy, bool need_dx, const ExecContext& ctx) override;
  std::vector<Parameter*> Parameters() override;
  void CollectLayers(std::vector<Layer*>* layers) override;
  void Initialize(Random* random) override;
  std::vector<Parameter*> TrainableParameters() override;
  bool HasTrainableParameters() override;
  void SetFrozen(bool frozen) override;
  void AddMemory(MemoryFootprint* memory) const override;

 private:
  Sequence body_, shortcut_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_SEQUENCE_H_
