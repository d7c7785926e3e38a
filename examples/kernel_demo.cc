// Kernel demo: reports the ISAs this CPU offers and the one in use, then moves a VGG16-sized
// activation tensor and weight tensor through the kernels' blocked layouts and back.
#include <chrono>
#include <cstdio>
#include <vector>

#include "kernels/isa.h"
#include "runtime/tensor.h"

namespace st = sparsetrain;

namespace {

int Fail(const st::Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return 1;
}

// Round-trips `dims` from NCHW through `blocked`; returns milliseconds, or -1 on a mismatch.
double RoundTripMs(st::Dims dims, st::Layout blocked, st::Status* status) {
  std::vector<float> nchw(dims.count()), back(dims.count());
  for (size_t i = 0; i < nchw.size(); ++i) nchw[i] = float(i % 977) - 488.0f;
  st::Tensor t;
  const auto start = std::chrono::steady_clock::now();
  if (!(*status = st::Tensor::Create(dims, blocked, &t)).ok()) return -1;
  if (!(*status = t.CopyFrom(nchw.data(), st::Layout::kNCHW)).ok()) return -1;
  if (!(*status = t.CopyTo(back.data(), st::Layout::kNCHW)).ok()) return -1;
  const auto end = std::chrono::steady_clock::now();
  return back == nchw ? std::chrono::duration<double, std::milli>(end - start).count() : -1;
}

}  // namespace

int main() {
  st::Status status = st::SelectIsaFromEnvironment();
  if (!status.ok()) return Fail(status);
  std::printf("CPU supports:");
  for (st::Isa isa : {st::Isa::kAvx512, st::Isa::kAvx2, st::Isa::kSse4, st::Isa::kScalar}) {
    if (st::IsaSupported(isa)) std::printf(" %s", st::IsaName(isa));
  }
  std::printf("\nISA in use: %s (set SPARSETRAIN_ISA to choose)\n", st::IsaName(st::ActiveIsa()));

  const struct {
    const char* what;
    st::Dims dims;
    st::Layout layout;
  } cases[] = {
      {"activations 4x130x56x56 -> nChw16c", {4, 130, 56, 56}, st::Layout::kNChw16c},
      {"weights 256x130x3x3 -> OIhw16i16o", {256, 130, 3, 3}, st::Layout::kOIhw16i16o},
      {"weights 256x130x3x3 -> IOhw16o16i", {256, 130, 3, 3}, st::Layout::kIOhw16o16i},
  };
  for (const auto& c : cases) {
    const double ms = RoundTripMs(c.dims, c.layout, &status);
    if (!status.ok()) return Fail(status);
    if (ms < 0) return Fail(st::Status(st::StatusCode::kInternal, "round trip changed data"));
    std::printf("%-40s and back: exact, %.2f ms\n", c.what, ms);
  }
  return 0;
}
