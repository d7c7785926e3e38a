// Checkpoints: a model's parameters, buffers and optimiser state in a safetensors file
// (docs/checkpoints.md), saved atomically and loaded only when the whole file checks out.
#include <string>

#include "capi/objects.h"
#include "sparsetrain/sparsetrain.h"

using namespace sparsetrain::capi;

extern "C" {

st_status st_model_save(const st_model* model, const char* path) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(path, "path", call));
    return Check(m.model->SaveCheckpoint(path), call);
  });
}

st_status st_model_load(st_model* model, const char* path) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(path, "path", call));
    return Check(m.model->LoadCheckpoint(path), call);
  });
}

st_status st_model_save_buffer(const st_model* model, void* data, size_t capacity, size_t* bytes) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(bytes, "bytes", call));
    std::string checkpoint;
    ST_RETURN_IF_ERROR(Check(m.model->SaveCheckpoint(&checkpoint), call));
    return CopyOut(checkpoint, data, capacity, bytes, call);
  });
}

st_status st_model_load_buffer(st_model* model, const void* data, size_t bytes) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(data, "data", call));
    return Check(m.model->LoadCheckpoint(data, bytes), call);
  });
}

}  // extern "C"
