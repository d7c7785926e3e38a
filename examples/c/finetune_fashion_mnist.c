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
#include <zlib.h>

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

/* Reads a gzip'd IDX file: returns its bytes after a header of `header` bytes, and their count. */
static unsigned char* ReadIdx(const char* dir, const char* name, size_t header, size_t* count) {
  char path[1024];
  unsigned char buffer[1 << 16], *data = NULL;
  size_t size = 0;
  int n;
  gzFile f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = gzopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) {
    data = realloc(data, size + (size_t)n);
    if (data == NULL) exit(1);
    memcpy(data + size, buffer, (size_t)n);
    size += (size_t)n;
  }
  gzclose(f);
  if (size < header) {
    fprintf(stderr, "%s is too short\n", path);
    exit(1);
  }
  *count = size - header;
  memmove(data, data + header, *count);
  return data;
}

/* Images [first, first + n) as floats in [0, 1] and their labels. */
static void Batch(const unsigned char* pixels, const unsigned char* labels, size_t first, int64_t n,
                  float* images, int32_t* batch_labels) {
  int64_t i, p;
  for (i = 0; i < n; ++i) {
    for (p = 0; p < kPixels; ++p) images[i * kPixels + p] = (float)pixels[(first + (size_t)i) * kPixels + (size_t)p] / 255.0f;
    batch_labels[i] = labels[first + (size_t)i];
  }
}

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
    Batch(train_x, train_y, start, kBatch, images, labels);
    TRY(st_model_train_step(model, images, kBatch * kPixels, labels, kBatch, &result));
    if (start / kBatch % 200 == 0) printf("step %zu: loss %.4f\n", start / kBatch, result.loss);
  }
  for (start = 0; start + kBatch <= test_count; start += kBatch) {
    Batch(test_x, test_y, start, kBatch, images, labels);
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
