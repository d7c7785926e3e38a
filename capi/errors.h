// How the C API reports failure: an st_status, and a message kept per thread for
// st_last_error_message(). Messages start with the entry point's name.
#ifndef SPARSETRAIN_CAPI_ERRORS_H_
#define SPARSETRAIN_CAPI_ERRORS_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>

#include "kernels/base/status.h"
#include "sparsetrain/sparsetrain.h"

namespace sparsetrain::capi {

// Records `message` as the calling thread's last error and returns `status`.
st_status Fail(st_status status, std::string message);
const char* LastError();

// ST_OK, or the st_status of `status` with its message after "`call`: ".
st_status Check(const Status& status, const char* call);

// Runs an entry point's body; an exception that escapes it becomes a status.
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

#define ST_RETURN_IF_ERROR(expr)          \
  do {                                    \
    const st_status status_ = (expr);     \
    if (status_ != ST_OK) return status_; \
  } while (0)

// ST_INVALID_ARGUMENT "`call`: `what` is NULL" when p is null.
st_status NotNull(const void* p, const char* what, const char* call);
// ST_SHAPE_MISMATCH unless a buffer of `given` elements is the `needed` the call uses.
st_status CheckCount(size_t given, int64_t needed, const char* what, const char* call);
// ST_INVALID_ARGUMENT "`call`: index i is outside [0, size)" unless 0 <= index < size.
st_status CheckIndex(int64_t index, size_t size, const char* call);
// Copies `bytes` out to data[0, capacity) and their count to *size, for the buffer calls whose
// data NULL and capacity 0 ask the size only; ST_INVALID_ARGUMENT (nothing written) when data
// is NULL with a capacity, or the capacity is too small.
st_status CopyOut(const std::string& bytes, void* data, size_t capacity, size_t* size,
                  const char* call);

}  // namespace sparsetrain::capi

#endif  // SPARSETRAIN_CAPI_ERRORS_H_
