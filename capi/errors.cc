#include "capi/errors.h"

#include <cstring>

#include <utility>

#include "capi/conversions.h"

namespace sparsetrain::capi {
namespace {
thread_local std::string last_error;
}  // namespace

st_status Fail(st_status status, std::string message) {
  last_error = std::move(message);
  return status;
}

const char* LastError() { return last_error.c_str(); }

st_status Check(const Status& status, const char* call) {
  if (status.ok()) return ST_OK;
  return Fail(ToC(status.code()), std::string(call) + ": " + status.message());
}

st_status NotNull(const void* p, const char* what, const char* call) {
  if (p == nullptr) return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": " + what + " is NULL");
  return ST_OK;
}

st_status CheckIndex(int64_t index, size_t size, const char* call) {
  if (index >= 0 && index < int64_t(size)) return ST_OK;
  return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": index " + std::to_string(index) +
                                       " is outside [0, " + std::to_string(size) + ")");
}

st_status CopyOut(const std::string& bytes, void* data, size_t capacity, size_t* size,
                  const char* call) {
  if (data == nullptr && capacity != 0) {
    return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": data is null, capacity is not 0");
  }
  if (data != nullptr && capacity < bytes.size()) {
    return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": it takes " +
                                         std::to_string(bytes.size()) + " bytes, capacity " +
                                         std::to_string(capacity));
  }
  if (data != nullptr) std::memcpy(data, bytes.data(), bytes.size());
  *size = bytes.size();
  return ST_OK;
}

st_status CheckCount(size_t given, int64_t needed, const char* what, const char* call) {
  if (int64_t(given) != needed) {
    return Fail(ST_SHAPE_MISMATCH, std::string(call) + ": " + what + " has " +
                                       std::to_string(given) + " elements, the call needs " +
                                       std::to_string(needed));
  }
  return ST_OK;
}

}  // namespace sparsetrain::capi
