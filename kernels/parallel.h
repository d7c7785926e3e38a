// Splits a loop across the caller's thread pool (serially when the pool is null). The runtime
// never creates threads of its own: the pool, and so the thread count, belongs to the caller.
#ifndef SPARSETRAIN_KERNELS_PARALLEL_H_
#define SPARSETRAIN_KERNELS_PARALLEL_H_

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

namespace sparsetrain {

// Calls body(i) for i in [0, count), items spread over the pool's threads. Workers sleep
// between loops instead of spinning: a spinning worker takes the core from a thread that has
// work, so a pool larger than the free cores (or one sharing them with other processes) ran a
// training step many times slower (bench/thread_scaling shows both).
template <class Body>
void ParallelFor(pthreadpool_t pool, size_t count, const Body& body) {
  pthreadpool_parallelize_1d(
      pool, [](void* context, size_t i) { (*static_cast<const Body*>(context))(i); },
      const_cast<Body*>(&body), count,
      PTHREADPOOL_FLAG_DISABLE_DENORMALS | PTHREADPOOL_FLAG_YIELD_WORKERS);
}

// The number of threads ParallelFor spreads work over.
inline int64_t ThreadCount(pthreadpool_t pool) {
  return pool != nullptr ? int64_t(pthreadpool_get_threads_count(pool)) : 1;
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_PARALLEL_H_
