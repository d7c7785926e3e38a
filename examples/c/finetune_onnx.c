/* Fine-tuning a model trained elsewhere, through the C API: a backbone trained in PyTorch on
 * Fashion-MNIST classes 0-4 (tools/pretrain_backbone.py) is imported from ONNX, cut at its pooled
 * features and given a new head for classes 5-9, then trained on a few hundred examples: with the
 * backbone frozen (only the head learns), and with everything training from the imported
 * values; the same network trained from scratch on the same examples is the comparison.
 *
 *   finetune_onnx BACKBONE.onnx SCRATCH.onnx [EXAMPLES] [EPOCHS] [DATA_DIR]
 *
 * EXAMPLES (default 200) are the first training images of classes 5-9, seen EPOCHS (default 10)
 * times; accuracy is over every test image of those classes. Prints one line per model and
 *   RESULT frozen_accuracy=<x> finetuned_accuracy=<x> scratch_accuracy=<x> examples=<n>
 * DATA_DIR defaults to /usr/share/datasets/fashion-mnist. */
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

enum { kPixels = 28 * 28, kBatch = 50, kNewClasses = 5, kFirstNewClass = 5 };

/* The images of classes 5-9 among `count` (at most `limit`), as floats, with labels 0-4. */
static size_t NewClasses(const unsigned char* pixels, const unsigned char* labels, size_t count,
                         size_t limit, float** images, int32_t** new_labels) {
  size_t kept = 0, i;
  *images = malloc(limit * kPixels * sizeof(float));
  *new_labels = malloc(limit * sizeof(int32_t));
  if (*images == NULL || *new_labels == NULL) exit(1);
  for (i = 0; i < count && kept < limit; ++i) {
    if (labels[i] < kFirstNewClass) continue;
    IdxBatch(pixels, labels, i, 1, *images + kept * kPixels, *new_labels + kept);
    (*new_labels)[kept] -= kFirstNewClass;
    ++kept;
  }
  return kept;
}

/* Imports `onnx` cut at its pooled features with a new head, trains it on the examples (the
 * imported layers frozen when `freeze`) and returns its test accuracy. */
static double FineTune(st_context* context, const char* onnx, int freeze, const float* x,
                       const int32_t* y, size_t count, int epochs, const float* test_x,
                       const int32_t* test_y, size_t test_count) {
  st_import_options options = {"/Flatten_output_0"};
  st_model* model;
  st_optimizer_config config;
  st_step_result result;
  int64_t correct = 0;
  size_t start;
  int epoch;
  TRY(st_model_import_onnx(context, onnx, &options, &model));
  TRY(st_model_add_linear(model, "head", kNewClasses, 1));
  TRY(st_model_finish(model, 1));
  if (freeze) TRY(st_model_set_frozen(model, "features", 1)); /* the backbone's module */
  st_optimizer_config_default(&config);
  config.kind = ST_OPTIMIZER_ADAM;
  config.learning_rate = freeze ? 1e-2 : 1e-3; /* a head alone takes larger steps */
  TRY(st_model_set_optimizer(model, &config));
  for (epoch = 0; epoch < epochs; ++epoch) {
    for (start = 0; start + kBatch <= count; start += kBatch) {
      TRY(st_model_train_step(model, x + start * kPixels, kBatch * kPixels, y + start, kBatch,
                              &result));
    }
  }
  for (start = 0; start < test_count; start += kBatch) {
    const int64_t n = (int64_t)(test_count - start < kBatch ? test_count - start : kBatch);
    TRY(st_model_eval_step(model, test_x + start * kPixels, (size_t)n * kPixels, test_y + start, n,
                           &result, NULL, 0));
    correct += result.correct;
  }
  TRY(st_model_destroy(model));
  return (double)correct / (double)test_count;
}

int main(int argc, char** argv) {
  const char* dir = argc > 5 ? argv[5] : "/usr/share/datasets/fashion-mnist";
  const size_t limit = argc > 3 ? (size_t)atol(argv[3]) : 200;
  const int epochs = argc > 4 ? atoi(argv[4]) : 10;
  size_t train_count, test_count, label_count, count, tests;
  unsigned char *train_x, *train_y, *test_x, *test_y;
  float *x, *tx;
  int32_t *y, *ty;
  st_context* context;
  double frozen, finetuned, scratch;

  if (argc < 3 || limit < kBatch || epochs <= 0) {
    fprintf(stderr,
            "usage: finetune_onnx BACKBONE.onnx SCRATCH.onnx [EXAMPLES >= %d] [EPOCHS] "
            "[DATA_DIR]\n",
            kBatch);
    return 2;
  }
  TRY(st_check_abi(ST_VERSION));
  train_x = ReadIdx(dir, "train-images-idx3-ubyte.gz", 16, &train_count);
  train_y = ReadIdx(dir, "train-labels-idx1-ubyte.gz", 8, &label_count);
  test_x = ReadIdx(dir, "t10k-images-idx3-ubyte.gz", 16, &test_count);
  test_y = ReadIdx(dir, "t10k-labels-idx1-ubyte.gz", 8, &label_count);
  if (train_x == NULL || train_y == NULL || test_x == NULL || test_y == NULL) return 1;
  count = NewClasses(train_x, train_y, train_count / kPixels, limit, &x, &y);
  tests = NewClasses(test_x, test_y, test_count / kPixels, test_count / kPixels, &tx, &ty);

  TRY(st_context_create(2, NULL, &context));
  frozen = FineTune(context, argv[1], 1, x, y, count, epochs, tx, ty, tests);
  printf("imported backbone, frozen, new head: test accuracy %.4f on classes 5-9\n", frozen);
  finetuned = FineTune(context, argv[1], 0, x, y, count, epochs, tx, ty, tests);
  printf("imported backbone, all trained:      test accuracy %.4f on classes 5-9\n", finetuned);
  scratch = FineTune(context, argv[2], 0, x, y, count, epochs, tx, ty, tests);
  printf("the same network from scratch:       test accuracy %.4f on classes 5-9\n", scratch);
  printf("RESULT frozen_accuracy=%.4f finetuned_accuracy=%.4f scratch_accuracy=%.4f examples=%zu\n",
         frozen, finetuned, scratch, count);
  TRY(st_context_destroy(context));
  free(x), free(y), free(tx), free(ty);
  free(train_x), free(train_y), free(test_x), free(test_y);
  return 0;
}
