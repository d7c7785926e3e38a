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
  int64_t targets;  // the Highway targets of this ISA (0 for auto)
};

// Best first. Our build compiles the x86 or the ARM ones (SSSE3 is left out in //third_party:hwy);
// SVE_256 and SVE2_128 are Highway's fixed-width variants for 256-bit SVE and 128-bit SVE2 CPUs.
constexpr IsaEntry kIsas[] = {
    {Isa::kAuto, "auto", 0},
    {Isa::kAvx512, "avx512", HWY_AVX3 | HWY_AVX3_DL},
    {Isa::kAvx2, "avx2", HWY_AVX2},
    {Isa::kSse4, "sse4", HWY_SSE4},
    {Isa::kSve2, "sve2", HWY_SVE2 | HWY_SVE2_128},
    {Isa::kSve, "sve", HWY_SVE | HWY_SVE_256},
    {Isa::kNeon, "neon", HWY_NEON},
    {Isa::kScalar, "scalar", HWY_SCALAR | HWY_EMU128},
};

const IsaEntry& EntryOf(Isa isa) {
  for (const IsaEntry& e : kIsas) {
    if (e.isa == isa) return e;
  }
  return kIsas[0];
}

// The targets dispatch may use when `e` caps it: its own, and those Highway ranks below all of
// them (higher bits). Highway prefers SVE_256 to SVE2 on a 256-bit CPU, so a cap at sve2 excludes
// it, and a cap at sve excludes both SVE2 targets.
int64_t AllowedTargets(const IsaEntry& e) {
  if (e.targets == 0) return ~int64_t{0};
  const int64_t worst_own = int64_t{1} << (63 - __builtin_clzll(uint64_t(e.targets)));
  return e.targets | ~(worst_own | (worst_own - 1));
}

// Whether capping at `e` takes effect: Highway never disables the build's baseline targets
// (NEON on aarch64), so a cap below them cannot be applied.
bool Cappable(const IsaEntry& e) { return (HWY_ENABLED_BASELINE & ~AllowedTargets(e)) == 0; }

thread_local int64_t last_target_ran = 0;

// Highway target that caps dispatch (0: none). Guarded by cap_mutex, like Highway's own state.
std::mutex cap_mutex;
int64_t cap_allowed = ~int64_t{0};

// hwy::SupportedTargets() re-detects the CPU and, as a side effect, points dynamic dispatch at
// every target the CPU has, ignoring DisableTargets (Highway's own dispatch re-applies the
// masked set right after). Every query here goes through this, so a query never undoes the cap.
int64_t QuerySupportedTargets() {
  const int64_t targets = hwy::SupportedTargets();
  hwy::GetChosenTarget().Update(targets);
  return targets;
}

void ApplyCap(int64_t allowed) { hwy::DisableTargets(~allowed); }

// What the CPU offers, regardless of the cap. Caller holds cap_mutex.
int64_t TargetsWithoutCap() {
  hwy::DisableTargets(0);
  const int64_t targets = QuerySupportedTargets();
  ApplyCap(cap_allowed);
  return targets;
}

// Whether this build compiled the ISA's code (a build may leave AVX-512 out: //third_party:hwy).
bool Built(const IsaEntry& e) { return (e.targets & HWY_TARGETS) != 0; }

}  // namespace

const char* IsaName(Isa isa) { return EntryOf(isa).name; }

Status ParseIsa(std::string_view name, Isa* isa) {
  std::string expected;
  for (const IsaEntry& e : kIsas) {
    if (name == e.name) {
      *isa = e.isa;
      return Status::Ok();
    }
    expected += expected.empty() ? "" : ", ";
    expected += e.name;
  }
  return InvalidArgument("unknown ISA '" + std::string(name) + "' (expected one of " + expected +
                         ")");
}

bool IsaSupported(Isa isa) {
  if (isa == Isa::kAuto) return true;
  const IsaEntry& e = EntryOf(isa);
  std::lock_guard<std::mutex> lock(cap_mutex);
  return Built(e) && Cappable(e) && (TargetsWithoutCap() & e.targets) != 0;
}

Status SelectIsa(Isa isa) {
  const IsaEntry& e = EntryOf(isa);
  std::lock_guard<std::mutex> lock(cap_mutex);
  if (e.targets != 0 && (TargetsWithoutCap() & e.targets) == 0) {
    return Status(StatusCode::kUnsupported,
                  std::string("ISA '") + e.name + "' is not supported by this CPU");
  }
  if (!Cappable(e)) {
    return Status(StatusCode::kUnsupported,
                  std::string("ISA '") + e.name + "' cannot be selected: this build's baseline, " +
                      hwy::TargetName(HWY_ENABLED_BASELINE & -HWY_ENABLED_BASELINE) +
                      ", always runs");
  }
  if (e.targets != 0 && !Built(e)) {
    return Status(StatusCode::kUnsupported,
                  std::string("ISA '") + e.name + "' was left out of this build");
  }
  cap_allowed = AllowedTargets(e);
  ApplyCap(cap_allowed);
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
  for (const IsaEntry& e : kIsas) {
    if ((e.targets & target) != 0) return e.isa;
  }
  return Isa::kScalar;
}

int64_t ConvTileTarget(int64_t target) {
  return (target & SPARSETRAIN_SVE_TARGETS) != 0 ? HWY_NEON : target;
}

Isa ActiveIsa() { return IsaOfTarget(ActiveTarget()); }

int64_t LastTargetRan() { return last_target_ran; }

const char* TargetName(int64_t target) { return target == 0 ? "none" : hwy::TargetName(target); }
void NoteTargetRan(int64_t target) { last_target_ran = target; }

}  // namespace sparsetrain
