#include "kernels/parallel.h"

#include <atomic>

namespace sparsetrain {
namespace {

// The pools set to spin; empty slots are null. A fixed table of atomics, so that the lookup every
// loop makes takes no lock and allocates nothing.
std::atomic<pthreadpool_t> spinning_pools[kMaxSpinningPools];

}  // namespace

WorkerWait WorkerWaitOf(pthreadpool_t pool) {
  if (pool == nullptr) return WorkerWait::kSleep;
  for (const auto& slot : spinning_pools) {
    if (slot.load(std::memory_order_relaxed) == pool) return WorkerWait::kSpin;
  }
  return WorkerWait::kSleep;
}

void SetWorkerWait(pthreadpool_t pool, WorkerWait wait) {
  if (pool == nullptr || WorkerWaitOf(pool) == wait) return;
  for (auto& slot : spinning_pools) {
    if (wait == WorkerWait::kSpin) {
      pthreadpool_t empty = nullptr;
      if (slot.compare_exchange_strong(empty, pool)) return;
    } else {
      pthreadpool_t held = pool;
      slot.compare_exchange_strong(held, nullptr);
    }
  }
  if (wait == WorkerWait::kSleep) {
    pthreadpool_parallelize_1d(
        pool, [](void*, size_t) {}, nullptr, 1, PTHREADPOOL_FLAG_YIELD_WORKERS);
  }
}

}  // namespace sparsetrain
