#include "runtime/verbose.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "kernels/isa.h"

namespace sparsetrain {
namespace {
constexpr int kUnread = -1;  // SPARSETRAIN_VERBOSE not read yet
std::atomic<int> verbose_level{kUnread};
}  // namespace

void SetVerbose(int level) { verbose_level.store(level, std::memory_order_relaxed); }

int VerboseLevel() {
  int level = verbose_level.load(std::memory_order_relaxed);
  if (level == kUnread) {
    const char* value = std::getenv("SPARSETRAIN_VERBOSE");
    level = value != nullptr ? std::max(0, std::atoi(value)) : 0;
    int expected = kUnread;  // a SetVerbose meanwhile wins
    if (!verbose_level.compare_exchange_strong(expected, level)) level = expected;
  }
  return level;
}

void LogPass(const char* kind, const std::string& layer, Pass pass, const std::string& problem,
             const char* kernel, double zeros, double ms) {
  char zeros_text[16] = "-";
  if (zeros >= 0) std::snprintf(zeros_text, sizeof zeros_text, "%.3f", zeros);
  std::fprintf(stderr, "sparsetrain,%s,%s,%s,%s,%s,%s,zeros=%s,ms=%.3f\n", kind, layer.c_str(),
               PassName(pass), problem.c_str(), kernel != nullptr ? kernel : "-",
               TargetName(LastTargetRan()), zeros_text, ms);
}

void LogChoice(const std::string& layer, Pass pass, const ChoiceReason& reason) {
  std::fprintf(stderr,
               "sparsetrain,choice,%s,%s,%s,predicted=%.3f,correction=%.3f,dense_ms=%.3f,"
               "sparse_ms=%.3f\n",
               layer.c_str(), PassName(pass), ChoiceBasisName(reason.basis), reason.predicted,
               reason.correction, reason.dense_ms, reason.sparse_ms);
}

}  // namespace sparsetrain
