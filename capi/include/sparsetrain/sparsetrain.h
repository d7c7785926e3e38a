/*
 * SparseTrain C API: train and fine-tune convolutional networks on the CPU, skipping the zeros
 * that ReLU creates.
 *
 * Conventions (all of them hold for every function here):
 *  - Every function returns an st_status. ST_OK means success; anything else means nothing
 *    changed (outputs untouched, models and their training state as they were), and
 *    st_last_error_message() tells, on the calling thread, what was wrong and in which call.
 *  - Handles (st_context, st_tensor, st_conv, st_model) are opaque. A destroyed handle, or one
 *    that was never returned by this library, is refused with ST_BAD_HANDLE; it never crashes.
 *    Objects created in one context cannot be combined with objects of another.
 *  - Sizes are int64_t and must be positive; buffers come with their length in elements, which is
 *    checked against what the call needs.
 *  - Images and activations are NCHW float32 (batch, channels, height, width); convolution weights
 *    are (out channels, in channels, kernel rows, kernel columns), as in PyTorch.
 *  - A context's objects may be used from any thread, one call at a time per object.
 *  - No C++ exception, abort or signal crosses this API.
 *  - Enumerations carry *_RANGE_ members so that any int32 value is representable; values that
 *    are not named members are refused with ST_INVALID_ARGUMENT.
 *
 * Valid C11 and C++. Link with -lsparsetrain (libsparsetrain.so.1; tools/install.sh installs
 * it with a pkg-config file, sparsetrain.pc, and a CMake package, sparsetrain::sparsetrain).
 */
#ifndef SPARSETRAIN_SPARSETRAIN_H_
#define SPARSETRAIN_SPARSETRAIN_H_

#include <stddef.h>
#include <stdint.h>

#if defined(SWIG)
#define ST_API
#elif defined(__GNUC__)
#define ST_API __attribute__((visibility("default")))
#else
#define ST_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions -------------------------------------------------------------------------- */

/* The version of this header. The major number is the ABI version: a program built against
 * major M runs with any library of major M and the same or a later minor number. */
#define ST_VERSION_MAJOR 1
#define ST_VERSION_MINOR 4
#define ST_VERSION_PATCH 0
#define ST_VERSION_ENCODE(major, minor, patch) (((major) << 16) | ((minor) << 8) | (patch))
#define ST_VERSION ST_VERSION_ENCODE(ST_VERSION_MAJOR, ST_VERSION_MINOR, ST_VERSION_PATCH)

typedef enum st_status {
  ST_OK = 0,
  ST_INVALID_ARGUMENT = 1, /* a parameter is malformed: null, out of range, unknown name */
  ST_SHAPE_MISMATCH = 2,   /* shapes or layouts of operands do not agree */
  ST_UNSUPPORTED = 3,      /* well-formed but not available here (an ISA the CPU lacks, ...) */
  ST_OUT_OF_MEMORY = 4,
  ST_IO_ERROR = 5,     /* a file cannot be read or written */
  ST_CORRUPT_DATA = 6, /* a file or buffer failed validation */
  ST_BAD_HANDLE = 7,   /* a handle that is destroyed, never created, or of another context */
  ST_INTERNAL = 8,     /* a bug in the library; the message says where */
  ST_STATUS_RANGE_MIN = INT32_MIN,
  ST_STATUS_RANGE_MAX = INT32_MAX
} st_status;

/* The library's version, encoded as ST_VERSION. */
ST_API uint32_t st_version(void);
/* "1.4.0": ST_VERSION as text. */
ST_API const char* st_version_string(void);
/* ST_OK if this library serves programs built against header version `header_version`
 * (pass ST_VERSION); ST_UNSUPPORTED with the reason otherwise. */
ST_API st_status st_check_abi(uint32_t header_version);
/* "ST_OK", "ST_INVALID_ARGUMENT", ... ("ST_UNKNOWN" for other values). */
ST_API const char* st_status_name(st_status status);
/* The message of the last failed call on this thread ("" if none failed yet). Valid until the
 * thread's next call into the library. */
ST_API const char* st_last_error_message(void);

/* ---- Instruction sets and diagnostics -------------------------------------------------- */

typedef enum st_isa {
  ST_ISA_AUTO = 0, /* the best the CPU supports */
  ST_ISA_AVX512 = 1,
  ST_ISA_AVX2 = 2,
  ST_ISA_SSE4 = 3,
  ST_ISA_SCALAR = 4, /* x86-64 only: on aarch64, NEON is the baseline and always runs */
  ST_ISA_NEON = 5,   /* aarch64 (since 1.4) */
  ST_ISA_SVE = 6,    /* aarch64 with SVE, any vector length (since 1.4) */
  ST_ISA_SVE2 = 7,   /* aarch64 with SVE2 (since 1.4) */
  ST_ISA_RANGE_MIN = INT32_MIN,
  ST_ISA_RANGE_MAX = INT32_MAX
} st_isa;

/* Whether this CPU can run `isa` and this build select it (1) or not (0): an ISA of another
 * architecture is never supported. */
ST_API int32_t st_isa_supported(st_isa isa);
/* Caps the ISA all kernels use (process-wide; do not call while other threads run kernels).
 * ST_UNSUPPORTED, changing nothing, if the CPU lacks it or the build cannot select it. */
ST_API st_status st_set_isa(st_isa isa);
/* The ISA kernels run on now (never ST_ISA_AUTO). */
ST_API st_isa st_get_isa(void);
/* "auto", "avx512", "avx2", "sse4", "scalar", "neon", "sve", "sve2". */
ST_API const char* st_isa_name(st_isa isa);
/* 1: print one line per layer pass to stderr (layer kind and name, pass, problem descriptor or
 * shape, kernel, Highway target, zero fraction, milliseconds), like oneDNN's verbose mode;
 * 2: also each convolution's reasoning for its kernel choice; 0: off. Process-wide. The default
 * is the environment variable SPARSETRAIN_VERBOSE (0 when unset). Lines: docs/runtime.md. */
ST_API void st_set_verbose(int32_t level);

/* ---- Contexts -------------------------------------------------------------------------- */

typedef struct st_context st_context;

/* Optional memory hooks for tensors and model state. alloc returns `bytes` bytes aligned to
 * `alignment` (a power of two, at most 64), or NULL; free releases what alloc returned. */
typedef struct st_allocator {
  void* (*alloc)(void* user, size_t bytes, size_t alignment);
  void (*free)(void* user, void* ptr);
  void* user;
} st_allocator;

/* A context runs its objects' work on `threads` threads, the calling thread included (1: that
 * thread only; 0: as many as st_available_cpus()); the library starts no other threads. A count
 * above st_available_cpus() is capped to it: threads beyond the free cores only wait on each
 * other, which makes every step many times slower. `allocator` may be NULL (the C library's
 * aligned_alloc). */
ST_API st_status st_context_create(int32_t threads, const st_allocator* allocator,
                                   st_context** out);
/* The same with exactly `threads` (1 to 1024) threads, beyond the CPUs available if asked: for
 * callers that place threads on cores themselves. */
ST_API st_status st_context_create_exact(int32_t threads, const st_allocator* allocator,
                                         st_context** out);
/* The CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota. */
ST_API int32_t st_available_cpus(void);
/* Releases the caller's reference. The threads end when the context's last object is destroyed;
 * until then its objects keep working, but no new objects can be created in it. */
ST_API st_status st_context_destroy(st_context* context);
ST_API st_status st_context_threads(const st_context* context, int32_t* threads);

/* ---- Tensors --------------------------------------------------------------------------- */

typedef struct st_tensor st_tensor;

typedef enum st_layout {
  ST_LAYOUT_NCHW = 0,    /* plain; also (K, C, R, S) weights */
  ST_LAYOUT_NCHW16C = 1, /* activations for convolutions: channels in blocks of 16, zero-padded */
  ST_LAYOUT_OIHW16I16O = 2, /* convolution weights, blocked */
  ST_LAYOUT_IOHW16O16I = 3, /* transposed convolution weights, blocked */
  ST_LAYOUT_RANGE_MIN = INT32_MIN,
  ST_LAYOUT_RANGE_MAX = INT32_MAX
} st_layout;

/* A zero-filled tensor of logical shape dims = {n, c, h, w} stored in `layout`. */
ST_API st_status st_tensor_create(st_context* context, const int64_t dims[4], st_layout layout,
                                  st_tensor** out);
/* A tensor stored in `layout`, filled from `nchw` (count = n*c*h*w floats in NCHW order). */
ST_API st_status st_tensor_create_from(st_context* context, const int64_t dims[4], st_layout layout,
                                       const float* nchw, size_t count, st_tensor** out);
/* A tensor over the caller's buffer, which already holds the data in `layout` and has at least
 * st_tensor_storage_size() floats for that shape; not copied, not freed, kept alive by the caller.
 * NCHW16C and blocked weight buffers must be 64-byte aligned. */
ST_API st_status st_tensor_wrap(st_context* context, const int64_t dims[4], st_layout layout,
                                float* data, size_t capacity, st_tensor** out);
ST_API st_status st_tensor_destroy(st_tensor* tensor);
ST_API st_status st_tensor_dims(const st_tensor* tensor, int64_t dims[4]);
ST_API st_status st_tensor_layout(const st_tensor* tensor, st_layout* layout);
/* Floats a tensor of `dims` occupies in `layout` (channel padding included). */
ST_API st_status st_tensor_storage_size(const int64_t dims[4], st_layout layout, size_t* floats);
/* Copies n*c*h*w floats in NCHW order into / out of the tensor, converting its layout. */
ST_API st_status st_tensor_copy_in(st_tensor* tensor, const float* nchw, size_t count);
ST_API st_status st_tensor_copy_out(const st_tensor* tensor, float* nchw, size_t count);

/* ---- Convolution layers on their own --------------------------------------------------- */

typedef struct st_conv st_conv;

typedef struct st_conv_desc {
  int64_t batch, in_channels, height, width; /* input */
  int64_t out_channels, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w; /* pad: zeros added on each side, < kernel size */
  int32_t bias;                             /* 1: with a bias */
} st_conv_desc;

typedef enum st_kernel {
  ST_KERNEL_AUTO = 0, /* dense or sparse per call, from the zeros of the skipped operand */
  ST_KERNEL_DENSE = 1,
  ST_KERNEL_SPARSE = 2,
  ST_KERNEL_RANGE_MIN = INT32_MIN,
  ST_KERNEL_RANGE_MAX = INT32_MAX
} st_kernel;

typedef enum st_pass {
  ST_PASS_FORWARD = 0,
  ST_PASS_BACKWARD_DATA = 1,
  ST_PASS_BACKWARD_WEIGHTS = 2,
  ST_PASS_RANGE_MIN = INT32_MIN,
  ST_PASS_RANGE_MAX = INT32_MAX
} st_pass;

/* What the last call of a pass did. */
typedef struct st_conv_call {
  int32_t ran;      /* 0 if the pass has not run yet */
  st_kernel kernel; /* ST_KERNEL_DENSE or ST_KERNEL_SPARSE */
  double zeros; /* zero fraction of the operand the sparse kernel skips (x forward, dy backward) */
  double milliseconds;
} st_conv_call;

/* A convolution with zero weights (set them with st_conv_set_weights). */
ST_API st_status st_conv_create(st_context* context, const st_conv_desc* desc, st_conv** out);
ST_API st_status st_conv_destroy(st_conv* conv);
/* Output shape {batch, out_channels, p, q}. */
ST_API st_status st_conv_output_dims(const st_conv* conv, int64_t dims[4]);
/* Weights (out, in, kh, kw) in NCHW order, `weight_count` floats; bias `bias_count` floats or NULL.
 */
ST_API st_status st_conv_set_weights(st_conv* conv, const float* weights, size_t weight_count,
                                     const float* bias, size_t bias_count);
ST_API st_status st_conv_get_weights(const st_conv* conv, float* weights, size_t weight_count,
                                     float* bias, size_t bias_count);
/* The gradients of the last st_conv_backward_weights call, in the same order. */
ST_API st_status st_conv_get_gradients(const st_conv* conv, float* weights, size_t weight_count,
                                       float* bias, size_t bias_count);
ST_API st_status st_conv_set_kernel(st_conv* conv, st_kernel kernel);
/* Tensors are NCHW16C of the desc's shapes: x (batch, in, h, w), y and dy (batch, out, p, q). */
ST_API st_status st_conv_forward(st_conv* conv, const st_tensor* x, st_tensor* y);
ST_API st_status st_conv_backward_data(st_conv* conv, const st_tensor* dy, st_tensor* dx);
ST_API st_status st_conv_backward_weights(st_conv* conv, const st_tensor* x, const st_tensor* dy);
ST_API st_status st_conv_last_call(const st_conv* conv, st_pass pass, st_conv_call* call);

/* ---- Models ---------------------------------------------------------------------------- */

typedef struct st_model st_model;

/* A model under construction for inputs of (channels, height, width). Add layers in order, then
 * st_model_finish. `name` arguments may be NULL for automatic names (conv1, bn1, relu1, pool1,
 * avgpool1, flatten1, dropout1, fc1, block1, relu6_1, sigmoid1, ...). Shapes are checked as layers
 * are added; a layer that fails is not added and construction can go on. A ReLU whose output only a
 * max pooling reads runs inside the pooling (one layer, kind "relu+maxpool2d", named as the
 * pooling). */
ST_API st_status st_model_create(st_context* context, int64_t channels, int64_t height,
                                 int64_t width, st_model** out);
/* pad < 0: kernel / 2. */
ST_API st_status st_model_add_conv2d(st_model* model, const char* name, int64_t out_channels,
                                     int64_t kernel, int64_t stride, int64_t pad, int32_t bias);
/* Grouped convolution (since 1.2), PyTorch's groups: `groups` divides both channel counts; the
 * weight is (out_channels, in_channels / groups, kernel, kernel). groups 1 is
 * st_model_add_conv2d, groups equal to both channel counts a depthwise convolution. */
ST_API st_status st_model_add_grouped_conv2d(st_model* model, const char* name,
                                             int64_t out_channels, int64_t kernel, int64_t stride,
                                             int64_t pad, int32_t bias, int64_t groups);
/* Depthwise convolution (since 1.2): each channel convolved with its own kernel x kernel filter
 * (groups = channels, as in MobileNet); as many output channels as input channels; weight
 * (C, 1, kernel, kernel) as in PyTorch. pad < 0: kernel / 2. */
ST_API st_status st_model_add_depthwise_conv2d(st_model* model, const char* name, int64_t kernel,
                                               int64_t stride, int64_t pad, int32_t bias);
ST_API st_status st_model_add_batchnorm(st_model* model, const char* name, double eps,
                                        double momentum);
ST_API st_status st_model_add_relu(st_model* model, const char* name);
/* Activations (since 1.2), as PyTorch defines them: ReLU6 and clip(min, max) (gradient 1
 * strictly between the bounds, as Hardtanh), sigmoid, hard sigmoid clip(alpha x + beta, 0, 1)
 * (PyTorch's: alpha 1/6, beta 1/2), hard swish, SiLU. ReLU6 and clip count the zeros they write,
 * as ReLU does, for the next convolution's dense/sparse choice. */
ST_API st_status st_model_add_relu6(st_model* model, const char* name);
ST_API st_status st_model_add_clip(st_model* model, const char* name, float min, float max);
ST_API st_status st_model_add_sigmoid(st_model* model, const char* name);
ST_API st_status st_model_add_hardsigmoid(st_model* model, const char* name, float alpha,
                                          float beta);
ST_API st_status st_model_add_hardswish(st_model* model, const char* name);
ST_API st_status st_model_add_silu(st_model* model, const char* name);
ST_API st_status st_model_add_maxpool(st_model* model, const char* name, int64_t window,
                                      int64_t stride, int64_t pad);
/* Max pooling in ceil mode (since 1.2): a last, partial window where floor mode would leave
 * input unread, as PyTorch's ceil_mode=True. */
ST_API st_status st_model_add_maxpool_ceil(st_model* model, const char* name, int64_t window,
                                           int64_t stride, int64_t pad);
/* Average pooling (since 1.2), PyTorch's AvgPool2d: count_include_pad != 0 divides by the
 * window's size within the padded input (PyTorch's default), 0 by the input pixels it covers;
 * ceil_mode as for st_model_add_maxpool_ceil. */
ST_API st_status st_model_add_avgpool(st_model* model, const char* name, int64_t window,
                                      int64_t stride, int64_t pad, int32_t count_include_pad,
                                      int32_t ceil_mode);
/* Adaptive average pooling to size x size (since 1.2), 4-D, for square inputs whose side is a
 * multiple of size: adaptive_avg_pool2d(x, 1) ahead of a squeeze-and-excitation's convolutions. */
ST_API st_status st_model_add_adaptive_avgpool(st_model* model, const char* name, int64_t size);
ST_API st_status st_model_add_global_avgpool(st_model* model, const char* name);
ST_API st_status st_model_add_flatten(st_model* model, const char* name);
ST_API st_status st_model_add_dropout(st_model* model, const char* name, float probability);
ST_API st_status st_model_add_linear(st_model* model, const char* name, int64_t out_features,
                                     int32_t bias);
/* Branches (since 1.2). Each layer reads the current tensor, the previous layer's output, and
 * its output becomes the current one; tensors are named by the layers that write them, "input"
 * being the model's input. st_model_from makes a named tensor current, so that several layers
 * may read one tensor; st_model_add_add adds two named tensors of one shape (NULL: the current
 * one). Every tensor but the last must be read by some layer when the model is finished. */
ST_API st_status st_model_from(st_model* model, const char* tensor);
ST_API st_status st_model_add_add(st_model* model, const char* name, const char* a, const char* b);
/* The channels of `count` named tensors one after another (torch.cat on dim 1): 4-D tensors of
 * one batch and image size; a NULL name is the current tensor. */
ST_API st_status st_model_add_concat(st_model* model, const char* name, const char* const* inputs,
                                     size_t count);
/* a * b for b of a's shape, or b one factor per channel (N, C, 1, 1) (a squeeze-and-excitation
 * gate); NULL: the current tensor. */
ST_API st_status st_model_add_multiply(st_model* model, const char* name, const char* a,
                                       const char* b);
/* Residual block: layers added after begin form the body; after st_model_residual_shortcut, the
 * shortcut (none: identity); end adds the two. The block's name names its addition, and all its
 * layers together for st_model_set_frozen. */
ST_API st_status st_model_residual_begin(st_model* model, const char* name);
ST_API st_status st_model_residual_shortcut(st_model* model);
ST_API st_status st_model_residual_end(st_model* model);
/* Ends construction; parameters get PyTorch's default initialisation (uniform in
 * +-1/sqrt(fan-in); since 1.2, He-normal before) from `seed`, reproducibly; imported layers keep
 * their values. The model must end in flat class scores (a linear layer). */
ST_API st_status st_model_finish(st_model* model, uint64_t seed);
ST_API st_status st_model_destroy(st_model* model);

/* Since 1.3: ONNX import (docs/onnx.md). The model is under construction, holding the file's
 * layers with their trained values: layers may be added after it (a new head after cut_at), and
 * st_model_finish initialises only those. Input channels, height and width come from the file;
 * the batch is free. An operator or attribute outside the supported set is ST_UNSUPPORTED, a
 * damaged file ST_CORRUPT_DATA, shapes that do not fit ST_SHAPE_MISMATCH, with a message naming
 * the node and its op; *out is then left as it was. */
typedef struct st_import_options {
  /* A tensor (or node) name: the graph up to it is imported, building goes on from there.
   * NULL: the whole graph. tools/export_torchvision.py --list-tensors prints the names. */
  const char* cut_at;
} st_import_options;
/* `options` may be NULL. */
ST_API st_status st_model_import_onnx(st_context* context, const char* path,
                                      const st_import_options* options, st_model** out);
ST_API st_status st_model_import_onnx_buffer(st_context* context, const void* data, size_t bytes,
                                             const st_import_options* options, st_model** out);
/* Since 1.3: the finished model in ONNX (opset 14), inference form: trained parameters and
 * batch norm's running statistics as initializers under their names, dropout left out; input
 * "input" with the batch free, output "logits". The file is written atomically. The buffer form
 * works as st_model_save_buffer: data NULL and capacity 0 report the size. */
ST_API st_status st_model_export_onnx(const st_model* model, const char* path);
ST_API st_status st_model_export_onnx_buffer(const st_model* model, void* data, size_t capacity,
                                             size_t* bytes);

ST_API st_status st_model_input_dims(const st_model* model, int64_t* channels, int64_t* height,
                                     int64_t* width);
ST_API st_status st_model_classes(const st_model* model, int64_t* classes);

typedef enum st_optimizer_kind {
  ST_OPTIMIZER_SGD = 0,
  ST_OPTIMIZER_ADAM = 1,
  ST_OPTIMIZER_ADAMW = 2,
  ST_OPTIMIZER_RANGE_MIN = INT32_MIN,
  ST_OPTIMIZER_RANGE_MAX = INT32_MAX
} st_optimizer_kind;
typedef enum st_schedule_kind {
  ST_SCHEDULE_CONSTANT = 0,
  ST_SCHEDULE_STEP = 1,
  ST_SCHEDULE_COSINE = 2,
  ST_SCHEDULE_RANGE_MIN = INT32_MIN,
  ST_SCHEDULE_RANGE_MAX = INT32_MAX
} st_schedule_kind;

typedef struct st_optimizer_config {
  st_optimizer_kind kind;
  double learning_rate;
  double momentum;          /* SGD */
  int32_t nesterov;         /* SGD */
  double beta1, beta2, eps; /* Adam, AdamW */
  double weight_decay;
  double clip_norm; /* > 0: clip the gradients' global L2 norm to this */
  st_schedule_kind schedule;
  int64_t warmup_steps; /* linear warm-up over this many steps */
  int64_t step_size;    /* ST_SCHEDULE_STEP: multiply by gamma every step_size steps */
  double gamma;
  int64_t total_steps; /* ST_SCHEDULE_COSINE: decay to min_learning_rate over total_steps */
  double min_learning_rate;
} st_optimizer_config;

/* Adam, lr 1e-3, betas 0.9/0.999, eps 1e-8, no decay, no clipping, constant schedule. */
ST_API st_status st_optimizer_config_default(st_optimizer_config* config);
/* Replaces the optimiser; its state starts afresh. */
ST_API st_status st_model_set_optimizer(st_model* model, const st_optimizer_config* config);
/* Training losses (since 1.2), averaged over the batch as PyTorch's are: softmax cross-entropy
 * of class labels (CrossEntropyLoss; optional label smoothing and class weights), and, of float
 * targets of the outputs' shape, mean squared error (MSELoss), L1 (L1Loss) and binary
 * cross-entropy of logits (BCEWithLogitsLoss). */
typedef enum st_loss_kind {
  ST_LOSS_SOFTMAX_CROSS_ENTROPY = 0, /* the default; st_model_train_step with labels */
  ST_LOSS_MSE = 1,                   /* these take st_model_train_step_targets */
  ST_LOSS_L1 = 2,
  ST_LOSS_BCE_WITH_LOGITS = 3,
  ST_LOSS_RANGE_MIN = INT32_MIN,
  ST_LOSS_RANGE_MAX = INT32_MAX
} st_loss_kind;

/* label_smoothing in [0, 1] and class_weights (one per class, >= 0; NULL: all 1) apply to
 * cross-entropy only (0 and NULL for the others). */
ST_API st_status st_model_set_loss(st_model* model, st_loss_kind kind, double label_smoothing,
                                   const float* class_weights, size_t class_weight_count);
/* Dense, sparse or per-layer automatic convolution kernels (the default). Both kernels compute
 * the same sums in different orders, so under ST_KERNEL_AUTO results can differ in the last bits
 * from call to call as the choice changes; fix the kernel for bit-exact repeatability. */
ST_API st_status st_model_set_kernel(st_model* model, st_kernel kernel);
/* 1: refuse images holding NaN or Inf (checked before anything runs). Off by default. */
ST_API st_status st_model_set_check_inputs(st_model* model, int32_t check);
/* Freezes (1) or unfreezes (0) the named layer (a residual block: all of it) and, since 1.3,
 * every layer whose name starts with `layer` and a dot ("layer1": "layer1.0.conv1", ...).
 * Since 1.3 a frozen batch norm normalises with its running statistics, and keeps them. */
ST_API st_status st_model_set_frozen(st_model* model, const char* layer, int32_t frozen);

typedef struct st_step_result {
  double loss;     /* mean softmax cross-entropy over the batch */
  int64_t correct; /* examples whose largest logit is their label */
  int64_t examples;
  double grad_norm; /* train step: global gradient norm before clipping */
} st_step_result;

/* images: batch*channels*height*width floats (image_count), labels: batch class indices.
 * Forward, loss, backward and one optimiser update. */
ST_API st_status st_model_train_step(st_model* model, const float* images, size_t image_count,
                                     const int32_t* labels, int64_t batch, st_step_result* result);
/* Evaluation mode (running batch-norm statistics, no dropout); logits (batch*classes floats,
 * logit_count) may be NULL. */
ST_API st_status st_model_eval_step(st_model* model, const float* images, size_t image_count,
                                    const int32_t* labels, int64_t batch, st_step_result* result,
                                    float* logits, size_t logit_count);
/* The same for losses of float targets: batch*classes floats (target_count), laid out as the
 * outputs; outputs (batch*classes floats, output_count) may be NULL. */
ST_API st_status st_model_train_step_targets(st_model* model, const float* images,
                                             size_t image_count, const float* targets,
                                             size_t target_count, int64_t batch,
                                             st_step_result* result);
ST_API st_status st_model_eval_step_targets(st_model* model, const float* images,
                                            size_t image_count, const float* targets,
                                            size_t target_count, int64_t batch,
                                            st_step_result* result, float* outputs,
                                            size_t output_count);
ST_API st_status st_model_predict(st_model* model, const float* images, size_t image_count,
                                  int64_t batch, float* logits, size_t logit_count);
ST_API st_status st_model_steps(const st_model* model, int64_t* steps);

/* Checkpoints (safetensors; docs/checkpoints.md): parameters, buffers, optimiser state and step
 * count. Saving is atomic; loading validates the whole file first and changes nothing on error. */
ST_API st_status st_model_save(const st_model* model, const char* path);
ST_API st_status st_model_load(st_model* model, const char* path);
/* Since 1.3: the same checkpoint in memory (asset packs, network transfers). st_model_save_buffer
 * writes it into data[0, capacity) and its size into *bytes; with data NULL and capacity 0 it only
 * reports the size, and a capacity too small is ST_INVALID_ARGUMENT with nothing written.
 * st_model_load_buffer checks the bytes as st_model_load checks a file. */
ST_API st_status st_model_save_buffer(const st_model* model, void* data, size_t capacity,
                                      size_t* bytes);
ST_API st_status st_model_load_buffer(st_model* model, const void* data, size_t bytes);

/* Since 1.3: parameters and buffers by name, the names of PyTorch's state_dict for imported models
 * ("layer1.0.conv1.weight", "bn1.running_mean"), in PyTorch's shapes and element order. Index
 * 0 .. count-1 is the order they are listed, saved and copied in. */
typedef struct st_parameter_info {
  const char* name; /* valid until the model is destroyed */
  int32_t rank;
  int64_t shape[4];
  int64_t count;     /* elements */
  int32_t is_buffer; /* batch-norm running statistics: saved and loaded, never trained */
  int32_t frozen;    /* its layer is frozen */
} st_parameter_info;
ST_API st_status st_model_parameter_count(const st_model* model, int64_t* count);
ST_API st_status st_model_parameter_info(const st_model* model, int64_t index,
                                         st_parameter_info* info);
/* One by name; `count` must be its element count. Set refuses NaN and Inf; on error nothing
 * changes. */
ST_API st_status st_model_get_parameter(const st_model* model, const char* name, float* values,
                                        size_t count);
ST_API st_status st_model_set_parameter(st_model* model, const char* name, const float* values,
                                        size_t count);
/* All of them as one flat buffer (federated averaging, say): each in index order, `count` the sum
 * of their element counts (st_model_parameters_size). */
ST_API st_status st_model_parameters_size(const st_model* model, size_t* count);
ST_API st_status st_model_get_parameters(const st_model* model, float* values, size_t count);
ST_API st_status st_model_set_parameters(st_model* model, const float* values, size_t count);

/* Per-layer figures of the last step, for layers 0 .. count-1 in the order they run (a residual
 * block's addition, kind "add" under the block's name, after its branches; since 1.2). */
typedef struct st_layer_info {
  char name[64];
  char kind[32]; /* "conv2d", "relu", "maxpool2d", "batchnorm2d", "linear", ... */
  int32_t frozen;
  int32_t is_conv;
  double input_zeros; /* zero fraction of the input (-1: not measured) */
  double grad_zeros;  /* zero fraction of the output gradient (-1: not measured) */
  int32_t ran[3];     /* per st_pass: whether it ran in the last step */
  st_kernel kernel[3];
  double milliseconds[3];
} st_layer_info;

ST_API st_status st_model_layer_count(const st_model* model, int64_t* count);
ST_API st_status st_model_layer_info(const st_model* model, int64_t index, st_layer_info* info);

typedef struct st_memory_info {
  int64_t parameter_bytes, gradient_bytes, optimizer_bytes, activation_bytes, workspace_bytes;
} st_memory_info;
ST_API st_status st_model_memory(const st_model* model, st_memory_info* info);

#ifdef __cplusplus
}
#endif

#endif /* SPARSETRAIN_SPARSETRAIN_H_ */
