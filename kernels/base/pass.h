// The three passes of training, shared by kernels, layers, telemetry and the C API (whose st_pass
// has the same values): forward, backward by input (dx), backward by weights (dw).
#ifndef SPARSETRAIN_KERNELS_BASE_PASS_H_
#define SPARSETRAIN_KERNELS_BASE_PASS_H_

namespace sparsetrain {

enum class Pass { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };
constexpr int kPassCount = 3;

// "fwd", "bwd_data", "bwd_weights".
inline const char* PassName(Pass pass) {
  constexpr const char* kNames[kPassCount] = {"fwd", "bwd_data", "bwd_weights"};
  return kNames[int(pass)];
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_BASE_PASS_H_
