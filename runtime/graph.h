// Graph: a network as a directed acyclic graph of layers over the values they pass.
//
// Value 0 is the network's input; value i + 1 is the output of node i. A node reads any values
// that exist when it is added, so nodes are kept in an order where every node comes after its
// inputs and the graph cannot hold a cycle. The last node's output is the network's output. A
// value may feed several nodes; backward then sums their gradients for it.
#ifndef SPARSETRAIN_RUNTIME_GRAPH_H_
#define SPARSETRAIN_RUNTIME_GRAPH_H_

#include <memory>
#include <utility>
#include <vector>

#include "runtime/layer.h"

namespace sparsetrain {

class Graph {
 public:
  struct Node {
    std::unique_ptr<Layer> layer;
    std::vector<int> inputs;  // the values it reads
    LayerInputs x;            // their activations, bound at each forward pass
  };

  // Appends a node reading `inputs` (existing values, as many as the layer takes); returns its
  // output value.
  int Append(std::unique_ptr<Layer> layer, std::vector<int> inputs);
  // Gives up every node, leaving the graph empty (for a rewrite that appends them again).
  std::vector<Node> TakeNodes();

  const std::vector<Node>& nodes() const { return nodes_; }
  bool empty() const { return nodes_.empty(); }
  int output() const { return int(nodes_.size()); }
  // The nodes reading `value`, as (node, input slot) pairs.
  const std::vector<std::pair<int, int>>& consumers(int value) const { return consumers_[value]; }

  // Runs every node on `input`; *y is the network's output.
  Status Forward(const Activation& input, const ExecContext& ctx, const Activation** y);
  // Back from dy, the gradient of the output, through every node that leads to trainable
  // parameters; the input's gradient is never formed.
  Status Backward(const Activation& dy, const ExecContext& ctx);

  // Parameters and buffers, in node order.
  std::vector<Parameter*> Parameters() const;
  std::vector<Parameter*> TrainableParameters() const;
  void Initialize(Random* random) const;
  // Node outputs and input gradients, and the sums of gradients of values that feed several nodes.
  void AddMemory(MemoryFootprint* memory) const;

 private:
  // The gradient of `value` once every node reading it has run backward: a reader's input
  // gradient when it has one reader, else their sum.
  Status GradientOf(int value, const Activation& dy, const ExecContext& ctx,
                    const Activation** grad);

  std::vector<Node> nodes_;
  std::vector<std::vector<std::pair<int, int>>> consumers_ = {{}};  // per value
  std::vector<const Activation*> values_ = {nullptr};                // per value, during forward
  std::vector<char> needs_grad_;  // per value, during backward: whether something below learns
  std::vector<Activation> sums_;  // per value: gradient sums of values with several readers
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_GRAPH_H_
