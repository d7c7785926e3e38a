// Timing for benchmarks: the median of repeated runs after warm-up.
#ifndef SPARSETRAIN_BENCH_TIMING_H_
#define SPARSETRAIN_BENCH_TIMING_H_

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <vector>

namespace sparsetrain {

// Median wall time in ms of `iters` runs of `run`, after `warmups` untimed ones. Once `budget_ms`
// have passed since the first warm-up, no further run starts but the first timed one: a path that
// takes seconds per call (a library's reference code) cannot hold a benchmark for an hour.
// `runs`, when given, receives the number of timed runs the median is of.
inline double MedianMs(int iters, int warmups, const std::function<void()>& run,
                       double budget_ms = std::numeric_limits<double>::infinity(),
                       int* runs = nullptr) {
  const auto begin = std::chrono::steady_clock::now();
  const auto within_budget = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
               .count() < budget_ms;
  };
  for (int i = 0; i < warmups && (i == 0 || within_budget()); ++i) run();
  std::vector<double> ms;
  for (int i = 0; i < iters && (i == 0 || within_budget()); ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  if (runs != nullptr) *runs = int(ms.size());
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_BENCH_TIMING_H_
