// Layer lists for benchmarks: the CSV format of shared/data/layers/*.csv and bench/layers/*.csv,
//   net,layer,N,C,H,W,K,R,S,stride,pad,x_sparsity,dy_sparsity
// one row per convolution layer instance; lines starting with '#' are comments (where the shapes
// and zero fractions come from).
#ifndef SPARSETRAIN_BENCH_LAYER_LIST_H_
#define SPARSETRAIN_BENCH_LAYER_LIST_H_

#include <string>
#include <vector>

#include "kernels/conv_shape.h"
#include "kernels/base/status.h"

namespace sparsetrain {

struct LayerSpec {
  std::string net, name;
  ConvShape shape;
  double x_sparsity = 0, dy_sparsity = 0;  // fractions of zeros in the input and output gradient
};

Status ReadLayerList(const std::string& path, std::vector<LayerSpec>* layers);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_BENCH_LAYER_LIST_H_
