#include "kernels/isa.h"

#include <hwy/highway.h>
#include <hwy/targets.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace sparsetrain {
namespace {

struct IsaEntry {
  Isa isa;
  const char* name;
  int64_t target;  // Highway target (0 for auto)
};

// Best first. Our build compiles exactly these targets (SSSE3 is left out in //third_party:hwy).
constexpr IsaEntry kIsas[] = {
    {Isa::kAuto, "auto", 0},
    {Isa::kAvx512, "avx512", HWY_AVX3},
    {Isa::kAvx2, "avx2", HWY_AVX2},
    {Isa::kSse4, "sse4", HWY_SSE4},
    {Isa::kScalar, "scalar", HWY_SCALAR},
};

const IsaEntry& EntryOf(Isa isa) {
  for (const IsaEntry& e : kIsas) {
    if (e.isa == isa) return e;
  }
  return kIsas[0];
}

thread_local int64_t last_target_ran = 0;

// Highway target that caps dispatch (0: none). Guarded by cap_mutex, like Highway's own state.
std::mutex cap_mutex;
int64_t cap_target = 0;

// hwy::SupportedTargets() re-detects the CPU and, as a side effect, points dynamic dispatch at
// every target the CPU has, ignoring DisableTargets (Highway's own dispatch re-applies the
// masked set right after). Every query here goes through this, so a query never undoes the cap.
int64_t QuerySupportedTargets() {
  const int64_t targets = hwy::SupportedTargets();
  hwy::GetChosenTarget().Update(targets);
  return targets;
}

// Disables every target better than `cap` (better targets have lower bits).
void ApplyCap(int64_t cap) { hwy::DisableTargets(cap == 0 ? 0 : cap - 1); }

// What the CPU offers, regardless of the cap. Caller holds cap_mutex.
int64_t TargetsWithoutCap() {
  hwy::DisableTargets(0);
  const int64_t targets = QuerySupportedTargets();
  ApplyCap(cap_target);
  return targets;
}

}  // namespace

const char* IsaName(Isa isa) { return EntryOf(isa).name; }

Status ParseIsa(std::string_view name, Isa* isa) {
  for (const IsaEntry& e : kIsas) {
    if (name == e.name) {
      *isa = e.isa;
      return Status::Ok();
    }
  }
  return InvalidArgument("unknown ISA '" + std::string(name) +
                         "' (expected auto, avx512, avx2, sse4 or scalar)");
}

bool IsaSupported(Isa isa) {
  if (isa == Isa::kAuto) return true;
  std::lock_guard<std::mutex> lock(cap_mutex);
  return (TargetsWithoutCap() & EntryOf(isa).target) != 0;
}

Status SelectIsa(Isa isa) {
  std::lock_guard<std::mutex> lock(cap_mutex);
  const int64_t target = EntryOf(isa).target;
  if (target != 0 && (TargetsWithoutCap() & target) == 0) {
    return Status(StatusCode::kUnsupported,
                  std::string("ISA '") + IsaName(isa) + "' is not supported by this CPU");
  }
  cap_target = target;
  ApplyCap(cap_target);
  return Status::Ok();
}

Status SelectIsaFromEnvironment() {
  const char* value = std::getenv("SPARSETRAIN_ISA");
  if (value == nullptr || *value == '\0') return Status::Ok();
  Isa isa;
  Status status = ParseIsa(value, &isa);
  if (status.ok()) status = SelectIsa(isa);
  return status.Within("SPARSETRAIN_ISA");
}

int64_t ActiveTarget() {
  const int64_t targets = QuerySupportedTargets() & HWY_TARGETS;
  return targets & -targets;  // the lowest bit is the best target
}

Isa IsaOfTarget(int64_t target) {
  if (target == HWY_AVX3 || target == HWY_AVX3_DL) return Isa::kAvx512;
  if (target == HWY_AVX2) return Isa::kAvx2;
  if (target == HWY_SSE4) return Isa::kSse4;
  return Isa::kScalar;
}

Isa ActiveIsa() { return IsaOfTarget(ActiveTarget()); }

int64_t LastTargetRan() { return last_target_ran; }

const char* TargetName(int64_t target) { return target == 0 ? "none" : hwy::TargetName(target); }
void NoteTargetRan(int64_t target) { last_target_ran = target; }

}  // namespace sparsetrain
