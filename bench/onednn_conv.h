// The dense baseline: oneDNN's direct convolution, plain or grouped (f32, nChw16c activations,
// weights in the layout oneDNN picks), forward with bias, backward by input (converting the forward
// weights into the layout it reads, when that differs, as training must), backward by weights with
// bias.
#ifndef SPARSETRAIN_BENCH_ONEDNN_CONV_H_
#define SPARSETRAIN_BENCH_ONEDNN_CONV_H_

#include <memory>
#include <string>

#include "kernels/conv_shape.h"

namespace sparsetrain {

class OneDnnConv {
 public:
  // Tensors are given in NCHW (weights KCRS, or (K, C / groups, R, S) when grouped); oneDNN's
  // copies, in activations blocked by `channel_block` channels (16 for AVX-512, 8 for its AVX2
  // kernels) and weights in the layout it picks, are made once here. With `groups` > 1 the
  // convolution is grouped (groups = C = K: depthwise).
  OneDnnConv(const ConvShape& shape, int channel_block, const float* x_nchw,
             const float* weights_kcrs, const float* bias, const float* dy_nchw,
             int64_t groups = 1);
  ~OneDnnConv();

  void Forward();
  void BackwardData();
  void BackwardWeights();
  // "jit:avx512_core / ..." as oneDNN names the implementations it chose, per pass.
  std::string Implementations() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_BENCH_ONEDNN_CONV_H_
