// Optimiser: SGD (momentum, Nesterov, weight decay), Adam and AdamW, with a learning-rate
// schedule (constant, step, cosine; optional linear warm-up) and gradient clipping by global norm.
// Updates follow PyTorch's formulas (kernels/optimizer_update.h).
#ifndef SPARSETRAIN_RUNTIME_OPTIMIZER_H_
#define SPARSETRAIN_RUNTIME_OPTIMIZER_H_

#include <pthreadpool.h>

#include <map>
#include <string>
#include <vector>

#include "kernels/base/status.h"
#include "runtime/layer.h"
#include "runtime/tensor.h"

namespace sparsetrain {

enum class OptimizerKind { kSgd, kAdam, kAdamW };
enum class ScheduleKind { kConstant, kStep, kCosine };

const char* OptimizerKindName(OptimizerKind kind);  // "sgd", "adam", "adamw"
const char* ScheduleKindName(ScheduleKind kind);    // "constant", "step", "cosine"

struct Schedule {
  ScheduleKind kind = ScheduleKind::kConstant;
  int64_t warmup_steps = 0;  // the rate rises linearly from lr / warmup_steps to lr
  int64_t step_size = 1000;  // kStep: multiply by gamma every step_size steps
  double gamma = 0.1;
  int64_t total_steps = 0;  // kCosine: the rate falls from lr to min_lr over total_steps
  double min_lr = 0.0;
};

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kAdam;
  double lr = 1e-3;
  double momentum = 0.9;                          // SGD
  bool nesterov = false;                          // SGD
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam, AdamW
  double weight_decay = 0.0;
  double clip_norm = 0.0;  // > 0: scale gradients so their global L2 norm is at most this
  Schedule schedule;
};

// kInvalidArgument naming the first field out of range.
Status Validate(const OptimizerConfig& config);

// The learning rate of update number `step` (0-based) under `config`.
double LearningRate(const OptimizerConfig& config, int64_t step);

class Optimizer {
 public:
  // State tensors come from `allocator`.
  Optimizer(OptimizerConfig config, const Allocator& allocator)
      : config_(config), allocator_(allocator) {}
  const OptimizerConfig& config() const { return config_; }
  int64_t steps() const { return steps_; }

  // One update of `params` (buffers and frozen parameters are left out by the caller) from their
  // gradients; bumps each parameter's version. Returns the gradient norm before clipping.
  Status Step(const std::vector<Parameter*>& params, pthreadpool_t pool, double* grad_norm);

  // Optimiser state per parameter name: "momentum_buffer" (SGD) or "exp_avg", "exp_avg_sq"
  // (Adam), as in PyTorch's state_dict, in the parameter's layout.
  std::map<std::string, Tensor*> StateOf(const Parameter& param);
  // The state tensors Step would create for `param`, created now (zero) if missing.
  Status EnsureState(const Parameter& param);
  // The names of the state tensors kept per parameter: the first StateCount() of these.
  size_t StateCount() const;
  static constexpr const char* kSgdStateNames[] = {"momentum_buffer"};
  static constexpr const char* kAdamStateNames[] = {"exp_avg", "exp_avg_sq"};
  const char* StateName(size_t i) const;
  void set_steps(int64_t steps) { steps_ = steps; }
  int64_t StateBytes() const;

 private:
  struct State {
    Tensor first, second;  // SGD: velocity; Adam: exp_avg, exp_avg_sq
  };
  OptimizerConfig config_;
  Allocator allocator_;
  int64_t steps_ = 0;
  std::map<std::string, State> state_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_OPTIMIZER_H_
