// Times one pass of a layer into its telemetry and, in verbose mode, logs it (runtime/verbose.h).
// Constructed at the start of the pass's work inside the layer, it reads what the pass wrote when
// it goes out of scope: the output for forward, the input gradient for backward by input.
#ifndef SPARSETRAIN_RUNTIME_PASS_TIMER_H_
#define SPARSETRAIN_RUNTIME_PASS_TIMER_H_

#include <chrono>

#include "runtime/layer.h"

namespace sparsetrain {

class PassTimer {
 public:
  PassTimer(Layer* layer, Pass pass)
      : layer_(layer), pass_(pass), start_(std::chrono::steady_clock::now()) {}
  ~PassTimer();
  PassTimer(const PassTimer&) = delete;
  PassTimer& operator=(const PassTimer&) = delete;

 private:
  Layer* layer_;
  Pass pass_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_PASS_TIMER_H_
