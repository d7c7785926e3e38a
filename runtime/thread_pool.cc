#include "runtime/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace sparsetrain {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return in ? text.str() : std::string();
}

// The tighter of two CPU limits, where 0 means none.
int Tighter(int a, int b) { return a == 0 ? b : b == 0 ? a : std::min(a, b); }

// The tightest limit `cpus_at` finds in the cgroup at `path` under `root` and in its ancestors:
// a quota set on a parent cgroup binds its children too. 0: none.
template <class CpusAt>
int TightestUpwards(const std::string& root, std::string path, const CpusAt& cpus_at) {
  int tightest = 0;
  for (;;) {
    tightest = Tighter(tightest, cpus_at(root + path));
    if (path.empty()) return tightest;
    path.erase(path.find_last_of('/'));
  }
}

// The CPU quota of this process's cgroup, in whole CPUs (0: none). /proc/self/cgroup names the
// cgroup: "0::/path" on v2, "N:cpu,cpuacct:/path" on v1.
int CgroupCpus() {
  std::istringstream lines(ReadFile("/proc/self/cgroup"));
  std::string line;
  int tightest = 0;
  while (std::getline(lines, line)) {
    const size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (path == "/") path.clear();
    if (controllers.empty()) {
      tightest =
          Tighter(tightest, TightestUpwards("/sys/fs/cgroup", path, [](const std::string& dir) {
                    return CpusOfQuota(ReadFile(dir + "/cpu.max"));
                  }));
      continue;
    }
    std::stringstream names(controllers);
    std::string name;
    bool has_cpu = false;
    while (std::getline(names, name, ',')) has_cpu |= name == "cpu";
    if (!has_cpu) continue;
    const std::string root = "/sys/fs/cgroup/" + controllers;
    tightest = Tighter(tightest, TightestUpwards(root, path, [](const std::string& dir) {
                         const std::string quota = ReadFile(dir + "/cpu.cfs_quota_us");
                         const std::string period = ReadFile(dir + "/cpu.cfs_period_us");
                         if (quota.empty() || period.empty()) return 0;
                         return CpusOfQuota(std::atoll(quota.c_str()), std::atoll(period.c_str()));
                       }));
  }
  return tightest;
}

}  // namespace

int CpusOfQuota(int64_t quota_us, int64_t period_us) {
  if (quota_us <= 0 || period_us <= 0) return 0;
  return int(std::max<int64_t>(1, (quota_us + period_us - 1) / period_us));
}

int CpusOfQuota(const std::string& cpu_max) {
  std::istringstream fields(cpu_max);
  std::string quota;
  int64_t period = 0;
  if (!(fields >> quota >> period) || quota == "max") return 0;
  return CpusOfQuota(std::atoll(quota.c_str()), period);
}

int AvailableCpus() {
  cpu_set_t set;
  int cpus = 1;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = std::max(1, CPU_COUNT(&set));
  return Tighter(cpus, CgroupCpus());
}

int ThreadCountFor(int requested, bool exact, int available) {
  if (requested <= 0) return available;
  return exact ? requested : std::min(requested, available);
}

Status ThreadPool::Create(int threads, std::unique_ptr<ThreadPool>* out) {
  if (threads < 1)
    return InvalidArgument("threads must be positive, got " + std::to_string(threads));
  pthreadpool_t pool = nullptr;
  if (threads > 1) {
    pool = pthreadpool_create(size_t(threads));
    if (pool == nullptr) return OutOfMemory("cannot start " + std::to_string(threads) + " threads");
  }
  out->reset(new ThreadPool(pool, threads));
  return Status::Ok();
}

ThreadPool::~ThreadPool() {
  if (pool_ == nullptr) return;
  SetWorkerWait(pool_, WorkerWait::kSleep);  // a later pool at this address starts asleep
  pthreadpool_destroy(pool_);
}

WorkerWait WorkerWaitSelector::Choose(pthreadpool_t pool) {
  if (pool != pool_) {
    *this = WorkerWaitSelector();
    pool_ = pool;
    may_spin_ = ThreadCount(pool) > 1 && ThreadCount(pool) <= AvailableCpus();
  }
  if (!may_spin_) return WorkerWait::kSleep;
  if (step_ < kWarmups + kProbes) return step_ % 2 == 0 ? WorkerWait::kSpin : WorkerWait::kSleep;
  return chosen_;
}

void WorkerWaitSelector::Record(WorkerWait wait, double ms) {
  if (!may_spin_) return;
  if (step_ >= kWarmups && step_ < kWarmups + kProbes) {
    double& best = best_ms_[int(wait)];
    best = best == 0.0 ? ms : std::min(best, ms);
  }
  ++step_;
  if (step_ == kWarmups + kProbes) {
    chosen_ = best_ms_[int(WorkerWait::kSpin)] < best_ms_[int(WorkerWait::kSleep)]
                  ? WorkerWait::kSpin
                  : WorkerWait::kSleep;
  } else if (step_ == kWarmups + kProbes + kReprobeAfter) {
    step_ = kWarmups;  // the load may have changed: measure again
    best_ms_[0] = best_ms_[1] = 0.0;
  }
}

}  // namespace sparsetrain
