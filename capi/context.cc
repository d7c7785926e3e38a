// Contexts: the threads and the allocator a set of objects share.
#include <memory>
#include <string>

#include "capi/objects.h"
#include "kernels/base/limits.h"
#include "runtime/thread_pool.h"
#include "sparsetrain/sparsetrain.h"

namespace st = sparsetrain;
using namespace sparsetrain::capi;

namespace {

st_status CreateContext(const char* call, int32_t threads, bool exact,
                        const st_allocator* allocator, st_context** out) {
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
    if (allocator != nullptr)
      state->allocator = {allocator->alloc, allocator->free, allocator->user};
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

}  // namespace

extern "C" {

st_status st_context_create(int32_t threads, const st_allocator* allocator, st_context** out) {
  return CreateContext(__func__, threads, /*exact=*/false, allocator, out);
}

st_status st_context_create_exact(int32_t threads, const st_allocator* allocator,
                                  st_context** out) {
  return CreateContext(__func__, threads, /*exact=*/true, allocator, out);
}

int32_t st_available_cpus(void) { return st::AvailableCpus(); }

st_status st_context_destroy(st_context* context) {
  return Destroy(__func__, context, Kind::kContext);
}

st_status st_context_threads(const st_context* context, int32_t* threads) {
  const char* call = __func__;
  return OnObject<ContextObject>(call, context, [&](ContextObject& c) {
    ST_RETURN_IF_ERROR(NotNull(threads, "threads", call));
    *threads = c.context->threads->threads();
    return ST_OK;
  });
}

}  // extern "C"
