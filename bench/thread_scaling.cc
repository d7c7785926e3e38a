// Training-step time of the demo's CNN (Fashion-MNIST sized, batch 64) per thread count, on an
// idle machine and with one core kept busy by another process.
//
//   bazel run -c opt //bench:thread_scaling -- [--threads 1,2,3,4,8,16] [--steps 20] [--busy 0|1|2]
//
// For each count it runs the count as a context would by default (capped to the CPUs the process
// may use) and as insisted on (exactly that many threads). --busy 1 runs only with the busy core,
// 0 only idle, 2 (the default) both.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench/provenance.h"
#include "examples/fashion_mnist_model.h"
#include "runtime/model.h"
#include "runtime/thread_pool.h"

namespace sparsetrain {
namespace {

struct Options {
  std::vector<int> threads = {1, 2, 3, 4, 8, 16};
  int steps = 20;
  int busy = 2;
};

bool Parse(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--threads") {
      o->threads.clear();
      std::stringstream list(value);
      std::string item;
      while (std::getline(list, item, ',')) o->threads.push_back(std::atoi(item.c_str()));
    } else if (flag == "--steps") {
      o->steps = std::atoi(value.c_str());
    } else if (flag == "--busy") {
      o->busy = std::atoi(value.c_str());
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && o->steps > 0 && !o->threads.empty();
}

// The demo's network.
std::unique_ptr<Model> DemoModel() {
  std::unique_ptr<Model> model;
  if (!FashionMnistModel().Build(1, &model).ok()) std::abort();
  return model;
}

// One model training on its own pool, a step at a time.
class Trainer {
 public:
  explicit Trainer(int threads) : model_(DemoModel()) {
    if (!ThreadPool::Create(threads, &pool_).ok()) std::abort();
    model_->set_pool(pool_->get());
  }
  double StepMs(const std::vector<float>& images, const std::vector<int32_t>& labels) {
    const auto start = std::chrono::steady_clock::now();
    StepResult r;
    if (!model_->TrainStep(images.data(), labels.data(), int64_t(labels.size()), &r).ok()) {
      std::abort();
    }
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  }

 private:
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<Model> model_;
};

// Median ms per training step for each thread count, the counts' steps interleaved so that a
// change in the machine's load hits all of them alike.
std::map<int, double> StepMs(const std::set<int>& counts, int steps) {
  constexpr int kBatch = 64, kWarmups = 10;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  std::vector<float> images(size_t(kBatch) * 28 * 28);
  std::vector<int32_t> labels(kBatch);
  for (float& v : images) v = pixel(rng);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t(i % 10);
  std::map<int, std::unique_ptr<Trainer>> trainers;
  std::map<int, std::vector<double>> ms;
  for (int count : counts) trainers[count] = std::make_unique<Trainer>(count);
  for (int step = 0; step < kWarmups + steps; ++step) {
    for (auto& [count, trainer] : trainers) {
      const double t = trainer->StepMs(images, labels);
      if (step >= kWarmups) ms[count].push_back(t);
    }
  }
  std::map<int, double> medians;
  for (auto& [count, times] : ms) {
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    medians[count] = times[times.size() / 2];
  }
  return medians;
}

// A process that spins on one core until killed.
pid_t StartBusyProcess() {
  const pid_t pid = fork();
  if (pid == 0) {
    for (volatile uint64_t i = 0;; i = i + 1) {
    }
  }
  return pid;
}

void Table(const Options& o, bool busy) {
  const pid_t spinner = busy ? StartBusyProcess() : 0;
  std::printf("\n%s, %d CPUs available, %s\n", CpuDescription().c_str(), AvailableCpus(),
              busy ? "one core kept busy by another process" : "idle");
  std::printf("%-10s %-14s %-12s %-14s %-12s\n", "requested", "default: runs", "ms/step",
              "exact: runs", "ms/step");
  std::set<int> counts;
  for (int requested : o.threads) {
    counts.insert(requested);
    counts.insert(ThreadCountFor(requested, /*exact=*/false, AvailableCpus()));
  }
  const std::map<int, double> ms = StepMs(counts, o.steps);
  for (int requested : o.threads) {
    const int capped = ThreadCountFor(requested, /*exact=*/false, AvailableCpus());
    std::printf("%-10d %-14d %-12.2f %-14d %-12.2f\n", requested, capped, ms.at(capped), requested,
                ms.at(requested));
  }
  if (spinner > 0) {
    kill(spinner, SIGKILL);
    waitpid(spinner, nullptr, 0);
  }
}

}  // namespace
}  // namespace sparsetrain

int main(int argc, char** argv) {
  sparsetrain::Options o;
  if (!sparsetrain::Parse(argc, argv, &o)) {
    std::fprintf(stderr, "usage: thread_scaling [--threads 1,2,4] [--steps N] [--busy 0|1|2]\n");
    return 2;
  }
  if (o.busy != 1) sparsetrain::Table(o, /*busy=*/false);
  if (o.busy != 0) sparsetrain::Table(o, /*busy=*/true);
  return 0;
}
