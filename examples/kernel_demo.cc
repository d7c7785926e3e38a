// Kernel demo: which ISAs this CPU offers, then one VGG16 layer (c4_2: 512 -> 512 channels,
// 28x28, batch 4) trained for a step with the dense and the sparse kernels at the sparsity
// profiled in a real training run, the dense/sparse choice the runtime would make, and a check
// that both kernels agree.
#include <pthreadpool.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>

#include "kernels/aligned.h"
#include "kernels/conv_choice.h"
#include "kernels/conv_family.h"
#include "kernels/isa.h"
#include "kernels/layout.h"
#include "kernels/parallel.h"
#include "kernels/reorder.h"

namespace st = sparsetrain;

namespace {

int Fail(const st::Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return 1;
}

// Blocked activations with a `zeros` fraction of zeros at random places, the rest +-[0.1, 1].
st::AlignedFloats RandomBlocked(st::Dims dims, double zeros, std::mt19937& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  st::AlignedFloats nchw(dims.count());
  for (float& v : nchw) v = unit(rng) < zeros ? 0.0f : float((unit(rng) - 0.5) * 1.8);
  st::AlignedFloats out(st::StorageFloats(dims, st::Layout::kNChw16c));
  (void)st::Reorder(nchw.data(), st::Layout::kNCHW, out.data(), st::Layout::kNChw16c, dims);
  return out;
}

// Best of 5 runs, in ms.
double BestMs(const std::function<void()>& run) {
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    run();
    best = std::min(
        best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                  .count());
  }
  return best;
}

double MaxRelativeDifference(const st::AlignedFloats& a, const st::AlignedFloats& b) {
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return worst / scale;
}

}  // namespace

int main() {
  st::Status status = st::SelectIsaFromEnvironment();
  if (!status.ok()) return Fail(status);
  std::printf("CPU supports:");
  for (st::Isa isa : {st::Isa::kAvx512, st::Isa::kAvx2, st::Isa::kSse4, st::Isa::kScalar}) {
    if (st::IsaSupported(isa)) std::printf(" %s", st::IsaName(isa));
  }
  const st::Isa isa = st::ActiveIsa();
  std::printf("\nISA in use: %s (set SPARSETRAIN_ISA to choose); 2 threads\n\n", st::IsaName(isa));

  st::ConvShape s;
  s.n = 4, s.c = s.k = 512, s.h = s.w = 28, s.r = s.s = 3, s.pad_h = s.pad_w = 1;
  const double x_zeros = 0.825, dy_zeros = 0.864;  // vgg16 c4_2, shared/data/layers/vgg16.csv
  std::mt19937 rng(1);
  const st::AlignedFloats x = RandomBlocked(s.input(), x_zeros, rng);
  const st::AlignedFloats dy = RandomBlocked(s.output(), dy_zeros, rng);
  const st::AlignedFloats w = RandomBlocked(s.weights(), 0.0, rng);  // any values will do
  st::AlignedFloats w_t(w.size()), dense_out, sparse_out;
  pthreadpool_t pool = pthreadpool_create(2);
  if (!(status = st::Reorder(w.data(), st::Layout::kOIhw16i16o, w_t.data(), st::Layout::kIOhw16o16i,
                             s.weights(), pool))
           .ok()) {
    return Fail(status);
  }

  std::printf("VGG16 c4_2 (N=4, 512->512 @ 28x28, 3x3), %.1f%% zeros in x, %.1f%% in dy\n",
              100 * x_zeros, 100 * dy_zeros);
  std::printf("%-12s %10s %10s %8s  %-7s %s\n", "pass", "dense ms", "sparse ms", "speedup",
              "choice", "max difference");
  for (st::Pass pass : {st::Pass::kForward, st::Pass::kBackwardData, st::Pass::kBackwardWeights}) {
    const bool forward = pass == st::Pass::kForward;
    const bool weights = pass == st::Pass::kBackwardWeights;
    const st::Dims out_dims = forward ? s.output() : weights ? s.weights() : s.input();
    const st::Layout out_layout = weights ? st::Layout::kOIhw16i16o : st::Layout::kNChw16c;
    dense_out.assign(st::StorageFloats(out_dims, out_layout), 0.0f);
    sparse_out.assign(dense_out.size(), 0.0f);
    auto run = [&](bool sparse, float* out) {
      const st::ConvFamily& family =
          st::ConvFamilyOf(sparse ? st::ConvKernel::kSparse : st::ConvKernel::kDense);
      st::AlignedFloats scratch(size_t(family.workspace_floats(pass, s, st::ThreadCount(pool))));
      const st::Workspace ws{scratch.data(), int64_t(scratch.size())};
      if (forward) {
        status = family.forward(s, x.data(), w.data(), nullptr, out, ws, pool);
      } else if (weights) {
        status = family.backward_weights(s, x.data(), dy.data(), out, nullptr,
                                         st::ChooseWeightsWalk(s, x_zeros, dy_zeros), ws, pool);
      } else {
        status = family.backward_data(s, dy.data(), w_t.data(), out, ws, pool);
      }
    };
    const double dense_ms = BestMs([&] { run(false, dense_out.data()); });
    if (!status.ok()) return Fail(status);
    const double sparse_ms = BestMs([&] { run(true, sparse_out.data()); });
    if (!status.ok()) return Fail(status);
    const double zeros = st::SkippedOperandZeros(pass, s, x_zeros, dy_zeros);
    std::printf("%-12s %10.2f %10.2f %7.2fx  %-7s %.1e\n", st::PassName(pass), dense_ms, sparse_ms,
                dense_ms / sparse_ms, st::ConvKernelName(st::ChooseConvKernel(pass, s, zeros, isa)),
                MaxRelativeDifference(sparse_out, dense_out));
  }
  pthreadpool_destroy(pool);
  std::printf("\nThe training runtime (layers, models, checkpoints) builds on these kernels.\n");
  return 0;
}
