// Library-wide entry points: versions, errors, ISA selection, verbose mode.
#include <string>

#include "capi/conversions.h"
#include "capi/errors.h"
#include "kernels/isa.h"
#include "runtime/verbose.h"
#include "sparsetrain/sparsetrain.h"

namespace st = sparsetrain;
using st::capi::Check;
using st::capi::Fail;

extern "C" {

uint32_t st_version(void) { return ST_VERSION; }

#define ST_TEXT(x) #x
#define ST_VERSION_TEXT(major, minor, patch) ST_TEXT(major) "." ST_TEXT(minor) "." ST_TEXT(patch)
const char* st_version_string(void) {
  return ST_VERSION_TEXT(ST_VERSION_MAJOR, ST_VERSION_MINOR, ST_VERSION_PATCH);
}

st_status st_check_abi(uint32_t header_version) {
  const uint32_t major = header_version >> 16, minor = (header_version >> 8) & 0xFF;
  if (major != ST_VERSION_MAJOR) {
    return Fail(ST_UNSUPPORTED, std::string(__func__) + ": built against ABI " +
                                    std::to_string(major) + ", this library implements ABI " +
                                    std::to_string(ST_VERSION_MAJOR));
  }
  if (minor > ST_VERSION_MINOR) {
    return Fail(ST_UNSUPPORTED, std::string(__func__) + ": built against version " +
                                    std::to_string(major) + "." + std::to_string(minor) +
                                    ", this library is older (" + st_version_string() + ")");
  }
  return ST_OK;
}

const char* st_status_name(st_status status) { return st::capi::StatusName(status); }

const char* st_last_error_message(void) { return st::capi::LastError(); }

int32_t st_isa_supported(st_isa isa) {
  st::Isa runtime;
  return st::capi::ToRuntime(isa, &runtime) && st::IsaSupported(runtime) ? 1 : 0;
}

st_status st_set_isa(st_isa isa) {
  const char* call = __func__;
  return st::capi::Guard(call, [&] {
    st::Isa runtime;
    ST_RETURN_IF_ERROR(st::capi::Convert(isa, "ISA", call, &runtime));
    return Check(st::SelectIsa(runtime), call);
  });
}

st_isa st_get_isa(void) { return st::capi::ToC(st::ActiveIsa()); }

const char* st_isa_name(st_isa isa) {
  st::Isa runtime;
  return st::capi::ToRuntime(isa, &runtime) ? st::IsaName(runtime) : "unknown";
}

void st_set_verbose(int32_t level) { st::SetVerbose(level); }

}  // extern "C"
