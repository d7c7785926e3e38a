// The C API's enums and structs in the runtime's terms and back. Each enum has one table in
// conversions.cc; static_asserts there keep the tables complete and the values in step.
#ifndef SPARSETRAIN_CAPI_CONVERSIONS_H_
#define SPARSETRAIN_CAPI_CONVERSIONS_H_

#include <string>

#include "capi/errors.h"
#include "kernels/base/pass.h"
#include "kernels/base/status.h"
#include "kernels/conv_choice.h"
#include "kernels/isa.h"
#include "kernels/layout.h"
#include "runtime/layer.h"
#include "runtime/loss.h"
#include "runtime/model.h"
#include "runtime/optimizer.h"
#include "sparsetrain/sparsetrain.h"

namespace sparsetrain::capi {

// The runtime's value of a C enum member; false for a value that names no member.
bool ToRuntime(st_layout value, Layout* out);
bool ToRuntime(st_isa value, Isa* out);
bool ToRuntime(st_kernel value, KernelPolicy* out);
bool ToRuntime(st_pass value, Pass* out);
bool ToRuntime(st_optimizer_kind value, OptimizerKind* out);
bool ToRuntime(st_schedule_kind value, ScheduleKind* out);
bool ToRuntime(st_loss_kind value, LossKind* out);

// The C value of a runtime enum member.
st_status ToC(StatusCode code);
st_layout ToC(Layout layout);
st_isa ToC(Isa isa);
st_kernel ToC(ConvKernel kernel);

// "ST_OK", "ST_INVALID_ARGUMENT", ...; "ST_UNKNOWN" for a value that names no status.
const char* StatusName(st_status status);

// ToRuntime, failing with "`call`: unknown `what` <value>" for a value that names no member.
template <class C, class Runtime>
st_status Convert(C value, const char* what, const char* call, Runtime* out) {
  if (ToRuntime(value, out)) return ST_OK;
  return Fail(ST_INVALID_ARGUMENT,
              std::string(call) + ": unknown " + what + " " + std::to_string(int(value)));
}

// dims = {n, c, h, w}, each positive.
st_status ToDims(const int64_t dims[4], Dims* out, const char* call);
void WriteDims(const Dims& d, int64_t dims[4]);

st_status ToOptimizerConfig(const st_optimizer_config& config, const char* call,
                            OptimizerConfig* out);
st_optimizer_config ToC(const OptimizerConfig& config);
st_step_result ToC(const StepResult& result);
st_memory_info ToC(const MemoryFootprint& memory);
st_conv_call ToC(const LayerTelemetry& telemetry, Pass pass);
st_layer_info ToC(const LayerReport& report);

}  // namespace sparsetrain::capi

#endif  // SPARSETRAIN_CAPI_CONVERSIONS_H_
