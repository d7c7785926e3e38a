/* Fine-tunes a CNN on Fashion-MNIST through the SparseTrain C API alone.
 *
 *   finetune_fashion_mnist [CHECKPOINT] [DATA_DIR]
 *
 * Builds the demo's architecture; with CHECKPOINT (e.g. fashion_mnist_out/model.safetensors from
 * tools/demo.sh) it loads it and freezes the convolutions, so one epoch trains only the classifier;
 * without, it trains everything for one epoch. Prints the test accuracy and saves
 * finetuned.safetensors. DATA_DIR defaults to /usr/share/datasets/fashion-mnist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/c/idx.h"
#include "sparsetrain/sparsetrain.h"

#define TRY(call)                                                                    \
  do {                                                                               \
    const st_status status_ = (call);                                                \
    if (status_ != ST_OK) {                                                          \
      fprintf(stderr, "%s: %s\n", st_status_name(status_), st_last_error_message()); \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

enum { kPixels = 28 * 28, kBatch = 64, kClasses = 10 };

int main(int argc, char** argv) {
  const char* checkpoint = argc > 1 ? argv[1] : NULL;
  const char* dir = argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist";
  static float images[kBatch * kPixels];
  int32_t labels[kBatch];
  size_t train_count, test_count, label_count, start;
  unsigned char *train_x, *train_y, *test_x, *test_y;
  st_context* context;
  st_model* model;
  st_optimizer_config config;
  st_step_result result;
  int64_t correct = 0;

  TRY(st_check_abi(ST_VERSION));
  train_x = ReadIdx(dir, "train-images-idx3-ubyte.gz", 16, &train_count);
  train_y = ReadIdx(dir, "train-labels-idx1-ubyte.gz", 8, &label_count);
  test_x = ReadIdx(dir, "t10k-images-idx3-ubyte.gz", 16, &test_count);
  test_y = ReadIdx(dir, "t10k-labels-idx1-ubyte.gz", 8, &label_count);
  if (train_x == NULL || train_y == NULL || test_x == NULL || test_y == NULL) return 1;
  train_count /= kPixels;
  test_count /= kPixels;

  TRY(st_context_create(2, NULL, &context));
  TRY(st_model_create(context, 1, 28, 28, &model));
  TRY(st_model_add_conv2d(model, NULL, 32, 3, 1, -1, 1));
  TRY(st_model_add_relu(model, NULL));
  TRY(st_model_add_maxpool(model, NULL, 2, 2, 0));
  TRY(st_model_add_conv2d(model, NULL, 64, 3, 1, -1, 1));
  TRY(st_model_add_relu(model, NULL));
  TRY(st_model_add_maxpool(model, NULL, 2, 2, 0));
  TRY(st_model_add_conv2d(model, NULL, 128, 3, 1, -1, 1));
  TRY(st_model_add_relu(model, NULL));
  TRY(st_model_add_maxpool(model, NULL, 2, 2, 0));
  TRY(st_model_add_flatten(model, NULL));
  TRY(st_model_add_dropout(model, NULL, 0.25f));
  TRY(st_model_add_linear(model, NULL, kClasses, 1));
  TRY(st_model_finish(model, 1));
  if (checkpoint != NULL) {
    TRY(st_model_load(model, checkpoint));
    TRY(st_model_set_frozen(model, "conv1", 1));
    TRY(st_model_set_frozen(model, "conv2", 1));
    TRY(st_model_set_frozen(model, "conv3", 1));
    printf("loaded %s; training the classifier only\n", checkpoint);
  }
  TRY(st_optimizer_config_default(&config));
  TRY(st_model_set_optimizer(model, &config));

  for (start = 0; start + kBatch <= train_count; start += kBatch) {
    IdxBatch(train_x, train_y, start, kBatch, images, labels);
    TRY(st_model_train_step(model, images, kBatch * kPixels, labels, kBatch, &result));
    if (start / kBatch % 200 == 0) printf("step %zu: loss %.4f\n", start / kBatch, result.loss);
  }
  for (start = 0; start + kBatch <= test_count; start += kBatch) {
    IdxBatch(test_x, test_y, start, kBatch, images, labels);
    TRY(st_model_eval_step(model, images, kBatch * kPixels, labels, kBatch, &result, NULL, 0));
    correct += result.correct;
  }
  printf("test accuracy %.4f (%zu images)\n", (double)correct / (double)(start), start);
  TRY(st_model_save(model, "finetuned.safetensors"));
  printf("saved finetuned.safetensors\n");

  TRY(st_model_destroy(model));
  TRY(st_context_destroy(context));
  free(train_x), free(train_y), free(test_x), free(test_y);
  return 0;
}
