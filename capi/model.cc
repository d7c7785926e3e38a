// Models: built layer by layer, then trained, evaluated and inspected.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "capi/conversions.h"
#include "capi/objects.h"
#include "sparsetrain/sparsetrain.h"

namespace st = sparsetrain;
using namespace sparsetrain::capi;

namespace {

std::string NameOf(const char* name) { return name == nullptr ? std::string() : std::string(name); }

// Layer names must fit st_layer_info.
st_status CheckLayerName(const char* name, const char* call) {
  if (name != nullptr && std::strlen(name) >= sizeof(st_layer_info{}.name)) {
    return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": layer names are at most 63 bytes");
  }
  return ST_OK;
}

// Adds a layer through `add` (a ModelBuilder call) and reports its error, if any.
template <class Add>
st_status AddLayer(const char* call, st_model* model, const char* name, const Add& add) {
  return OnModel(call, model, ModelStage::kBuilding, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(CheckLayerName(name, call));
    add(*m.builder);
    return Check(m.builder->TakeError(), call);
  });
}

// The function of `kind` with its default parameters (clip: ReLU6's bounds).
st::ActivationFunction Function(st::ActivationKind kind) {
  st::ActivationFunction f;
  f.kind = kind;
  return f;
}

st_status AddActivation(const char* call, st_model* model, const char* name,
                        const st::ActivationFunction& f) {
  return AddLayer(call, model, name, [&](st::ModelBuilder& b) { b.Activate(f, NameOf(name)); });
}

// Images of `batch` for the model: the count must match.
st_status CheckImages(const st::Model& model, const float* images, size_t count, int64_t batch,
                      const char* call) {
  ST_RETURN_IF_ERROR(NotNull(images, "images", call));
  if (batch <= 0) {
    return Fail(ST_INVALID_ARGUMENT,
                std::string(call) + ": batch must be positive, got " + std::to_string(batch));
  }
  const st::Dims& d = model.input_spec().dims;
  return CheckCount(count, batch * d.c * d.h * d.w, "images", call);
}

}  // namespace

extern "C" {

// ---- Building

st_status st_model_create(st_context* context, int64_t channels, int64_t height, int64_t width,
                          st_model** out) {
  const char* call = __func__;
  return OnObject<ContextObject>(call, context, [&](ContextObject& c) {
    ST_RETURN_IF_ERROR(NotNull(out, "out", call));
    auto m = std::make_unique<ModelObject>();
    m->context = c.context;
    m->builder = std::make_unique<st::ModelBuilder>(channels, height, width, c.context->allocator);
    ST_RETURN_IF_ERROR(Check(m->builder->TakeError(), call));
    *out = Publish<st_model>(std::move(m));
    return ST_OK;
  });
}

st_status st_model_add_conv2d(st_model* model, const char* name, int64_t out_channels,
                              int64_t kernel, int64_t stride, int64_t pad, int32_t bias) {
  return AddLayer(__func__, model, name, [&](st::ModelBuilder& b) {
    b.Conv2d(out_channels, kernel, stride, pad, bias != 0, NameOf(name));
  });
}

st_status st_model_add_grouped_conv2d(st_model* model, const char* name, int64_t out_channels,
                                      int64_t kernel, int64_t stride, int64_t pad, int32_t bias,
                                      int64_t groups) {
  return AddLayer(__func__, model, name, [&](st::ModelBuilder& b) {
    b.GroupedConv2d(out_channels, kernel, groups, stride, pad, bias != 0, NameOf(name));
  });
}

st_status st_model_add_depthwise_conv2d(st_model* model, const char* name, int64_t kernel,
                                        int64_t stride, int64_t pad, int32_t bias) {
  return AddLayer(__func__, model, name, [&](st::ModelBuilder& b) {
    b.DepthwiseConv2d(kernel, stride, pad, bias != 0, NameOf(name));
  });
}

st_status st_model_add_batchnorm(st_model* model, const char* name, double eps, double momentum) {
  return AddLayer(__func__, model, name,
                  [&](st::ModelBuilder& b) { b.BatchNorm(eps, momentum, NameOf(name)); });
}

st_status st_model_add_relu(st_model* model, const char* name) {
  return AddLayer(__func__, model, name, [&](st::ModelBuilder& b) { b.Relu(NameOf(name)); });
}

st_status st_model_add_relu6(st_model* model, const char* name) {
  return AddActivation(__func__, model, name, Function(st::ActivationKind::kClip));
}

st_status st_model_add_clip(st_model* model, const char* name, float min, float max) {
  st::ActivationFunction f = Function(st::ActivationKind::kClip);
  f.lo = min, f.hi = max;
  return AddActivation(__func__, model, name, f);
}

st_status st_model_add_sigmoid(st_model* model, const char* name) {
  return AddActivation(__func__, model, name, Function(st::ActivationKind::kSigmoid));
}

st_status st_model_add_hardsigmoid(st_model* model, const char* name, float alpha, float beta) {
  st::ActivationFunction f = Function(st::ActivationKind::kHardSigmoid);
  f.alpha = alpha, f.beta = beta;
  return AddActivation(__func__, model, name, f);
}

st_status st_model_add_hardswish(st_model* model, const char* name) {
  return AddActivation(__func__, model, name, Function(st::ActivationKind::kHardSwish));
}

st_status st_model_add_silu(st_model* model, const char* name) {
  return AddActivation(__func__, model, name, Function(st::ActivationKind::kSilu));
}

st_status st_model_add_maxpool(st_model* model, const char* name, int64_t window, int64_t stride,
                               int64_t pad) {
  return AddLayer(__func__, model, name,
                  [&](st::ModelBuilder& b) { b.MaxPool(window, stride, pad, NameOf(name)); });
}

st_status st_model_add_maxpool_ceil(st_model* model, const char* name, int64_t window,
                                    int64_t stride, int64_t pad) {
  return AddLayer(__func__, model, name, [&](st::ModelBuilder& b) {
    b.MaxPool(window, stride, pad, NameOf(name), /*ceil_mode=*/true);
  });
}

st_status st_model_add_avgpool(st_model* model, const char* name, int64_t window, int64_t stride,
                               int64_t pad, int32_t count_include_pad, int32_t ceil_mode) {
  return AddLayer(__func__, model, name, [&](st::ModelBuilder& b) {
    b.AvgPool(window, stride, pad, count_include_pad != 0, ceil_mode != 0, NameOf(name));
  });
}

st_status st_model_add_adaptive_avgpool(st_model* model, const char* name, int64_t size) {
  return AddLayer(__func__, model, name,
                  [&](st::ModelBuilder& b) { b.AdaptiveAvgPool(size, NameOf(name)); });
}

st_status st_model_add_global_avgpool(st_model* model, const char* name) {
  return AddLayer(__func__, model, name,
                  [&](st::ModelBuilder& b) { b.GlobalAvgPool(NameOf(name)); });
}

st_status st_model_add_flatten(st_model* model, const char* name) {
  return AddLayer(__func__, model, name, [&](st::ModelBuilder& b) { b.Flatten(NameOf(name)); });
}

st_status st_model_add_dropout(st_model* model, const char* name, float probability) {
  return AddLayer(__func__, model, name,
                  [&](st::ModelBuilder& b) { b.Dropout(probability, NameOf(name)); });
}

st_status st_model_add_linear(st_model* model, const char* name, int64_t out_features,
                              int32_t bias) {
  return AddLayer(__func__, model, name,
                  [&](st::ModelBuilder& b) { b.Linear(out_features, bias != 0, NameOf(name)); });
}

st_status st_model_from(st_model* model, const char* tensor) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kBuilding, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(tensor, "tensor", call));
    m.builder->From(tensor);
    return Check(m.builder->TakeError(), call);
  });
}

st_status st_model_add_add(st_model* model, const char* name, const char* a, const char* b) {
  return AddLayer(__func__, model, name, [&](st::ModelBuilder& builder) {
    builder.Add(NameOf(a), NameOf(b), NameOf(name));
  });
}

st_status st_model_add_concat(st_model* model, const char* name, const char* const* inputs,
                              size_t count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kBuilding, [&](ModelObject& m) {
    if (count > 0) ST_RETURN_IF_ERROR(NotNull(inputs, "inputs", call));
    ST_RETURN_IF_ERROR(CheckLayerName(name, call));
    std::vector<std::string> names;
    for (size_t i = 0; i < count; ++i) names.push_back(NameOf(inputs[i]));
    m.builder->Concat(names, NameOf(name));
    return Check(m.builder->TakeError(), call);
  });
}

st_status st_model_add_multiply(st_model* model, const char* name, const char* a, const char* b) {
  return AddLayer(__func__, model, name, [&](st::ModelBuilder& builder) {
    builder.Multiply(NameOf(a), NameOf(b), NameOf(name));
  });
}

st_status st_model_residual_begin(st_model* model, const char* name) {
  return AddLayer(__func__, model, name,
                  [&](st::ModelBuilder& b) { b.BeginResidual(NameOf(name)); });
}

st_status st_model_residual_shortcut(st_model* model) {
  return AddLayer(__func__, model, nullptr, [](st::ModelBuilder& b) { b.Shortcut(); });
}

st_status st_model_residual_end(st_model* model) {
  return AddLayer(__func__, model, nullptr, [](st::ModelBuilder& b) { b.EndResidual(); });
}

st_status st_model_finish(st_model* model, uint64_t seed) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kBuilding, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(Check(m.builder->Build(seed, &m.model), call));
    m.model->set_pool(m.context->pool());
    m.builder.reset();
    return ST_OK;
  });
}

st_status st_model_destroy(st_model* model) { return Destroy(__func__, model, Kind::kModel); }

// ---- Shape and settings

st_status st_model_input_dims(const st_model* model, int64_t* channels, int64_t* height,
                              int64_t* width) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(channels, "channels", call));
    ST_RETURN_IF_ERROR(NotNull(height, "height", call));
    ST_RETURN_IF_ERROR(NotNull(width, "width", call));
    const st::Dims& d = m.model->input_spec().dims;
    *channels = d.c, *height = d.h, *width = d.w;
    return ST_OK;
  });
}

st_status st_model_classes(const st_model* model, int64_t* classes) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(classes, "classes", call));
    *classes = m.model->classes();
    return ST_OK;
  });
}

st_status st_optimizer_config_default(st_optimizer_config* config) {
  const char* call = __func__;
  return Guard(call, [&] {
    ST_RETURN_IF_ERROR(NotNull(config, "config", call));
    *config = ToC(st::OptimizerConfig());
    return ST_OK;
  });
}

st_status st_model_set_optimizer(st_model* model, const st_optimizer_config* config) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(config, "config", call));
    st::OptimizerConfig c;
    ST_RETURN_IF_ERROR(ToOptimizerConfig(*config, call, &c));
    return Check(m.model->SetOptimizer(c), call);
  });
}

st_status st_model_set_loss(st_model* model, st_loss_kind kind, double label_smoothing,
                            const float* class_weights, size_t class_weight_count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    st::LossConfig config;
    ST_RETURN_IF_ERROR(Convert(kind, "loss kind", call, &config.kind));
    config.label_smoothing = label_smoothing;
    if (class_weights != nullptr) {
      config.class_weights.assign(class_weights, class_weights + class_weight_count);
    } else if (class_weight_count != 0) {
      return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": class_weights is NULL");
    }
    return Check(m.model->SetLoss(config), call);
  });
}

st_status st_model_set_kernel(st_model* model, st_kernel kernel) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    st::KernelPolicy policy;
    ST_RETURN_IF_ERROR(Convert(kernel, "kernel", call, &policy));
    m.model->set_policy(policy);
    return ST_OK;
  });
}

st_status st_model_set_check_inputs(st_model* model, int32_t check) {
  return OnModel(__func__, model, ModelStage::kFinished, [&](ModelObject& m) {
    m.model->set_check_inputs(check != 0);
    return ST_OK;
  });
}

st_status st_model_set_frozen(st_model* model, const char* layer, int32_t frozen) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(layer, "layer", call));
    return Check(m.model->SetFrozen(layer, frozen != 0), call);
  });
}

// ---- Steps

st_status st_model_train_step(st_model* model, const float* images, size_t image_count,
                              const int32_t* labels, int64_t batch, st_step_result* result) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(CheckImages(*m.model, images, image_count, batch, call));
    ST_RETURN_IF_ERROR(NotNull(labels, "labels", call));
    ST_RETURN_IF_ERROR(NotNull(result, "result", call));
    st::StepResult r;
    ST_RETURN_IF_ERROR(Check(m.model->TrainStep(images, labels, batch, &r), call));
    *result = ToC(r);
    return ST_OK;
  });
}

st_status st_model_eval_step(st_model* model, const float* images, size_t image_count,
                             const int32_t* labels, int64_t batch, st_step_result* result,
                             float* logits, size_t logit_count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(CheckImages(*m.model, images, image_count, batch, call));
    ST_RETURN_IF_ERROR(NotNull(labels, "labels", call));
    ST_RETURN_IF_ERROR(NotNull(result, "result", call));
    if (logits != nullptr) {
      ST_RETURN_IF_ERROR(CheckCount(logit_count, batch * m.model->classes(), "logits", call));
    }
    st::StepResult r;
    ST_RETURN_IF_ERROR(Check(m.model->EvalStep(images, labels, batch, &r, logits), call));
    *result = ToC(r);
    return ST_OK;
  });
}

st_status st_model_train_step_targets(st_model* model, const float* images, size_t image_count,
                                      const float* targets, size_t target_count, int64_t batch,
                                      st_step_result* result) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(CheckImages(*m.model, images, image_count, batch, call));
    ST_RETURN_IF_ERROR(NotNull(targets, "targets", call));
    ST_RETURN_IF_ERROR(CheckCount(target_count, batch * m.model->classes(), "targets", call));
    ST_RETURN_IF_ERROR(NotNull(result, "result", call));
    st::StepResult r;
    ST_RETURN_IF_ERROR(Check(m.model->TrainStepTargets(images, targets, batch, &r), call));
    *result = ToC(r);
    return ST_OK;
  });
}

st_status st_model_eval_step_targets(st_model* model, const float* images, size_t image_count,
                                     const float* targets, size_t target_count, int64_t batch,
                                     st_step_result* result, float* outputs, size_t output_count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(CheckImages(*m.model, images, image_count, batch, call));
    ST_RETURN_IF_ERROR(NotNull(targets, "targets", call));
    ST_RETURN_IF_ERROR(CheckCount(target_count, batch * m.model->classes(), "targets", call));
    ST_RETURN_IF_ERROR(NotNull(result, "result", call));
    if (outputs != nullptr) {
      ST_RETURN_IF_ERROR(CheckCount(output_count, batch * m.model->classes(), "outputs", call));
    }
    st::StepResult r;
    ST_RETURN_IF_ERROR(Check(m.model->EvalStepTargets(images, targets, batch, &r, outputs), call));
    *result = ToC(r);
    return ST_OK;
  });
}

st_status st_model_predict(st_model* model, const float* images, size_t image_count, int64_t batch,
                           float* logits, size_t logit_count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(CheckImages(*m.model, images, image_count, batch, call));
    ST_RETURN_IF_ERROR(NotNull(logits, "logits", call));
    ST_RETURN_IF_ERROR(CheckCount(logit_count, batch * m.model->classes(), "logits", call));
    return Check(m.model->Predict(images, batch, logits), call);
  });
}

st_status st_model_steps(const st_model* model, int64_t* steps) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(steps, "steps", call));
    *steps = m.model->steps();
    return ST_OK;
  });
}

// ---- Telemetry

st_status st_model_layer_count(const st_model* model, int64_t* count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(count, "count", call));
    *count = int64_t(m.model->Telemetry().size());
    return ST_OK;
  });
}

st_status st_model_layer_info(const st_model* model, int64_t index, st_layer_info* info) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(info, "info", call));
    const std::vector<st::LayerReport> reports = m.model->Telemetry();
    ST_RETURN_IF_ERROR(CheckIndex(index, reports.size(), call));
    *info = ToC(reports[size_t(index)]);
    return ST_OK;
  });
}

st_status st_model_memory(const st_model* model, st_memory_info* info) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(info, "info", call));
    *info = ToC(m.model->Memory());
    return ST_OK;
  });
}

}  // extern "C"
