#include "capi/objects.h"

#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace sparsetrain::capi {
namespace {

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

}  // namespace

const char* KindName(Kind kind) {
  constexpr const char* kNames[] = {"context", "tensor", "conv", "model"};
  return kNames[int(kind)];
}

uintptr_t Register(std::unique_ptr<Object> object) { return Objects().Add(std::move(object)); }

st_status Lookup(const void* handle, Kind kind, const char* call, Object** out) {
  if (handle == nullptr) {
    return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": " + KindName(kind) + " is NULL");
  }
  Object* object = Objects().Find(reinterpret_cast<uintptr_t>(handle), kind);
  if (object == nullptr) {
    return Fail(ST_BAD_HANDLE,
                std::string(call) + ": " + KindName(kind) +
                    " handle is not live (destroyed, never created, or another kind)");
  }
  *out = object;
  return ST_OK;
}

st_status SameContext(const Object& a, const Object& b, const char* call) {
  if (a.context != b.context) {
    return Fail(ST_BAD_HANDLE,
                std::string(call) + ": the " + KindName(b.kind) + " belongs to another context");
  }
  return ST_OK;
}

st_status CheckStage(const ModelObject& model, ModelStage stage, const char* call) {
  if (stage == ModelStage::kBuilding && model.builder == nullptr) {
    return Fail(ST_INVALID_ARGUMENT,
                std::string(call) + ": the model is finished; layers can no longer be added");
  }
  if (stage == ModelStage::kFinished && model.model == nullptr) {
    return Fail(ST_INVALID_ARGUMENT,
                std::string(call) + ": the model is not finished (call st_model_finish)");
  }
  return ST_OK;
}

st_status Destroy(const char* call, const void* handle, Kind kind) {
  return Guard(call, [&] {
    ST_RETURN_IF_ERROR(NotNull(handle, KindName(kind), call));
    if (Objects().Remove(reinterpret_cast<uintptr_t>(handle), kind) == nullptr) {
      return Fail(ST_BAD_HANDLE, std::string(call) + ": " + KindName(kind) + " handle is not live");
    }
    return ST_OK;
  });
}

}  // namespace sparsetrain::capi
