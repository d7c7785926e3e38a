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

  // The network's input, of `spec` (batch of 1).
  explicit Graph(const TensorSpec& input = TensorSpec()) : specs_{input} {}

  // Appends a node reading `inputs` (existing values, as many as the layer takes) whose output
  // has `spec` (batch of 1); returns its output value.
  int Append(std::unique_ptr<Layer> layer, std::vector<int> inputs, const TensorSpec& spec);
  // Gives up every node, leaving the graph empty (for a rewrite that appends them again).
  std::vector<Node> TakeNodes();

  const std::vector<Node>& nodes() const { return nodes_; }
  bool empty() const { return nodes_.empty(); }
  int output() const { return int(nodes_.size()); }
  // The shape of `value` (batch of 1).
  const TensorSpec& spec(int value) const { return specs_[size_t(value)]; }
  // The nodes reading `value`, as (node, input slot) pairs.
  const std::vector<std::pair<int, int>>& consumers(int value) const { return consumers_[value]; }

  // Runs every node on `input`; *y is the network's output. The first pass at a batch size plans
  // the memory of a training step at that size (PlanMemory).
  Status Forward(const Activation& input, const ExecContext& ctx, const Activation** y);
  // Back from dy, the gradient of the output, through every node that leads to trainable
  // parameters; the input's gradient is never formed.
  Status Backward(const Activation& dy, const ExecContext& ctx);

  // Parameters and buffers, in node order.
  std::vector<Parameter*> Parameters() const;
  std::vector<Parameter*> TrainableParameters() const;
  // Node outputs and input gradients, and the sums of gradients of values that feed several nodes.
  void AddMemory(MemoryFootprint* memory) const;

  // Memory is planned as a compiler lays out a stack frame. In training, the activations and
  // the activation gradients of a step live in two arenas: an activation from the node that
  // writes it to its last reader (in backward, when a node's backward reads it), a gradient from
  // the backward that writes it to the last backward that reads it; buffers whose lifetimes do
  // not overlap share bytes. A ReLU-family node whose input nothing else reads writes over its
  // input (in place). Evaluation has its own, smaller plan: activations only, each until its last
  // forward reader. A plan made for a batch serves every smaller batch at the same offsets, so
  // alternating training and evaluation batches only points the layers' tensors anew.
  Status PlanMemory(int64_t batch, bool training, const Allocator& allocator);

 private:
  struct Plan {
    int64_t capacity = 0;                // the batch it was made for; 0: none yet
    std::vector<int> root;               // per value: the value whose buffer it uses
    std::vector<int64_t> activation_at;  // per root value: byte offset
    std::vector<std::pair<Activation*, int>> gradients;  // gradient storage and its value
    std::vector<int64_t> gradient_at;                    // per gradient: byte offset
    Buffer activations, gradients_arena;
  };
  // When the gradient of `value`, held in one buffer, is last read: by its producer's backward,
  // or later where the producer passes dy on to its own inputs (an addition).
  int64_t LastGradientRead(int value) const;
  // Points every planned tensor into `plan`'s arenas at `batch` (<= its capacity).
  Status Bind(Plan& plan, int64_t batch);

  // The gradient of `value` once every node reading it has run backward: a reader's input
  // gradient when it has one reader, else their sum.
  Status GradientOf(int value, const Activation& dy, const ExecContext& ctx,
                    const Activation** grad);

  std::vector<TensorSpec> specs_;  // per value, batch of 1
  std::vector<Node> nodes_;
  std::vector<std::vector<std::pair<int, int>>> consumers_ = {{}};  // per value
  std::vector<const Activation*> values_ = {nullptr};               // per value, during forward
  std::vector<char> needs_grad_;  // per value, during backward: whether something below learns
  std::vector<Activation> sums_;  // per value: gradient sums of values with several readers
  Plan plans_[2];                 // evaluation, training
  const Plan* bound_ = nullptr;
  int64_t bound_batch_ = 0;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_GRAPH_H_
