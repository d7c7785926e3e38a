// Tensors: a context's float data in one of the layouts of kernels/layout.h.
#include <cstdint>
#include <memory>
#include <string>

#include "capi/conversions.h"
#include "capi/objects.h"
#include "sparsetrain/sparsetrain.h"

namespace st = sparsetrain;
using namespace sparsetrain::capi;

namespace {

// A tensor of the context, zero-filled (or filled from `nchw`), or over the caller's `wrap`.
st_status CreateTensor(const char* call, st_context* context, const int64_t dims[4],
                       st_layout layout, const float* nchw, size_t count, float* wrap,
                       size_t capacity, st_tensor** out) {
  return OnObject<ContextObject>(call, context, [&](ContextObject& c) {
    ST_RETURN_IF_ERROR(NotNull(out, "out", call));
    st::Dims d;
    st::Layout l;
    ST_RETURN_IF_ERROR(ToDims(dims, &d, call));
    ST_RETURN_IF_ERROR(Convert(layout, "layout", call, &l));
    auto t = std::make_unique<TensorObject>();
    t->context = c.context;
    if (wrap != nullptr) {
      const int64_t needed = st::StorageFloats(d, l);
      if (int64_t(capacity) < needed) {
        return Fail(ST_SHAPE_MISMATCH, std::string(call) + ": the buffer holds " +
                                           std::to_string(capacity) + " floats, the tensor needs " +
                                           std::to_string(needed));
      }
      if (l != st::Layout::kNCHW && reinterpret_cast<uintptr_t>(wrap) % st::kAlignment != 0) {
        return Fail(ST_INVALID_ARGUMENT,
                    std::string(call) + ": blocked layouts need a 64-byte aligned buffer");
      }
      ST_RETURN_IF_ERROR(Check(st::Tensor::Wrap(wrap, d, l, &t->tensor), call));
    } else {
      ST_RETURN_IF_ERROR(Check(st::Tensor::Create(d, l, c.context->allocator, &t->tensor), call));
      if (nchw != nullptr) {
        ST_RETURN_IF_ERROR(CheckCount(count, d.count(), "data", call));
        ST_RETURN_IF_ERROR(Check(t->tensor.CopyFrom(nchw, st::Layout::kNCHW), call));
      }
    }
    *out = Publish<st_tensor>(std::move(t));
    return ST_OK;
  });
}

}  // namespace

extern "C" {

st_status st_tensor_create(st_context* context, const int64_t dims[4], st_layout layout,
                           st_tensor** out) {
  return CreateTensor(__func__, context, dims, layout, nullptr, 0, nullptr, 0, out);
}

st_status st_tensor_create_from(st_context* context, const int64_t dims[4], st_layout layout,
                                const float* nchw, size_t count, st_tensor** out) {
  ST_RETURN_IF_ERROR(NotNull(nchw, "data", __func__));
  return CreateTensor(__func__, context, dims, layout, nchw, count, nullptr, 0, out);
}

st_status st_tensor_wrap(st_context* context, const int64_t dims[4], st_layout layout, float* data,
                         size_t capacity, st_tensor** out) {
  ST_RETURN_IF_ERROR(NotNull(data, "data", __func__));
  return CreateTensor(__func__, context, dims, layout, nullptr, 0, data, capacity, out);
}

st_status st_tensor_destroy(st_tensor* tensor) { return Destroy(__func__, tensor, Kind::kTensor); }

st_status st_tensor_dims(const st_tensor* tensor, int64_t dims[4]) {
  const char* call = __func__;
  return OnObject<TensorObject>(call, tensor, [&](TensorObject& t) {
    ST_RETURN_IF_ERROR(NotNull(dims, "dims", call));
    WriteDims(t.tensor.dims(), dims);
    return ST_OK;
  });
}

st_status st_tensor_layout(const st_tensor* tensor, st_layout* layout) {
  const char* call = __func__;
  return OnObject<TensorObject>(call, tensor, [&](TensorObject& t) {
    ST_RETURN_IF_ERROR(NotNull(layout, "layout", call));
    *layout = ToC(t.tensor.layout());
    return ST_OK;
  });
}

st_status st_tensor_storage_size(const int64_t dims[4], st_layout layout, size_t* floats) {
  const char* call = __func__;
  return Guard(call, [&] {
    st::Dims d;
    st::Layout l;
    ST_RETURN_IF_ERROR(ToDims(dims, &d, call));
    ST_RETURN_IF_ERROR(Convert(layout, "layout", call, &l));
    ST_RETURN_IF_ERROR(NotNull(floats, "floats", call));
    ST_RETURN_IF_ERROR(Check(st::CheckDims(d), call));
    *floats = size_t(st::StorageFloats(d, l));
    return ST_OK;
  });
}

st_status st_tensor_copy_in(st_tensor* tensor, const float* nchw, size_t count) {
  const char* call = __func__;
  return OnObject<TensorObject>(call, tensor, [&](TensorObject& t) {
    ST_RETURN_IF_ERROR(NotNull(nchw, "data", call));
    ST_RETURN_IF_ERROR(CheckCount(count, t.tensor.dims().count(), "data", call));
    return Check(t.tensor.CopyFrom(nchw, st::Layout::kNCHW), call);
  });
}

st_status st_tensor_copy_out(const st_tensor* tensor, float* nchw, size_t count) {
  const char* call = __func__;
  return OnObject<TensorObject>(call, tensor, [&](TensorObject& t) {
    ST_RETURN_IF_ERROR(NotNull(nchw, "data", call));
    ST_RETURN_IF_ERROR(CheckCount(count, t.tensor.dims().count(), "data", call));
    return Check(t.tensor.CopyTo(nchw, st::Layout::kNCHW), call);
  });
}

}  // extern "C"
