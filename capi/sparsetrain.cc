// The C API (capi/include/sparsetrain/sparsetrain.h) over the C++ runtime.
//
// Handles are not pointers to objects but numbers from a registry, never reused: a destroyed or
// forged handle is looked up, not dereferenced, and fails with ST_BAD_HANDLE. Every entry point
// runs inside Guard, so no exception leaves the library.
#include "sparsetrain/sparsetrain.h"

#include <pthreadpool.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>

#include "kernels/base/limits.h"
#include "kernels/isa.h"
#include "runtime/allocator.h"
#include "runtime/conv_op.h"
#include "runtime/model.h"
#include "runtime/thread_pool.h"
#include "runtime/verbose.h"

namespace st = sparsetrain;

namespace {

thread_local std::string last_error;

st_status Fail(st_status status, std::string message) {
  last_error = std::move(message);
  return status;
}

// st_status of each StatusCode, in StatusCode order.
constexpr st_status kStatusOf[] = {ST_OK,           ST_INVALID_ARGUMENT, ST_SHAPE_MISMATCH,
                                   ST_UNSUPPORTED,  ST_OUT_OF_MEMORY,    ST_IO_ERROR,
                                   ST_CORRUPT_DATA, ST_INTERNAL};

st_status Check(const st::Status& s, const char* call) {
  if (s.ok()) return ST_OK;
  const size_t code = size_t(s.code());
  return Fail(code < sizeof kStatusOf / sizeof *kStatusOf ? kStatusOf[code] : ST_INTERNAL,
              std::string(call) + ": " + s.message());
}

// Runs an entry point's body; exceptions become statuses.
template <class Body>
st_status Guard(const char* call, const Body& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(ST_OUT_OF_MEMORY, std::string(call) + ": out of memory");
  } catch (const std::exception& e) {
    return Fail(ST_INTERNAL, std::string(call) + ": " + e.what());
  } catch (...) {
    return Fail(ST_INTERNAL, std::string(call) + ": unknown exception");
  }
}

// ---- Objects and the handle registry

struct ContextState {
  std::unique_ptr<st::ThreadPool> threads;
  st::Allocator allocator;  // the caller's hooks, or the C library's
  pthreadpool_t pool() const { return threads->get(); }
};

enum class Kind { kContext, kTensor, kConv, kModel };
const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kContext:
      return "context";
    case Kind::kTensor:
      return "tensor";
    case Kind::kConv:
      return "conv";
    case Kind::kModel:
      return "model";
  }
  return "object";
}

struct Object {
  explicit Object(Kind k) : kind(k) {}
  virtual ~Object() = default;
  Kind kind;
  std::shared_ptr<ContextState> context;
};

struct TensorObject : Object {
  TensorObject() : Object(Kind::kTensor) {}
  st::Tensor tensor;
};

struct ConvObject : Object {
  ConvObject() : Object(Kind::kConv) {}
  std::unique_ptr<st::ConvOp> op;
  st::WorkspaceArena workspace;
  st::ConvShape shape;
  st::KernelPolicy policy = st::KernelPolicy::kAuto;
};

struct ModelObject : Object {
  ModelObject() : Object(Kind::kModel) {}
  std::unique_ptr<st::ModelBuilder> builder;  // until st_model_finish
  std::unique_ptr<st::Model> model;
};

class Registry {
 public:
  uintptr_t Add(std::unique_ptr<Object> object) {
    std::lock_guard<std::mutex> lock(mutex_);
    const uintptr_t id = next_;
    next_ += 16;  // never reused, so a stale handle stays invalid
    objects_[id] = std::move(object);
    return id;
  }
  Object* Find(uintptr_t id, Kind kind) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = objects_.find(id);
    return it == objects_.end() || it->second->kind != kind ? nullptr : it->second.get();
  }
  std::unique_ptr<Object> Remove(uintptr_t id, Kind kind) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = objects_.find(id);
    if (it == objects_.end() || it->second->kind != kind) return nullptr;
    std::unique_ptr<Object> object = std::move(it->second);
    objects_.erase(it);
    return object;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<uintptr_t, std::unique_ptr<Object>> objects_;
  uintptr_t next_ = 0x10000;
};

Registry& Objects() {
  static Registry* registry = new Registry();  // never destroyed: handles stay checkable at exit
  return *registry;
}

struct ContextObject : Object {
  ContextObject() : Object(Kind::kContext) {}
};

// Looks up `handle` as a T of `kind`, or fails naming `call`.
template <class T>
st_status Lookup(const void* handle, Kind kind, const char* call, T** out) {
  if (handle == nullptr) {
    return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": " + KindName(kind) + " is NULL");
  }
  Object* object = Objects().Find(reinterpret_cast<uintptr_t>(handle), kind);
  if (object == nullptr) {
    return Fail(ST_BAD_HANDLE,
                std::string(call) + ": " + KindName(kind) +
                    " handle is not live (destroyed, never created, or another kind)");
  }
  *out = static_cast<T*>(object);
  return ST_OK;
}

template <class Handle>
Handle* Publish(std::unique_ptr<Object> object) {
  return reinterpret_cast<Handle*>(Objects().Add(std::move(object)));
}

st_status SameContext(const Object& a, const Object& b, const char* call) {
  if (a.context != b.context) {
    return Fail(ST_BAD_HANDLE,
                std::string(call) + ": the " + KindName(b.kind) + " belongs to another context");
  }
  return ST_OK;
}

st_status NotNull(const void* p, const char* what, const char* call) {
  if (p == nullptr) return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": " + what + " is NULL");
  return ST_OK;
}

#define ST_RETURN_IF_ERROR(expr)          \
  do {                                    \
    const st_status status_ = (expr);     \
    if (status_ != ST_OK) return status_; \
  } while (0)

// Destroys the object behind `handle` (of `kind`).
st_status DestroyHandle(const void* handle, Kind kind, const char* call) {
  return Guard(call, [&] {
    ST_RETURN_IF_ERROR(NotNull(handle, KindName(kind), call));
    if (Objects().Remove(reinterpret_cast<uintptr_t>(handle), kind) == nullptr) {
      return Fail(ST_BAD_HANDLE, std::string(call) + ": " + KindName(kind) + " handle is not live");
    }
    return ST_OK;
  });
}

st_status ToLayout(st_layout layout, st::Layout* out, const char* call) {
  switch (layout) {
    case ST_LAYOUT_NCHW:
      *out = st::Layout::kNCHW;
      return ST_OK;
    case ST_LAYOUT_NCHW16C:
      *out = st::Layout::kNChw16c;
      return ST_OK;
    case ST_LAYOUT_OIHW16I16O:
      *out = st::Layout::kOIhw16i16o;
      return ST_OK;
    case ST_LAYOUT_IOHW16O16I:
      *out = st::Layout::kIOhw16o16i;
      return ST_OK;
    default:
      break;
  }
  return Fail(ST_INVALID_ARGUMENT,
              std::string(call) + ": unknown layout " + std::to_string(int(layout)));
}

st_status ToDims(const int64_t dims[4], st::Dims* out, const char* call) {
  ST_RETURN_IF_ERROR(NotNull(dims, "dims", call));
  for (int i = 0; i < 4; ++i) {
    if (dims[i] <= 0) {
      return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": dims[" + std::to_string(i) +
                                           "] must be positive, got " + std::to_string(dims[i]));
    }
  }
  *out = {dims[0], dims[1], dims[2], dims[3]};
  return ST_OK;
}

void WriteDims(const st::Dims& d, int64_t dims[4]) {
  dims[0] = d.n, dims[1] = d.c, dims[2] = d.h, dims[3] = d.w;
}

st_status CheckCount(size_t given, int64_t needed, const char* what, const char* call) {
  if (int64_t(given) != needed) {
    return Fail(ST_SHAPE_MISMATCH, std::string(call) + ": " + what + " has " +
                                       std::to_string(given) + " elements, the call needs " +
                                       std::to_string(needed));
  }
  return ST_OK;
}

const struct {
  st_isa c;
  st::Isa cpp;
} kIsas[] = {{ST_ISA_AUTO, st::Isa::kAuto},
             {ST_ISA_AVX512, st::Isa::kAvx512},
             {ST_ISA_AVX2, st::Isa::kAvx2},
             {ST_ISA_SSE4, st::Isa::kSse4},
             {ST_ISA_SCALAR, st::Isa::kScalar}};

bool ToIsa(st_isa isa, st::Isa* out) {
  for (const auto& entry : kIsas) {
    if (entry.c == isa) {
      *out = entry.cpp;
      return true;
    }
  }
  return false;
}

st_kernel FromKernel(st::ConvKernel kernel) {
  return kernel == st::ConvKernel::kSparse ? ST_KERNEL_SPARSE : ST_KERNEL_DENSE;
}

st_status ToPolicy(st_kernel kernel, st::KernelPolicy* out, const char* call) {
  switch (kernel) {
    case ST_KERNEL_AUTO:
      *out = st::KernelPolicy::kAuto;
      return ST_OK;
    case ST_KERNEL_DENSE:
      *out = st::KernelPolicy::kDense;
      return ST_OK;
    case ST_KERNEL_SPARSE:
      *out = st::KernelPolicy::kSparse;
      return ST_OK;
    default:
      break;
  }
  return Fail(ST_INVALID_ARGUMENT,
              std::string(call) + ": unknown kernel " + std::to_string(int(kernel)));
}

// A model that is built (or, for `building`, one that is not yet).
st_status LookupModel(const st_model* handle, bool building, const char* call, ModelObject** out) {
  ST_RETURN_IF_ERROR(Lookup(handle, Kind::kModel, call, out));
  if (building && (*out)->builder == nullptr) {
    return Fail(ST_INVALID_ARGUMENT,
                std::string(call) + ": the model is finished; layers can no longer be added");
  }
  if (!building && (*out)->model == nullptr) {
    return Fail(ST_INVALID_ARGUMENT,
                std::string(call) + ": the model is not finished (call st_model_finish)");
  }
  return ST_OK;
}

std::string NameOf(const char* name) { return name == nullptr ? std::string() : std::string(name); }

// Adds a layer through `add` (a ModelBuilder call) and reports its error, if any.
template <class Add>
st_status AddLayer(st_model* handle, const char* name, const char* call, const Add& add) {
  return Guard(call, [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(handle, /*building=*/true, call, &m));
    if (name != nullptr && std::strlen(name) >= sizeof(st_layer_info{}.name)) {
      return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": layer names are at most 63 bytes");
    }
    add(*m->builder);
    return Check(m->builder->TakeError(), call);
  });
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

void CopyName(const std::string& from, char* to, size_t size) {
  const size_t n = std::min(from.size(), size - 1);
  std::memcpy(to, from.data(), n);
  to[n] = '\0';
}

st_status CreateTensor(st_context* context, const int64_t dims[4], st_layout layout,
                       const float* nchw, size_t count, float* wrap, size_t capacity,
                       st_tensor** out, const char* call) {
  return Guard(call, [&] {
    Object* c = nullptr;
    ST_RETURN_IF_ERROR(Lookup(context, Kind::kContext, call, &c));
    ST_RETURN_IF_ERROR(NotNull(out, "out", call));
    st::Dims d;
    st::Layout l;
    ST_RETURN_IF_ERROR(ToDims(dims, &d, call));
    ST_RETURN_IF_ERROR(ToLayout(layout, &l, call));
    auto t = std::make_unique<TensorObject>();
    t->context = c->context;
    if (wrap != nullptr) {
      const int64_t needed = st::StorageFloats(d, l);
      if (int64_t(capacity) < needed) {
        return Fail(ST_SHAPE_MISMATCH, std::string(call) + ": the buffer holds " +
                                           std::to_string(capacity) + " floats, the tensor needs " +
                                           std::to_string(needed));
      }
      if (l != st::Layout::kNCHW && reinterpret_cast<uintptr_t>(wrap) % 64 != 0) {
        return Fail(ST_INVALID_ARGUMENT,
                    std::string(call) + ": blocked layouts need a 64-byte aligned buffer");
      }
      ST_RETURN_IF_ERROR(Check(st::Tensor::Wrap(wrap, d, l, &t->tensor), call));
    } else {
      ST_RETURN_IF_ERROR(Check(st::Tensor::Create(d, l, c->context->allocator, &t->tensor), call));
      if (nchw != nullptr) {
        ST_RETURN_IF_ERROR(CheckCount(count, d.count(), "data", call));
        ST_RETURN_IF_ERROR(Check(t->tensor.CopyFrom(nchw, st::Layout::kNCHW), call));
      }
    }
    *out = Publish<st_tensor>(std::move(t));
    return ST_OK;
  });
}

// Copies weights and bias in or out of `param_of(op)` tensors (values or gradients).
template <class Tensors>
st_status ConvParams(const st_conv* conv, const char* call, float* weights, size_t weight_count,
                     float* bias, size_t bias_count, bool in, const Tensors& tensors) {
  return Guard(call, [&] {
    ConvObject* c = nullptr;
    ST_RETURN_IF_ERROR(Lookup(conv, Kind::kConv, call, &c));
    ST_RETURN_IF_ERROR(NotNull(weights, "weights", call));
    ST_RETURN_IF_ERROR(CheckCount(weight_count, c->shape.weights().count(), "weights", call));
    st::Parameter* b = c->op->bias();
    if (bias != nullptr) {
      if (b == nullptr)
        return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": the convolution has no bias");
      ST_RETURN_IF_ERROR(CheckCount(bias_count, c->shape.k, "bias", call));
    }
    st::Tensor* w_tensor = tensors(c->op->weight());
    if (in) {
      ST_RETURN_IF_ERROR(Check(w_tensor->CopyFrom(weights, st::Layout::kNCHW), call));
      ++c->op->weight().version;
      if (bias != nullptr) {
        std::memcpy(tensors(*b)->data(), bias, bias_count * sizeof(float));
        ++b->version;
      }
    } else {
      ST_RETURN_IF_ERROR(Check(w_tensor->CopyTo(weights, st::Layout::kNCHW), call));
      if (bias != nullptr) std::memcpy(bias, tensors(*b)->data(), bias_count * sizeof(float));
    }
    return ST_OK;
  });
}

// Looks up a tensor operand of `conv` and checks its layout, shape and context.
st_status ConvOperand(const ConvObject& conv, const st_tensor* handle, const char* what,
                      const st::Dims& dims, const char* call, TensorObject** out) {
  ST_RETURN_IF_ERROR(Lookup(handle, Kind::kTensor, call, out));
  ST_RETURN_IF_ERROR(SameContext(conv, **out, call));
  const st::Tensor& t = (*out)->tensor;
  if (t.layout() != st::Layout::kNChw16c) {
    return Fail(ST_SHAPE_MISMATCH, std::string(call) + ": " + what +
                                       " must be in ST_LAYOUT_NCHW16C, it is " +
                                       st::LayoutName(t.layout()));
  }
  const st::Dims& d = t.dims();
  if (d.n != dims.n || d.c != dims.c || d.h != dims.h || d.w != dims.w) {
    return Fail(ST_SHAPE_MISMATCH, std::string(call) + ": " + what + " is " + std::to_string(d.n) +
                                       "x" + std::to_string(d.c) + "x" + std::to_string(d.h) + "x" +
                                       std::to_string(d.w) + ", the convolution needs " +
                                       std::to_string(dims.n) + "x" + std::to_string(dims.c) + "x" +
                                       std::to_string(dims.h) + "x" + std::to_string(dims.w));
  }
  return ST_OK;
}

void ToResult(const st::StepResult& r, st_step_result* out) {
  out->loss = r.loss;
  out->correct = r.correct;
  out->examples = r.examples;
  out->grad_norm = r.grad_norm;
}

}  // namespace

extern "C" {

// ---- Library

uint32_t st_version(void) { return ST_VERSION; }

#define ST_TEXT(x) #x
#define ST_VERSION_TEXT(major, minor, patch) ST_TEXT(major) "." ST_TEXT(minor) "." ST_TEXT(patch)
const char* st_version_string(void) {
  return ST_VERSION_TEXT(ST_VERSION_MAJOR, ST_VERSION_MINOR, ST_VERSION_PATCH);
}

st_status st_check_abi(uint32_t header_version) {
  const uint32_t major = header_version >> 16, minor = (header_version >> 8) & 0xFF;
  if (major != ST_VERSION_MAJOR) {
    return Fail(ST_UNSUPPORTED, "st_check_abi: built against ABI " + std::to_string(major) +
                                    ", this library implements ABI " +
                                    std::to_string(ST_VERSION_MAJOR));
  }
  if (minor > ST_VERSION_MINOR) {
    return Fail(ST_UNSUPPORTED, "st_check_abi: built against version " + std::to_string(major) +
                                    "." + std::to_string(minor) + ", this library is older (" +
                                    st_version_string() + ")");
  }
  return ST_OK;
}

const char* st_status_name(st_status status) {
  switch (status) {
    case ST_OK:
      return "ST_OK";
    case ST_INVALID_ARGUMENT:
      return "ST_INVALID_ARGUMENT";
    case ST_SHAPE_MISMATCH:
      return "ST_SHAPE_MISMATCH";
    case ST_UNSUPPORTED:
      return "ST_UNSUPPORTED";
    case ST_OUT_OF_MEMORY:
      return "ST_OUT_OF_MEMORY";
    case ST_IO_ERROR:
      return "ST_IO_ERROR";
    case ST_CORRUPT_DATA:
      return "ST_CORRUPT_DATA";
    case ST_BAD_HANDLE:
      return "ST_BAD_HANDLE";
    case ST_INTERNAL:
      return "ST_INTERNAL";
    default:
      return "ST_UNKNOWN";
  }
}

const char* st_last_error_message(void) { return last_error.c_str(); }

int32_t st_isa_supported(st_isa isa) {
  st::Isa cpp;
  return ToIsa(isa, &cpp) && st::IsaSupported(cpp) ? 1 : 0;
}

st_status st_set_isa(st_isa isa) {
  return Guard("st_set_isa", [&] {
    st::Isa cpp;
    if (!ToIsa(isa, &cpp)) {
      return Fail(ST_INVALID_ARGUMENT, "st_set_isa: unknown ISA " + std::to_string(int(isa)));
    }
    return Check(st::SelectIsa(cpp), "st_set_isa");
  });
}

st_isa st_get_isa(void) {
  const st::Isa active = st::ActiveIsa();
  for (const auto& entry : kIsas) {
    if (entry.cpp == active) return entry.c;
  }
  return ST_ISA_SCALAR;
}

const char* st_isa_name(st_isa isa) {
  st::Isa cpp;
  return ToIsa(isa, &cpp) ? st::IsaName(cpp) : "unknown";
}

void st_set_verbose(int32_t level) { st::SetVerbose(level); }

// ---- Contexts

st_status CreateContext(int32_t threads, bool exact, const st_allocator* allocator,
                        st_context** out, const char* call) {
  return Guard(call, [&] {
    ST_RETURN_IF_ERROR(NotNull(out, "out", call));
    const int32_t lowest = exact ? 1 : 0;
    if (threads < lowest || threads > st::kMaxThreads) {
      return Fail(ST_INVALID_ARGUMENT,
                  std::string(call) + ": threads must be in [" + std::to_string(lowest) + ", " +
                      std::to_string(st::kMaxThreads) + "], got " + std::to_string(threads));
    }
    if (allocator != nullptr && (allocator->alloc == nullptr || allocator->free == nullptr)) {
      return Fail(ST_INVALID_ARGUMENT,
                  std::string(call) + ": the allocator needs both alloc and free");
    }
    auto state = std::make_shared<ContextState>();
    if (allocator != nullptr) state->allocator = {allocator->alloc, allocator->free, allocator->user};
    ST_RETURN_IF_ERROR(
        Check(st::ThreadPool::Create(st::ThreadCountFor(threads, exact, st::AvailableCpus()),
                                     &state->threads),
              call));
    auto object = std::make_unique<ContextObject>();
    object->context = std::move(state);
    *out = Publish<st_context>(std::move(object));
    return ST_OK;
  });
}

st_status st_context_create(int32_t threads, const st_allocator* allocator, st_context** out) {
  return CreateContext(threads, /*exact=*/false, allocator, out, "st_context_create");
}

st_status st_context_create_exact(int32_t threads, const st_allocator* allocator,
                                  st_context** out) {
  return CreateContext(threads, /*exact=*/true, allocator, out, "st_context_create_exact");
}

int32_t st_available_cpus(void) { return st::AvailableCpus(); }

st_status st_context_destroy(st_context* context) {
  return DestroyHandle(context, Kind::kContext, "st_context_destroy");
}

st_status st_context_threads(const st_context* context, int32_t* threads) {
  return Guard("st_context_threads", [&] {
    Object* c = nullptr;
    ST_RETURN_IF_ERROR(Lookup(context, Kind::kContext, "st_context_threads", &c));
    ST_RETURN_IF_ERROR(NotNull(threads, "threads", "st_context_threads"));
    *threads = c->context->threads->threads();
    return ST_OK;
  });
}

// ---- Tensors

st_status st_tensor_create(st_context* context, const int64_t dims[4], st_layout layout,
                           st_tensor** out) {
  return CreateTensor(context, dims, layout, nullptr, 0, nullptr, 0, out, "st_tensor_create");
}

st_status st_tensor_create_from(st_context* context, const int64_t dims[4], st_layout layout,
                                const float* nchw, size_t count, st_tensor** out) {
  if (nchw == nullptr) return Fail(ST_INVALID_ARGUMENT, "st_tensor_create_from: data is NULL");
  return CreateTensor(context, dims, layout, nchw, count, nullptr, 0, out, "st_tensor_create_from");
}

st_status st_tensor_wrap(st_context* context, const int64_t dims[4], st_layout layout, float* data,
                         size_t capacity, st_tensor** out) {
  if (data == nullptr) return Fail(ST_INVALID_ARGUMENT, "st_tensor_wrap: data is NULL");
  return CreateTensor(context, dims, layout, nullptr, 0, data, capacity, out, "st_tensor_wrap");
}

st_status st_tensor_destroy(st_tensor* tensor) {
  return DestroyHandle(tensor, Kind::kTensor, "st_tensor_destroy");
}

st_status st_tensor_dims(const st_tensor* tensor, int64_t dims[4]) {
  return Guard("st_tensor_dims", [&] {
    TensorObject* t = nullptr;
    ST_RETURN_IF_ERROR(Lookup(tensor, Kind::kTensor, "st_tensor_dims", &t));
    ST_RETURN_IF_ERROR(NotNull(dims, "dims", "st_tensor_dims"));
    WriteDims(t->tensor.dims(), dims);
    return ST_OK;
  });
}

st_status st_tensor_layout(const st_tensor* tensor, st_layout* layout) {
  return Guard("st_tensor_layout", [&] {
    TensorObject* t = nullptr;
    ST_RETURN_IF_ERROR(Lookup(tensor, Kind::kTensor, "st_tensor_layout", &t));
    ST_RETURN_IF_ERROR(NotNull(layout, "layout", "st_tensor_layout"));
    switch (t->tensor.layout()) {
      case st::Layout::kNCHW:
        *layout = ST_LAYOUT_NCHW;
        break;
      case st::Layout::kNChw16c:
        *layout = ST_LAYOUT_NCHW16C;
        break;
      case st::Layout::kOIhw16i16o:
        *layout = ST_LAYOUT_OIHW16I16O;
        break;
      case st::Layout::kIOhw16o16i:
        *layout = ST_LAYOUT_IOHW16O16I;
        break;
    }
    return ST_OK;
  });
}

st_status st_tensor_storage_size(const int64_t dims[4], st_layout layout, size_t* floats) {
  return Guard("st_tensor_storage_size", [&] {
    st::Dims d;
    st::Layout l;
    ST_RETURN_IF_ERROR(ToDims(dims, &d, "st_tensor_storage_size"));
    ST_RETURN_IF_ERROR(ToLayout(layout, &l, "st_tensor_storage_size"));
    ST_RETURN_IF_ERROR(NotNull(floats, "floats", "st_tensor_storage_size"));
    ST_RETURN_IF_ERROR(Check(st::CheckDims(d), "st_tensor_storage_size"));
    *floats = size_t(st::StorageFloats(d, l));
    return ST_OK;
  });
}

st_status st_tensor_copy_in(st_tensor* tensor, const float* nchw, size_t count) {
  return Guard("st_tensor_copy_in", [&] {
    TensorObject* t = nullptr;
    ST_RETURN_IF_ERROR(Lookup(tensor, Kind::kTensor, "st_tensor_copy_in", &t));
    ST_RETURN_IF_ERROR(NotNull(nchw, "data", "st_tensor_copy_in"));
    ST_RETURN_IF_ERROR(CheckCount(count, t->tensor.dims().count(), "data", "st_tensor_copy_in"));
    return Check(t->tensor.CopyFrom(nchw, st::Layout::kNCHW), "st_tensor_copy_in");
  });
}

st_status st_tensor_copy_out(const st_tensor* tensor, float* nchw, size_t count) {
  return Guard("st_tensor_copy_out", [&] {
    TensorObject* t = nullptr;
    ST_RETURN_IF_ERROR(Lookup(tensor, Kind::kTensor, "st_tensor_copy_out", &t));
    ST_RETURN_IF_ERROR(NotNull(nchw, "data", "st_tensor_copy_out"));
    ST_RETURN_IF_ERROR(CheckCount(count, t->tensor.dims().count(), "data", "st_tensor_copy_out"));
    return Check(t->tensor.CopyTo(nchw, st::Layout::kNCHW), "st_tensor_copy_out");
  });
}

// ---- Convolutions

st_status st_conv_create(st_context* context, const st_conv_desc* desc, st_conv** out) {
  return Guard("st_conv_create", [&] {
    Object* c = nullptr;
    ST_RETURN_IF_ERROR(Lookup(context, Kind::kContext, "st_conv_create", &c));
    ST_RETURN_IF_ERROR(NotNull(desc, "desc", "st_conv_create"));
    ST_RETURN_IF_ERROR(NotNull(out, "out", "st_conv_create"));
    st::ConvShape s;
    s.n = desc->batch, s.c = desc->in_channels, s.h = desc->height, s.w = desc->width;
    s.k = desc->out_channels, s.r = desc->kernel_h, s.s = desc->kernel_w;
    s.stride_h = desc->stride_h, s.stride_w = desc->stride_w, s.pad_h = desc->pad_h,
    s.pad_w = desc->pad_w;
    ST_RETURN_IF_ERROR(Check(st::Validate(s), "st_conv_create"));
    auto conv = std::make_unique<ConvObject>();
    conv->context = c->context;
    conv->shape = s;
    conv->workspace = st::WorkspaceArena(c->context->allocator);
    ST_RETURN_IF_ERROR(Check(
        st::ConvOp::Create("conv", s, desc->bias != 0, c->context->allocator, &conv->op),
        "st_conv_create"));
    conv->op->set_measure_zeros(true);
    *out = Publish<st_conv>(std::move(conv));
    return ST_OK;
  });
}

st_status st_conv_destroy(st_conv* conv) {
  return DestroyHandle(conv, Kind::kConv, "st_conv_destroy");
}

st_status st_conv_output_dims(const st_conv* conv, int64_t dims[4]) {
  return Guard("st_conv_output_dims", [&] {
    ConvObject* c = nullptr;
    ST_RETURN_IF_ERROR(Lookup(conv, Kind::kConv, "st_conv_output_dims", &c));
    ST_RETURN_IF_ERROR(NotNull(dims, "dims", "st_conv_output_dims"));
    WriteDims(c->shape.output(), dims);
    return ST_OK;
  });
}

st_status st_conv_set_weights(st_conv* conv, const float* weights, size_t weight_count,
                              const float* bias, size_t bias_count) {
  return ConvParams(conv, "st_conv_set_weights", const_cast<float*>(weights), weight_count,
                    const_cast<float*>(bias), bias_count, /*in=*/true,
                    [](st::Parameter& p) { return &p.value; });
}

st_status st_conv_get_weights(const st_conv* conv, float* weights, size_t weight_count, float* bias,
                              size_t bias_count) {
  return ConvParams(conv, "st_conv_get_weights", weights, weight_count, bias, bias_count,
                    /*in=*/false, [](st::Parameter& p) { return &p.value; });
}

st_status st_conv_get_gradients(const st_conv* conv, float* weights, size_t weight_count,
                                float* bias, size_t bias_count) {
  return ConvParams(conv, "st_conv_get_gradients", weights, weight_count, bias, bias_count,
                    /*in=*/false, [](st::Parameter& p) { return &p.grad; });
}

st_status st_conv_set_kernel(st_conv* conv, st_kernel kernel) {
  return Guard("st_conv_set_kernel", [&] {
    ConvObject* c = nullptr;
    ST_RETURN_IF_ERROR(Lookup(conv, Kind::kConv, "st_conv_set_kernel", &c));
    return ToPolicy(kernel, &c->policy, "st_conv_set_kernel");
  });
}

st_status st_conv_forward(st_conv* conv, const st_tensor* x, st_tensor* y) {
  const char* call = "st_conv_forward";
  return Guard(call, [&] {
    ConvObject* c = nullptr;
    TensorObject *tx = nullptr, *ty = nullptr;
    ST_RETURN_IF_ERROR(Lookup(conv, Kind::kConv, call, &c));
    ST_RETURN_IF_ERROR(ConvOperand(*c, x, "x", c->shape.input(), call, &tx));
    ST_RETURN_IF_ERROR(ConvOperand(*c, y, "y", c->shape.output(), call, &ty));
    return Check(c->op->Forward(c->shape, tx->tensor.data(), -1, ty->tensor.data(), c->policy,
                                &c->workspace, c->context->pool()),
                 call);
  });
}

st_status st_conv_backward_data(st_conv* conv, const st_tensor* dy, st_tensor* dx) {
  const char* call = "st_conv_backward_data";
  return Guard(call, [&] {
    ConvObject* c = nullptr;
    TensorObject *tdy = nullptr, *tdx = nullptr;
    ST_RETURN_IF_ERROR(Lookup(conv, Kind::kConv, call, &c));
    ST_RETURN_IF_ERROR(ConvOperand(*c, dy, "dy", c->shape.output(), call, &tdy));
    ST_RETURN_IF_ERROR(ConvOperand(*c, dx, "dx", c->shape.input(), call, &tdx));
    return Check(c->op->Backward(c->shape, nullptr, tdy->tensor.data(), -1, /*weight_grads=*/false,
                                 tdx->tensor.data(), c->policy, &c->workspace, c->context->pool()),
                 call);
  });
}

st_status st_conv_backward_weights(st_conv* conv, const st_tensor* x, const st_tensor* dy) {
  const char* call = "st_conv_backward_weights";
  return Guard(call, [&] {
    ConvObject* c = nullptr;
    TensorObject *tx = nullptr, *tdy = nullptr;
    ST_RETURN_IF_ERROR(Lookup(conv, Kind::kConv, call, &c));
    ST_RETURN_IF_ERROR(ConvOperand(*c, x, "x", c->shape.input(), call, &tx));
    ST_RETURN_IF_ERROR(ConvOperand(*c, dy, "dy", c->shape.output(), call, &tdy));
    return Check(c->op->Backward(c->shape, tx->tensor.data(), tdy->tensor.data(), -1,
                                 /*weight_grads=*/true, nullptr, c->policy, &c->workspace,
                                 c->context->pool()),
                 call);
  });
}

st_status st_conv_last_call(const st_conv* conv, st_pass pass, st_conv_call* out) {
  return Guard("st_conv_last_call", [&] {
    ConvObject* c = nullptr;
    ST_RETURN_IF_ERROR(Lookup(conv, Kind::kConv, "st_conv_last_call", &c));
    ST_RETURN_IF_ERROR(NotNull(out, "call", "st_conv_last_call"));
    if (pass != ST_PASS_FORWARD && pass != ST_PASS_BACKWARD_DATA &&
        pass != ST_PASS_BACKWARD_WEIGHTS) {
      return Fail(ST_INVALID_ARGUMENT,
                  "st_conv_last_call: unknown pass " + std::to_string(int(pass)));
    }
    const st::LayerTelemetry& t = c->op->telemetry();
    out->ran = t.ran[pass] ? 1 : 0;
    out->kernel = FromKernel(t.kernel[pass]);
    out->zeros = pass == ST_PASS_FORWARD ? t.input_zeros : t.grad_zeros;
    out->milliseconds = t.ms[pass];
    return ST_OK;
  });
}

// ---- Models

st_status st_model_create(st_context* context, int64_t channels, int64_t height, int64_t width,
                          st_model** out) {
  return Guard("st_model_create", [&] {
    Object* c = nullptr;
    ST_RETURN_IF_ERROR(Lookup(context, Kind::kContext, "st_model_create", &c));
    ST_RETURN_IF_ERROR(NotNull(out, "out", "st_model_create"));
    auto m = std::make_unique<ModelObject>();
    m->context = c->context;
    m->builder =
        std::make_unique<st::ModelBuilder>(channels, height, width, c->context->allocator);
    ST_RETURN_IF_ERROR(Check(m->builder->TakeError(), "st_model_create"));
    *out = Publish<st_model>(std::move(m));
    return ST_OK;
  });
}

st_status st_model_add_conv2d(st_model* model, const char* name, int64_t out_channels,
                              int64_t kernel, int64_t stride, int64_t pad, int32_t bias) {
  return AddLayer(model, name, "st_model_add_conv2d", [&](st::ModelBuilder& b) {
    b.Conv2d(out_channels, kernel, stride, pad, bias != 0, NameOf(name));
  });
}

st_status st_model_add_batchnorm(st_model* model, const char* name, double eps, double momentum) {
  return AddLayer(model, name, "st_model_add_batchnorm",
                  [&](st::ModelBuilder& b) { b.BatchNorm(eps, momentum, NameOf(name)); });
}

st_status st_model_add_relu(st_model* model, const char* name) {
  return AddLayer(model, name, "st_model_add_relu",
                  [&](st::ModelBuilder& b) { b.Relu(NameOf(name)); });
}

st_status st_model_add_maxpool(st_model* model, const char* name, int64_t window, int64_t stride,
                               int64_t pad) {
  return AddLayer(model, name, "st_model_add_maxpool",
                  [&](st::ModelBuilder& b) { b.MaxPool(window, stride, pad, NameOf(name)); });
}

st_status st_model_add_global_avgpool(st_model* model, const char* name) {
  return AddLayer(model, name, "st_model_add_global_avgpool",
                  [&](st::ModelBuilder& b) { b.GlobalAvgPool(NameOf(name)); });
}

st_status st_model_add_flatten(st_model* model, const char* name) {
  return AddLayer(model, name, "st_model_add_flatten",
                  [&](st::ModelBuilder& b) { b.Flatten(NameOf(name)); });
}

st_status st_model_add_dropout(st_model* model, const char* name, float probability) {
  return AddLayer(model, name, "st_model_add_dropout",
                  [&](st::ModelBuilder& b) { b.Dropout(probability, NameOf(name)); });
}

st_status st_model_add_linear(st_model* model, const char* name, int64_t out_features,
                              int32_t bias) {
  return AddLayer(model, name, "st_model_add_linear",
                  [&](st::ModelBuilder& b) { b.Linear(out_features, bias != 0, NameOf(name)); });
}

st_status st_model_residual_begin(st_model* model, const char* name) {
  return AddLayer(model, name, "st_model_residual_begin",
                  [&](st::ModelBuilder& b) { b.BeginResidual(NameOf(name)); });
}

st_status st_model_residual_shortcut(st_model* model) {
  return AddLayer(model, nullptr, "st_model_residual_shortcut",
                  [](st::ModelBuilder& b) { b.Shortcut(); });
}

st_status st_model_residual_end(st_model* model) {
  return AddLayer(model, nullptr, "st_model_residual_end",
                  [](st::ModelBuilder& b) { b.EndResidual(); });
}

st_status st_model_finish(st_model* model, uint64_t seed) {
  return Guard("st_model_finish", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, /*building=*/true, "st_model_finish", &m));
    ST_RETURN_IF_ERROR(Check(m->builder->Build(seed, &m->model), "st_model_finish"));
    m->model->set_pool(m->context->pool());
    m->builder.reset();
    return ST_OK;
  });
}

st_status st_model_destroy(st_model* model) {
  return DestroyHandle(model, Kind::kModel, "st_model_destroy");
}

st_status st_model_input_dims(const st_model* model, int64_t* channels, int64_t* height,
                              int64_t* width) {
  return Guard("st_model_input_dims", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, "st_model_input_dims", &m));
    ST_RETURN_IF_ERROR(NotNull(channels, "channels", "st_model_input_dims"));
    ST_RETURN_IF_ERROR(NotNull(height, "height", "st_model_input_dims"));
    ST_RETURN_IF_ERROR(NotNull(width, "width", "st_model_input_dims"));
    const st::Dims& d = m->model->input_spec().dims;
    *channels = d.c, *height = d.h, *width = d.w;
    return ST_OK;
  });
}

st_status st_model_classes(const st_model* model, int64_t* classes) {
  return Guard("st_model_classes", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, "st_model_classes", &m));
    ST_RETURN_IF_ERROR(NotNull(classes, "classes", "st_model_classes"));
    *classes = m->model->classes();
    return ST_OK;
  });
}

st_status st_optimizer_config_default(st_optimizer_config* config) {
  return Guard("st_optimizer_config_default", [&] {
    ST_RETURN_IF_ERROR(NotNull(config, "config", "st_optimizer_config_default"));
    const st::OptimizerConfig d;
    *config = st_optimizer_config{};
    config->kind = ST_OPTIMIZER_ADAM;
    config->learning_rate = d.lr;
    config->momentum = d.momentum;
    config->nesterov = d.nesterov ? 1 : 0;
    config->beta1 = d.beta1, config->beta2 = d.beta2, config->eps = d.eps;
    config->weight_decay = d.weight_decay;
    config->clip_norm = d.clip_norm;
    config->schedule = ST_SCHEDULE_CONSTANT;
    config->warmup_steps = d.schedule.warmup_steps;
    config->step_size = d.schedule.step_size;
    config->gamma = d.schedule.gamma;
    config->total_steps = d.schedule.total_steps;
    config->min_learning_rate = d.schedule.min_lr;
    return ST_OK;
  });
}

st_status st_model_set_optimizer(st_model* model, const st_optimizer_config* config) {
  const char* call = "st_model_set_optimizer";
  return Guard(call, [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, call, &m));
    ST_RETURN_IF_ERROR(NotNull(config, "config", call));
    st::OptimizerConfig c;
    switch (config->kind) {
      case ST_OPTIMIZER_SGD:
        c.kind = st::OptimizerKind::kSgd;
        break;
      case ST_OPTIMIZER_ADAM:
        c.kind = st::OptimizerKind::kAdam;
        break;
      case ST_OPTIMIZER_ADAMW:
        c.kind = st::OptimizerKind::kAdamW;
        break;
      default:
        return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": unknown optimizer kind " +
                                             std::to_string(int(config->kind)));
    }
    switch (config->schedule) {
      case ST_SCHEDULE_CONSTANT:
        c.schedule.kind = st::ScheduleKind::kConstant;
        break;
      case ST_SCHEDULE_STEP:
        c.schedule.kind = st::ScheduleKind::kStep;
        break;
      case ST_SCHEDULE_COSINE:
        c.schedule.kind = st::ScheduleKind::kCosine;
        break;
      default:
        return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": unknown schedule " +
                                             std::to_string(int(config->schedule)));
    }
    c.lr = config->learning_rate;
    c.momentum = config->momentum;
    c.nesterov = config->nesterov != 0;
    c.beta1 = config->beta1, c.beta2 = config->beta2, c.eps = config->eps;
    c.weight_decay = config->weight_decay;
    c.clip_norm = config->clip_norm;
    c.schedule.warmup_steps = config->warmup_steps;
    c.schedule.step_size = config->step_size;
    c.schedule.gamma = config->gamma;
    c.schedule.total_steps = config->total_steps;
    c.schedule.min_lr = config->min_learning_rate;
    return Check(m->model->SetOptimizer(c), call);
  });
}

st_status st_model_set_kernel(st_model* model, st_kernel kernel) {
  return Guard("st_model_set_kernel", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, "st_model_set_kernel", &m));
    st::KernelPolicy policy;
    ST_RETURN_IF_ERROR(ToPolicy(kernel, &policy, "st_model_set_kernel"));
    m->model->set_policy(policy);
    return ST_OK;
  });
}

st_status st_model_set_check_inputs(st_model* model, int32_t check) {
  return Guard("st_model_set_check_inputs", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, "st_model_set_check_inputs", &m));
    m->model->set_check_inputs(check != 0);
    return ST_OK;
  });
}

st_status st_model_set_frozen(st_model* model, const char* layer, int32_t frozen) {
  return Guard("st_model_set_frozen", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, "st_model_set_frozen", &m));
    ST_RETURN_IF_ERROR(NotNull(layer, "layer", "st_model_set_frozen"));
    return Check(m->model->SetFrozen(layer, frozen != 0), "st_model_set_frozen");
  });
}

st_status st_model_train_step(st_model* model, const float* images, size_t image_count,
                              const int32_t* labels, int64_t batch, st_step_result* result) {
  const char* call = "st_model_train_step";
  return Guard(call, [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, call, &m));
    ST_RETURN_IF_ERROR(CheckImages(*m->model, images, image_count, batch, call));
    ST_RETURN_IF_ERROR(NotNull(labels, "labels", call));
    ST_RETURN_IF_ERROR(NotNull(result, "result", call));
    st::StepResult r;
    ST_RETURN_IF_ERROR(Check(m->model->TrainStep(images, labels, batch, &r), call));
    ToResult(r, result);
    return ST_OK;
  });
}

st_status st_model_eval_step(st_model* model, const float* images, size_t image_count,
                             const int32_t* labels, int64_t batch, st_step_result* result,
                             float* logits, size_t logit_count) {
  const char* call = "st_model_eval_step";
  return Guard(call, [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, call, &m));
    ST_RETURN_IF_ERROR(CheckImages(*m->model, images, image_count, batch, call));
    ST_RETURN_IF_ERROR(NotNull(labels, "labels", call));
    ST_RETURN_IF_ERROR(NotNull(result, "result", call));
    if (logits != nullptr) {
      ST_RETURN_IF_ERROR(CheckCount(logit_count, batch * m->model->classes(), "logits", call));
    }
    st::StepResult r;
    ST_RETURN_IF_ERROR(Check(m->model->EvalStep(images, labels, batch, &r, logits), call));
    ToResult(r, result);
    return ST_OK;
  });
}

st_status st_model_predict(st_model* model, const float* images, size_t image_count, int64_t batch,
                           float* logits, size_t logit_count) {
  const char* call = "st_model_predict";
  return Guard(call, [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, call, &m));
    ST_RETURN_IF_ERROR(CheckImages(*m->model, images, image_count, batch, call));
    ST_RETURN_IF_ERROR(NotNull(logits, "logits", call));
    ST_RETURN_IF_ERROR(CheckCount(logit_count, batch * m->model->classes(), "logits", call));
    return Check(m->model->Predict(images, batch, logits), call);
  });
}

st_status st_model_steps(const st_model* model, int64_t* steps) {
  return Guard("st_model_steps", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, "st_model_steps", &m));
    ST_RETURN_IF_ERROR(NotNull(steps, "steps", "st_model_steps"));
    *steps = m->model->steps();
    return ST_OK;
  });
}

st_status st_model_save(const st_model* model, const char* path) {
  return Guard("st_model_save", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, "st_model_save", &m));
    ST_RETURN_IF_ERROR(NotNull(path, "path", "st_model_save"));
    return Check(m->model->SaveCheckpoint(path), "st_model_save");
  });
}

st_status st_model_load(st_model* model, const char* path) {
  return Guard("st_model_load", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, "st_model_load", &m));
    ST_RETURN_IF_ERROR(NotNull(path, "path", "st_model_load"));
    return Check(m->model->LoadCheckpoint(path), "st_model_load");
  });
}

st_status st_model_layer_count(const st_model* model, int64_t* count) {
  return Guard("st_model_layer_count", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, "st_model_layer_count", &m));
    ST_RETURN_IF_ERROR(NotNull(count, "count", "st_model_layer_count"));
    *count = int64_t(m->model->Telemetry().size());
    return ST_OK;
  });
}

st_status st_model_layer_info(const st_model* model, int64_t index, st_layer_info* info) {
  const char* call = "st_model_layer_info";
  return Guard(call, [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, call, &m));
    ST_RETURN_IF_ERROR(NotNull(info, "info", call));
    const std::vector<st::LayerReport> reports = m->model->Telemetry();
    if (index < 0 || index >= int64_t(reports.size())) {
      return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": index " + std::to_string(index) +
                                           " is outside [0, " + std::to_string(reports.size()) +
                                           ")");
    }
    const st::LayerReport& r = reports[size_t(index)];
    *info = st_layer_info{};
    CopyName(r.name, info->name, sizeof(info->name));
    CopyName(r.kind, info->kind, sizeof(info->kind));
    info->frozen = r.frozen ? 1 : 0;
    info->is_conv = r.telemetry.is_conv ? 1 : 0;
    info->input_zeros = r.telemetry.input_zeros;
    info->grad_zeros = r.telemetry.grad_zeros;
    for (int p = 0; p < 3; ++p) {
      info->ran[p] = r.telemetry.ran[p] ? 1 : 0;
      info->kernel[p] = FromKernel(r.telemetry.kernel[p]);
      info->milliseconds[p] = r.telemetry.ms[p];
    }
    return ST_OK;
  });
}

st_status st_model_memory(const st_model* model, st_memory_info* info) {
  return Guard("st_model_memory", [&] {
    ModelObject* m = nullptr;
    ST_RETURN_IF_ERROR(LookupModel(model, false, "st_model_memory", &m));
    ST_RETURN_IF_ERROR(NotNull(info, "info", "st_model_memory"));
    const st::MemoryFootprint f = m->model->Memory();
    info->parameter_bytes = f.parameter_bytes;
    info->gradient_bytes = f.gradient_bytes;
    info->optimizer_bytes = f.optimizer_bytes;
    info->activation_bytes = f.activation_bytes;
    info->workspace_bytes = f.workspace_bytes;
    return ST_OK;
  });
}

}  // extern "C"
