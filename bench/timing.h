// Timing for benchmarks: the median of repeated runs after warm-up.
#ifndef SPARSETRAIN_BENCH_TIMING_H_
#define SPARSETRAIN_BENCH_TIMING_H_

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace sparsetrain {

// Median wall time in ms of `iters` runs of `run`, after `warmups` untimed ones.
inline double MedianMs(int iters, int warmups, const std::function<void()>& run) {
  for (int i = 0; i < warmups; ++i) run();
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_BENCH_TIMING_H_
