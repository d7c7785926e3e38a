// The demo's networks, shared by the demo (train_fashion_mnist.cc), the benchmarks that time it
// and their PyTorch twins in bench/torch_fashion_mnist.py (same architectures, layer by layer).
#ifndef SPARSETRAIN_EXAMPLES_FASHION_MNIST_MODEL_H_
#define SPARSETRAIN_EXAMPLES_FASHION_MNIST_MODEL_H_

#include <string>

#include "runtime/model_builder.h"

namespace sparsetrain {

// Three conv + ReLU + max-pool stages, then a linear classifier over 10 classes.
inline ModelBuilder FashionMnistModel() {
  ModelBuilder b(1, 28, 28);
  b.Conv2d(32, 3).Relu().MaxPool(2, 2);   // 14x14
  b.Conv2d(64, 3).Relu().MaxPool(2, 2);   // 7x7
  b.Conv2d(128, 3).Relu().MaxPool(2, 2);  // 3x3
  b.Flatten().Dropout(0.25f).Linear(10);
  return b;
}

// MobileNetV2 sized for 28x28: a 3x3 stem, inverted residual blocks (1x1 expansion, depthwise
// 3x3, 1x1 projection, each with batch norm; ReLU6 after the first two; a residual where the
// shape allows), a 1x1 head, global pooling and a classifier.
inline ModelBuilder FashionMnistMobileNetV2() {
  ModelBuilder b(1, 28, 28);
  b.Conv2d(16, 3, 1, 1, false).BatchNorm().Relu6();
  const struct {
    int64_t expansion, channels, stride;
  } blocks[] = {{1, 16, 1}, {4, 24, 2}, {4, 24, 1}, {4, 32, 2}, {4, 32, 1}, {4, 32, 1}};
  int64_t in = 16;
  for (const auto& block : blocks) {
    const std::string input = b.current_name();
    if (block.expansion != 1) b.Conv2d(in * block.expansion, 1, 1, 0, false).BatchNorm().Relu6();
    b.DepthwiseConv2d(3, block.stride, 1, false).BatchNorm().Relu6();
    b.Conv2d(block.channels, 1, 1, 0, false).BatchNorm();
    if (block.stride == 1 && in == block.channels) b.Add("", input);
    in = block.channels;
  }
  b.Conv2d(128, 1, 1, 0, false).BatchNorm().Relu6().GlobalAvgPool().Dropout(0.2f).Linear(10);
  return b;
}

// ResNet-18's layout ([2, 2, 2, 2] basic blocks, batch norm, projection shortcuts where the
// shape changes) at a quarter of its widths (16 to 128 channels) with a 3x3 stem for 28x28.
inline ModelBuilder FashionMnistResNet18() {
  ModelBuilder b(1, 28, 28);
  b.Conv2d(16, 3, 1, 1, false).BatchNorm().Relu();
  int64_t in = 16;
  for (int64_t stage = 0; stage < 4; ++stage) {
    const int64_t channels = 16 << stage;
    for (int64_t block = 0; block < 2; ++block) {
      const int64_t stride = stage > 0 && block == 0 ? 2 : 1;
      b.BeginResidual();
      b.Conv2d(channels, 3, stride, 1, false).BatchNorm().Relu();
      b.Conv2d(channels, 3, 1, 1, false).BatchNorm();
      b.Shortcut();
      if (stride != 1 || in != channels) b.Conv2d(channels, 1, stride, 0, false).BatchNorm();
      b.EndResidual().Relu();
      in = channels;
    }
  }
  b.GlobalAvgPool().Linear(10);
  return b;
}

// The network named `name` ("cnn", "mobilenet_v2", "resnet18"); false for another name.
inline bool FashionMnistNetwork(const std::string& name, ModelBuilder* builder) {
  if (name == "cnn") {
    *builder = FashionMnistModel();
  } else if (name == "mobilenet_v2") {
    *builder = FashionMnistMobileNetV2();
  } else if (name == "resnet18") {
    *builder = FashionMnistResNet18();
  } else {
    return false;
  }
  return true;
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_EXAMPLES_FASHION_MNIST_MODEL_H_
