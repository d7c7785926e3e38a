// The objects behind the C API's handles, the registry that issues handles, and the skeleton
// every entry point on a handle shares.
//
// Handles are not pointers to objects but numbers from the registry, never reused: a destroyed or
// forged handle is looked up, not dereferenced, and fails with ST_BAD_HANDLE.
#ifndef SPARSETRAIN_CAPI_OBJECTS_H_
#define SPARSETRAIN_CAPI_OBJECTS_H_

#include <pthreadpool.h>

#include <cstdint>
#include <memory>

#include "capi/errors.h"
#include "kernels/conv_shape.h"
#include "runtime/allocator.h"
#include "runtime/conv_op.h"
#include "runtime/model_builder.h"
#include "runtime/tensor.h"
#include "runtime/thread_pool.h"
#include "sparsetrain/sparsetrain.h"

namespace sparsetrain::capi {

// What a context's objects share: its threads and its allocator.
struct ContextState {
  std::unique_ptr<ThreadPool> threads;
  Allocator allocator;  // the caller's hooks, or the C library's
  pthreadpool_t pool() const { return threads->get(); }
};

enum class Kind { kContext, kTensor, kConv, kModel };
const char* KindName(Kind kind);  // "context", "tensor", ...

struct Object {
  explicit Object(Kind k) : kind(k) {}
  virtual ~Object() = default;
  Kind kind;
  std::shared_ptr<ContextState> context;
};

struct ContextObject : Object {
  static constexpr Kind kKind = Kind::kContext;
  ContextObject() : Object(kKind) {}
};

struct TensorObject : Object {
  static constexpr Kind kKind = Kind::kTensor;
  TensorObject() : Object(kKind) {}
  Tensor tensor;
};

struct ConvObject : Object {
  static constexpr Kind kKind = Kind::kConv;
  ConvObject() : Object(kKind) {}
  std::unique_ptr<ConvOp> op;
  WorkspaceArena workspace;
  ConvShape shape;
  KernelPolicy policy = KernelPolicy::kAuto;
};

struct ModelObject : Object {
  static constexpr Kind kKind = Kind::kModel;
  ModelObject() : Object(kKind) {}
  std::unique_ptr<ModelBuilder> builder;  // until st_model_finish
  std::unique_ptr<Model> model;
};

// A handle for `object`, which the registry now owns.
uintptr_t Register(std::unique_ptr<Object> object);
template <class Handle>
Handle* Publish(std::unique_ptr<Object> object) {
  return reinterpret_cast<Handle*>(Register(std::move(object)));
}

// Looks `handle` up as a live T, or fails naming `call`.
st_status Lookup(const void* handle, Kind kind, const char* call, Object** out);
template <class T>
st_status Lookup(const void* handle, const char* call, T** out) {
  Object* object = nullptr;
  ST_RETURN_IF_ERROR(Lookup(handle, T::kKind, call, &object));
  *out = static_cast<T*>(object);
  return ST_OK;
}

// ST_BAD_HANDLE unless `b` was created in `a`'s context.
st_status SameContext(const Object& a, const Object& b, const char* call);

// The skeleton of an entry point on a handle: inside Guard, look `handle` up as a live T and run
// `body(object)`. Entry points pass their own __func__ as `call`, which starts every message.
template <class T, class Body>
st_status OnObject(const char* call, const void* handle, const Body& body) {
  return Guard(call, [&] {
    T* object = nullptr;
    ST_RETURN_IF_ERROR(Lookup(handle, call, &object));
    return body(*object);
  });
}

// OnObject for a model that is finished, or (kBuilding) one that is still being built.
enum class ModelStage { kBuilding, kFinished };
st_status CheckStage(const ModelObject& model, ModelStage stage, const char* call);
template <class Body>
st_status OnModel(const char* call, const void* handle, ModelStage stage, const Body& body) {
  return OnObject<ModelObject>(call, handle, [&](ModelObject& m) {
    ST_RETURN_IF_ERROR(CheckStage(m, stage, call));
    return body(m);
  });
}

// Destroys the object of `kind` behind `handle`.
st_status Destroy(const char* call, const void* handle, Kind kind);

}  // namespace sparsetrain::capi

#endif  // SPARSETRAIN_CAPI_OBJECTS_H_
