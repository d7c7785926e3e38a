#include "runtime/thread_pool.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "runtime/model_builder.h"

namespace sparsetrain {
namespace {

TEST(ThreadPoolTest, QuotasRoundUpToWholeCpus) {
  EXPECT_EQ(CpusOfQuota("max 100000\n"), 0);
  EXPECT_EQ(CpusOfQuota("150000 100000\n"), 2);
  EXPECT_EQ(CpusOfQuota("50000 100000"), 1);
  EXPECT_EQ(CpusOfQuota("400000 100000"), 4);
  EXPECT_EQ(CpusOfQuota(""), 0);
  EXPECT_EQ(CpusOfQuota(-1, 100000), 0);
  EXPECT_EQ(CpusOfQuota(250000, 100000), 3);
  EXPECT_EQ(CpusOfQuota(1000, 100000), 1);
}

TEST(ThreadPoolTest, CountsAreCappedUnlessExact) {
  EXPECT_EQ(ThreadCountFor(0, false, 6), 6);
  EXPECT_EQ(ThreadCountFor(0, true, 6), 6);
  EXPECT_EQ(ThreadCountFor(4, false, 6), 4);
  EXPECT_EQ(ThreadCountFor(16, false, 6), 6);
  EXPECT_EQ(ThreadCountFor(16, true, 6), 16);
}

TEST(ThreadPoolTest, AvailableCpusAreWithinTheAffinityMask) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_GE(AvailableCpus(), 1);
  EXPECT_LE(AvailableCpus(), CPU_COUNT(&set));
}

TEST(ThreadPoolTest, PoolsRunTheirThreadCount) {
  std::unique_ptr<ThreadPool> pool;
  ASSERT_TRUE(ThreadPool::Create(1, &pool).ok());
  EXPECT_EQ(pool->get(), nullptr);
  ASSERT_TRUE(ThreadPool::Create(3, &pool).ok());
  EXPECT_EQ(pthreadpool_get_threads_count(pool->get()), 3u);
  EXPECT_EQ(pool->threads(), 3);
  EXPECT_FALSE(ThreadPool::Create(0, &pool).ok());
}

TEST(ThreadPoolTest, RangesCoverEveryItemOnceInGrainSizedPieces) {
  std::unique_ptr<ThreadPool> pool;
  ASSERT_TRUE(ThreadPool::Create(2, &pool).ok());
  for (pthreadpool_t p : {pool->get(), pthreadpool_t(nullptr)}) {
    std::vector<int> visits(10, 0);
    std::vector<size_t> lengths(11, 0);
    ParallelForRanges(p, 10, 3, [&](size_t begin, size_t end) {
      __atomic_add_fetch(&lengths[end - begin], 1, __ATOMIC_RELAXED);
      for (size_t i = begin; i < end; ++i) __atomic_add_fetch(&visits[i], 1, __ATOMIC_RELAXED);
    });
    EXPECT_EQ(visits, std::vector<int>(10, 1));
    EXPECT_EQ(lengths[3], 3u);  // [0, 3) [3, 6) [6, 9)
    EXPECT_EQ(lengths[1], 1u);  // [9, 10)
  }
}

TEST(ThreadPoolTest, PoolsSleepUnlessSetToSpinAndAtMostSoManySpin) {
  std::vector<std::unique_ptr<ThreadPool>> pools(kMaxSpinningPools + 1);
  for (auto& pool : pools) ASSERT_TRUE(ThreadPool::Create(2, &pool).ok());
  pthreadpool_t first = pools[0]->get();
  EXPECT_EQ(WorkerWaitOf(first), WorkerWait::kSleep);
  SetWorkerWait(first, WorkerWait::kSpin);
  EXPECT_EQ(WorkerWaitOf(first), WorkerWait::kSpin);
  int sum = 0;
  ParallelFor(first, 10, [&](size_t i) { __atomic_add_fetch(&sum, int(i), __ATOMIC_RELAXED); });
  EXPECT_EQ(sum, 45);
  SetWorkerWait(first, WorkerWait::kSleep);
  EXPECT_EQ(WorkerWaitOf(first), WorkerWait::kSleep);
  for (auto& pool : pools) SetWorkerWait(pool->get(), WorkerWait::kSpin);
  for (int i = 0; i < kMaxSpinningPools; ++i) {
    EXPECT_EQ(WorkerWaitOf(pools[i]->get()), WorkerWait::kSpin);
  }
  EXPECT_EQ(WorkerWaitOf(pools.back()->get()), WorkerWait::kSleep);  // the table is full
  EXPECT_EQ(WorkerWaitOf(nullptr), WorkerWait::kSleep);
  // A destroyed pool's slot is free again.
  pools[0].reset();
  SetWorkerWait(pools.back()->get(), WorkerWait::kSpin);
  EXPECT_EQ(WorkerWaitOf(pools.back()->get()), WorkerWait::kSpin);
}

TEST(ThreadPoolTest, WorkerWaitFollowsTheFasterOfTheProbesAndMeasuresAgain) {
  std::unique_ptr<ThreadPool> pool;
  ASSERT_TRUE(ThreadPool::Create(std::min(2, AvailableCpus()), &pool).ok());
  if (pool->get() == nullptr) GTEST_SKIP() << "one CPU: nothing to choose";
  for (const bool spin_faster : {true, false}) {
    WorkerWaitSelector selector;
    const auto run = [&](int steps) {
      for (int i = 0; i < steps; ++i) {
        const WorkerWait wait = selector.Choose(pool->get());
        const bool spins = wait == WorkerWait::kSpin;
        selector.Record(wait, spins == spin_faster ? 10.0 : 14.0);
      }
    };
    // Warm-ups and probes alternate, spinning first.
    for (int i = 0; i < WorkerWaitSelector::kWarmups + WorkerWaitSelector::kProbes; ++i) {
      const WorkerWait wait = selector.Choose(pool->get());
      EXPECT_EQ(wait, i % 2 == 0 ? WorkerWait::kSpin : WorkerWait::kSleep) << i;
      selector.Record(wait, (wait == WorkerWait::kSpin) == spin_faster ? 10.0 : 14.0);
    }
    const WorkerWait faster = spin_faster ? WorkerWait::kSpin : WorkerWait::kSleep;
    EXPECT_EQ(selector.chosen(), faster);
    run(WorkerWaitSelector::kReprobeAfter - 1);
    EXPECT_EQ(selector.Choose(pool->get()), faster);
    run(1);
    // Then it probes again (no warm-ups), starting with spinning.
    EXPECT_EQ(selector.Choose(pool->get()), WorkerWait::kSpin);
    run(WorkerWaitSelector::kProbes);
    EXPECT_EQ(selector.Choose(pool->get()), faster);
  }
  // A pool with more threads than the CPUs never spins.
  std::unique_ptr<ThreadPool> crowded;
  ASSERT_TRUE(ThreadPool::Create(2 * AvailableCpus() + 1, &crowded).ok());
  WorkerWaitSelector selector;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(selector.Choose(crowded->get()), WorkerWait::kSleep);
    selector.Record(WorkerWait::kSleep, 1.0);
  }
}

// Many more threads than cores once made a step many times slower than one thread (workers
// spun against each other). The bound is loose on purpose: this guards against the collapse, it
// does not measure speed.
TEST(ThreadPoolTest, OversubscribedPoolsDoNotCollapse) {
  struct Run {
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<Model> model;
    std::vector<double> ms;
  };
  constexpr int kBatch = 32, kWarmups = 4, kSteps = 15;
  std::vector<float> images(size_t(kBatch) * 28 * 28);
  std::vector<int32_t> labels(kBatch);
  for (size_t i = 0; i < images.size(); ++i) images[i] = float(i * 7 % 11) / 11.0f;
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t(i % 10);
  Run runs[2];
  const int counts[2] = {1, 4 * AvailableCpus()};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(ThreadPool::Create(counts[i], &runs[i].pool).ok());
    ModelBuilder b(1, 28, 28);
    b.Conv2d(32, 3).Relu().MaxPool(2, 2).Conv2d(64, 3).Relu().MaxPool(2, 2);
    b.Flatten().Linear(10);
    ASSERT_TRUE(b.Build(1, &runs[i].model).ok());
    runs[i].model->set_pool(runs[i].pool->get());
  }
  for (int step = 0; step < kWarmups + kSteps; ++step) {
    for (Run& run : runs) {  // interleaved: a change of the machine's load hits both alike
      const auto start = std::chrono::steady_clock::now();
      StepResult r;
      ASSERT_TRUE(run.model->TrainStep(images.data(), labels.data(), kBatch, &r).ok());
      const auto end = std::chrono::steady_clock::now();
      if (step >= kWarmups)
        run.ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    }
  }
  for (Run& run : runs) std::sort(run.ms.begin(), run.ms.end());
  const double one = runs[0].ms[kSteps / 2], many = runs[1].ms[kSteps / 2];
  EXPECT_LT(many, 3.0 * one) << counts[1] << " threads: " << many
                             << " ms per step, 1 thread: " << one << " ms";
}

}  // namespace
}  // namespace sparsetrain
