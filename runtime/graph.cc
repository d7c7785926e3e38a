#include "runtime/graph.h"

#include "kernels/elementwise.h"

namespace sparsetrain {

int Graph::Append(std::unique_ptr<Layer> layer, std::vector<int> inputs) {
  const int node = int(nodes_.size());
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
  *this = Graph();
  return nodes;
}

Status Graph::Forward(const Activation& input, const ExecContext& ctx, const Activation** y) {
  values_[0] = &input;
  for (Node& node : nodes_) {
    for (size_t slot = 0; slot < node.inputs.size(); ++slot) node.x[slot] = values_[node.inputs[slot]];
    Status status = node.layer->Forward(node.x, ctx);
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

void Graph::Initialize(Random* random) const {
  for (const Node& node : nodes_) node.layer->Initialize(random);
}

void Graph::AddMemory(MemoryFootprint* memory) const {
  for (const Node& node : nodes_) node.layer->AddMemory(memory);
  for (const Activation& sum : sums_) memory->workspace_bytes += StorageBytes(sum.tensor);
}

}  // namespace sparsetrain
