// Model: a network built from layers, its loss, optimiser and training state.
//
//   ModelBuilder b(1, 28, 28);                 // input channels, height, width
//   b.Conv2d(32, 3).Relu().MaxPool(2, 2).Flatten().Linear(10);
//   std::unique_ptr<Model> model;
//   Status s = b.Build(/*seed=*/1, &model);
//   model->TrainStep(images, labels, batch, &result);
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
#include "runtime/layer.h"
#include "runtime/optimizer.h"
#include "runtime/sequence.h"
#include "runtime/thread_pool.h"

namespace sparsetrain {

struct StepResult {
  double loss = 0.0;
  int64_t correct = 0;  // examples whose largest logit is their label
  int64_t examples = 0;
  double grad_norm = 0.0;  // TrainStep: before clipping
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

  // Forward, loss, backward and one optimiser update on a batch; the training-mode logits
  // (batch x classes) go to `logits` if it is not null.
  Status TrainStep(const float* images, const int32_t* labels, int64_t batch, StepResult* result,
                   float* logits = nullptr);
  // Forward in evaluation mode (running statistics, no dropout): loss and correct count, and
  // the logits (batch x classes) if `logits` is not null.
  Status EvalStep(const float* images, const int32_t* labels, int64_t batch, StepResult* result,
                  float* logits = nullptr);
  // Evaluation-mode logits, batch x classes.
  Status Predict(const float* images, int64_t batch, float* logits);

  // Freezes or unfreezes a layer by name (a residual block: all of it); a frozen layer's
  // parameters are not updated and no backward work is done for them.
  Status SetFrozen(const std::string& layer, bool frozen);

  // Every layer (blocks, then their insides), with the figures of the most recent step.
  std::vector<LayerReport> Telemetry() const;
  MemoryFootprint Memory() const;
  // Parameters and buffers, in layer order.
  std::vector<Parameter*> Parameters() const { return body_.Parameters(); }

  // Saves parameters, buffers, optimiser state and step count (safetensors, written atomically).
  Status SaveCheckpoint(const std::string& path) const;
  // Loads a checkpoint saved from a model of the same architecture (or converted from PyTorch by
  // tools/checkpoint_convert.py). Every parameter and buffer must be present with its shape;
  // optimiser state is restored when the file has it for the same optimiser, else it starts
  // afresh. On any error the model is left exactly as it was.
  Status LoadCheckpoint(const std::string& path);

 private:
  friend class ModelBuilder;
  Model() = default;
  Status CheckBatch(const float* images, int64_t batch, const char* call) const;
  Status RunForward(const float* images, int64_t batch, bool training, const Activation** logits);
  // What the layers' passes run with: the model's threads, allocator, workspace and step.
  ExecContext Context(bool training);
  // Runs `step` with the pool's workers waiting as waits_ chooses (timing it for the choice when
  // `measure`); afterwards they sleep, so they take no CPU between steps.
  template <class Step>
  Status OnThreads(bool measure, const Step& step);
  Status RunTrainStep(const float* images, const int32_t* labels, int64_t batch, StepResult* result,
                      float* logits);
  Status RunEvalStep(const float* images, const int32_t* labels, int64_t batch, StepResult* result,
                     float* logits);
  Status RunPredict(const float* images, int64_t batch, float* logits);
  // What the optimiser updates; rebuilt on the first step after a freeze or unfreeze.
  const std::vector<Parameter*>& TrainableParameters();

  TensorSpec input_;
  int64_t classes_ = 0;
  Sequence body_;
  std::vector<Layer*> layers_;  // body_'s layers, blocks and their insides (CollectLayers)
  std::unique_ptr<Optimizer> optimizer_;
  pthreadpool_t pool_ = nullptr;
  WorkerWaitSelector waits_;
  KernelPolicy policy_ = KernelPolicy::kAuto;
  bool check_inputs_ = false;
  Allocator allocator_;  // every tensor of the model and its layers, and the workspace
  Activation input_batch_, logits_grad_;
  WorkspaceArena workspace_;  // the kernels' scratch, shared by all layers
  std::vector<Parameter*> trainable_;
  bool trainable_known_ = false;
};

class ModelBuilder {
 public:
  // Parameters, and everything the model allocates later, come from `allocator`.
  ModelBuilder(int64_t channels, int64_t height, int64_t width,
               const Allocator& allocator = Allocator());

  // Each adds a layer after the current one; an empty name means an automatic one. Errors
  // (shapes that do not fit, bad arguments) are kept and returned by Build.
  ModelBuilder& Conv2d(int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t pad = -1,
                       bool bias = true, const std::string& name = "");  // pad -1: kernel / 2
  ModelBuilder& BatchNorm(double eps = 1e-5, double momentum = 0.1, const std::string& name = "");
  ModelBuilder& Relu(const std::string& name = "");
  // Max pooling; a Relu added just before is fused into it (the pair reports as one layer,
  // "relu+maxpool2d", under the pooling's name).
  ModelBuilder& MaxPool(int64_t window, int64_t stride, int64_t pad = 0,
                        const std::string& name = "");
  ModelBuilder& GlobalAvgPool(const std::string& name = "");
  ModelBuilder& Flatten(const std::string& name = "");
  ModelBuilder& Dropout(float drop, const std::string& name = "");
  ModelBuilder& Linear(int64_t out_features, bool bias = true, const std::string& name = "");
  // A residual block: layers added after BeginResidual form the body; after Shortcut, the
  // shortcut branch (none: identity); EndResidual adds the two.
  ModelBuilder& BeginResidual(const std::string& name = "");
  ModelBuilder& Shortcut();
  ModelBuilder& EndResidual();

  // The error kept since the last call, cleared: construction can go on without the layer that
  // failed (the C API reports each layer's error where it is added).
  Status TakeError() { return std::exchange(error_, Status::Ok()); }

  // The current output shape (batch of 1), for callers that size the next layer from it.
  const TensorSpec& current() const { return frames_.back().spec; }

  // Builds the model with parameters initialised from `seed` (He normal, reproducible).
  Status Build(uint64_t seed, std::unique_ptr<Model>* model);

 private:
  struct Frame {
    std::string name;
    Sequence body, shortcut;
    bool in_shortcut = false;
    TensorSpec input, body_output, spec;
  };
  std::string NameFor(const char* prefix, const std::string& given);
  void Add(Status status, std::unique_ptr<Layer> layer);

  Allocator allocator_;
  TensorSpec input_;
  std::vector<Frame> frames_;  // frames_[0] is the model itself
  std::map<std::string, int> counts_;
  std::vector<std::string> names_;
  Status error_;
  bool built_ = false;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_MODEL_H_
