// ONNX import, a model under construction from a file or a buffer (runtime/onnx_import.h), and
// export of a finished model (runtime/onnx_export.h).
#include <string>

#include "capi/objects.h"
#include "runtime/onnx_export.h"
#include "runtime/onnx_import.h"
#include "sparsetrain/sparsetrain.h"

using namespace sparsetrain::capi;
namespace st = sparsetrain;

namespace {

// Runs `import` with the options and publishes the builder it makes as a model in `context`.
template <class Import>
st_status ImportModel(const char* call, st_context* context, const st_import_options* options,
                      st_model** out, const Import& import) {
  return OnObject<ContextObject>(call, context, [&](ContextObject& c) {
    ST_RETURN_IF_ERROR(NotNull(out, "out", call));
    st::OnnxImportOptions onnx_options;
    if (options != nullptr && options->cut_at != nullptr) onnx_options.cut_at = options->cut_at;
    auto m = std::make_unique<ModelObject>();
    m->context = c.context;
    ST_RETURN_IF_ERROR(Check(import(onnx_options, c.context->allocator, &m->builder), call));
    *out = Publish<st_model>(std::move(m));
    return ST_OK;
  });
}

}  // namespace

extern "C" {

st_status st_model_import_onnx(st_context* context, const char* path,
                               const st_import_options* options, st_model** out) {
  const char* call = __func__;
  ST_RETURN_IF_ERROR(NotNull(path, "path", call));
  return ImportModel(call, context, options, out,
                     [&](const st::OnnxImportOptions& o, const st::Allocator& allocator,
                         std::unique_ptr<st::ModelBuilder>* builder) {
                       return st::ImportOnnxFile(path, o, allocator, builder);
                     });
}

st_status st_model_import_onnx_buffer(st_context* context, const void* data, size_t bytes,
                                      const st_import_options* options, st_model** out) {
  const char* call = __func__;
  ST_RETURN_IF_ERROR(NotNull(data, "data", call));
  return ImportModel(call, context, options, out,
                     [&](const st::OnnxImportOptions& o, const st::Allocator& allocator,
                         std::unique_ptr<st::ModelBuilder>* builder) {
                       return st::ImportOnnx(data, bytes, o, allocator, builder);
                     });
}

st_status st_model_export_onnx(const st_model* model, const char* path) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(path, "path", call));
    return Check(st::ExportOnnxFile(*m.model, path), call);
  });
}

st_status st_model_export_onnx_buffer(const st_model* model, void* data, size_t capacity,
                                      size_t* bytes) {
  const char* call = __func__;
  return OnModel(call, model, ModelStage::kFinished, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(NotNull(bytes, "bytes", call));
    std::string onnx;
    ST_RETURN_IF_ERROR(Check(st::ExportOnnx(*m.model, &onnx), call));
    return CopyOut(onnx, data, capacity, bytes, call);
  });
}

}  // extern "C"
