// The threads a context runs its work on, sized to the CPUs the process may actually use.
//
// A pool with more threads than free cores is far slower than one thread: every parallel loop
// waits for its slowest thread, and a thread that is not scheduled holds the loop up for a whole
// time slice. Containers with CPU quotas, phones and games whose render thread shares the cores
// all hit this, so a requested count is capped to AvailableCpus() unless the caller insists.
#ifndef SPARSETRAIN_RUNTIME_THREAD_POOL_H_
#define SPARSETRAIN_RUNTIME_THREAD_POOL_H_

#include <pthreadpool.h>

#include <cstdint>
#include <memory>
#include <string>

#include "kernels/base/status.h"
#include "kernels/parallel.h"

namespace sparsetrain {

// The CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota (v1 or v2)
// rounded up to whole CPUs. At least 1.
int AvailableCpus();

// The CPUs a quota allows, from cgroup v2's cpu.max text ("max 100000", "150000 100000") or
// cgroup v1's cfs quota and period in microseconds (quota -1: none). 0 when there is no limit.
int CpusOfQuota(const std::string& cpu_max);
int CpusOfQuota(int64_t quota_us, int64_t period_us);

// How many threads a context asks for: `requested` (0: as many as the process may use), capped to
// `available` unless `exact`.
int ThreadCountFor(int requested, bool exact, int available);

// How a model's steps have a pool's workers wait (kernels/parallel.h), chosen by measurement,
// as the convolution kernels are: on free cores spinning is faster, on cores another thread keeps
// busy sleeping is. The first steps alternate the two, and after kReprobeAfter steps it measures
// again, since the load changes. A pool with more threads than AvailableCpus() always sleeps.
class WorkerWaitSelector {
 public:
  WorkerWait Choose(pthreadpool_t pool);    // for the next step on `pool`
  void Record(WorkerWait wait, double ms);  // the time of the step Choose just decided
  WorkerWait chosen() const { return chosen_; }

  static constexpr int kWarmups = 2;  // spin, sleep: not timed
  static constexpr int kProbes = 8;   // alternating; the fastest of each counts
  static constexpr int kReprobeAfter = 256;

 private:
  pthreadpool_t pool_ = nullptr;
  bool may_spin_ = false;
  int step_ = 0;
  double best_ms_[2] = {0.0, 0.0};  // per WorkerWait
  WorkerWait chosen_ = WorkerWait::kSleep;
};

class ThreadPool {
 public:
  // A pool of `threads` threads, the caller's included (1: no threads are started).
  static Status Create(int threads, std::unique_ptr<ThreadPool>* out);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  pthreadpool_t get() const { return pool_; }  // null for one thread
  int threads() const { return threads_; }

 private:
  ThreadPool(pthreadpool_t pool, int threads) : pool_(pool), threads_(threads) {}
  pthreadpool_t pool_;
  int threads_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_THREAD_POOL_H_
