/* ONNX import through the C API: from a path and from memory (the same model), a cut with a new
 * head that trains, and the refusals, each leaving *out as it was; then what imported models are
 * used with: parameters by their PyTorch names, checkpoints in memory, freezing by prefix. The
 * models are torchvision's, written by tests/onnx/torchvision_golden.py; tests/onnx_import_test.cc
 * checks them against PyTorch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparsetrain/sparsetrain.h"
#include "tests/c/check.h"

enum { kBatch = 4, kSide = 64 };
static const char kSqueezeNet[] = "tests/onnx/squeezenet1_0.onnx";
static const char kResNet[] = "tests/onnx/resnet18.onnx";

static void* ReadAll(const char* path, size_t* bytes) {
  FILE* f = fopen(path, "rb");
  void* data = NULL;
  long size;
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, 0, SEEK_SET);
  data = malloc((size_t)size);
  if (data != NULL && fread(data, 1, (size_t)size, f) != (size_t)size) {
    free(data);
    data = NULL;
  }
  fclose(f);
  *bytes = (size_t)size;
  return data;
}

static void FillImages(float* images, size_t count) {
  unsigned seed = 7;
  size_t i;
  for (i = 0; i < count; ++i) {
    seed = seed * 1103515245u + 12345u;
    images[i] = (float)((seed >> 16) % 1000) / 500.0f - 1.0f;
  }
}

static float images[kBatch * 3 * kSide * kSide];

static void TestPathAndBuffer(st_context* context) {
  st_model *from_path = NULL, *from_buffer = NULL;
  float a[kBatch * 10], b[kBatch * 10];
  int64_t channels = 0, height = 0, width = 0, classes = 0;
  size_t bytes = 0, i;
  void* data = ReadAll(kSqueezeNet, &bytes);
  CHECK(data != NULL);
  if (data == NULL) return;
  OK(st_model_import_onnx(context, kSqueezeNet, NULL, &from_path));
  OK(st_model_import_onnx_buffer(context, data, bytes, NULL, &from_buffer));
  free(data); /* the model holds copies of everything it needs */
  OK(st_model_finish(from_path, 1));
  OK(st_model_finish(from_buffer, 2)); /* another seed: nothing imported is initialised */
  OK(st_model_input_dims(from_path, &channels, &height, &width));
  CHECK(channels == 3 && height == kSide && width == kSide);
  OK(st_model_classes(from_path, &classes));
  CHECK(classes == 10);
  OK(st_model_predict(from_path, images, sizeof images / sizeof images[0], kBatch, a, kBatch * 10));
  OK(st_model_predict(from_buffer, images, sizeof images / sizeof images[0], kBatch, b,
                      kBatch * 10));
  for (i = 0; i < kBatch * 10; ++i) CHECK(isfinite(a[i]) && a[i] == b[i]);
  OK(st_model_destroy(from_path));
  OK(st_model_destroy(from_buffer));
}

static void TestCutAndNewHead(st_context* context) {
  st_import_options options = {"/Flatten_output_0"};
  st_model* model = NULL;
  st_step_result first, last;
  int32_t labels[kBatch] = {0, 1, 2, 3};
  int64_t classes = 0;
  int step;
  OK(st_model_import_onnx(context, kResNet, &options, &model));
  OK(st_model_add_linear(model, "head", 4, 1));
  OK(st_model_finish(model, 3));
  OK(st_model_classes(model, &classes));
  CHECK(classes == 4);
  OK(st_model_set_frozen(model, "layer1.0.conv1", 1)); /* imported layers go by their names */
  for (step = 0; step < 5; ++step) {
    OK(st_model_train_step(model, images, sizeof images / sizeof images[0], labels, kBatch,
                           step == 0 ? &first : &last));
  }
  CHECK(last.loss < first.loss);
  OK(st_model_destroy(model));
}

static void TestRefusals(st_context* context) {
  st_model* model = NULL;
  st_import_options bad_cut = {"no such tensor"};
  unsigned char garbage[256];
  size_t bytes = 0, i;
  void* data = ReadAll(kSqueezeNet, &bytes);
  CHECK(data != NULL);
  if (data == NULL) return;
  for (i = 0; i < sizeof garbage; ++i) garbage[i] = (unsigned char)(i * 37u + 11u);
  EXPECT_STATUS(ST_CORRUPT_DATA,
                st_model_import_onnx_buffer(context, garbage, sizeof garbage, NULL, &model),
                "st_model_import_onnx_buffer");
  CHECK(model == NULL);
  EXPECT_STATUS(ST_CORRUPT_DATA,
                st_model_import_onnx_buffer(context, data, bytes / 2, NULL, &model), "truncated");
  CHECK(model == NULL);
  EXPECT_STATUS(ST_UNSUPPORTED, st_model_import_onnx_buffer(context, data, bytes, &bad_cut, &model),
                "no such tensor");
  CHECK(model == NULL);
  EXPECT_STATUS(ST_IO_ERROR, st_model_import_onnx(context, "tests/onnx/absent.onnx", NULL, &model),
                "absent.onnx");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_import_onnx(context, NULL, NULL, &model), "path");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_import_onnx_buffer(context, NULL, 0, NULL, &model),
                "data");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_import_onnx(context, kSqueezeNet, NULL, NULL), "out");
  CHECK(model == NULL);
  /* Cut anywhere short of its end, the file is refused whole; a flipped bit is refused or, where
   * it only changes a value or a name, imported; random bytes are refused. */
  for (i = 1; i < 64; ++i) {
    CHECK(st_model_import_onnx_buffer(context, data, bytes * i / 64, NULL, &model) != ST_OK);
    CHECK(model == NULL);
  }
  for (i = 0; i < 200; ++i) {
    unsigned char* flipped = (unsigned char*)data;
    const size_t at = (i * 2654435761u) % bytes;
    st_status status;
    flipped[at] ^= (unsigned char)(1u << (i % 8));
    status = st_model_import_onnx_buffer(context, data, bytes, NULL, &model);
    CHECK((status == ST_OK) == (model != NULL));
    if (model != NULL) OK(st_model_destroy(model));
    model = NULL;
    flipped[at] ^= (unsigned char)(1u << (i % 8));
  }
  for (i = 0; i < 50; ++i) {
    size_t j;
    for (j = 0; j < sizeof garbage; ++j)
      garbage[j] = (unsigned char)((i + 1) * (j * 131u + 7u) >> 3);
    CHECK(st_model_import_onnx_buffer(context, garbage, sizeof garbage, NULL, &model) != ST_OK);
    CHECK(model == NULL);
  }
  free(data);
}

static int Equal(const float* a, const float* b, size_t n) {
  size_t i;
  for (i = 0; i < n; ++i) {
    if (a[i] != b[i]) return 0;
  }
  return 1;
}

static void TestParametersByName(st_context* context) {
  st_model *model = NULL, *copy = NULL;
  st_parameter_info info;
  int64_t count = 0, i;
  size_t total = 0, offset = 0, bytes = 0, needed = 0;
  float *all = NULL, *one = NULL, *checkpoint_logits = NULL;
  float before[kBatch * 10], after[kBatch * 10];
  void* checkpoint = NULL;
  OK(st_model_import_onnx(context, kSqueezeNet, NULL, &model));
  OK(st_model_finish(model, 1));
  OK(st_model_parameter_count(model, &count));
  CHECK(count == 52); /* 26 convolutions, weight and bias */
  OK(st_model_parameter_info(model, 0, &info));
  CHECK(strcmp(info.name, "features.0.weight") == 0 && info.rank == 4 && info.shape[0] == 96 &&
        info.shape[1] == 3 && info.shape[2] == 7 && info.shape[3] == 7 && info.count == 14112 &&
        !info.is_buffer && !info.frozen);
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_parameter_info(model, count, &info), "index");

  /* The flat buffer is every parameter in index order. */
  OK(st_model_parameters_size(model, &total));
  all = malloc(total * sizeof(float));
  OK(st_model_get_parameters(model, all, total));
  for (i = 0; i < count; ++i) {
    OK(st_model_parameter_info(model, i, &info));
    one = malloc((size_t)info.count * sizeof(float));
    OK(st_model_get_parameter(model, info.name, one, (size_t)info.count));
    CHECK(Equal(one, all + offset, (size_t)info.count));
    offset += (size_t)info.count;
    free(one);
  }
  CHECK(offset == total);

  /* Setting one changes predictions; bad values, counts and names change nothing. */
  OK(st_model_predict(model, images, sizeof images / sizeof images[0], kBatch, before,
                      kBatch * 10));
  OK(st_model_parameter_info(model, 1, &info)); /* features.0.bias */
  one = malloc((size_t)info.count * sizeof(float));
  OK(st_model_get_parameter(model, info.name, one, (size_t)info.count));
  one[0] = NAN;
  EXPECT_STATUS(ST_INVALID_ARGUMENT,
                st_model_set_parameter(model, info.name, one, (size_t)info.count), "NaN");
  one[0] = 5.0f;
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_set_parameter(model, info.name, one, 3), "values");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_set_parameter(model, "fc.weight", one, 3),
                "fc.weight");
  OK(st_model_predict(model, images, sizeof images / sizeof images[0], kBatch, after, kBatch * 10));
  CHECK(Equal(before, after, kBatch * 10));
  OK(st_model_set_parameter(model, info.name, one, (size_t)info.count));
  OK(st_model_predict(model, images, sizeof images / sizeof images[0], kBatch, after, kBatch * 10));
  CHECK(!Equal(before, after, kBatch * 10));
  free(one);

  /* A checkpoint in memory carries everything into another model; a damaged one nothing. */
  OK(st_model_save_buffer(model, NULL, 0, &needed));
  checkpoint = malloc(needed);
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_save_buffer(model, checkpoint, needed - 1, &bytes),
                "capacity");
  OK(st_model_save_buffer(model, checkpoint, needed, &bytes));
  CHECK(bytes == needed);
  OK(st_model_import_onnx(context, kSqueezeNet, NULL, &copy));
  OK(st_model_finish(copy, 2));
  EXPECT_STATUS(ST_CORRUPT_DATA, st_model_load_buffer(copy, checkpoint, bytes / 2), "checkpoint");
  OK(st_model_predict(copy, images, sizeof images / sizeof images[0], kBatch, before, kBatch * 10));
  CHECK(!Equal(before, after, kBatch * 10));
  OK(st_model_load_buffer(copy, checkpoint, bytes));
  checkpoint_logits = before;
  OK(st_model_predict(copy, images, sizeof images / sizeof images[0], kBatch, checkpoint_logits,
                      kBatch * 10));
  CHECK(Equal(checkpoint_logits, after, kBatch * 10));
  /* ... and the flat buffer too. */
  OK(st_model_set_parameters(copy, all, total));
  OK(st_model_predict(copy, images, sizeof images / sizeof images[0], kBatch, before, kBatch * 10));
  OK(st_model_set_parameters(model, all, total));
  OK(st_model_predict(model, images, sizeof images / sizeof images[0], kBatch, after, kBatch * 10));
  CHECK(Equal(before, after, kBatch * 10));
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_set_parameters(model, all, total - 1), "values");
  free(checkpoint);
  free(all);
  OK(st_model_destroy(copy));
  OK(st_model_destroy(model));
}

/* "layer1" freezes layer1.*; frozen batch norm keeps its running statistics through training. */
/* Exported (to memory and to a file) and imported again, a trained model predicts the same. */
static void TestExport(st_context* context) {
  st_model *model = NULL, *again = NULL, *unfinished = NULL;
  st_step_result result;
  int32_t labels[kBatch] = {0, 1, 2, 3};
  float want[kBatch * 10], got[kBatch * 10];
  size_t needed = 0, bytes = 0;
  void* onnx = NULL;
  OK(st_model_import_onnx(context, kSqueezeNet, NULL, &model));
  OK(st_model_finish(model, 1));
  OK(st_model_train_step(model, images, sizeof images / sizeof images[0], labels, kBatch, &result));
  OK(st_model_set_kernel(model, ST_KERNEL_DENSE));
  OK(st_model_predict(model, images, sizeof images / sizeof images[0], kBatch, want, kBatch * 10));

  OK(st_model_export_onnx_buffer(model, NULL, 0, &needed));
  onnx = malloc(needed);
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_export_onnx_buffer(model, onnx, needed - 1, &bytes),
                "capacity");
  OK(st_model_export_onnx_buffer(model, onnx, needed, &bytes));
  CHECK(bytes == needed);
  OK(st_model_import_onnx_buffer(context, onnx, bytes, NULL, &again));
  OK(st_model_finish(again, 2));
  OK(st_model_set_kernel(again, ST_KERNEL_DENSE));
  OK(st_model_predict(again, images, sizeof images / sizeof images[0], kBatch, got, kBatch * 10));
  CHECK(Equal(want, got, kBatch * 10));
  OK(st_model_destroy(again));
  free(onnx);

  OK(st_model_export_onnx(model, "exported.onnx"));
  OK(st_model_import_onnx(context, "exported.onnx", NULL, &again));
  OK(st_model_finish(again, 3));
  OK(st_model_set_kernel(again, ST_KERNEL_DENSE));
  OK(st_model_predict(again, images, sizeof images / sizeof images[0], kBatch, got, kBatch * 10));
  CHECK(Equal(want, got, kBatch * 10));
  OK(st_model_destroy(again));
  remove("exported.onnx");

  OK(st_model_import_onnx(context, kSqueezeNet, NULL, &unfinished));
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_export_onnx(unfinished, "never.onnx"),
                "st_model_export_onnx");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_export_onnx(model, NULL), "path");
  OK(st_model_destroy(unfinished));
  OK(st_model_destroy(model));
}

static void TestFreezingByPrefix(st_context* context) {
  st_model* model = NULL;
  st_parameter_info info;
  st_step_result result;
  int32_t labels[kBatch] = {0, 1, 2, 3};
  float frozen_mean[64], frozen_after[64], free_mean[64], free_after[64];
  int64_t count = 0, i;
  OK(st_model_import_onnx(context, kResNet, NULL, &model));
  OK(st_model_finish(model, 1));
  OK(st_model_set_frozen(model, "layer1", 1));
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_set_frozen(model, "layer", 1), "layer");
  OK(st_model_parameter_count(model, &count));
  for (i = 0; i < count; ++i) {
    OK(st_model_parameter_info(model, i, &info));
    CHECK(info.frozen == (strncmp(info.name, "layer1.", 7) == 0));
  }
  /* "layer2.0" names the block's addition too: its layers freeze with it. */
  OK(st_model_set_frozen(model, "layer2.0", 1));
  for (i = 0; i < count; ++i) {
    OK(st_model_parameter_info(model, i, &info));
    if (strncmp(info.name, "layer2.0.", 9) == 0) CHECK(info.frozen);
  }
  OK(st_model_set_frozen(model, "layer2.0", 0));
  OK(st_model_get_parameter(model, "layer1.0.bn1.running_mean", frozen_mean, 64));
  OK(st_model_get_parameter(model, "bn1.running_mean", free_mean, 64));
  OK(st_model_train_step(model, images, sizeof images / sizeof images[0], labels, kBatch, &result));
  OK(st_model_get_parameter(model, "layer1.0.bn1.running_mean", frozen_after, 64));
  OK(st_model_get_parameter(model, "bn1.running_mean", free_after, 64));
  CHECK(Equal(frozen_mean, frozen_after, 64));
  CHECK(!Equal(free_mean, free_after, 64));
  OK(st_model_destroy(model));
}

int main(void) {
  st_context* context = NULL;
  FillImages(images, sizeof images / sizeof images[0]);
  OK(st_context_create(2, NULL, &context));
  TestPathAndBuffer(context);
  TestCutAndNewHead(context);
  TestRefusals(context);
  TestParametersByName(context);
  TestFreezingByPrefix(context);
  TestExport(context);
  OK(st_context_destroy(context));
  if (failures != 0) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("all ONNX import checks passed\n");
  return 0;
}
