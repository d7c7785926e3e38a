#include "runtime/optimizer.h"

#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/optimizer_update.h"

namespace sparsetrain {

const char* OptimizerKindName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kAdam:
      return "adam";
    case OptimizerKind::kAdamW:
      return "adamw";
  }
  return "?";
}

const char* ScheduleKindName(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kConstant:
      return "constant";
    case ScheduleKind::kStep:
      return "step";
    case ScheduleKind::kCosine:
      return "cosine";
  }
  return "?";
}

Status Validate(const OptimizerConfig& c) {
  const struct {
    const char* name;
    bool ok;
  } checks[] = {
      {"learning rate must be positive", c.lr > 0.0 && std::isfinite(c.lr)},
      {"momentum must be in [0, 1)", c.momentum >= 0.0 && c.momentum < 1.0},
      {"beta1 must be in [0, 1)", c.beta1 >= 0.0 && c.beta1 < 1.0},
      {"beta2 must be in [0, 1)", c.beta2 >= 0.0 && c.beta2 < 1.0},
      {"eps must be positive", c.eps > 0.0},
      {"weight decay must be >= 0", c.weight_decay >= 0.0 && std::isfinite(c.weight_decay)},
      {"clip norm must be >= 0", c.clip_norm >= 0.0},
      {"warm-up steps must be >= 0", c.schedule.warmup_steps >= 0},
      {"step schedule needs step_size > 0 and gamma > 0",
       c.schedule.kind != ScheduleKind::kStep ||
           (c.schedule.step_size > 0 && c.schedule.gamma > 0.0)},
      {"cosine schedule needs total_steps > 0 and 0 <= min_lr <= lr",
       c.schedule.kind != ScheduleKind::kCosine ||
           (c.schedule.total_steps > 0 && c.schedule.min_lr >= 0.0 && c.schedule.min_lr <= c.lr)},
  };
  for (const auto& check : checks) {
    if (!check.ok) return InvalidArgument(std::string("optimizer: ") + check.name);
  }
  return Status::Ok();
}

double LearningRate(const OptimizerConfig& config, int64_t step) {
  const Schedule& s = config.schedule;
  double lr = config.lr;
  switch (s.kind) {
    case ScheduleKind::kConstant:
      break;
    case ScheduleKind::kStep:
      lr *= std::pow(s.gamma, double(step / s.step_size));
      break;
    case ScheduleKind::kCosine: {
      const double progress = std::min(1.0, double(step) / double(s.total_steps));
      lr = s.min_lr + 0.5 * (config.lr - s.min_lr) * (1.0 + std::cos(M_PI * progress));
      break;
    }
  }
  if (step < s.warmup_steps) lr *= double(step + 1) / double(s.warmup_steps);
  return lr;
}

size_t Optimizer::StateCount() const {
  if (config_.kind == OptimizerKind::kSgd) return config_.momentum == 0.0 ? 0 : 1;
  return 2;
}

const char* Optimizer::StateName(size_t i) const {
  return config_.kind == OptimizerKind::kSgd ? kSgdStateNames[i] : kAdamStateNames[i];
}

Status Optimizer::EnsureState(const Parameter& param) {
  State& state = state_[param.name];
  Tensor* slots[] = {&state.first, &state.second};
  for (size_t i = 0; i < StateCount(); ++i) {
    if (!slots[i]->empty()) continue;
    Status status = Tensor::Create(param.value.dims(), param.value.layout(), allocator_, slots[i]);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

std::map<std::string, Tensor*> Optimizer::StateOf(const Parameter& param) {
  std::map<std::string, Tensor*> fields;
  auto it = state_.find(param.name);
  if (it == state_.end()) return fields;
  Tensor* slots[] = {&it->second.first, &it->second.second};
  for (size_t i = 0; i < StateCount(); ++i) fields[StateName(i)] = slots[i];
  return fields;
}

int64_t Optimizer::StateBytes() const {
  int64_t bytes = 0;
  for (const auto& entry : state_) {
    bytes += entry.second.first.capacity_bytes() + entry.second.second.capacity_bytes();
  }
  return bytes;
}

Status Optimizer::Step(const std::vector<Parameter*>& params, pthreadpool_t pool,
                       double* grad_norm) {
  for (Parameter* p : params) {
    Status status = EnsureState(*p);
    if (!status.ok()) return status;
  }
  double squares = 0.0;
  for (Parameter* p : params)
    squares += SumOfSquares(p->grad.data(), p->grad.storage_floats(), pool);
  *grad_norm = std::sqrt(squares);
  if (!std::isfinite(*grad_norm)) {
    return Status(StatusCode::kInvalidArgument,
                  "optimizer: gradients are not finite (NaN or Inf); parameters left unchanged");
  }
  if (config_.clip_norm > 0.0 && *grad_norm > config_.clip_norm) {
    const float scale = float(config_.clip_norm / (*grad_norm + 1e-6));
    for (Parameter* p : params) Scale(p->grad.data(), p->grad.storage_floats(), scale, pool);
  }
  // The hyper-parameters of this update, the same for every parameter.
  SgdStep sgd;
  sgd.lr = float(LearningRate(config_, steps_));
  sgd.momentum = float(config_.momentum);
  sgd.weight_decay = float(config_.weight_decay);
  sgd.nesterov = config_.nesterov;
  AdamStep adam;
  adam.lr = sgd.lr;
  adam.beta1 = float(config_.beta1);
  adam.beta2 = float(config_.beta2);
  adam.eps = float(config_.eps);
  adam.weight_decay = sgd.weight_decay;
  adam.decoupled = config_.kind == OptimizerKind::kAdamW;
  adam.step = steps_ + 1;
  for (Parameter* p : params) {
    State& state = state_[p->name];
    const int64_t count = p->value.storage_floats();
    if (config_.kind == OptimizerKind::kSgd) {
      SgdUpdate(p->value.data(), p->grad.data(), state.first.empty() ? nullptr : state.first.data(),
                count, sgd, pool);
    } else {
      AdamUpdate(p->value.data(), p->grad.data(), state.first.data(), state.second.data(), count,
                 adam, pool);
    }
    ++p->version;
  }
  ++steps_;
  return Status::Ok();
}

}  // namespace sparsetrain
