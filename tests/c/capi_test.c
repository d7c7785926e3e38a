/* The C API from C11 alone: a model trained end to end, the convolution layer against a scalar
 * reference, and every kind of misuse the header promises to refuse. */
#define _POSIX_C_SOURCE 200809L /* dup, dup2, fileno: capturing stderr for verbose mode */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sparsetrain/sparsetrain.h"
#include "tests/c/check.h"

enum { kSide = 12, kClasses = 4, kBatch = 16 };

/* Images whose class sets where a bright square sits. */
static void MakeBatch(unsigned seed, float* images, int32_t* labels) {
  int i, p, y, x;
  for (i = 0; i < kBatch; ++i) {
    const int32_t label = (int32_t)((seed * 7u + (unsigned)i * 13u) % kClasses);
    labels[i] = label;
    for (p = 0; p < kSide * kSide; ++p) {
      seed = seed * 1103515245u + 12345u;
      images[i * kSide * kSide + p] =
          (seed >> 16) % 4 == 0 ? 0.1f * (float)((seed >> 8) % 8) : 0.0f;
    }
    for (y = 0; y < 4; ++y) {
      for (x = 0; x < 4; ++x)
        images[i * kSide * kSide + (label * 2 + y) * kSide + label * 2 + x] = 1.0f;
    }
  }
}

static st_model* BuildModel(st_context* context) {
  st_model* model = NULL;
  OK(st_model_create(context, 1, kSide, kSide, &model));
  OK(st_model_add_conv2d(model, NULL, 8, 3, 1, -1, 1));
  OK(st_model_add_relu(model, NULL));
  OK(st_model_add_maxpool(model, NULL, 2, 2, 0));
  OK(st_model_residual_begin(model, "block"));
  OK(st_model_add_conv2d(model, NULL, 8, 3, 1, 1, 0));
  OK(st_model_add_batchnorm(model, NULL, 1e-5, 0.1));
  OK(st_model_residual_shortcut(model));
  OK(st_model_residual_end(model));
  OK(st_model_add_relu(model, NULL));
  OK(st_model_add_flatten(model, NULL));
  OK(st_model_add_dropout(model, NULL, 0.1f));
  OK(st_model_add_linear(model, "head", kClasses, 1));
  OK(st_model_finish(model, 42));
  return model;
}

/* BuildModel's network with its residual block spelled as a branch and an addition. */
static st_model* BuildModelWithBranches(st_context* context) {
  st_model* model = NULL;
  OK(st_model_create(context, 1, kSide, kSide, &model));
  OK(st_model_add_conv2d(model, NULL, 8, 3, 1, -1, 1));
  OK(st_model_add_relu(model, NULL));
  OK(st_model_add_maxpool(model, "pool", 2, 2, 0));
  OK(st_model_add_conv2d(model, NULL, 8, 3, 1, 1, 0));
  OK(st_model_add_batchnorm(model, "bn", 1e-5, 0.1));
  OK(st_model_from(model, "pool"));
  OK(st_model_add_add(model, "block", "bn", NULL));
  OK(st_model_add_relu(model, NULL));
  OK(st_model_add_flatten(model, NULL));
  OK(st_model_add_dropout(model, NULL, 0.1f));
  OK(st_model_add_linear(model, "head", kClasses, 1));
  OK(st_model_finish(model, 42));
  return model;
}

/* The two spellings build one network: same parameters, same losses step by step. */
static void TestBranches(void) {
  st_context* context = NULL;
  st_model *blocks = NULL, *branches = NULL;
  float images[kBatch * kSide * kSide];
  int32_t labels[kBatch];
  int step;
  OK(st_context_create(2, NULL, &context));
  blocks = BuildModel(context);
  branches = BuildModelWithBranches(context);
  OK(st_model_set_kernel(blocks, ST_KERNEL_DENSE));
  OK(st_model_set_kernel(branches, ST_KERNEL_DENSE));
  for (step = 0; step < 3; ++step) {
    st_step_result a, b;
    MakeBatch((unsigned)step + 11u, images, labels);
    OK(st_model_train_step(blocks, images, sizeof images / sizeof *images, labels, kBatch, &a));
    OK(st_model_train_step(branches, images, sizeof images / sizeof *images, labels, kBatch, &b));
    CHECK(a.loss == b.loss && a.correct == b.correct);
  }
  OK(st_model_destroy(blocks));
  OK(st_model_destroy(branches));
  OK(st_context_destroy(context));
}

/* The model's layers are of these kinds, in order. */
static void CheckKinds(const st_model* model, const char* const* kinds, size_t expected) {
  st_layer_info info;
  int64_t count = 0, i;
  OK(st_model_layer_count(model, &count));
  CHECK(count == (int64_t)expected);
  for (i = 0; i < count && i < (int64_t)expected; ++i) {
    OK(st_model_layer_info(model, i, &info));
    CHECK(strcmp(info.kind, kinds[i]) == 0);
  }
}

/* Every activation and the depthwise convolution build, train and report their kinds. */
static void TestActivations(void) {
  static const char* const kKinds[] = {"conv2d",  "relu6",       "depthwise_conv2d", "clip",
                                       "sigmoid", "hardsigmoid", "hardswish",        "silu",
                                       "flatten", "linear"};
  st_context* context = NULL;
  st_model* model = NULL;
  float images[kBatch * kSide * kSide];
  int32_t labels[kBatch];
  st_step_result r;
  st_layer_info info;
  OK(st_context_create(2, NULL, &context));
  OK(st_model_create(context, 1, kSide, kSide, &model));
  OK(st_model_add_conv2d(model, NULL, 8, 3, 2, -1, 1));
  OK(st_model_add_relu6(model, NULL));
  OK(st_model_add_depthwise_conv2d(model, NULL, 3, 2, -1, 1));
  OK(st_model_add_clip(model, NULL, -1.0f, 1.0f));
  OK(st_model_add_sigmoid(model, NULL));
  OK(st_model_add_hardsigmoid(model, NULL, 0.2f, 0.5f));
  OK(st_model_add_hardswish(model, NULL));
  OK(st_model_add_silu(model, NULL));
  OK(st_model_add_flatten(model, NULL));
  OK(st_model_add_linear(model, NULL, kClasses, 1));
  OK(st_model_finish(model, 3));
  MakeBatch(5, images, labels);
  OK(st_model_train_step(model, images, sizeof images / sizeof *images, labels, kBatch, &r));
  CHECK(r.loss > 0.0 && r.loss < 10.0);
  CheckKinds(model, kKinds, sizeof kKinds / sizeof *kKinds);
  OK(st_model_layer_info(model, 1, &info));
  CHECK(strcmp(info.name, "relu6_1") == 0);
  OK(st_model_destroy(model));
  OK(st_context_destroy(context));
}

/* Squeeze-and-excitation, a fire module, the poolings and a grouped convolution build, train and
 * report their kinds. */
static void TestJoinsAndPoolings(void) {
  static const char* const kKinds[] = {
      "conv2d", "relu",   "avgpool2d", "conv2d",    "hardsigmoid",    "multiply", "conv2d",
      "conv2d", "concat", "avgpool2d", "maxpool2d", "grouped_conv2d", "flatten",  "linear"};
  static const char* const kFire[] = {"e1", "e3"};
  st_context* context = NULL;
  st_model* model = NULL;
  float images[kBatch * kSide * kSide];
  int32_t labels[kBatch];
  st_step_result r;
  OK(st_context_create(2, NULL, &context));
  OK(st_model_create(context, 1, kSide, kSide, &model));
  OK(st_model_add_conv2d(model, NULL, 8, 3, 1, -1, 1));
  OK(st_model_add_relu(model, "x"));
  OK(st_model_add_adaptive_avgpool(model, NULL, 1));
  OK(st_model_add_conv2d(model, NULL, 8, 1, 1, 0, 1));
  OK(st_model_add_hardsigmoid(model, NULL, 1.0f / 6.0f, 0.5f));
  OK(st_model_add_multiply(model, "excited", "x", NULL));
  OK(st_model_add_conv2d(model, "e1", 4, 1, 1, 0, 1));
  OK(st_model_from(model, "excited"));
  OK(st_model_add_conv2d(model, "e3", 4, 3, 1, 1, 1));
  OK(st_model_add_concat(model, NULL, kFire, 2));
  OK(st_model_add_avgpool(model, NULL, 3, 2, 1, 0, 1));
  OK(st_model_add_maxpool_ceil(model, NULL, 2, 2, 0));
  OK(st_model_add_grouped_conv2d(model, NULL, 12, 3, 1, -1, 1, 4));
  OK(st_model_add_flatten(model, NULL));
  OK(st_model_add_linear(model, NULL, kClasses, 1));
  OK(st_model_finish(model, 3));
  MakeBatch(6, images, labels);
  OK(st_model_train_step(model, images, sizeof images / sizeof *images, labels, kBatch, &r));
  CHECK(r.loss > 0.0 && r.loss < 10.0);
  CheckKinds(model, kKinds, sizeof kKinds / sizeof *kKinds);
  OK(st_model_destroy(model));
  OK(st_context_destroy(context));
}

/* A regression of float targets under MSE trains; each loss setting is checked. */
static void TestLosses(void) {
  st_context* context = NULL;
  st_model* model = NULL;
  float images[kBatch * kSide * kSide], targets[kBatch * 2], outputs[kBatch * 2];
  const float weights[2] = {1.0f, 3.0f};
  int32_t labels[kBatch];
  st_step_result first, r;
  int i, step;
  OK(st_context_create(2, NULL, &context));
  OK(st_model_create(context, 1, kSide, kSide, &model));
  OK(st_model_add_conv2d(model, NULL, 4, 3, 1, -1, 1));
  OK(st_model_add_relu(model, NULL));
  OK(st_model_add_global_avgpool(model, NULL));
  OK(st_model_add_linear(model, NULL, 2, 1));
  OK(st_model_finish(model, 5));
  MakeBatch(8, images, labels);
  for (i = 0; i < kBatch; ++i) targets[2 * i] = 0.5f, targets[2 * i + 1] = (float)labels[i] / 4.0f;
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_set_loss(model, (st_loss_kind)9, 0.0, NULL, 0),
                "loss kind");
  EXPECT_STATUS(ST_INVALID_ARGUMENT,
                st_model_set_loss(model, ST_LOSS_SOFTMAX_CROSS_ENTROPY, 0.0, weights, 1),
                "class weights");
  EXPECT_STATUS(ST_INVALID_ARGUMENT,
                st_model_set_loss(model, ST_LOSS_SOFTMAX_CROSS_ENTROPY, 0.0, NULL, 2),
                "class_weights");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_set_loss(model, ST_LOSS_L1, 0.5, NULL, 0),
                "smoothing");
  OK(st_model_set_loss(model, ST_LOSS_SOFTMAX_CROSS_ENTROPY, 0.1, weights, 2));
  EXPECT_STATUS(ST_INVALID_ARGUMENT,
                st_model_train_step_targets(model, images, sizeof images / sizeof *images, targets,
                                            kBatch * 2, kBatch, &r),
                "takes class labels");
  OK(st_model_set_loss(model, ST_LOSS_MSE, 0.0, NULL, 0));
  EXPECT_STATUS(
      ST_INVALID_ARGUMENT,
      st_model_train_step(model, images, sizeof images / sizeof *images, labels, kBatch, &r),
      "takes float targets");
  EXPECT_STATUS(ST_INVALID_ARGUMENT,
                st_model_train_step_targets(model, images, sizeof images / sizeof *images, NULL,
                                            kBatch * 2, kBatch, &r),
                "targets");
  EXPECT_STATUS(ST_SHAPE_MISMATCH,
                st_model_train_step_targets(model, images, sizeof images / sizeof *images, targets,
                                            kBatch, kBatch, &r),
                "targets");
  for (step = 0; step < 30; ++step) {
    OK(st_model_train_step_targets(model, images, sizeof images / sizeof *images, targets,
                                   kBatch * 2, kBatch, &r));
    if (step == 0) first = r;
  }
  CHECK(r.loss < first.loss && r.correct == 0 && r.examples == kBatch);
  OK(st_model_eval_step_targets(model, images, sizeof images / sizeof *images, targets, kBatch * 2,
                                kBatch, &r, outputs, kBatch * 2));
  {
    double want = 0.0;
    for (i = 0; i < kBatch * 2; ++i) want += (outputs[i] - targets[i]) * (outputs[i] - targets[i]);
    CHECK(fabs(r.loss - want / (kBatch * 2)) < 1e-6);
  }
  OK(st_model_destroy(model));
  OK(st_context_destroy(context));
}

static void TestLibrary(void) {
  CHECK(st_version() == ST_VERSION);
  CHECK(strcmp(st_version_string(), "1.4.0") == 0);
  OK(st_check_abi(ST_VERSION));
  EXPECT_STATUS(ST_UNSUPPORTED, st_check_abi(ST_VERSION_ENCODE(2, 0, 0)), "st_check_abi");
  EXPECT_STATUS(ST_UNSUPPORTED, st_check_abi(ST_VERSION_ENCODE(1, 9, 0)), "st_check_abi");
  CHECK(strcmp(st_status_name(ST_BAD_HANDLE), "ST_BAD_HANDLE") == 0);
  CHECK(strcmp(st_status_name((st_status)99), "ST_UNKNOWN") == 0);
  CHECK(st_isa_supported(ST_ISA_AUTO) == 1);
  CHECK(st_get_isa() != ST_ISA_AUTO);
  CHECK(strcmp(st_isa_name(ST_ISA_AVX2), "avx2") == 0);
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_set_isa((st_isa)42), "st_set_isa");
  CHECK(strcmp(st_isa_name(ST_ISA_SVE2), "sve2") == 0);
  {
    /* another architecture's ISAs are refused, changing nothing */
#if defined(__aarch64__)
    const st_isa foreign[] = {ST_ISA_AVX512, ST_ISA_AVX2, ST_ISA_SSE4, ST_ISA_SCALAR};
    CHECK(st_isa_supported(ST_ISA_NEON) == 1);
    OK(st_set_isa(ST_ISA_NEON));
    CHECK(st_get_isa() == ST_ISA_NEON);
    OK(st_set_isa(ST_ISA_AUTO));
#else
    const st_isa foreign[] = {ST_ISA_NEON, ST_ISA_SVE, ST_ISA_SVE2};
    CHECK(st_isa_supported(ST_ISA_SCALAR) == 1);
#endif
    const st_isa before = st_get_isa();
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); ++i) {
      CHECK(st_isa_supported(foreign[i]) == 0);
      EXPECT_STATUS(ST_UNSUPPORTED, st_set_isa(foreign[i]), "st_set_isa");
      CHECK(st_get_isa() == before);
    }
  }
  if (!st_isa_supported(ST_ISA_AVX512)) {
    const st_isa before = st_get_isa();
    EXPECT_STATUS(ST_UNSUPPORTED, st_set_isa(ST_ISA_AVX512), "st_set_isa");
    CHECK(st_get_isa() == before);
  }
}

/* Thread counts: 0 means every available CPU, larger counts are capped unless insisted on. */
static void TestThreads(void) {
  st_context* context;
  int32_t threads = -1;
  const int32_t cpus = st_available_cpus();
  CHECK(cpus >= 1);
  OK(st_context_create(0, NULL, &context));
  OK(st_context_threads(context, &threads));
  CHECK(threads == cpus);
  OK(st_context_destroy(context));
  OK(st_context_create(cpus * 4, NULL, &context));
  OK(st_context_threads(context, &threads));
  CHECK(threads == cpus);
  OK(st_context_destroy(context));
  OK(st_context_create_exact(cpus * 4, NULL, &context));
  OK(st_context_threads(context, &threads));
  CHECK(threads == cpus * 4);
  OK(st_context_destroy(context));
}

static void TestTraining(void) {
  st_context* context = NULL;
  st_model* model;
  float images[kBatch * kSide * kSide], logits[kBatch * kClasses], again[kBatch * kClasses];
  int32_t labels[kBatch];
  st_step_result first, last, eval;
  st_optimizer_config config;
  st_layer_info info;
  st_memory_info memory;
  int64_t count = 0, steps = 0, c = 0, h = 0, w = 0, i;
  int step, saw_conv = 0;
  const char* path = "capi_test_model.safetensors";

  OK(st_context_create(2, NULL, &context));
  model = BuildModel(context);
  OK(st_model_set_kernel(model, ST_KERNEL_DENSE)); /* bit-exact comparisons below */
  OK(st_model_input_dims(model, &c, &h, &w));
  CHECK(c == 1 && h == kSide && w == kSide);
  OK(st_model_classes(model, &c));
  CHECK(c == kClasses);
  OK(st_optimizer_config_default(&config));
  CHECK(config.kind == ST_OPTIMIZER_ADAM);
  config.learning_rate = 3e-3;
  config.schedule = ST_SCHEDULE_COSINE;
  config.total_steps = 60;
  config.clip_norm = 10.0;
  OK(st_model_set_optimizer(model, &config));
  MakeBatch(1, images, labels);
  for (step = 0; step < 60; ++step) {
    st_step_result r;
    OK(st_model_train_step(model, images, sizeof images / sizeof *images, labels, kBatch, &r));
    if (step == 0) first = r;
    last = r;
  }
  CHECK(last.loss < 0.3 * first.loss);
  OK(st_model_steps(model, &steps));
  CHECK(steps == 60);
  OK(st_model_eval_step(model, images, sizeof images / sizeof *images, labels, kBatch, &eval,
                        logits, kBatch * kClasses));
  CHECK(eval.correct >= kBatch - 2 && eval.examples == kBatch);
  OK(st_model_predict(model, images, sizeof images / sizeof *images, kBatch, again,
                      kBatch * kClasses));
  CHECK(memcmp(logits, again, sizeof logits) == 0);

  OK(st_model_layer_count(model, &count));
  /* conv1, pool1 (relu1 fused in), block, conv2, bn1, relu2, flatten1, dropout1, head */
  CHECK(count == 9);
  for (i = 0; i < count; ++i) {
    OK(st_model_layer_info(model, i, &info));
    if (info.is_conv) {
      saw_conv = 1;
      CHECK(info.ran[ST_PASS_FORWARD] == 1);
      CHECK(info.kernel[ST_PASS_FORWARD] == ST_KERNEL_DENSE ||
            info.kernel[ST_PASS_FORWARD] == ST_KERNEL_SPARSE);
    }
  }
  CHECK(saw_conv);
  OK(st_model_layer_info(model, 0, &info));
  CHECK(strcmp(info.name, "conv1") == 0 && strcmp(info.kind, "conv2d") == 0);
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_layer_info(model, count, &info),
                "st_model_layer_info");
  OK(st_model_memory(model, &memory));
  CHECK(memory.parameter_bytes > 0 && memory.optimizer_bytes == 2 * memory.gradient_bytes);

  /* Checkpoint round trip into a fresh model of the same architecture. */
  OK(st_model_save(model, path));
  {
    st_model* restored = BuildModel(context);
    OK(st_model_set_kernel(restored, ST_KERNEL_DENSE));
    OK(st_model_load(restored, path));
    OK(st_model_steps(restored, &steps));
    CHECK(steps == 60);
    OK(st_model_predict(restored, images, sizeof images / sizeof *images, kBatch, again,
                        kBatch * kClasses));
    CHECK(memcmp(logits, again, sizeof logits) == 0);
    OK(st_model_destroy(restored));
  }

  /* Freezing everything but the head: the convolutions stop changing. */
  OK(st_model_set_frozen(model, "conv1", 1));
  OK(st_model_set_frozen(model, "block", 1));
  {
    st_step_result r;
    OK(st_model_train_step(model, images, sizeof images / sizeof *images, labels, kBatch, &r));
    OK(st_model_layer_info(model, 0, &info));
    CHECK(info.frozen == 1 && info.ran[ST_PASS_BACKWARD_WEIGHTS] == 0);
  }
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_set_frozen(model, "nope", 1), "st_model_set_frozen");
  OK(st_model_set_kernel(model, ST_KERNEL_AUTO));
  OK(st_model_destroy(model));
  OK(st_context_destroy(context));
  remove(path);
}

/* Scalar reference convolution, NCHW, for the conv layer test. */
static float At(const float* t, int64_t c_count, int64_t h_count, int64_t w_count, int64_t n,
                int64_t c, int64_t h, int64_t w) {
  if (h < 0 || h >= h_count || w < 0 || w >= w_count) return 0.0f;
  return t[((n * c_count + c) * h_count + h) * w_count + w];
}

static void TestConvLayer(void) {
  const st_conv_desc desc = {2, 3, 7, 6, 5, 3, 3, 2, 1, 1, 1, 1};
  st_context* context = NULL;
  st_conv* conv = NULL;
  st_tensor *x = NULL, *y = NULL, *dy = NULL, *dx = NULL;
  int64_t out_dims[4], x_dims[4] = {2, 3, 7, 6}, n, k, c, p, q, r, s;
  float xs[2 * 3 * 7 * 6], ws[5 * 3 * 3 * 3], bias[5] = {0.1f, -0.2f, 0.3f, 0.0f, 0.5f};
  float ys[2 * 5 * 4 * 6], dys[2 * 5 * 4 * 6], dxs[2 * 3 * 7 * 6], dws[5 * 3 * 3 * 3], dbias[5];
  float want_dx[2 * 3 * 7 * 6], want_dw[5 * 3 * 3 * 3];
  st_kernel kernel;
  size_t i;
  for (i = 0; i < sizeof xs / sizeof *xs; ++i)
    xs[i] = (i % 3 == 0) ? 0.0f : (float)((int)(i * 37 % 19) - 9) / 9.0f;
  for (i = 0; i < sizeof ws / sizeof *ws; ++i) ws[i] = (float)((int)(i * 53 % 23) - 11) / 11.0f;
  for (i = 0; i < sizeof dys / sizeof *dys; ++i)
    dys[i] = (i % 2 == 0) ? 0.0f : (float)((int)(i * 29 % 17) - 8) / 8.0f;

  OK(st_context_create(1, NULL, &context));
  OK(st_conv_create(context, &desc, &conv));
  OK(st_conv_output_dims(conv, out_dims));
  CHECK(out_dims[0] == 2 && out_dims[1] == 5 && out_dims[2] == 4 && out_dims[3] == 6);
  OK(st_conv_set_weights(conv, ws, sizeof ws / sizeof *ws, bias, 5));
  OK(st_tensor_create_from(context, x_dims, ST_LAYOUT_NCHW16C, xs, sizeof xs / sizeof *xs, &x));
  OK(st_tensor_create(context, out_dims, ST_LAYOUT_NCHW16C, &y));
  OK(st_tensor_create_from(context, out_dims, ST_LAYOUT_NCHW16C, dys, sizeof dys / sizeof *dys,
                           &dy));
  OK(st_tensor_create(context, x_dims, ST_LAYOUT_NCHW16C, &dx));

  memset(want_dx, 0, sizeof want_dx);
  memset(want_dw, 0, sizeof want_dw);
  for (kernel = ST_KERNEL_DENSE; kernel <= ST_KERNEL_SPARSE; kernel = (st_kernel)(kernel + 1)) {
    st_conv_call call;
    OK(st_conv_set_kernel(conv, kernel));
    OK(st_conv_forward(conv, x, y));
    OK(st_conv_backward_data(conv, dy, dx));
    OK(st_conv_backward_weights(conv, x, dy));
    OK(st_conv_last_call(conv, ST_PASS_FORWARD, &call));
    CHECK(call.ran == 1 && call.kernel == kernel && call.zeros > 0.0 && call.milliseconds >= 0.0);
    OK(st_tensor_copy_out(y, ys, sizeof ys / sizeof *ys));
    OK(st_tensor_copy_out(dx, dxs, sizeof dxs / sizeof *dxs));
    OK(st_conv_get_gradients(conv, dws, sizeof dws / sizeof *dws, dbias, 5));
    for (n = 0; n < 2; ++n) {
      for (k = 0; k < 5; ++k) {
        for (p = 0; p < 4; ++p) {
          for (q = 0; q < 6; ++q) {
            double sum = bias[k];
            const float g = dys[((n * 5 + k) * 4 + p) * 6 + q];
            for (c = 0; c < 3; ++c) {
              for (r = 0; r < 3; ++r) {
                for (s = 0; s < 3; ++s) {
                  const int64_t h = p * 2 - 1 + r, w = q - 1 + s;
                  const float wv = ws[((k * 3 + c) * 3 + r) * 3 + s];
                  sum += (double)At(xs, 3, 7, 6, n, c, h, w) * wv;
                  if (kernel == ST_KERNEL_DENSE) {
                    if (h >= 0 && h < 7 && w >= 0 && w < 6)
                      want_dx[((n * 3 + c) * 7 + h) * 6 + w] += g * wv;
                    want_dw[((k * 3 + c) * 3 + r) * 3 + s] += g * At(xs, 3, 7, 6, n, c, h, w);
                  }
                }
              }
            }
            CHECK(fabs(ys[((n * 5 + k) * 4 + p) * 6 + q] - sum) < 1e-4);
          }
        }
      }
    }
    for (i = 0; i < sizeof dxs / sizeof *dxs; ++i) CHECK(fabsf(dxs[i] - want_dx[i]) < 1e-4f);
    for (i = 0; i < sizeof dws / sizeof *dws; ++i) CHECK(fabsf(dws[i] - want_dw[i]) < 1e-4f);
  }

  /* Verbose mode: one line per pass on stderr naming the layer, pass, problem, kernel and the
   * Highway target. */
  {
    char line[256] = "";
    FILE* capture = tmpfile();
    const int saved_stderr = dup(2);
    fflush(stderr);
    dup2(fileno(capture), 2);
    st_set_verbose(1);
    OK(st_conv_forward(conv, x, y));
    st_set_verbose(0);
    OK(st_conv_forward(conv, x, y));
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(capture);
    CHECK(fgets(line, sizeof line, capture) != NULL);
    CHECK(strstr(line, "sparsetrain,conv2d,conv,fwd,mb2ic3ih7iw6oc5kh3sh2sw1ph1,sparse,") == line);
    CHECK(strstr(line, ",none,") == NULL); /* the Highway target that ran is named */
    CHECK(strstr(line, "zeros=") != NULL && strstr(line, "ms=") != NULL);
    CHECK(fgets(line, sizeof line, capture) == NULL); /* off again: nothing more */
    fclose(capture);
  }

  /* Misuse of the convolution. */
  {
    st_tensor* plain = NULL;
    st_context* other = NULL;
    st_tensor* foreign = NULL;
    st_conv_desc bad = desc;
    st_conv* none = NULL;
    OK(st_tensor_create(context, x_dims, ST_LAYOUT_NCHW, &plain));
    EXPECT_STATUS(ST_SHAPE_MISMATCH, st_conv_forward(conv, plain, y), "st_conv_forward");
    EXPECT_STATUS(ST_SHAPE_MISMATCH, st_conv_forward(conv, y, x), "st_conv_forward");
    EXPECT_STATUS(ST_INVALID_ARGUMENT, st_conv_forward(conv, NULL, y), "st_conv_forward");
    EXPECT_STATUS(ST_SHAPE_MISMATCH, st_conv_set_weights(conv, ws, 3, NULL, 0),
                  "st_conv_set_weights");
    EXPECT_STATUS(ST_INVALID_ARGUMENT, st_conv_last_call(conv, (st_pass)7, NULL),
                  "st_conv_last_call");
    OK(st_context_create(1, NULL, &other));
    OK(st_tensor_create(other, x_dims, ST_LAYOUT_NCHW16C, &foreign));
    EXPECT_STATUS(ST_BAD_HANDLE, st_conv_forward(conv, foreign, y), "st_conv_forward");
    OK(st_tensor_destroy(foreign));
    OK(st_context_destroy(other));
    bad.kernel_h = 0;
    EXPECT_STATUS(ST_INVALID_ARGUMENT, st_conv_create(context, &bad, &none), "st_conv_create");
    bad = desc;
    bad.pad_w = 3;
    EXPECT_STATUS(ST_INVALID_ARGUMENT, st_conv_create(context, &bad, &none), "st_conv_create");
    bad = desc;
    bad.batch = (int64_t)1 << 40;
    EXPECT_STATUS(ST_INVALID_ARGUMENT, st_conv_create(context, &bad, &none), "st_conv_create");
    CHECK(none == NULL);
    OK(st_tensor_destroy(plain));
  }
  OK(st_tensor_destroy(x));
  OK(st_tensor_destroy(y));
  OK(st_tensor_destroy(dy));
  OK(st_tensor_destroy(dx));
  OK(st_conv_destroy(conv));
  EXPECT_STATUS(ST_BAD_HANDLE, st_conv_destroy(conv), "st_conv_destroy");
  OK(st_context_destroy(context));
}

static void TestMisuse(void) {
  st_context *context = NULL, *other = NULL;
  st_model *model = NULL, *unfinished = NULL, *foreign = NULL;
  st_tensor* tensor = NULL;
  float images[kBatch * kSide * kSide], before[kBatch * kClasses], after[kBatch * kClasses];
  int32_t labels[kBatch];
  st_step_result r;
  int64_t dims[4] = {1, 2, 3, 4}, steps = 0;
  float saved;
  st_optimizer_config config;
  FILE* f;

  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_context_create(-1, NULL, &context), "st_context_create");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_context_create(2, NULL, NULL), "st_context_create");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_context_create_exact(0, NULL, &context),
                "st_context_create_exact");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_context_create_exact(1025, NULL, &context),
                "st_context_create_exact");
  OK(st_context_create(2, NULL, &context));
  OK(st_context_create(1, NULL, &other));

  /* Tensors. */
  dims[1] = 0;
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_tensor_create(context, dims, ST_LAYOUT_NCHW, &tensor),
                "st_tensor_create");
  dims[1] = -2;
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_tensor_create(context, dims, ST_LAYOUT_NCHW, &tensor),
                "st_tensor_create");
  dims[1] = (int64_t)1 << 40;
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_tensor_create(context, dims, ST_LAYOUT_NCHW, &tensor),
                "st_tensor_create");
  dims[1] = 2;
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_tensor_create(context, dims, (st_layout)9, &tensor),
                "st_tensor_create");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_tensor_create(context, NULL, ST_LAYOUT_NCHW, &tensor),
                "st_tensor_create");
  CHECK(tensor == NULL);
  OK(st_tensor_create(context, dims, ST_LAYOUT_NCHW16C, &tensor));
  EXPECT_STATUS(ST_SHAPE_MISMATCH, st_tensor_copy_in(tensor, images, 5), "st_tensor_copy_in");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_tensor_copy_out(tensor, NULL, 24), "st_tensor_copy_out");
  EXPECT_STATUS(ST_SHAPE_MISMATCH,
                st_tensor_wrap(context, dims, ST_LAYOUT_NCHW, images, 3, &tensor),
                "st_tensor_wrap");
  OK(st_tensor_destroy(tensor));
  EXPECT_STATUS(ST_BAD_HANDLE, st_tensor_copy_in(tensor, images, 24), "st_tensor_copy_in");
  {
    /* A wrapped caller buffer: no copy, the tensor reads and writes it. */
    float buffer[24], out[24];
    int64_t got[4];
    st_layout layout;
    int k;
    for (k = 0; k < 24; ++k) buffer[k] = (float)k;
    OK(st_tensor_wrap(context, dims, ST_LAYOUT_NCHW, buffer, 24, &tensor));
    OK(st_tensor_dims(tensor, got));
    OK(st_tensor_layout(tensor, &layout));
    CHECK(got[0] == 1 && got[1] == 2 && got[2] == 3 && got[3] == 4 && layout == ST_LAYOUT_NCHW);
    buffer[7] = -1.0f;
    OK(st_tensor_copy_out(tensor, out, 24));
    CHECK(out[7] == -1.0f && out[23] == 23.0f);
    OK(st_tensor_destroy(tensor));
  }
  EXPECT_STATUS(ST_BAD_HANDLE, st_tensor_destroy(tensor), "st_tensor_destroy");
  EXPECT_STATUS(ST_BAD_HANDLE, st_tensor_destroy((st_tensor*)(uintptr_t)0x12345),
                "st_tensor_destroy");

  /* Building. */
  OK(st_model_create(context, 1, kSide, kSide, &unfinished));
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_train_step(unfinished, images, 1, labels, 1, &r),
                "st_model_train_step");
  EXPECT_STATUS(ST_SHAPE_MISMATCH, st_model_add_linear(unfinished, NULL, 4, 1),
                "st_model_add_linear");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_finish(unfinished, 1), "st_model_finish");
  OK(st_model_add_flatten(unfinished, NULL)); /* the failed layers left the builder usable */
  EXPECT_STATUS(ST_SHAPE_MISMATCH, st_model_add_conv2d(unfinished, NULL, 4, 3, 1, 1, 1),
                "st_model_add_conv2d");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_residual_end(unfinished), "st_model_residual_end");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_add_clip(unfinished, NULL, 1.0f, -1.0f),
                "st_model_add_clip");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_add_hardsigmoid(unfinished, NULL, 0.0f, 0.5f),
                "st_model_add_hardsigmoid");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_add_depthwise_conv2d(unfinished, NULL, 3, 0, 1, 1),
                "st_model_add_depthwise_conv2d");
  EXPECT_STATUS(ST_INVALID_ARGUMENT,
                st_model_add_grouped_conv2d(unfinished, NULL, 6, 3, 1, -1, 1, 4), "groups");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_add_concat(unfinished, NULL, NULL, 2),
                "st_model_add_concat");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_add_concat(unfinished, NULL, NULL, 0),
                "st_model_add_concat");
  EXPECT_STATUS(ST_SHAPE_MISMATCH, st_model_add_avgpool(unfinished, NULL, 2, 2, 0, 1, 0),
                "st_model_add_avgpool");
  EXPECT_STATUS(ST_SHAPE_MISMATCH, st_model_add_adaptive_avgpool(unfinished, NULL, 5),
                "st_model_add_adaptive_avgpool");
  EXPECT_STATUS(ST_SHAPE_MISMATCH, st_model_add_multiply(unfinished, NULL, "input", NULL),
                "st_model_add_multiply");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_from(unfinished, "nope"), "'nope'");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_from(unfinished, NULL), "st_model_from");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_add_add(unfinished, NULL, "input", "nope"),
                "st_model_add_add");
  EXPECT_STATUS(ST_SHAPE_MISMATCH, st_model_add_add(unfinished, NULL, "input", NULL),
                "st_model_add_add");
  OK(st_model_add_linear(unfinished, NULL, 4, 1));
  OK(st_model_finish(unfinished, 1));
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_add_relu(unfinished, NULL), "st_model_add_relu");
  OK(st_model_destroy(unfinished));
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_create(context, 0, kSide, kSide, &unfinished),
                "st_model_create");

  /* Training with bad input changes nothing. */
  model = BuildModel(context);
  OK(st_model_set_kernel(model, ST_KERNEL_DENSE)); /* bit-exact comparisons below */
  OK(st_model_set_check_inputs(model, 1));
  MakeBatch(3, images, labels);
  OK(st_model_train_step(model, images, sizeof images / sizeof *images, labels, kBatch, &r));
  OK(st_model_predict(model, images, sizeof images / sizeof *images, kBatch, before,
                      kBatch * kClasses));
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_train_step(model, NULL, 0, labels, kBatch, &r),
                "st_model_train_step");
  EXPECT_STATUS(
      ST_INVALID_ARGUMENT,
      st_model_train_step(model, images, sizeof images / sizeof *images, NULL, kBatch, &r),
      "st_model_train_step");
  EXPECT_STATUS(ST_INVALID_ARGUMENT,
                st_model_train_step(model, images, sizeof images / sizeof *images, labels, 0, &r),
                "st_model_train_step");
  EXPECT_STATUS(ST_INVALID_ARGUMENT,
                st_model_train_step(model, images, sizeof images / sizeof *images, labels, -4, &r),
                "st_model_train_step");
  EXPECT_STATUS(ST_SHAPE_MISMATCH, st_model_train_step(model, images, 100, labels, kBatch, &r),
                "st_model_train_step");
  EXPECT_STATUS(ST_SHAPE_MISMATCH,
                st_model_predict(model, images, sizeof images / sizeof *images, kBatch, after, 3),
                "st_model_predict");
  labels[3] = kClasses;
  EXPECT_STATUS(
      ST_INVALID_ARGUMENT,
      st_model_train_step(model, images, sizeof images / sizeof *images, labels, kBatch, &r),
      "st_model_train_step");
  labels[3] = 0;
  saved = images[5];
  images[5] = NAN;
  EXPECT_STATUS(
      ST_INVALID_ARGUMENT,
      st_model_train_step(model, images, sizeof images / sizeof *images, labels, kBatch, &r),
      "st_model_train_step");
  images[5] = INFINITY;
  EXPECT_STATUS(ST_INVALID_ARGUMENT,
                st_model_eval_step(model, images, sizeof images / sizeof *images, labels, kBatch,
                                   &r, NULL, 0),
                "st_model_eval_step");
  images[5] = saved;
  OK(st_model_steps(model, &steps));
  CHECK(steps == 1);
  OK(st_optimizer_config_default(&config));
  config.learning_rate = -1.0;
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_set_optimizer(model, &config),
                "st_model_set_optimizer");
  config.learning_rate = 0.1;
  config.kind = (st_optimizer_kind)17;
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_set_optimizer(model, &config),
                "st_model_set_optimizer");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_set_kernel(model, (st_kernel)5),
                "st_model_set_kernel");

  /* Checkpoints: missing, truncated, another architecture. */
  EXPECT_STATUS(ST_IO_ERROR, st_model_load(model, "no_such_checkpoint.safetensors"),
                "st_model_load");
  f = fopen("capi_truncated.safetensors", "wb");
  CHECK(f != NULL);
  if (f != NULL) {
    fputs("\x40\x00\x00\x00\x00\x00\x00\x00{\"a\":", f);
    fclose(f);
  }
  EXPECT_STATUS(ST_CORRUPT_DATA, st_model_load(model, "capi_truncated.safetensors"),
                "st_model_load");
  remove("capi_truncated.safetensors");
  OK(st_model_create(context, 1, kSide, kSide, &foreign));
  OK(st_model_add_flatten(foreign, NULL));
  OK(st_model_add_linear(foreign, "head", kClasses, 1));
  OK(st_model_finish(foreign, 1));
  OK(st_model_save(foreign, "capi_foreign.safetensors"));
  EXPECT_STATUS(ST_CORRUPT_DATA, st_model_load(model, "capi_foreign.safetensors"), "st_model_load");
  remove("capi_foreign.safetensors");
  EXPECT_STATUS(ST_IO_ERROR, st_model_save(model, "no/such/dir/model.safetensors"),
                "st_model_save");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_save(model, NULL), "st_model_save");
  OK(st_model_predict(model, images, sizeof images / sizeof *images, kBatch, after,
                      kBatch * kClasses));
  CHECK(memcmp(before, after, sizeof before) == 0);

  /* Handles: destroyed, forged, of another kind. */
  OK(st_model_destroy(foreign));
  EXPECT_STATUS(ST_BAD_HANDLE,
                st_model_predict(foreign, images, sizeof images / sizeof *images, kBatch, after,
                                 kBatch * kClasses),
                "st_model_predict");
  EXPECT_STATUS(ST_BAD_HANDLE, st_model_steps((const st_model*)context, &steps), "st_model_steps");
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_model_steps(NULL, &steps), "st_model_steps");

  /* A destroyed context keeps its objects working but makes no new ones. */
  OK(st_context_destroy(context));
  EXPECT_STATUS(ST_BAD_HANDLE, st_model_create(context, 1, 4, 4, &unfinished), "st_model_create");
  OK(st_model_predict(model, images, sizeof images / sizeof *images, kBatch, after,
                      kBatch * kClasses));
  OK(st_model_destroy(model));
  OK(st_context_destroy(other));
}

static size_t live_allocations = 0, total_allocations = 0;
static int64_t live_bytes = 0;

/* Each block is preceded by a header of kHeader bytes that records its size; the library asks
 * for at most that alignment. */
enum { kHeader = 64 };

static void* CountingAlloc(void* user, size_t bytes, size_t alignment) {
  char* block;
  (void)user;
  CHECK(alignment > 0 && alignment <= kHeader && kHeader % alignment == 0);
  block = aligned_alloc(kHeader, kHeader + (bytes + kHeader - 1) / kHeader * kHeader);
  if (block == NULL) return NULL;
  ++live_allocations;
  ++total_allocations;
  live_bytes += (int64_t)bytes;
  memcpy(block, &bytes, sizeof bytes);
  return block + kHeader;
}

static void CountingFree(void* user, void* ptr) {
  char* block = (char*)ptr - kHeader;
  size_t bytes;
  (void)user;
  memcpy(&bytes, block, sizeof bytes);
  --live_allocations;
  live_bytes -= (int64_t)bytes;
  free(block);
}

static void TestAllocator(void) {
  st_allocator allocator = {CountingAlloc, CountingFree, NULL};
  st_allocator incomplete = {CountingAlloc, NULL, NULL};
  st_context* context = NULL;
  st_model* model;
  float images[kBatch * kSide * kSide];
  int32_t labels[kBatch];
  st_step_result r;
  EXPECT_STATUS(ST_INVALID_ARGUMENT, st_context_create(1, &incomplete, &context),
                "st_context_create");
  OK(st_context_create(1, &allocator, &context));
  model = BuildModel(context);
  MakeBatch(5, images, labels);
  OK(st_model_train_step(model, images, sizeof images / sizeof *images, labels, kBatch, &r));
  CHECK(total_allocations > 10 && live_allocations > 0);
  {
    /* The model reports every byte it holds from the allocator. */
    st_memory_info m;
    OK(st_model_memory(model, &m));
    CHECK(m.parameter_bytes + m.gradient_bytes + m.optimizer_bytes + m.activation_bytes +
              m.workspace_bytes ==
          live_bytes);
  }
  OK(st_model_destroy(model));
  OK(st_context_destroy(context));
  CHECK(live_allocations == 0 && live_bytes == 0);

  /* A standalone convolution's scratch (a strided 1x1 subsamples its input) and transposed
   * weights come through the allocator too. */
  {
    const st_conv_desc desc = {2, 16, 6, 6, 16, 1, 1, 2, 2, 0, 0, 1};
    const int64_t x_dims[4] = {2, 16, 6, 6}, y_dims[4] = {2, 16, 3, 3};
    st_conv* conv;
    st_tensor *x, *y;
    size_t before;
    OK(st_context_create(1, &allocator, &context));
    OK(st_conv_create(context, &desc, &conv));
    OK(st_tensor_create(context, x_dims, ST_LAYOUT_NCHW16C, &x));
    OK(st_tensor_create(context, y_dims, ST_LAYOUT_NCHW16C, &y));
    before = total_allocations;
    OK(st_conv_forward(conv, x, y));
    CHECK(total_allocations > before);
    before = total_allocations;
    OK(st_conv_backward_data(conv, y, x));
    CHECK(total_allocations > before);
    OK(st_conv_backward_weights(conv, x, y));
    OK(st_tensor_destroy(x));
    OK(st_tensor_destroy(y));
    OK(st_conv_destroy(conv));
    OK(st_context_destroy(context));
    CHECK(live_allocations == 0);
  }
}

int main(void) {
  TestLibrary();
  TestThreads();
  TestTraining();
  TestBranches();
  TestActivations();
  TestJoinsAndPoolings();
  TestLosses();
  TestConvLayer();
  TestMisuse();
  TestAllocator();
  if (failures != 0) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("all C API checks passed\n");
  return 0;
}
