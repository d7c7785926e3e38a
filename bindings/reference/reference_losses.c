/* The C API's answer to the bindings' common check: the losses of five training steps of a small
 * CNN on the first 64 Fashion-MNIST training images (seed 7, dense kernels, Adam lr 1e-3), one per
 * line with 17 significant digits, then five of a network with a branch, an addition, the other
 * activations, a channel gate, a concatenation and the other poolings, then five each of the first
 * network under the other losses. Each binding's test runs the same protocol and must print the
 * same numbers. */
#include <stdio.h>
#include <stdlib.h>

#include "examples/c/idx.h"
#include "sparsetrain/sparsetrain.h"

#define TRY(call)                                                                    \
  do {                                                                               \
    const st_status status_ = (call);                                                \
    if (status_ != ST_OK) {                                                          \
      fprintf(stderr, "%s: %s\n", st_status_name(status_), st_last_error_message()); \
      return 1;                                                                      \
    }                                                                                \
  } while (0)

enum { kBatch = 64, kPixels = 28 * 28 };
static const char* const kConcatInputs[] = {"gated", "relu6_1"};

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  static float images[kBatch * kPixels];
  int32_t labels[kBatch];
  size_t pixel_count, label_count;
  unsigned char* pixels = ReadIdx(dir, "train-images-idx3-ubyte.gz", 16, &pixel_count);
  unsigned char* label_bytes = ReadIdx(dir, "train-labels-idx1-ubyte.gz", 8, &label_count);
  st_context* context;
  st_model* model;
  st_optimizer_config config;
  st_step_result result;
  int network, step;
  if (pixels == NULL || label_bytes == NULL) return 1;
  IdxBatch(pixels, label_bytes, 0, kBatch, images, labels);
  TRY(st_context_create(2, NULL, &context));
  for (network = 0; network < 2; ++network) {
    TRY(st_model_create(context, 1, 28, 28, &model));
    TRY(st_model_add_conv2d(model, NULL, 8, 3, 1, -1, 1));
    if (network == 0) {
      TRY(st_model_add_relu(model, NULL));
      TRY(st_model_add_maxpool(model, NULL, 2, 2, 0));
    } else {
      TRY(st_model_add_relu6(model, NULL));
      TRY(st_model_add_conv2d(model, NULL, 8, 3, 1, -1, 1));
      TRY(st_model_add_hardswish(model, NULL));
      TRY(st_model_from(model, "relu6_1"));
      TRY(st_model_add_depthwise_conv2d(model, NULL, 3, 1, -1, 1));
      TRY(st_model_add_conv2d(model, NULL, 8, 1, 1, 0, 1));
      TRY(st_model_add_silu(model, NULL));
      TRY(st_model_add_add(model, "join", "hardswish1", "silu1"));
      TRY(st_model_add_hardsigmoid(model, NULL, 1.0f / 6.0f, 0.5f));
      TRY(st_model_add_clip(model, NULL, 0.0f, 0.9f));
      TRY(st_model_add_sigmoid(model, NULL));
      TRY(st_model_add_adaptive_avgpool(model, "gap", 1));
      TRY(st_model_add_multiply(model, "gated", "sigmoid1", "gap"));
      TRY(st_model_add_concat(model, "cat", kConcatInputs, 2));
      TRY(st_model_add_grouped_conv2d(model, NULL, 16, 3, 1, -1, 1, 4));
      TRY(st_model_add_avgpool(model, NULL, 3, 2, 1, 0, 1));
      TRY(st_model_add_maxpool_ceil(model, NULL, 2, 2, 0));
    }
    TRY(st_model_add_flatten(model, NULL));
    TRY(st_model_add_linear(model, NULL, 10, 1));
    TRY(st_model_finish(model, 7));
    TRY(st_model_set_kernel(model, ST_KERNEL_DENSE));
    TRY(st_optimizer_config_default(&config));
    TRY(st_model_set_optimizer(model, &config));
    for (step = 0; step < 5; ++step) {
      TRY(st_model_train_step(model, images, kBatch * kPixels, labels, kBatch, &result));
      printf("%.17g\n", result.loss);
    }
    TRY(st_model_destroy(model));
  }
  /* The first network again under the other losses: cross-entropy with label smoothing 0.1 and
   * class weights 0.5 + 0.1 k, then mean squared error of two targets per image, its mean pixel
   * and its label / 9. */
  for (network = 0; network < 2; ++network) {
    static float targets[kBatch * 2];
    float weights[10];
    int i, p;
    for (i = 0; i < 10; ++i) weights[i] = 0.5f + 0.1f * (float)i;
    for (i = 0; i < kBatch; ++i) {
      double sum = 0.0;
      for (p = 0; p < kPixels; ++p) sum += images[i * kPixels + p];
      targets[2 * i] = (float)(sum / kPixels);
      targets[2 * i + 1] = (float)labels[i] / 9.0f;
    }
    TRY(st_model_create(context, 1, 28, 28, &model));
    TRY(st_model_add_conv2d(model, NULL, 8, 3, 1, -1, 1));
    TRY(st_model_add_relu(model, NULL));
    TRY(st_model_add_maxpool(model, NULL, 2, 2, 0));
    TRY(st_model_add_flatten(model, NULL));
    TRY(st_model_add_linear(model, NULL, network == 0 ? 10 : 2, 1));
    TRY(st_model_finish(model, 7));
    TRY(st_model_set_kernel(model, ST_KERNEL_DENSE));
    TRY(st_optimizer_config_default(&config));
    TRY(st_model_set_optimizer(model, &config));
    if (network == 0) {
      TRY(st_model_set_loss(model, ST_LOSS_SOFTMAX_CROSS_ENTROPY, 0.1, weights, 10));
    } else {
      TRY(st_model_set_loss(model, ST_LOSS_MSE, 0.0, NULL, 0));
    }
    for (step = 0; step < 5; ++step) {
      if (network == 0) {
        TRY(st_model_train_step(model, images, kBatch * kPixels, labels, kBatch, &result));
      } else {
        TRY(st_model_train_step_targets(model, images, kBatch * kPixels, targets, kBatch * 2,
                                        kBatch, &result));
      }
      printf("%.17g\n", result.loss);
    }
    TRY(st_model_destroy(model));
  }
  TRY(st_context_destroy(context));
  free(pixels);
  free(label_bytes);
  return 0;
}
