// Splits a loop across the caller's thread pool (serially when the pool is null). The runtime
// never creates threads of its own: the pool, and so the thread count, belongs to the caller.
#ifndef SPARSETRAIN_KERNELS_PARALLEL_H_
#define SPARSETRAIN_KERNELS_PARALLEL_H_

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

namespace sparsetrain {

// How a pool's workers wait for the next loop. Sleeping costs a wake-up per loop (a step of the
// demo's network makes about 35 of them); spinning is faster on free cores, but a
// spinning worker takes the core from any thread that has work - another process, the app's
// render thread, or the pool's own threads when it has more than the CPUs - and then a step runs
// many times slower. Pools sleep unless set to spin (runtime/thread_pool.h measures which is
// faster).
enum class WorkerWait { kSleep = 0, kSpin = 1 };

// Sets how `pool`'s workers wait (null: nothing to set). Going back to sleeping sends them to
// sleep at once (they would otherwise spin on for a while after the last loop). At most
// kMaxSpinningPools pools spin at once; past that a pool keeps sleeping.
void SetWorkerWait(pthreadpool_t pool, WorkerWait wait);
WorkerWait WorkerWaitOf(pthreadpool_t pool);
constexpr int kMaxSpinningPools = 64;

// The pthreadpool flags of a loop on `pool`: denormals off, and the workers' wait.
inline uint32_t LoopFlags(pthreadpool_t pool) {
  return PTHREADPOOL_FLAG_DISABLE_DENORMALS |
         (WorkerWaitOf(pool) == WorkerWait::kSpin ? 0 : PTHREADPOOL_FLAG_YIELD_WORKERS);
}

// Calls body(i) for i in [0, count), items spread over the pool's threads.
template <class Body>
void ParallelFor(pthreadpool_t pool, size_t count, const Body& body) {
  pthreadpool_parallelize_1d(
      pool, [](void* context, size_t i) { (*static_cast<const Body*>(context))(i); },
      const_cast<Body*>(&body), count, LoopFlags(pool));
}

// Calls body(begin, end) for the ranges [begin, end) of `grain` items (the last may be shorter)
// that cover [0, count), spread over the pool's threads: for items too small to be a task each.
template <class Body>
void ParallelForRanges(pthreadpool_t pool, size_t count, size_t grain, const Body& body) {
  pthreadpool_parallelize_1d_tile_1d(
      pool,
      [](void* context, size_t begin, size_t items) {
        (*static_cast<const Body*>(context))(begin, begin + items);
      },
      const_cast<Body*>(&body), count, grain, LoopFlags(pool));
}

// The number of threads ParallelFor spreads work over.
inline int64_t ThreadCount(pthreadpool_t pool) {
  return pool != nullptr ? int64_t(pthreadpool_get_threads_count(pool)) : 1;
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_PARALLEL_H_
