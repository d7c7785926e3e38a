// Times one pass of a layer into its telemetry.
#ifndef SPARSETRAIN_RUNTIME_PASS_TIMER_H_
#define SPARSETRAIN_RUNTIME_PASS_TIMER_H_

#include <chrono>

#include "runtime/layer.h"

namespace sparsetrain {

class PassTimer {
 public:
  PassTimer(LayerTelemetry* telemetry, Pass pass)
      : telemetry_(telemetry), pass_(int(pass)), start_(std::chrono::steady_clock::now()) {}
  ~PassTimer() {
    telemetry_->ms[pass_] =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
            .count();
    telemetry_->ran[pass_] = true;
  }

 private:
  LayerTelemetry* telemetry_;
  int pass_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_PASS_TIMER_H_
