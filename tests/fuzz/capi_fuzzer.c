/* libFuzzer harness: sequences of C API calls decoded from the input. Each byte picks a call
 * and the next bytes its arguments (small sizes, names from a short list, NULLs and wrong counts
 * included), on one context and one model at a time, with destroyed handles reused on purpose.
 * Every call must return a status, with a message when it is not ST_OK; nothing may crash, leak
 * or trip a sanitizer. Run by tests/fuzz/run_fuzzers.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sparsetrain/sparsetrain.h"

typedef struct {
  const uint8_t* data;
  size_t size;
} Input;

static int Byte(Input* in) {
  if (in->size == 0) return -1;
  --in->size;
  return *in->data++;
}

/* A small number in [lo, lo + span), from one byte (lo when the input has run out). */
static int64_t Small(Input* in, int64_t lo, int64_t span) {
  const int b = Byte(in);
  return b < 0 ? lo : lo + b % span;
}

static const char* Name(Input* in) {
  static const char* const names[] = {NULL,    "",    "input", "conv1", "relu1",  "fc1",
                                      "pool1", "bn1", "x",     "block", "layer1", "conv1.weight"};
  return names[Small(in, 0, sizeof names / sizeof names[0])];
}

static void Expect(st_status status) {
  if (status != ST_OK && st_last_error_message()[0] == '\0') abort(); /* a refusal says why */
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in = {data, size};
  st_context* context = NULL;
  st_model* model = NULL;
  int op;
  float images[4 * 2 * 8 * 8], logits[4 * 8];
  int32_t labels[4];
  unsigned char bytes[256];
  size_t byte_count = 0, i;
  for (i = 0; i < sizeof images / sizeof images[0]; ++i) images[i] = (float)(i % 7) - 3.0f;
  if (st_context_create((int32_t)Small(&in, 1, 2), NULL, &context) != ST_OK) return 0;
  while ((op = Byte(&in)) >= 0) {
    const int64_t a = Small(&in, -1, 6), b = Small(&in, 0, 4), c = Small(&in, -1, 4);
    /* Counts the calls are told are within the buffers they get: lying about a buffer's size
     * is beyond what a C API can check. */
    const size_t count = (size_t)Small(&in, 0, 256);
    const size_t image_count = count * 2 % (sizeof images / sizeof images[0] + 1);
    const int64_t batch = Small(&in, -1, 6);
    for (i = 0; i < 4; ++i) labels[i] = (int32_t)Small(&in, -1, 10);
    switch (op % 24) {
      case 0:
        if (model == NULL)
          Expect(st_model_create(context, Small(&in, 0, 3), Small(&in, 0, 9), Small(&in, 0, 9),
                                 &model));
        break;
      case 1:
        Expect(st_model_add_conv2d(model, Name(&in), a, b, c, Small(&in, -1, 3), (int32_t)b % 2));
        break;
      case 2:
        Expect(st_model_add_relu(model, Name(&in)));
        break;
      case 3:
        Expect(st_model_add_maxpool(model, Name(&in), a, b, c));
        break;
      case 4:
        Expect(st_model_add_batchnorm(model, Name(&in), 1e-5, 0.1));
        break;
      case 5:
        Expect(st_model_add_flatten(model, Name(&in)));
        break;
      case 6:
        Expect(st_model_add_linear(model, Name(&in), a, (int32_t)b % 2));
        break;
      case 7:
        Expect(st_model_add_global_avgpool(model, Name(&in)));
        break;
      case 8:
        Expect(st_model_add_add(model, Name(&in), Name(&in), Name(&in)));
        break;
      case 9:
        Expect(st_model_from(model, Name(&in)));
        break;
      case 10:
        Expect(st_model_add_depthwise_conv2d(model, Name(&in), b, c, a, 1));
        break;
      case 11:
        Expect(st_model_add_avgpool(model, Name(&in), a, b, c, (int32_t)b % 2, (int32_t)c % 2));
        break;
      case 12:
        Expect(st_model_finish(model, (uint64_t)b));
        break;
      case 13:
        Expect(
            st_model_train_step(model, b == 0 ? NULL : images, image_count, labels, batch, NULL));
        break;
      case 14: {
        st_step_result result;
        Expect(st_model_train_step(model, images, image_count, b == 0 ? NULL : labels, batch,
                                   &result));
        break;
      }
      case 15:
        Expect(st_model_predict(model, images, image_count, batch, b == 0 ? NULL : logits,
                                count % 33));
        break;
      case 16:
        Expect(st_model_set_frozen(model, Name(&in), (int32_t)b % 2));
        break;
      case 17:
        Expect(st_model_save_buffer(model, b == 0 ? NULL : bytes, count, &byte_count));
        break;
      case 18:
        for (i = 0; i < sizeof bytes; ++i) bytes[i] = (unsigned char)Small(&in, 0, 256);
        Expect(st_model_load_buffer(model, bytes, count));
        break;
      case 19: {
        st_parameter_info info;
        Expect(st_model_parameter_info(model, a, b == 0 ? NULL : &info));
        break;
      }
      case 20:
        Expect(st_model_get_parameter(model, Name(&in), logits, count % 33));
        Expect(st_model_set_parameter(model, Name(&in), logits, count % 33));
        break;
      case 21:
        Expect(st_model_set_kernel(model, (st_kernel)a));
        break;
      case 22:
        Expect(st_model_destroy(model));
        if (b != 0) model = NULL; /* else the destroyed handle is used again: refused */
        break;
      default: {
        st_optimizer_config config;
        st_optimizer_config_default(&config);
        config.kind = (st_optimizer_kind)a;
        config.learning_rate = (double)c / 4;
        Expect(st_model_set_optimizer(model, &config));
        break;
      }
    }
  }
  if (model != NULL) st_model_destroy(model); /* may be refused: already destroyed */
  st_context_destroy(context);
  return 0;
}
