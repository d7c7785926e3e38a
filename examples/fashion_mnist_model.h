// The demo's network, shared by the demo (train_fashion_mnist.cc) and the benchmarks that time it.
#ifndef SPARSETRAIN_EXAMPLES_FASHION_MNIST_MODEL_H_
#define SPARSETRAIN_EXAMPLES_FASHION_MNIST_MODEL_H_

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

}  // namespace sparsetrain

#endif  // SPARSETRAIN_EXAMPLES_FASHION_MNIST_MODEL_H_
