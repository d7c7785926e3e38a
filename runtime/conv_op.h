// ConvOp: a convolution's parameters and its three passes - the dense/sparse choice per call
// (from the zeros of the operand each pass skips, corrected by measurement), the transposed
// weights backward-by-input needs, timing and verbose logging. The model layer Conv2d and the C
// API's st_conv are both built on it.
#ifndef SPARSETRAIN_RUNTIME_CONV_OP_H_
#define SPARSETRAIN_RUNTIME_CONV_OP_H_

#include <pthreadpool.h>

#include <memory>
#include <string>
#include <vector>

#include "kernels/conv_choice.h"
#include "kernels/conv_shape.h"
#include "runtime/layer.h"
#include "runtime/random.h"

namespace sparsetrain {

class ConvOp {
 public:
  // `geometry` gives every ConvShape field but the per-call n, h and w; the weights, and the
  // transposed copy backward-by-input makes, come from `allocator`.
  static Status Create(std::string name, const ConvShape& geometry, bool bias,
                       const Allocator& allocator, std::unique_ptr<ConvOp>* out);

  const std::string& name() const { return name_; }
  // The shape of a call on input of `dims` (N, C, H, W).
  ConvShape ShapeFor(const Dims& input) const;
  std::vector<Parameter*> Parameters();
  Parameter& weight() { return weight_; }
  Parameter* bias() { return has_bias_ ? &bias_ : nullptr; }
  // PyTorch's default: weights and bias uniform in +-1/sqrt(C * R * S).
  void Initialize(Random* random);

  // Tensors are nChw16c of `shape`; `*_zeros` is the zero count of that operand's storage when
  // its producer counted it, else -1 (counted here if the choice needs it). The kernels' scratch
  // comes from `workspace`.
  Status Forward(const ConvShape& shape, const float* x, int64_t x_zeros, float* y,
                 KernelPolicy policy, WorkspaceArena* workspace, pthreadpool_t pool);
  // Weight (and bias) gradients when `weight_grads` (x may be null otherwise), and dx when not
  // null.
  Status Backward(const ConvShape& shape, const float* x, int64_t x_zeros, const float* dy,
                  int64_t dy_zeros, bool weight_grads, float* dx, KernelPolicy policy,
                  WorkspaceArena* workspace, pthreadpool_t pool);

  // The zero count of the last Forward's x, as given or counted there; -1 if neither. The layer
  // passes it back to Backward, which sees the same x.
  int64_t forward_input_zeros() const { return forward_input_zeros_; }

  // Count the zeros of each pass's operand even when the policy does not need them (for callers
  // that report them per call).
  void set_measure_zeros(bool measure) { measure_zeros_ = measure; }

  // The passes of the calls since the last reset.
  const LayerTelemetry& telemetry() const { return telemetry_; }
  void ResetTelemetry() {
    telemetry_ = LayerTelemetry();
    telemetry_.is_conv = true;
  }
  int64_t WorkspaceBytes() const { return StorageBytes(weight_transposed_); }

 private:
  ConvOp(std::string name, const Allocator& allocator)
      : name_(std::move(name)), allocator_(allocator) {}
  // The zero count of `storage` floats at `data` (counted unless `zeros` >= 0), or -1 when not
  // `needed` and nobody reports it.
  int64_t ZeroCount(const float* data, int64_t zeros, int64_t storage, bool needed,
                    pthreadpool_t pool) const;
  ConvKernel Choose(Pass pass, const ConvShape& shape, double zeros, KernelPolicy policy);
  // EitherFamilyWorkspaceFloats, asked of the kernels only when the call's batch, image size or
  // thread count changes.
  int64_t WorkspaceFloats(Pass pass, const ConvShape& shape, int64_t threads);
  // Runs `run(family, workspace)` - the pass on the chosen family, with the scratch it needs from
  // `arena` - timing it for the selector, telemetry and verbose mode (`kernel_name`: the kernel
  // as verbose mode names it).
  template <class Run>
  Status Timed(Pass pass, const ConvShape& shape, ConvKernel kernel, const char* kernel_name,
               double zeros, WorkspaceArena* arena, pthreadpool_t pool, const Run& run);

  std::string name_;
  Allocator allocator_;
  ConvShape geometry_;
  bool has_bias_ = false;
  Parameter weight_, bias_;
  // IOhw16o16i for backward-by-input: made on first use, rebuilt when weight_ changes.
  Tensor weight_transposed_;
  uint64_t transposed_version_ = ~uint64_t{0};
  ConvKernelSelector selectors_[kPassCount];
  ChoiceReason reason_;  // of the last Choose, for verbose mode
  struct WorkspaceNeed {
    int64_t n = 0, h = 0, w = 0, threads = 0;  // what it was asked for
    int64_t floats = 0;
  };
  WorkspaceNeed workspace_needs_[kPassCount];
  LayerTelemetry telemetry_;
  int64_t forward_input_zeros_ = -1;
  bool measure_zeros_ = false;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_CONV_OP_H_
