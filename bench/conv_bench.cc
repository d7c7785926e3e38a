// conv_bench: our convolution kernels side by side with oneDNN's direct convolution, per layer and
// pass, same shapes, data and thread count, interleaved in one process.
//
//   bazel run -c opt //bench:conv_bench -- --layers FILE.csv [--passes fwd,bwd_data,bwd_weights]
//       [--threads 2] [--isa auto|avx512|avx2] [--kernel dense|sparse|auto|depthwise]
//       [--sparsity F] [--iters 10] [--max-seconds 60] [--workers spin|sleep] [--csv OUT.csv]
//   bazel run -c opt //bench:conv_bench -- --problem mb16ic64ih56oc64kh3sh1ph1 [...]
//
// --kernel auto makes the runtime's per-layer choice: the calibrated curve at the row's zero
// fractions, corrected by the probe calls that alternate the two kernels (kernels/conv_choice.h).
//
// --problem runs one problem descriptor (kernels/conv_shape.h) instead of a layer list, at
// --sparsity (default 0) in both operands. Each row names its problem descriptor.
//
// Times are medians of --iters runs after 2 warm-up runs (fewer when a side's runs pass
// --max-seconds, which stderr notes), each side's block of runs starting with the other side's
// threads asleep; within a block, our pool's workers spin between calls as
// oneDNN's OpenMP threads do (--workers sleep: they sleep, and each call pays their wake-up).
// Backward by input includes, on both sides, converting the forward weights into the layout that
// pass reads (training updates them every step). The last line is
//   TOTAL fwd=<x> bwd_data=<x> bwd_weights=<x> train=<x> inference=<x>
// each the summed oneDNN time over our summed time.
#include <omp.h>
#include <pthreadpool.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_data.h"
#include "bench/layer_list.h"
#include "bench/onednn_conv.h"
#include "bench/provenance.h"
#include "bench/timing.h"
#include "kernels/aligned.h"
#include "kernels/conv_choice.h"
#include "kernels/conv_depthwise.h"
#include "kernels/conv_family.h"
#include "kernels/isa.h"
#include "kernels/layout.h"
#include "kernels/parallel.h"
#include "kernels/reorder.h"

namespace sparsetrain {
namespace {

struct Options {
  std::string layers;
  std::string problem;
  std::vector<std::string> passes = {"fwd", "bwd_data", "bwd_weights"};
  int threads = 2;
  Isa isa = Isa::kAuto;
  std::string kernel = "dense";
  double sparsity = -1;  // < 0: each layer's own
  int iters = 10;
  // Per side, pass and layer: oneDNN's reference code for some shapes takes seconds per call.
  double max_seconds = 60;
  // How our pool's workers wait between the calls of one measurement. Spinning, as oneDNN's
  // OpenMP threads do between parallel regions by default and as the runtime's pools do when
  // that measures faster (runtime/thread_pool.h), so both sides are timed without wake-ups.
  WorkerWait workers = WorkerWait::kSpin;
  std::string csv;
  std::string command;  // the command line, for the CSV's provenance
};

constexpr const char* kUsage =
    "usage: conv_bench --layers FILE.csv | --problem DESCRIPTOR\n"
    "                  [--passes fwd,bwd_data,bwd_weights] [--threads N]\n"
    "                  [--isa auto|avx512|avx2|sse4|scalar]\n"
    "                  [--kernel dense|sparse|auto|depthwise]\n"
    "                  [--sparsity F] [--iters N] [--max-seconds S] [--workers spin|sleep]\n"
    "                  [--csv OUT.csv]\n";

// --workers' names, also written to the table's header and the CSV.
std::string WorkersName(WorkerWait wait) { return wait == WorkerWait::kSpin ? "spin" : "sleep"; }

Status ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return InvalidArgument("missing value after " + flag);
    const std::string value = argv[++i];
    if (flag == "--problem") {
      o->problem = value;
    } else if (flag == "--layers") {
      o->layers = value;
    } else if (flag == "--passes") {
      o->passes.clear();
      std::stringstream in(value);
      for (std::string p; std::getline(in, p, ',');) {
        if (p != "fwd" && p != "bwd_data" && p != "bwd_weights") {
          return InvalidArgument("unknown pass '" + p + "' (fwd, bwd_data, bwd_weights)");
        }
        o->passes.push_back(p);
      }
    } else if (flag == "--threads") {
      o->threads = std::atoi(value.c_str());
      if (o->threads < 1 || o->threads > 1024) return InvalidArgument("--threads must be >= 1");
    } else if (flag == "--isa") {
      Status status = ParseIsa(value, &o->isa);
      if (!status.ok()) return status;
    } else if (flag == "--kernel") {
      if (value != "dense" && value != "sparse" && value != "auto" && value != "depthwise") {
        return InvalidArgument("--kernel must be dense, sparse, auto or depthwise");
      }
      o->kernel = value;
    } else if (flag == "--sparsity") {
      o->sparsity = std::atof(value.c_str());
      if (!(o->sparsity >= 0 && o->sparsity <= 1)) return InvalidArgument("--sparsity in [0, 1]");
    } else if (flag == "--iters") {
      o->iters = std::atoi(value.c_str());
      if (o->iters < 1) return InvalidArgument("--iters must be >= 1");
    } else if (flag == "--max-seconds") {
      o->max_seconds = std::atof(value.c_str());
      if (!(o->max_seconds > 0)) return InvalidArgument("--max-seconds must be > 0");
    } else if (flag == "--workers") {
      if (value != WorkersName(WorkerWait::kSpin) && value != WorkersName(WorkerWait::kSleep)) {
        return InvalidArgument("--workers must be spin or sleep");
      }
      o->workers = value == WorkersName(WorkerWait::kSpin) ? WorkerWait::kSpin : WorkerWait::kSleep;
    } else if (flag == "--csv") {
      o->csv = value;
    } else {
      return InvalidArgument("unknown flag " + flag);
    }
  }
  if (o->layers.empty() == o->problem.empty()) {
    return InvalidArgument("give one of --layers and --problem");
  }
  if (o->kernel == "depthwise" && o->sparsity >= 0) {
    return InvalidArgument("--kernel depthwise is dense: no --sparsity");
  }
  return Status::Ok();
}

// Caps oneDNN at the ISA our kernels use, so both sides run the same instruction set.
dnnl::cpu_isa OneDnnIsa(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return dnnl::cpu_isa::avx512_core;
    case Isa::kAvx2:
      return dnnl::cpu_isa::avx2;
    case Isa::kSse4:
      return dnnl::cpu_isa::sse41;
    default:
      return dnnl::cpu_isa::all;
  }
}

// Median of `o.iters` timed runs after 2 warm-ups, or of those that fit in --max-seconds (said
// on stderr, naming `what`). Both thread pools spin for a while after each job before they
// sleep; a spinning thread of one side would steal a core from the other, so each side's block
// of runs starts after a pause.
double MedianAfterQuietMs(const Options& o, const std::string& what,
                          const std::function<void()>& run) {
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  int runs = 0;
  const double ms = MedianMs(o.iters, 2, run, o.max_seconds * 1000, &runs);
  if (runs < o.iters) {
    std::fprintf(stderr, "note: %s: median of %d of %d runs, the rest past --max-seconds %g\n",
                 what.c_str(), runs, o.iters, o.max_seconds);
  }
  return ms;
}

struct Row {
  std::string net, layer, problem, pass, kernel;
  double x_sparsity = 0, dy_sparsity = 0, ours_ms = 0, onednn_ms = 0;
};

Status WriteCsv(const std::string& path, const std::vector<Row>& rows, const Options& o,
                const std::set<std::string>& onednn) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) return Status(StatusCode::kIoError, "cannot write " + tmp);
    out << "# cpu: " << CpuDescription() << "\n# date: " << TodayUtc()
        << "\n# command: " << o.command << "\n# workers: " << WorkersName(o.workers)
        << "\n# onednn:";
    for (const std::string& implementations : onednn) out << " " << implementations << ";";
    out << "\n";
    out << "net,layer,problem,pass,isa,threads,kernel,x_sparsity,dy_sparsity,ours_ms,onednn_ms,"
           "speedup\n";
    for (const Row& r : rows) {
      char line[512];
      std::snprintf(line, sizeof line, "%s,%s,%s,%s,%s,%d,%s,%.4f,%.4f,%.4f,%.4f,%.4f\n",
                    r.net.c_str(), r.layer.c_str(), r.problem.c_str(), r.pass.c_str(),
                    IsaName(ActiveIsa()), o.threads, r.kernel.c_str(), r.x_sparsity, r.dy_sparsity,
                    r.ours_ms, r.onednn_ms, r.onednn_ms / r.ours_ms);
      out << line;
    }
    if (!out.flush()) return Status(StatusCode::kIoError, "cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status(StatusCode::kIoError, "cannot rename " + tmp + " to " + path);
  }
  return Status::Ok();
}

int Run(const Options& o) {
  Status status = SelectIsa(o.isa);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.message().c_str());
    return 1;
  }
  dnnl::set_max_cpu_isa(OneDnnIsa(o.isa));
  // oneDNN's AVX2 and SSE4 kernels block activations by 8 channels; each side gets its own best.
  const int onednn_block = ActiveIsa() == Isa::kAvx512 ? 16 : 8;
  omp_set_num_threads(o.threads);
  pthreadpool_t pool = o.threads > 1 ? pthreadpool_create(o.threads) : nullptr;

  std::vector<LayerSpec> layers;
  if (o.problem.empty()) {
    status = ReadLayerList(o.layers, &layers);
  } else {
    layers.push_back({"problem", "-", ConvShape(), 0.0, 0.0});
    status = ParseProblemDescriptor(o.problem, &layers.back().shape);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.message().c_str());
    return 1;
  }
  std::printf("conv_bench: %s, %s, ISA %s, %d thread(s), workers %s, kernel %s, median of %d\n",
              CpuDescription().c_str(), TodayUtc().c_str(), IsaName(ActiveIsa()), o.threads,
              WorkersName(o.workers).c_str(), o.kernel.c_str(), o.iters);
  std::printf("%-8s %-22s %-36s %-12s %6s %6s %-7s %10s %10s %8s\n", "net", "layer", "problem",
              "pass", "x0", "dy0", "kernel", "ours_ms", "onednn_ms", "speedup");

  std::vector<Row> rows;
  std::set<std::string> onednn_implementations;  // per layer: fwd / bwd_data / bwd_weights
  std::map<std::string, double> ours_total, onednn_total;
  std::mt19937 rng(1234);
  for (const LayerSpec& layer : layers) {
    const ConvShape& s = layer.shape;
    const double xs = o.sparsity >= 0 ? o.sparsity : layer.x_sparsity;
    const double dys = o.sparsity >= 0 ? o.sparsity : layer.dy_sparsity;
    const AlignedFloats x_nchw = RandomTensor(s.input().count(), xs, rng);
    const AlignedFloats dy_nchw = RandomTensor(s.output().count(), dys, rng);
    const AlignedFloats x = Blocked(x_nchw, s.input(), Layout::kNChw16c);
    const AlignedFloats dy = Blocked(dy_nchw, s.output(), Layout::kNChw16c);
    // Depthwise: every layer convolves each channel alone (groups = C = K); its weights are
    // (C, 1, R, S), held as the blocked activation (1, C, R, S).
    const bool depthwise = o.kernel == "depthwise";
    if (depthwise && s.k != s.c) {
      std::fprintf(stderr, "error: %s is not depthwise (K != C)\n", layer.name.c_str());
      return 1;
    }
    const Dims depthwise_weights{1, s.c, s.r, s.s};
    const AlignedFloats w_kcrs =
        RandomTensor(depthwise ? depthwise_weights.count() : s.weights().count(), 0.0, rng);
    const AlignedFloats w = depthwise ? Blocked(w_kcrs, depthwise_weights, Layout::kNChw16c)
                                      : Blocked(w_kcrs, s.weights(), Layout::kOIhw16i16o);
    const AlignedFloats bias = RandomTensor(PaddedChannels(s.k), 0.0, rng);  // whole blocks
    AlignedFloats y(StorageFloats(s.output(), Layout::kNChw16c));
    AlignedFloats dx(StorageFloats(s.input(), Layout::kNChw16c));
    AlignedFloats w_t(w.size()), dw(w.size()), dbias(size_t(PaddedChannels(s.k)));
    OneDnnConv onednn(s, onednn_block, x_nchw.data(), w_kcrs.data(), bias.data(), dy_nchw.data(),
                      depthwise ? s.c : 1);
    if (onednn_implementations.insert(onednn.Implementations()).second) {
      std::printf("oneDNN: %s\n", onednn.Implementations().c_str());
    }

    for (const std::string& pass : o.passes) {
      const Pass which = pass == "fwd"        ? Pass::kForward
                         : pass == "bwd_data" ? Pass::kBackwardData
                                              : Pass::kBackwardWeights;
      // Sparse backward by weights walks the operand with more zeros, as the runtime's does.
      const WeightsWalk walk = ChooseWeightsWalk(s, xs, dys);
      // Scratch for either family, as the runtime reserves it.
      AlignedFloats scratch(size_t(EitherFamilyWorkspaceFloats(which, s, ThreadCount(pool))));
      const Workspace ws{scratch.data(), int64_t(scratch.size())};
      auto run = [&](ConvKernel kernel) {
        if (depthwise) {
          if (which == Pass::kForward) {
            (void)DepthwiseForward(s, x.data(), w.data(), bias.data(), y.data(), pool);
          } else if (which == Pass::kBackwardData) {
            (void)DepthwiseBackwardData(s, dy.data(), w.data(), dx.data(), pool);
          } else {
            (void)DepthwiseBackwardWeights(s, x.data(), dy.data(), dw.data(), dbias.data(), pool);
          }
          return;
        }
        const ConvFamily& family = ConvFamilyOf(kernel);
        if (which == Pass::kForward) {
          (void)family.forward(s, x.data(), w.data(), bias.data(), y.data(), ws, pool);
        } else if (which == Pass::kBackwardData) {
          (void)Reorder(w.data(), Layout::kOIhw16i16o, w_t.data(), Layout::kIOhw16o16i, s.weights(),
                        pool);
          (void)family.backward_data(s, dy.data(), w_t.data(), dx.data(), ws, pool);
        } else {
          (void)family.backward_weights(s, x.data(), dy.data(), dw.data(), dbias.data(), walk, ws,
                                        pool);
        }
      };
      // auto: the runtime's choice - the curves at the zero fractions its ReLU counts would
      // report, corrected by the probe calls that alternate the kernels, timed as a layer's
      // first calls in training are.
      ConvKernel kernel = o.kernel == "sparse" ? ConvKernel::kSparse : ConvKernel::kDense;
      if (o.kernel == "auto") {
        ConvKernelSelector selector;
        const double zeros = SkippedOperandZeros(which, s, xs, dys);
        for (;;) {
          kernel = selector.Choose(which, s, zeros, ActiveIsa());
          if (selector.reason().basis != ChoiceBasis::kProbing) break;
          const auto start = std::chrono::steady_clock::now();
          run(kernel);
          selector.Record(kernel, std::chrono::duration<double, std::milli>(
                                      std::chrono::steady_clock::now() - start)
                                      .count());
        }
      }
      const std::function<void()> ours = [&] { run(kernel); };
      std::function<void()> theirs = [&] { onednn.BackwardWeights(); };
      if (which == Pass::kForward) theirs = [&] { onednn.Forward(); };
      if (which == Pass::kBackwardData) theirs = [&] { onednn.BackwardData(); };
      Row row;
      row.net = layer.net, row.layer = layer.name, row.problem = ProblemDescriptor(s);
      row.pass = pass, row.kernel = depthwise ? "depthwise" : ConvRunName(kernel, which, walk);
      row.x_sparsity = xs, row.dy_sparsity = dys;
      SetWorkerWait(pool, o.workers);
      const std::string what = row.problem + " " + pass;
      row.ours_ms = MedianAfterQuietMs(o, "ours " + what, ours);
      // Our workers must not spin on while oneDNN's threads run: send them to sleep now.
      SetWorkerWait(pool, WorkerWait::kSleep);
      row.onednn_ms = MedianAfterQuietMs(o, "oneDNN " + what, theirs);
      std::printf("%-8s %-22s %-36s %-12s %6.3f %6.3f %-7s %10.3f %10.3f %8.3f\n", row.net.c_str(),
                  row.layer.c_str(), row.problem.c_str(), pass.c_str(), xs, dys, row.kernel.c_str(),
                  row.ours_ms, row.onednn_ms, row.onednn_ms / row.ours_ms);
      std::fflush(stdout);
      ours_total[pass] += row.ours_ms;
      onednn_total[pass] += row.onednn_ms;
      rows.push_back(row);
    }
  }
  if (pool != nullptr) pthreadpool_destroy(pool);
  if (!o.csv.empty()) {
    status = WriteCsv(o.csv, rows, o, onednn_implementations);
    if (!status.ok()) {
      std::fprintf(stderr, "error: %s\n", status.message().c_str());
      return 1;
    }
  }

  auto ratio = [&](std::initializer_list<const char*> passes) {
    double ours = 0, theirs = 0;
    for (const char* p : passes) {
      if (!ours_total.count(p)) return std::string("n/a");
      ours += ours_total[p];
      theirs += onednn_total[p];
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", theirs / ours);
    return std::string(text);
  };
  std::printf("TOTAL fwd=%s bwd_data=%s bwd_weights=%s train=%s inference=%s\n",
              ratio({"fwd"}).c_str(), ratio({"bwd_data"}).c_str(), ratio({"bwd_weights"}).c_str(),
              ratio({"fwd", "bwd_data", "bwd_weights"}).c_str(), ratio({"fwd"}).c_str());
  return 0;
}

}  // namespace
}  // namespace sparsetrain

int main(int argc, char** argv) {
  sparsetrain::Options options;
  options.command = "conv_bench";
  for (int i = 1; i < argc; ++i) options.command += std::string(" ") + argv[i];
  const sparsetrain::Status status = sparsetrain::ParseOptions(argc, argv, &options);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n%s", status.message().c_str(), sparsetrain::kUsage);
    return 2;
  }
  return sparsetrain::Run(options);
}
