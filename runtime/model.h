// Model: a network (a graph of layers, built by ModelBuilder in runtime/model_builder.h), its
// loss, optimiser and training state.
//
// Images are NCHW floats; labels class indices; the last layer's features are the class logits.
// Layers are named as PyTorch modules would be in a state_dict ("conv1", "bn1", "fc1", ...),
// unless given names.
#ifndef SPARSETRAIN_RUNTIME_MODEL_H_
#define SPARSETRAIN_RUNTIME_MODEL_H_

#include <pthreadpool.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/conv_layer.h"
#include "runtime/graph.h"
#include "runtime/layer.h"
#include "runtime/loss.h"
#include "runtime/optimizer.h"
#include "runtime/safetensors.h"
#include "runtime/thread_pool.h"

namespace sparsetrain {

struct StepResult {
  double loss = 0.0;
  int64_t correct = 0;  // examples whose largest logit is their label
  int64_t examples = 0;
  double grad_norm = 0.0;  // TrainStep: before clipping
};

// Layers that freeze together under one name: a residual block, nodes [first, end).
struct LayerGroup {
  std::string name;
  int first = 0, end = 0;
};

struct LayerReport {
  std::string name;
  std::string kind;
  bool frozen = false;
  LayerTelemetry telemetry;
};

class Model {
 public:
  const TensorSpec& input_spec() const { return input_; }  // batch of 1
  int64_t classes() const { return classes_; }

  // Threads the passes run on (not owned; null: the calling thread only).
  void set_pool(pthreadpool_t pool) { pool_ = pool; }
  void set_policy(KernelPolicy policy) { policy_ = policy; }
  KernelPolicy policy() const { return policy_; }
  // With checking on, images with NaN or Inf are refused before anything runs.
  void set_check_inputs(bool check) { check_inputs_ = check; }

  // Replaces the optimiser (its state starts afresh). Default: Adam, lr 1e-3.
  Status SetOptimizer(const OptimizerConfig& config);
  const Optimizer& optimizer() const { return *optimizer_; }
  int64_t steps() const { return optimizer_->steps(); }

  // The training loss (runtime/loss.h). Default: softmax cross-entropy of class labels.
  Status SetLoss(const LossConfig& config);
  const LossConfig& loss() const { return loss_; }

  // Forward, loss, backward and one optimiser update on a batch; the training-mode logits
  // (batch x classes) go to `logits` if it is not null. For losses of class labels.
  Status TrainStep(const float* images, const int32_t* labels, int64_t batch, StepResult* result,
                   float* logits = nullptr);
  // The same for losses of float targets (batch x outputs, as the model's outputs).
  Status TrainStepTargets(const float* images, const float* targets, int64_t batch,
                          StepResult* result, float* outputs = nullptr);
  // Forward in evaluation mode (running statistics, no dropout): loss and correct count, and
  // the logits (batch x classes) if `logits` is not null.
  Status EvalStep(const float* images, const int32_t* labels, int64_t batch, StepResult* result,
                  float* logits = nullptr);
  Status EvalStepTargets(const float* images, const float* targets, int64_t batch,
                         StepResult* result, float* outputs = nullptr);
  // Evaluation-mode logits, batch x classes.
  Status Predict(const float* images, int64_t batch, float* logits);

  // Freezes or unfreezes a group by name (a residual block: all of it), or else the layer of that
  // name and every layer whose name starts with it and a dot ("layer1" freezes
  // "layer1.0.conv1", ...). A frozen layer's parameters are not updated and no backward work is
  // done for them; a frozen batch norm normalises with its running statistics and keeps them, in
  // training too.
  Status SetFrozen(const std::string& layer, bool frozen);

  // Every layer in the order it runs (a residual block's addition after its branches), with the
  // figures of the most recent step.
  std::vector<LayerReport> Telemetry() const;
  MemoryFootprint Memory() const;
  // Parameters and buffers, in layer order.
  std::vector<Parameter*> Parameters() const { return graph_.Parameters(); }
  // The layers and the tensors between them (for export).
  const Graph& graph() const { return graph_; }
  // Where the model's memory comes from.
  const Allocator& allocator() const { return allocator_; }
  // Whether the layer holding `p` (one of Parameters()) is frozen.
  bool IsFrozen(const Parameter& p) const;
  // One parameter or buffer by name, in PyTorch's element order: `count` must be its size. Set
  // refuses values that are not finite; on any error nothing changes.
  Status GetParameter(const std::string& name, float* values, size_t count) const;
  Status SetParameter(const std::string& name, const float* values, size_t count);
  // All of them as one buffer: each in Parameters() order, in PyTorch's element order.
  size_t ParameterElements() const;
  Status GetParameters(float* values, size_t count) const;
  Status SetParameters(const float* values, size_t count);

  // Saves parameters, buffers, optimiser state and step count (safetensors, written atomically).
  Status SaveCheckpoint(const std::string& path) const;
  // The same bytes in memory.
  Status SaveCheckpoint(std::string* bytes) const;
  // Loads a checkpoint saved from a model of the same architecture (or converted from PyTorch by
  // tools/checkpoint_convert.py). Every parameter and buffer must be present with its shape;
  // optimiser state is restored when the file has it for the same optimiser, else it starts
  // afresh. On any error the model is left exactly as it was.
  Status LoadCheckpoint(const std::string& path);
  // The same from a checkpoint's bytes in memory, with the same checks.
  Status LoadCheckpoint(const void* bytes, size_t size);

 private:
  friend class ModelBuilder;
  Model() = default;
  Status CheckBatch(const float* images, int64_t batch, const char* call) const;
  SafetensorsFile CheckpointContents() const;
  // Validates `file` (named `path` in messages) against the model, then loads it whole.
  Status ApplyCheckpoint(const SafetensorsFile& file, const std::string& path);
  // The parameter named `name` into *found, if `values` are `count` of its own.
  Status FindParameter(const std::string& name, const void* values, size_t count,
                       Parameter** found) const;
  // OK if `values` are as many as all parameters together.
  Status CheckFlatCount(const void* values, size_t count) const;
  Status RunForward(const float* images, int64_t batch, bool training, const Activation** logits);
  // What the layers' passes run with: the model's threads, allocator, workspace and step.
  ExecContext Context(bool training);
  // Runs `step` with the pool's workers waiting as waits_ chooses (timing it for the choice when
  // `measure`); afterwards they sleep, so they take no CPU between steps.
  template <class Step>
  Status OnThreads(bool measure, const Step& step);
  // What a step's loss compares the outputs with: class labels or float targets.
  struct Targets {
    const int32_t* labels;
    const float* values;
  };
  // Refuses targets the loss does not take, labels out of range and (with input checking)
  // targets that are not finite, before anything runs.
  Status CheckTargets(const Targets& targets, int64_t batch, StepResult* result,
                      const char* call) const;
  // The checks, the forward pass and the loss of a step (its gradient into logits_grad_ when
  // training); *result gets loss and counts only on success.
  Status ForwardAndLoss(const float* images, const Targets& targets, int64_t batch, bool training,
                        StepResult* result, float* logits);
  Status RunTrainStep(const float* images, const Targets& targets, int64_t batch,
                      StepResult* result, float* logits);
  Status RunPredict(const float* images, int64_t batch, float* logits);
  // What the optimiser updates; rebuilt on the first step after a freeze or unfreeze.
  const std::vector<Parameter*>& TrainableParameters();

  TensorSpec input_;
  int64_t classes_ = 0;
  Graph graph_;
  std::vector<LayerGroup> groups_;
  std::unique_ptr<Optimizer> optimizer_;
  pthreadpool_t pool_ = nullptr;
  WorkerWaitSelector waits_;
  KernelPolicy policy_ = KernelPolicy::kAuto;
  LossConfig loss_;
  bool check_inputs_ = false;
  Allocator allocator_;  // every tensor of the model and its layers, and the workspace
  Activation input_batch_, logits_grad_;
  WorkspaceArena workspace_;  // the kernels' scratch, shared by all layers
  std::vector<Parameter*> trainable_;
  bool trainable_known_ = false;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_MODEL_H_
