#include "runtime/verbose.h"

#include <atomic>
#include <cstdio>

#include "kernels/isa.h"

namespace sparsetrain {
namespace {
std::atomic<int> verbose_level{0};
}  // namespace

void SetVerbose(int level) { verbose_level.store(level, std::memory_order_relaxed); }
bool Verbose() { return verbose_level.load(std::memory_order_relaxed) > 0; }

void LogConvPass(const std::string& layer, Pass pass, ConvKernel kernel, double zeros, double ms) {
  std::fprintf(stderr, "sparsetrain,conv,%s,%s,%s,%s,zeros=%.3f,ms=%.3f\n", layer.c_str(),
               PassName(pass), ConvKernelName(kernel), IsaName(ActiveIsa()), zeros, ms);
}

}  // namespace sparsetrain
