/* One SWIG interface for the Java, C# and Go bindings.
 *
 * It wraps a binding-friendly layer over the C API (capi/include/sparsetrain/sparsetrain.h):
 * handles and values come back as return values instead of out-parameters, the status of each
 * call is kept per thread (stb_status, stb_message), and float/int/double buffers pass as the
 * language's own arrays (Java primitive arrays, C# arrays, Go slices) with their lengths, which
 * the C API checks. The idiomatic layers (bindings/java, bindings/csharp, bindings/go) turn a
 * non-OK status into the language's error and own the handles. */
%module sparsetrain_native

%{
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparsetrain/sparsetrain.h"

static _Thread_local st_status stb_status_ = ST_OK;
static _Thread_local char stb_text_[64];
/* The message of a refusal by this layer itself, which the C API's last error does not hold. */
static _Thread_local char stb_error_[160];
static _Thread_local int stb_error_is_ours_ = 0;

static int32_t stb_set(st_status status) {
  stb_status_ = status;
  stb_error_is_ours_ = 0;
  return (int32_t)status;
}

static int32_t stb_fail(st_status status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(stb_error_, sizeof stb_error_, format, args);
  va_end(args);
  stb_status_ = status;
  stb_error_is_ours_ = 1;
  return (int32_t)status;
}

/* An empty name asks for an automatic one. */
static const char* stb_name(const char* name) { return name != NULL && name[0] != '\0' ? name : NULL; }

/* Whether elements [offset, offset + count) lie in an array of `length`; if not, the status and
 * message say why. */
static int stb_fits(const char* what, int64_t length, int64_t offset, int64_t count) {
  if (offset < 0 || count < 0) {
    stb_fail(ST_INVALID_ARGUMENT, "%s: offset %lld and count %lld must not be negative", what,
             (long long)offset, (long long)count);
    return 0;
  }
  if (offset > length || count > length - offset) {
    stb_fail(ST_INVALID_ARGUMENT, "%s: offset %lld and count %lld overrun the array of %lld", what,
             (long long)offset, (long long)count, (long long)length);
    return 0;
  }
  return 1;
}
/* Element `offset` of an array that may be absent (a null Java/C# array, a nil Go slice). */
#define STB_AT(array, offset) ((array) != NULL ? (array) + (offset) : NULL)

/* The internal arrays of numbers this layer fills for the bindings have fixed sizes. */
static int stb_numbers_fit(int64_t count, int64_t needed) {
  if (count == needed) return 1;
  stb_fail(ST_SHAPE_MISMATCH, "the result array holds %lld numbers, not %lld", (long long)count,
           (long long)needed);
  return 0;
}
static int stb_result_fits(int64_t count) { return stb_numbers_fit(count, 4); }

static int32_t stb_result(st_status status, const st_step_result* r, double* result) {
  if (status == ST_OK) {
    result[0] = r->loss, result[1] = (double)r->correct, result[2] = (double)r->examples;
    result[3] = r->grad_norm;
  }
  return stb_set(status);
}

%}

%include <stdint.i>

/* ---- Arrays: (pointer, count) pairs from each language's native array type. */
#if defined(SWIGJAVA)
/* The glue shares the package of the idiomatic classes but is not API: package-private. */
%pragma(java) jniclassclassmodifiers = "final class"
%pragma(java) moduleclassmodifiers = "final class"
%typemap(javaclassmodifiers) SWIGTYPE* "final class"
%define ST_JAVA_ARRAY(CTYPE, JNITYPE, JTYPE, RELEASE_MODE)
%typemap(jni) (CTYPE* data, int64_t count) #JNITYPE "Array"
%typemap(jtype) (CTYPE* data, int64_t count) #JTYPE "[]"
%typemap(jstype) (CTYPE* data, int64_t count) #JTYPE "[]"
%typemap(javain) (CTYPE* data, int64_t count) "$javainput"
%typemap(in) (CTYPE* data, int64_t count) {
  $2 = $input ? (int64_t)JCALL1(GetArrayLength, jenv, $input) : 0;
  $1 = NULL;
}
/* Pinned, not copied, for the length of the call. "check" typemaps run after every "in", so no
 * other JNI call happens while an array is held. */
%typemap(check) (CTYPE* data, int64_t count) {
  $1 = $input ? ($1_ltype)JCALL2(GetPrimitiveArrayCritical, jenv, $input, 0) : NULL;
}
%typemap(freearg) (CTYPE* data, int64_t count) {
  if ($1) JCALL3(ReleasePrimitiveArrayCritical, jenv, $input, (void*)$1, RELEASE_MODE);
}
%enddef
ST_JAVA_ARRAY(const float, jfloat, float, JNI_ABORT)
ST_JAVA_ARRAY(float, jfloat, float, 0)
ST_JAVA_ARRAY(const int32_t, jint, int, JNI_ABORT)
ST_JAVA_ARRAY(double, jdouble, double, 0)
ST_JAVA_ARRAY(const unsigned char, jbyte, byte, JNI_ABORT)
ST_JAVA_ARRAY(unsigned char, jbyte, byte, 0)
#elif defined(SWIGCSHARP)
/* C# arrays are pinned by the marshaller (blittable types: no copy); the length goes separately. */
%include <arrays_csharp.i>
%apply float INPUT[] { const float* data, const float* weights, const float* bias, const float* images,
                       const float* targets, const float* class_weights };
%apply float INOUT[] { float* data, float* weights_out, float* bias_out, float* logits, float* outputs };
%apply int INPUT[] { const int32_t* labels };
%apply double INOUT[] { double* result };
%apply unsigned char INPUT[] { const unsigned char* bytes };
%apply unsigned char INOUT[] { unsigned char* bytes_out };
#elif defined(SWIGGO)
%define ST_GO_ARRAY(CTYPE, GOTYPE)
%typemap(gotype) (CTYPE* data, int64_t count) "[]" #GOTYPE
%typemap(in) (CTYPE* data, int64_t count) %{
  $1 = ($1_ltype)$input.array;
  $2 = (int64_t)$input.len;
%}
%enddef
ST_GO_ARRAY(const float, float32)
ST_GO_ARRAY(float, float32)
ST_GO_ARRAY(const int32_t, int32)
ST_GO_ARRAY(double, float64)
ST_GO_ARRAY(const unsigned char, byte)
ST_GO_ARRAY(unsigned char, byte)
#endif


typedef struct st_context st_context;
typedef struct st_tensor st_tensor;
typedef struct st_conv st_conv;
typedef struct st_model st_model;

#if !defined(SWIGCSHARP)
%apply (const float* data, int64_t count) { (const float* weights, int64_t weight_count),
                                            (const float* bias, int64_t bias_count),
                                            (const float* images, int64_t image_length),
                                            (const float* targets, int64_t target_length),
                                            (const float* class_weights, int64_t class_weight_count) };
%apply (float* data, int64_t count) { (float* weights_out, int64_t weights_out_count),
                                      (float* bias_out, int64_t bias_out_count),
                                      (float* logits, int64_t logit_length),
                                      (float* outputs, int64_t output_length) };
%apply (const int32_t* data, int64_t count) { (const int32_t* labels, int64_t label_length) };
%apply (double* data, int64_t count) { (double* result, int64_t result_count) };
%apply (const unsigned char* data, int64_t count) { (const unsigned char* bytes, int64_t byte_count) };
%apply (unsigned char* data, int64_t count) { (unsigned char* bytes_out, int64_t bytes_out_count) };
#endif

%inline %{
/* Status of the calling thread's last call, and its message. */
int32_t stb_status(void) { return (int32_t)stb_status_; }
const char* stb_message(void) { return stb_error_is_ours_ ? stb_error_ : st_last_error_message(); }
const char* stb_status_name(int32_t status) { return st_status_name((st_status)status); }

uint32_t stb_version(void) { return st_version(); }
const char* stb_version_string(void) { return st_version_string(); }
int32_t stb_isa_supported(int32_t isa) { return st_isa_supported((st_isa)isa); }
int32_t stb_set_isa(int32_t isa) { return stb_set(st_set_isa((st_isa)isa)); }
int32_t stb_get_isa(void) { return (int32_t)st_get_isa(); }
const char* stb_isa_name(int32_t isa) { return st_isa_name((st_isa)isa); }
void stb_set_verbose(int32_t level) { st_set_verbose(level); }

st_context* stb_context_create(int32_t threads) {
  st_context* c = NULL;
  stb_set(st_context_create(threads, NULL, &c));
  return c;
}
int32_t stb_context_destroy(st_context* c) { return stb_set(st_context_destroy(c)); }
int32_t stb_context_threads(st_context* c) {
  int32_t t = 0;
  stb_set(st_context_threads(c, &t));
  return t;
}

/* A tensor of (n, c, h, w) in `layout`, filled from data (NCHW) when it is not empty. */
st_tensor* stb_tensor_create(st_context* c, int64_t n, int64_t ch, int64_t h, int64_t w,
                             int32_t layout, const float* data, int64_t count) {
  const int64_t dims[4] = {n, ch, h, w};
  st_tensor* t = NULL;
  if (data != NULL && count > 0) {
    stb_set(st_tensor_create_from(c, dims, (st_layout)layout, data, (size_t)count, &t));
  } else {
    stb_set(st_tensor_create(c, dims, (st_layout)layout, &t));
  }
  return t;
}
int32_t stb_tensor_destroy(st_tensor* t) { return stb_set(st_tensor_destroy(t)); }
int64_t stb_tensor_dim(st_tensor* t, int32_t i) {
  int64_t dims[4] = {0, 0, 0, 0};
  if (stb_set(st_tensor_dims(t, dims)) != ST_OK) return 0;
  return i >= 0 && i < 4 ? dims[i] : 0;
}
int32_t stb_tensor_copy_in(st_tensor* t, const float* data, int64_t count) {
  return stb_set(st_tensor_copy_in(t, data, (size_t)count));
}
int32_t stb_tensor_copy_out(st_tensor* t, float* data, int64_t count) {
  return stb_set(st_tensor_copy_out(t, data, (size_t)count));
}

st_conv* stb_conv_create(st_context* c, int64_t batch, int64_t in_channels, int64_t height,
                         int64_t width, int64_t out_channels, int64_t kernel, int64_t stride,
                         int64_t pad, int32_t bias) {
  st_conv_desc d;
  st_conv* conv = NULL;
  d.batch = batch, d.in_channels = in_channels, d.height = height, d.width = width;
  d.out_channels = out_channels, d.kernel_h = d.kernel_w = kernel;
  d.stride_h = d.stride_w = stride, d.pad_h = d.pad_w = pad, d.bias = bias;
  stb_set(st_conv_create(c, &d, &conv));
  return conv;
}
int32_t stb_conv_destroy(st_conv* conv) { return stb_set(st_conv_destroy(conv)); }
int64_t stb_conv_output_dim(st_conv* conv, int32_t i) {
  int64_t dims[4] = {0, 0, 0, 0};
  if (stb_set(st_conv_output_dims(conv, dims)) != ST_OK) return 0;
  return i >= 0 && i < 4 ? dims[i] : 0;
}
int32_t stb_conv_set_weights(st_conv* conv, const float* weights, int64_t weight_count,
                             const float* bias, int64_t bias_count) {
  return stb_set(st_conv_set_weights(conv, weights, (size_t)weight_count, bias, (size_t)bias_count));
}
int32_t stb_conv_get(st_conv* conv, int32_t gradients, float* weights_out, int64_t weights_out_count,
                     float* bias_out, int64_t bias_out_count) {
  return stb_set(gradients ? st_conv_get_gradients(conv, weights_out, (size_t)weights_out_count,
                                                    bias_out, (size_t)bias_out_count)
                           : st_conv_get_weights(conv, weights_out, (size_t)weights_out_count,
                                                 bias_out, (size_t)bias_out_count));
}
int32_t stb_conv_set_kernel(st_conv* conv, int32_t kernel) {
  return stb_set(st_conv_set_kernel(conv, (st_kernel)kernel));
}
int32_t stb_conv_forward(st_conv* conv, st_tensor* x, st_tensor* y) {
  return stb_set(st_conv_forward(conv, x, y));
}
int32_t stb_conv_backward_data(st_conv* conv, st_tensor* dy, st_tensor* dx) {
  return stb_set(st_conv_backward_data(conv, dy, dx));
}
int32_t stb_conv_backward_weights(st_conv* conv, st_tensor* x, st_tensor* dy) {
  return stb_set(st_conv_backward_weights(conv, x, dy));
}
/* The last call of `pass`: result = {ran, kernel, zeros, milliseconds}. */
int32_t stb_conv_last_call(st_conv* conv, int32_t pass, double* result, int64_t result_count) {
  st_conv_call call;
  if (!stb_result_fits(result_count)) return stb_status_;
  if (stb_set(st_conv_last_call(conv, (st_pass)pass, &call)) != ST_OK) return stb_status_;
  result[0] = call.ran, result[1] = call.kernel, result[2] = call.zeros, result[3] = call.milliseconds;
  return ST_OK;
}


st_model* stb_model_create(st_context* c, int64_t channels, int64_t height, int64_t width) {
  st_model* m = NULL;
  stb_set(st_model_create(c, channels, height, width, &m));
  return m;
}
int32_t stb_model_destroy(st_model* m) { return stb_set(st_model_destroy(m)); }
int32_t stb_model_add_conv2d(st_model* m, const char* name, int64_t out_channels, int64_t kernel,
                             int64_t stride, int64_t pad, int32_t bias) {
  return stb_set(st_model_add_conv2d(m, stb_name(name), out_channels, kernel, stride, pad, bias));
}
int32_t stb_model_add_grouped_conv2d(st_model* m, const char* name, int64_t out_channels,
                                     int64_t kernel, int64_t stride, int64_t pad, int32_t bias,
                                     int64_t groups) {
  return stb_set(st_model_add_grouped_conv2d(m, stb_name(name), out_channels, kernel, stride, pad,
                                             bias, groups));
}
int32_t stb_model_add_depthwise_conv2d(st_model* m, const char* name, int64_t kernel,
                                       int64_t stride, int64_t pad, int32_t bias) {
  return stb_set(st_model_add_depthwise_conv2d(m, stb_name(name), kernel, stride, pad, bias));
}
int32_t stb_model_add_batchnorm(st_model* m, const char* name) {
  return stb_set(st_model_add_batchnorm(m, stb_name(name), 1e-5, 0.1));
}
int32_t stb_model_add_relu(st_model* m, const char* name) {
  return stb_set(st_model_add_relu(m, stb_name(name)));
}
int32_t stb_model_add_maxpool(st_model* m, const char* name, int64_t window, int64_t stride, int64_t pad) {
  return stb_set(st_model_add_maxpool(m, stb_name(name), window, stride, pad));
}
int32_t stb_model_add_global_avgpool(st_model* m, const char* name) {
  return stb_set(st_model_add_global_avgpool(m, stb_name(name)));
}
int32_t stb_model_add_flatten(st_model* m, const char* name) {
  return stb_set(st_model_add_flatten(m, stb_name(name)));
}
int32_t stb_model_add_dropout(st_model* m, const char* name, float probability) {
  return stb_set(st_model_add_dropout(m, stb_name(name), probability));
}
int32_t stb_model_add_linear(st_model* m, const char* name, int64_t out_features, int32_t bias) {
  return stb_set(st_model_add_linear(m, stb_name(name), out_features, bias));
}
int32_t stb_model_add_relu6(st_model* m, const char* name) {
  return stb_set(st_model_add_relu6(m, stb_name(name)));
}
int32_t stb_model_add_clip(st_model* m, const char* name, float min, float max) {
  return stb_set(st_model_add_clip(m, stb_name(name), min, max));
}
int32_t stb_model_add_sigmoid(st_model* m, const char* name) {
  return stb_set(st_model_add_sigmoid(m, stb_name(name)));
}
int32_t stb_model_add_hardsigmoid(st_model* m, const char* name, float alpha, float beta) {
  return stb_set(st_model_add_hardsigmoid(m, stb_name(name), alpha, beta));
}
int32_t stb_model_add_hardswish(st_model* m, const char* name) {
  return stb_set(st_model_add_hardswish(m, stb_name(name)));
}
int32_t stb_model_add_silu(st_model* m, const char* name) {
  return stb_set(st_model_add_silu(m, stb_name(name)));
}
int32_t stb_model_from(st_model* m, const char* tensor) {
  return stb_set(st_model_from(m, stb_name(tensor)));
}
int32_t stb_model_add_add(st_model* m, const char* name, const char* a, const char* b) {
  return stb_set(st_model_add_add(m, stb_name(name), stb_name(a), stb_name(b)));
}
int32_t stb_model_add_maxpool_ceil(st_model* m, const char* name, int64_t window, int64_t stride,
                                   int64_t pad) {
  return stb_set(st_model_add_maxpool_ceil(m, stb_name(name), window, stride, pad));
}
int32_t stb_model_add_avgpool(st_model* m, const char* name, int64_t window, int64_t stride,
                              int64_t pad, int32_t count_include_pad, int32_t ceil_mode) {
  return stb_set(st_model_add_avgpool(m, stb_name(name), window, stride, pad, count_include_pad,
                                      ceil_mode));
}
int32_t stb_model_add_adaptive_avgpool(st_model* m, const char* name, int64_t size) {
  return stb_set(st_model_add_adaptive_avgpool(m, stb_name(name), size));
}
int32_t stb_model_add_multiply(st_model* m, const char* name, const char* a, const char* b) {
  return stb_set(st_model_add_multiply(m, stb_name(name), stb_name(a), stb_name(b)));
}
/* The input names arrive joined by newlines (one string crosses every binding's boundary the
 * same way); an empty entry is the current tensor. */
int32_t stb_model_add_concat(st_model* m, const char* name, const char* joined_inputs) {
  const char* joined = joined_inputs != NULL ? joined_inputs : "";
  size_t count = 1, i;
  for (i = 0; joined[i] != '\0'; ++i) count += joined[i] == '\n';
  char* names = (char*)malloc(strlen(joined) + 1);
  const char** inputs = (const char**)malloc(count * sizeof *inputs);
  if (names == NULL || inputs == NULL) {
    free(names);
    free(inputs);
    return stb_set(ST_OUT_OF_MEMORY);
  }
  strcpy(names, joined);
  char* at = names;
  for (i = 0; i < count; ++i) {
    char* end = strchr(at, '\n');
    if (end != NULL) *end = '\0';
    inputs[i] = stb_name(at);
    at = end != NULL ? end + 1 : at;
  }
  const int32_t status = stb_set(st_model_add_concat(m, stb_name(name), inputs, count));
  free(names);
  free(inputs);
  return status;
}
int32_t stb_model_residual_begin(st_model* m, const char* name) {
  return stb_set(st_model_residual_begin(m, stb_name(name)));
}
int32_t stb_model_residual_shortcut(st_model* m) { return stb_set(st_model_residual_shortcut(m)); }
int32_t stb_model_residual_end(st_model* m) { return stb_set(st_model_residual_end(m)); }
int32_t stb_model_finish(st_model* m, int64_t seed) { return stb_set(st_model_finish(m, (uint64_t)seed)); }

int32_t stb_model_set_optimizer(st_model* m, int32_t kind, double learning_rate, double momentum,
                                int32_t nesterov, double weight_decay, double clip_norm,
                                int32_t schedule, int64_t warmup_steps, int64_t total_steps) {
  st_optimizer_config config;
  st_optimizer_config_default(&config);
  config.kind = (st_optimizer_kind)kind;
  config.learning_rate = learning_rate;
  config.momentum = momentum;
  config.nesterov = nesterov;
  config.weight_decay = weight_decay;
  config.clip_norm = clip_norm;
  config.schedule = (st_schedule_kind)schedule;
  config.warmup_steps = warmup_steps;
  config.total_steps = total_steps;
  return stb_set(st_model_set_optimizer(m, &config));
}
int32_t stb_model_set_kernel(st_model* m, int32_t kernel) {
  return stb_set(st_model_set_kernel(m, (st_kernel)kernel));
}
int32_t stb_model_set_check_inputs(st_model* m, int32_t check) {
  return stb_set(st_model_set_check_inputs(m, check));
}
int32_t stb_model_set_frozen(st_model* m, const char* layer, int32_t frozen) {
  return stb_set(st_model_set_frozen(m, layer, frozen));
}

int32_t stb_model_set_loss(st_model* m, int32_t kind, double label_smoothing,
                           const float* class_weights, int64_t class_weight_count) {
  return stb_set(st_model_set_loss(m, (st_loss_kind)kind, label_smoothing,
                                   class_weight_count > 0 ? class_weights : NULL,
                                   (size_t)class_weight_count));
}
/* The batch calls. Each array comes with its length, then the offset and count of the elements
 * the call uses (a window, so a batch can be taken from a larger array without a copy); the
 * label window holds `batch` labels. The C API checks the counts against the batch.
 * result = {loss, correct, examples, grad_norm}; an evaluation's logits or outputs may be
 * absent (count 0). */
int32_t stb_model_train_step(st_model* m, const float* images, int64_t image_length,
                             int64_t image_offset, int64_t image_count, const int32_t* labels,
                             int64_t label_length, int64_t label_offset, int64_t batch,
                             double* result, int64_t result_count) {
  st_step_result r;
  if (!stb_fits("images", image_length, image_offset, image_count) ||
      !stb_fits("labels", label_length, label_offset, batch > 0 ? batch : 0) ||
      !stb_result_fits(result_count))
    return stb_status_;
  return stb_result(st_model_train_step(m, STB_AT(images, image_offset), (size_t)image_count,
                                        STB_AT(labels, label_offset), batch, &r),
                    &r, result);
}
int32_t stb_model_eval_step(st_model* m, const float* images, int64_t image_length,
                            int64_t image_offset, int64_t image_count, const int32_t* labels,
                            int64_t label_length, int64_t label_offset, int64_t batch,
                            double* result, int64_t result_count, float* logits,
                            int64_t logit_length, int64_t logit_offset, int64_t logit_count) {
  st_step_result r;
  if (!stb_fits("images", image_length, image_offset, image_count) ||
      !stb_fits("labels", label_length, label_offset, batch > 0 ? batch : 0) ||
      !stb_fits("logits", logit_length, logit_offset, logit_count) ||
      !stb_result_fits(result_count))
    return stb_status_;
  return stb_result(st_model_eval_step(m, STB_AT(images, image_offset), (size_t)image_count,
                                       STB_AT(labels, label_offset), batch, &r,
                                       logit_count > 0 ? logits + logit_offset : NULL,
                                       (size_t)logit_count),
                    &r, result);
}
int32_t stb_model_train_step_targets(st_model* m, const float* images, int64_t image_length,
                                     int64_t image_offset, int64_t image_count,
                                     const float* targets, int64_t target_length,
                                     int64_t target_offset, int64_t target_count, int64_t batch,
                                     double* result, int64_t result_count) {
  st_step_result r;
  if (!stb_fits("images", image_length, image_offset, image_count) ||
      !stb_fits("targets", target_length, target_offset, target_count) ||
      !stb_result_fits(result_count))
    return stb_status_;
  return stb_result(st_model_train_step_targets(m, STB_AT(images, image_offset),
                                                (size_t)image_count, STB_AT(targets, target_offset),
                                                (size_t)target_count, batch, &r),
                    &r, result);
}
int32_t stb_model_eval_step_targets(st_model* m, const float* images, int64_t image_length,
                                    int64_t image_offset, int64_t image_count,
                                    const float* targets, int64_t target_length,
                                    int64_t target_offset, int64_t target_count, int64_t batch,
                                    double* result, int64_t result_count, float* outputs,
                                    int64_t output_length, int64_t output_offset,
                                    int64_t output_count) {
  st_step_result r;
  if (!stb_fits("images", image_length, image_offset, image_count) ||
      !stb_fits("targets", target_length, target_offset, target_count) ||
      !stb_fits("outputs", output_length, output_offset, output_count) ||
      !stb_result_fits(result_count))
    return stb_status_;
  return stb_result(st_model_eval_step_targets(m, STB_AT(images, image_offset),
                                               (size_t)image_count, STB_AT(targets, target_offset),
                                               (size_t)target_count, batch, &r,
                                               output_count > 0 ? outputs + output_offset : NULL,
                                               (size_t)output_count),
                    &r, result);
}
int32_t stb_model_predict(st_model* m, const float* images, int64_t image_length,
                          int64_t image_offset, int64_t image_count, int64_t batch, float* logits,
                          int64_t logit_length, int64_t logit_offset, int64_t logit_count) {
  if (!stb_fits("images", image_length, image_offset, image_count) ||
      !stb_fits("logits", logit_length, logit_offset, logit_count))
    return stb_status_;
  return stb_set(st_model_predict(m, STB_AT(images, image_offset), (size_t)image_count, batch,
                                  STB_AT(logits, logit_offset), (size_t)logit_count));
}
/* Floats per input image: channels x height x width. */
int64_t stb_model_image_size(st_model* m) {
  int64_t c = 0, h = 0, w = 0;
  if (stb_set(st_model_input_dims(m, &c, &h, &w)) != ST_OK) return 0;
  return c * h * w;
}
int64_t stb_model_classes(st_model* m) {
  int64_t classes = 0;
  stb_set(st_model_classes(m, &classes));
  return classes;
}
int64_t stb_model_steps(st_model* m) {
  int64_t steps = 0;
  stb_set(st_model_steps(m, &steps));
  return steps;
}
int32_t stb_model_save(st_model* m, const char* path) { return stb_set(st_model_save(m, path)); }
int32_t stb_model_load(st_model* m, const char* path) { return stb_set(st_model_load(m, path)); }

int64_t stb_model_layer_count(st_model* m) {
  int64_t count = 0;
  stb_set(st_model_layer_count(m, &count));
  return count;
}
/* Layer `index`: name, kind, and numbers = {frozen, is_conv, input_zeros, grad_zeros,
 * then per pass (forward, backward data, backward weights): ran, kernel, milliseconds}. */
const char* stb_model_layer_name(st_model* m, int64_t index) {
  st_layer_info info;
  if (stb_set(st_model_layer_info(m, index, &info)) != ST_OK) return "";
  memcpy(stb_text_, info.name, sizeof stb_text_);
  return stb_text_;
}
const char* stb_model_layer_kind(st_model* m, int64_t index) {
  st_layer_info info;
  if (stb_set(st_model_layer_info(m, index, &info)) != ST_OK) return "";
  memcpy(stb_text_, info.kind, sizeof info.kind);
  return stb_text_;
}
int32_t stb_model_layer_numbers(st_model* m, int64_t index, double* result, int64_t result_count) {
  st_layer_info info;
  int p;
  if (!stb_numbers_fit(result_count, 13)) return stb_status_;
  if (stb_set(st_model_layer_info(m, index, &info)) != ST_OK) return stb_status_;
  result[0] = info.frozen, result[1] = info.is_conv, result[2] = info.input_zeros, result[3] = info.grad_zeros;
  for (p = 0; p < 3; ++p) {
    result[4 + 3 * p] = info.ran[p], result[5 + 3 * p] = info.kernel[p], result[6 + 3 * p] = info.milliseconds[p];
  }
  return ST_OK;
}

/* ONNX import: a model under construction (an empty cut_at: the whole graph). */
st_model* stb_model_import_onnx(st_context* c, const char* path, const char* cut_at) {
  st_import_options options = {stb_name(cut_at)};
  st_model* m = NULL;
  stb_set(st_model_import_onnx(c, path, &options, &m));
  return m;
}
st_model* stb_model_import_onnx_buffer(st_context* c, const unsigned char* bytes,
                                       int64_t byte_count, const char* cut_at) {
  st_import_options options = {stb_name(cut_at)};
  st_model* m = NULL;
  stb_set(st_model_import_onnx_buffer(c, bytes, (size_t)byte_count, &options, &m));
  return m;
}
int32_t stb_model_export_onnx(st_model* m, const char* path) {
  return stb_set(st_model_export_onnx(m, path));
}
/* In-memory ONNX and checkpoints, in two calls: the size, then the bytes into an array of it. */
int64_t stb_model_export_onnx_size(st_model* m) {
  size_t bytes = 0;
  stb_set(st_model_export_onnx_buffer(m, NULL, 0, &bytes));
  return (int64_t)bytes;
}
int32_t stb_model_export_onnx_into(st_model* m, unsigned char* bytes_out, int64_t bytes_out_count) {
  size_t bytes = 0;
  return stb_set(st_model_export_onnx_buffer(m, bytes_out, (size_t)bytes_out_count, &bytes));
}
int64_t stb_model_checkpoint_size(st_model* m) {
  size_t bytes = 0;
  stb_set(st_model_save_buffer(m, NULL, 0, &bytes));
  return (int64_t)bytes;
}
int32_t stb_model_save_into(st_model* m, unsigned char* bytes_out, int64_t bytes_out_count) {
  size_t bytes = 0;
  return stb_set(st_model_save_buffer(m, bytes_out, (size_t)bytes_out_count, &bytes));
}
int32_t stb_model_load_buffer(st_model* m, const unsigned char* bytes, int64_t byte_count) {
  return stb_set(st_model_load_buffer(m, bytes, (size_t)byte_count));
}

/* Parameters and buffers by name. */
int64_t stb_model_parameter_count(st_model* m) {
  int64_t count = 0;
  stb_set(st_model_parameter_count(m, &count));
  return count;
}
const char* stb_model_parameter_name(st_model* m, int64_t index) {
  st_parameter_info info;
  if (stb_set(st_model_parameter_info(m, index, &info)) != ST_OK) return "";
  return info.name;
}
/* result = {rank, shape[0..3], count, is_buffer, frozen}. */
int32_t stb_model_parameter_numbers(st_model* m, int64_t index, double* result,
                                    int64_t result_count) {
  st_parameter_info info;
  int i;
  if (!stb_numbers_fit(result_count, 8)) return stb_status_;
  if (stb_set(st_model_parameter_info(m, index, &info)) != ST_OK) return stb_status_;
  result[0] = info.rank;
  for (i = 0; i < 4; ++i) result[1 + i] = i < info.rank ? (double)info.shape[i] : 0.0;
  result[5] = (double)info.count, result[6] = info.is_buffer, result[7] = info.frozen;
  return ST_OK;
}
int32_t stb_model_get_parameter(st_model* m, const char* name, float* data, int64_t count) {
  return stb_set(st_model_get_parameter(m, name, data, (size_t)count));
}
int32_t stb_model_set_parameter(st_model* m, const char* name, const float* data, int64_t count) {
  return stb_set(st_model_set_parameter(m, name, data, (size_t)count));
}
int64_t stb_model_parameters_size(st_model* m) {
  size_t count = 0;
  stb_set(st_model_parameters_size(m, &count));
  return (int64_t)count;
}
int32_t stb_model_get_parameters(st_model* m, float* data, int64_t count) {
  return stb_set(st_model_get_parameters(m, data, (size_t)count));
}
int32_t stb_model_set_parameters(st_model* m, const float* data, int64_t count) {
  return stb_set(st_model_set_parameters(m, data, (size_t)count));
}
%}
