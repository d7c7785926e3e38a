// A model's parameters and buffers by name, and all of them as one flat buffer.
#include <algorithm>

#include "capi/objects.h"
#include "sparsetrain/sparsetrain.h"

using namespace sparsetrain::capi;
namespace st = sparsetrain;

extern "C" {

st_status st_model_parameter_count(const st_model* model, int64_t* count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(count, "count", call));
    *count = int64_t(m.model->Parameters().size());
    return ST_OK;
  });
}

st_status st_model_parameter_info(const st_model* model, int64_t index, st_parameter_info* info) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(info, "info", call));
    const std::vector<st::Parameter*> params = m.model->Parameters();
    ST_RETURN_IF_ERROR(CheckIndex(index, params.size(), call));
    const st::Parameter& p = *params[size_t(index)];
    st_parameter_info result = {};
    result.name = p.name.c_str();
    result.rank = int32_t(p.shape.size());
    std::copy(p.shape.begin(), p.shape.end(), result.shape);  // at most 4-D: (K, C, R, S)
    result.count = p.value.dims().count();
    result.is_buffer = p.is_buffer ? 1 : 0;
    result.frozen = m.model->IsFrozen(p) ? 1 : 0;
    *info = result;
    return ST_OK;
  });
}

st_status st_model_get_parameter(const st_model* model, const char* name, float* values,
                                 size_t count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(name, "name", call));
    ST_RETURN_IF_ERROR(NotNull(values, "values", call));
    return Check(m.model->GetParameter(name, values, count), call);
  });
}

st_status st_model_set_parameter(st_model* model, const char* name, const float* values,
                                 size_t count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(name, "name", call));
    ST_RETURN_IF_ERROR(NotNull(values, "values", call));
    return Check(m.model->SetParameter(name, values, count), call);
  });
}

st_status st_model_parameters_size(const st_model* model, size_t* count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(count, "count", call));
    *count = m.model->ParameterElements();
    return ST_OK;
  });
}

st_status st_model_get_parameters(const st_model* model, float* values, size_t count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(values, "values", call));
    return Check(m.model->GetParameters(values, count), call);
  });
}

st_status st_model_set_parameters(st_model* model, const float* values, size_t count) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(values, "values", call));
    return Check(m.model->SetParameters(values, count), call);
  });
}

}  // extern "C"
