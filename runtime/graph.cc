#include "runtime/graph.h"

#include <algorithm>

#include "kernels/elementwise.h"
#include "runtime/memory_plan.h"

namespace sparsetrain {

int Graph::Append(std::unique_ptr<Layer> layer, std::vector<int> inputs, const TensorSpec& spec) {
  const int node = int(nodes_.size());
  specs_.push_back(spec);
  for (Plan& plan : plans_) plan.capacity = 0;  // the graph changed
  for (size_t slot = 0; slot < inputs.size(); ++slot) {
    consumers_[inputs[slot]].emplace_back(node, int(slot));
  }
  LayerInputs x(inputs.size(), nullptr);
  nodes_.push_back({std::move(layer), std::move(inputs), std::move(x)});
  consumers_.emplace_back();
  values_.push_back(&nodes_.back().layer->output());
  return node + 1;
}

std::vector<Graph::Node> Graph::TakeNodes() {
  std::vector<Node> nodes = std::move(nodes_);
  *this = Graph(specs_[0]);
  return nodes;
}

Status Graph::Forward(const Activation& input, const ExecContext& ctx, const Activation** y) {
  const int64_t batch = input.tensor.dims().n;
  Plan& plan = plans_[ctx.training ? 1 : 0];
  Status status = batch > plan.capacity ? PlanMemory(batch, ctx.training, ctx.allocator)
                  : &plan != bound_ || batch != bound_batch_ ? Bind(plan, batch)
                                                             : Status::Ok();
  if (!status.ok()) return status;
  values_[0] = &input;
  for (Node& node : nodes_) {
    for (size_t slot = 0; slot < node.inputs.size(); ++slot)
      node.x[slot] = values_[node.inputs[slot]];
    status = node.layer->Forward(node.x, ctx);
    if (!status.ok()) return status;
  }
  *y = values_.back();
  return Status::Ok();
}

Status Graph::GradientOf(int value, const Activation& dy, const ExecContext& ctx,
                         const Activation** grad) {
  const std::vector<std::pair<int, int>>& readers = consumers_[value];
  const auto grad_from = [&](const std::pair<int, int>& reader) -> const Activation& {
    return nodes_[reader.first].layer->input_grad(size_t(reader.second));
  };
  if (readers.empty()) {  // the output
    *grad = &dy;
    return Status::Ok();
  }
  if (readers.size() == 1) {
    *grad = &grad_from(readers[0]);
    return Status::Ok();
  }
  if (sums_.size() < consumers_.size()) sums_.resize(consumers_.size());
  Activation& sum = sums_[value];
  const Tensor& first = grad_from(readers[0]).tensor;
  Status status = PrepareActivation({first.dims(), first.layout()}, ctx.allocator, &sum);
  if (!status.ok()) return status;
  const Activation* addend = &grad_from(readers[0]);
  for (size_t r = 1; r < readers.size(); ++r) {
    Add(addend->tensor.data(), grad_from(readers[r]).tensor.data(), sum.tensor.data(),
        sum.tensor.storage_floats(), ctx.pool);
    addend = &sum;
  }
  *grad = &sum;
  return Status::Ok();
}

Status Graph::Backward(const Activation& dy, const ExecContext& ctx) {
  // A value needs its gradient when its node, or one feeding it, has parameters to learn.
  needs_grad_.assign(consumers_.size(), 0);
  for (size_t n = 0; n < nodes_.size(); ++n) {
    char needs = nodes_[n].layer->HasTrainableParameters() ? 1 : 0;
    for (int value : nodes_[n].inputs) needs |= needs_grad_[value];
    needs_grad_[n + 1] = needs;
  }
  for (size_t n = nodes_.size(); n-- > 0;) {
    if (!needs_grad_[n + 1]) continue;
    const Activation* grad = nullptr;
    Status status = GradientOf(int(n + 1), dy, ctx, &grad);
    if (!status.ok()) return status;
    Node& node = nodes_[n];
    InputMask need_dx = 0;
    for (size_t slot = 0; slot < node.inputs.size(); ++slot) {
      if (needs_grad_[node.inputs[slot]]) need_dx |= InputMask(1) << slot;
    }
    status = node.layer->Backward(*grad, need_dx, ctx);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

std::vector<Parameter*> Graph::Parameters() const {
  std::vector<Parameter*> all;
  for (const Node& node : nodes_) {
    for (Parameter* p : node.layer->Parameters()) all.push_back(p);
  }
  return all;
}

std::vector<Parameter*> Graph::TrainableParameters() const {
  std::vector<Parameter*> all;
  for (const Node& node : nodes_) {
    for (Parameter* p : node.layer->TrainableParameters()) all.push_back(p);
  }
  return all;
}

void Graph::AddMemory(MemoryFootprint* memory) const {
  for (const Node& node : nodes_) node.layer->AddMemory(memory);
  for (const Activation& sum : sums_) memory->workspace_bytes += StorageBytes(sum.tensor);
  for (const Plan& plan : plans_) {
    memory->activation_bytes += plan.activations.bytes();
    memory->activation_gradient_bytes += plan.gradients_arena.bytes();
  }
}

int64_t Graph::LastGradientRead(int value) const {
  const int64_t n = int64_t(nodes_.size());
  const int producer = value - 1;
  int64_t last = 2 * n - 1 - producer;
  const Node& node = nodes_[size_t(producer)];
  for (size_t slot = 0; slot < node.inputs.size(); ++slot) {
    const int u = node.inputs[slot];
    if (u == 0 || node.layer->input_grad_storage(slot) != nullptr) continue;
    // Passed on as the gradient of u: read where u's gradient is (summed, when u has readers
    // besides this node).
    last = std::max(last,
                    consumers_[size_t(u)].size() > 1 ? 2 * n - 1 - (u - 1) : LastGradientRead(u));
  }
  return last;
}

Status Graph::PlanMemory(int64_t batch, bool training, const Allocator& allocator) {
  const int64_t n = int64_t(nodes_.size()), values = n + 1;
  // Time: node i's forward at i, its backward at 2n - 1 - i.
  const auto backward_at = [&](int64_t node) { return 2 * n - 1 - node; };
  const auto bytes_of = [&](int value) {
    Dims d = specs_[size_t(value)].dims;
    d.n = batch;
    return StorageFloats(d, specs_[size_t(value)].layout) * int64_t(sizeof(float));
  };
  Plan& plan = plans_[training ? 1 : 0];
  // In-place nodes share their input's buffer (its root).
  plan.root.assign(size_t(values), 0);
  for (int v = 0; v < values; ++v) plan.root[size_t(v)] = v;
  for (int64_t i = 0; i < n; ++i) {
    const Node& node = nodes_[size_t(i)];
    if (!node.layer->MayRunInPlace() || node.inputs.size() != 1) continue;
    const int u = node.inputs[0];
    if (u != 0 && consumers_[size_t(u)].size() == 1 &&
        !(training && nodes_[size_t(u - 1)].layer->ReadsOutputInBackward())) {
      plan.root[size_t(i + 1)] = plan.root[size_t(u)];
    }
  }
  std::vector<BufferLifetime> activations(static_cast<size_t>(values));
  for (int v = 1; v < values; ++v) {
    const int64_t producer = v - 1;
    int64_t last = producer;
    for (const auto& [reader, slot] : consumers_[size_t(v)]) {
      last = std::max<int64_t>(last, reader);
      if (training && nodes_[size_t(reader)].layer->ReadsInputInBackward(size_t(slot))) {
        last = std::max(last, backward_at(reader));
      }
    }
    if (training && nodes_[size_t(producer)].layer->ReadsOutputInBackward()) {
      last = std::max(last, backward_at(producer));
    }
    if (v == values - 1) last = std::max(last, n);  // the loss reads the output
    BufferLifetime& b = activations[size_t(plan.root[size_t(v)])];
    b.first = b.bytes > 0 ? std::min(b.first, producer) : producer;
    b.last = std::max(b.last, last);
    b.bytes = std::max(b.bytes, bytes_of(v));
  }
  // Gradients: written by a reader's backward, read where LastGradientRead says (or, for a
  // value with several readers, when its producer's backward sums them).
  plan.gradients.clear();
  std::vector<BufferLifetime> gradients;
  for (int64_t i = 0; training && i < n; ++i) {
    Node& node = nodes_[size_t(i)];
    for (size_t slot = 0; slot < node.inputs.size(); ++slot) {
      const int u = node.inputs[slot];
      Activation* storage = node.layer->input_grad_storage(slot);
      if (u == 0 || storage == nullptr) continue;  // the model's input gets no gradient
      const int64_t last =
          consumers_[size_t(u)].size() > 1 ? backward_at(u - 1) : LastGradientRead(u);
      plan.gradients.emplace_back(storage, u);
      gradients.push_back({backward_at(i), last, bytes_of(u)});
    }
  }
  constexpr int64_t kAlignment = 64;
  int64_t activation_bytes = 0, gradient_bytes = 0;
  plan.activation_at = PlaceBuffers(activations, kAlignment, &activation_bytes);
  plan.gradient_at = PlaceBuffers(gradients, kAlignment, &gradient_bytes);
  Status status = plan.activations.Grow(size_t(activation_bytes), allocator);
  if (status.ok() && gradient_bytes > 0) {
    status = plan.gradients_arena.Grow(size_t(gradient_bytes), allocator);
  }
  if (!status.ok()) return status.Within("memory plan");
  plan.capacity = batch;
  return Bind(plan, batch);
}

Status Graph::Bind(Plan& plan, int64_t batch) {
  const auto dims_of = [&](int value) {
    Dims d = specs_[size_t(value)].dims;
    d.n = batch;
    return d;
  };
  char* activations = static_cast<char*>(plan.activations.data());
  for (size_t v = 1; v < specs_.size(); ++v) {
    float* data = reinterpret_cast<float*>(activations + plan.activation_at[size_t(plan.root[v])]);
    Status status = Tensor::Wrap(data, dims_of(int(v)), specs_[v].layout,
                                 &nodes_[v - 1].layer->output_storage()->tensor);
    if (!status.ok()) return status;
  }
  char* gradients = static_cast<char*>(plan.gradients_arena.data());
  for (size_t g = 0; g < plan.gradients.size(); ++g) {
    const auto& [storage, value] = plan.gradients[g];
    float* data = reinterpret_cast<float*>(gradients + plan.gradient_at[g]);
    Status status =
        Tensor::Wrap(data, dims_of(value), specs_[size_t(value)].layout, &storage->tensor);
    if (!status.ok()) return status;
  }
  bound_ = &plan;
  bound_batch_ = batch;
  return Status::Ok();
}

}  // namespace sparsetrain
