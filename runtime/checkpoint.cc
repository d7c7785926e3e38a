// Model::SaveCheckpoint and Model::LoadCheckpoint: parameters, buffers and optimiser state in a
// safetensors file (docs/checkpoints.md).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "runtime/model.h"
#include "runtime/safetensors.h"

namespace sparsetrain {
namespace {

constexpr char kCheckpointFormat[] = "sparsetrain.checkpoint.v1";
constexpr char kOptimizerPrefix[] = "optimizer.";
constexpr char kInMemory[] = "(in memory)";  // a buffer's name in messages

std::vector<float> ToPyTorchOrder(const Tensor& t) {
  std::vector<float> values(size_t(t.dims().count()));
  // A parameter's own tensor converts to NCHW: the pair of layouts is always valid.
  static_cast<void>(t.CopyTo(values.data(), Layout::kNCHW));
  return values;
}

}  // namespace

SafetensorsFile Model::CheckpointContents() const {
  SafetensorsFile file;
  file.metadata = {{"format", kCheckpointFormat},
                   {"step", std::to_string(optimizer_->steps())},
                   {"optimizer", OptimizerKindName(optimizer_->config().kind)}};
  for (Parameter* p : Parameters()) {
    file.tensors.push_back({p->name, p->shape, ToPyTorchOrder(p->value)});
    for (const auto& [field, state] : optimizer_->StateOf(*p)) {
      file.tensors.push_back(
          {kOptimizerPrefix + p->name + "." + field, p->shape, ToPyTorchOrder(*state)});
    }
  }
  return file;
}

Status Model::SaveCheckpoint(const std::string& path) const {
  return WriteSafetensors(path, CheckpointContents());
}

Status Model::SaveCheckpoint(std::string* bytes) const {
  return EncodeSafetensors(CheckpointContents(), bytes);
}

Status Model::LoadCheckpoint(const std::string& path) {
  SafetensorsFile file;
  Status status = ReadSafetensors(path, &file);
  return status.ok() ? ApplyCheckpoint(file, path) : status;
}

Status Model::LoadCheckpoint(const void* bytes, size_t size) {
  SafetensorsFile file;
  Status status = DecodeSafetensors(bytes, size, kInMemory, &file);
  return status.ok() ? ApplyCheckpoint(file, kInMemory) : status;
}

Status Model::ApplyCheckpoint(const SafetensorsFile& file, const std::string& path) {
  Status status;
  const auto corrupt = [&](const std::string& what) {
    return Status(StatusCode::kCorruptData, "checkpoint '" + path + "': " + what);
  };
  std::map<std::string, const NamedTensor*> by_name;
  for (const NamedTensor& t : file.tensors) by_name[t.name] = &t;

  // Validate everything first: the model changes only once the whole file is known good.
  const std::vector<Parameter*> params = Parameters();
  std::set<std::string> expected;
  for (Parameter* p : params) {
    expected.insert(p->name);
    const auto it = by_name.find(p->name);
    if (it == by_name.end()) return corrupt("missing tensor '" + p->name + "'");
    if (it->second->shape != p->shape) {
      return Status(StatusCode::kShapeMismatch, "checkpoint '" + path + "': tensor '" + p->name +
                                                    "' has shape " + ShapeText(it->second->shape) +
                                                    ", the model needs " + ShapeText(p->shape));
    }
    for (float v : it->second->data) {
      if (!std::isfinite(v)) return corrupt("tensor '" + p->name + "' holds NaN or Inf");
    }
  }
  for (const NamedTensor& t : file.tensors) {
    if (expected.count(t.name) == 0 && t.name.rfind(kOptimizerPrefix, 0) != 0) {
      return corrupt("tensor '" + t.name + "' matches no parameter of this model");
    }
  }
  int64_t step = 0;
  const auto step_text = file.metadata.find("step");
  if (step_text != file.metadata.end()) {
    char* end = nullptr;
    step = std::strtoll(step_text->second.c_str(), &end, 10);
    if (end == step_text->second.c_str() || *end != '\0' || step < 0) {
      return corrupt("metadata step '" + step_text->second + "' is not a step count");
    }
  }
  // Optimiser state, when saved by the same kind of optimiser, must be complete (a model saved
  // before its first step has none).
  auto optimizer = std::make_unique<Optimizer>(optimizer_->config(), allocator_);
  const auto saved_kind = file.metadata.find("optimizer");
  const bool has_state =
      std::any_of(file.tensors.begin(), file.tensors.end(),
                  [](const NamedTensor& t) { return t.name.rfind(kOptimizerPrefix, 0) == 0; });
  const bool same_optimizer = has_state && saved_kind != file.metadata.end() &&
                              saved_kind->second == OptimizerKindName(optimizer_->config().kind);
  std::vector<std::pair<Tensor*, const NamedTensor*>> state_copies;
  if (same_optimizer) {
    for (Parameter* p : params) {
      if (p->is_buffer) continue;
      status = optimizer->EnsureState(*p);
      if (!status.ok()) return status;
      for (const auto& [field, tensor] : optimizer->StateOf(*p)) {
        const std::string name = kOptimizerPrefix + p->name + "." + field;
        const auto it = by_name.find(name);
        if (it == by_name.end()) return corrupt("missing optimiser state '" + name + "'");
        if (it->second->shape != p->shape)
          return corrupt("optimiser state '" + name + "' has the wrong shape");
        state_copies.emplace_back(tensor, it->second);
      }
    }
  }
  // Apply. Conversions from NCHW into each tensor's own layout cannot fail for these shapes.
  for (Parameter* p : params) {
    static_cast<void>(p->value.CopyFrom(by_name[p->name]->data.data(), Layout::kNCHW));
    ++p->version;
  }
  for (const auto& [tensor, saved] : state_copies) {
    static_cast<void>(tensor->CopyFrom(saved->data.data(), Layout::kNCHW));
  }
  optimizer->set_steps(step);
  optimizer_ = std::move(optimizer);
  return Status::Ok();
}

}  // namespace sparsetrain
