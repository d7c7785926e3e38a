#include "kernels/conv_direct.h"

#include <algorithm>

#include "kernels/layout.h"
#include "kernels/parallel.h"

namespace sparsetrain {
namespace direct {
namespace {

// Enough input blocks per pass over a tile that loading and storing it is amortised
// (1x1 kernels have few taps per block), while their weights stay in L1.
int64_t InBlockChunk(const ConvShape& s) { return std::max<int64_t>(1, 8 / (s.r * s.s)); }

}  // namespace

bool MapsPixelsOneToOne(const ConvShape& s) {
  return s.r == 1 && s.s == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
}

ConvShape AsLongRows(ConvShape s) {
  constexpr int64_t kMaxLongRow = 256;
  if (MapsPixelsOneToOne(s)) {
    const int64_t pixels = s.h * s.w;
    int64_t row = std::min(pixels, kMaxLongRow);
    while (pixels % row != 0) --row;
    s.w = std::max(row, s.w);  // never shorter than the image's own rows
    s.h = pixels / s.w;
  }
  return s;
}

bool IsStridedPointwise(const ConvShape& s) {
  return s.r == 1 && s.s == 1 && s.pad_h == 0 && s.pad_w == 0 && (s.stride_h > 1 || s.stride_w > 1);
}

ConvShape SubsampledShape(const ConvShape& s) {
  ConvShape sub = s;
  sub.h = s.p(), sub.w = s.q();
  sub.stride_h = sub.stride_w = 1;
  return sub;
}

int64_t SubsampledFloats(const ConvShape& s) {
  return IsStridedPointwise(s) ? StorageFloats(SubsampledShape(s).input(), Layout::kNChw16c) : 0;
}

const float* Subsample(const ConvShape& s, const float* x, float* x_sub, pthreadpool_t pool) {
  const int64_t p = s.p(), q = s.q();
  ParallelFor(pool, size_t(s.n * BlocksOf(s.c) * p), [&](size_t item) {
    const int64_t nc = int64_t(item) / p, oh = int64_t(item) % p;
    const float* row = x + (nc * s.h + oh * s.stride_h) * s.w * kChannelBlock;
    float* sub_row = x_sub + int64_t(item) * q * kChannelBlock;
    for (int64_t ow = 0; ow < q; ++ow) {
      std::copy_n(row + ow * s.stride_w * kChannelBlock, kChannelBlock,
                  sub_row + ow * kChannelBlock);
    }
  });
  return x_sub;
}

void Upsample(const ConvShape& s, const float* dx_sub, float* dx, pthreadpool_t pool) {
  const int64_t p = s.p(), q = s.q();
  // Each row of dx is written once, by one thread: zeros, then the pixels the stride reads.
  ParallelFor(pool, size_t(s.n * BlocksOf(s.c) * s.h), [&](size_t item) {
    const int64_t nc = int64_t(item) / s.h, ih = int64_t(item) % s.h;
    float* row = dx + int64_t(item) * s.w * kChannelBlock;
    std::fill_n(row, s.w * kChannelBlock, 0.0f);
    if (ih % s.stride_h != 0 || ih / s.stride_h >= p) return;
    const float* sub_row = dx_sub + (nc * p + ih / s.stride_h) * q * kChannelBlock;
    for (int64_t ow = 0; ow < q; ++ow) {
      std::copy_n(sub_row + ow * kChannelBlock, kChannelBlock,
                  row + ow * s.stride_w * kChannelBlock);
    }
  });
}

int64_t WorkspaceFloats(Pass pass, const ConvShape& s) {
  return pass == Pass::kForward ? ForwardWorkspaceFloats(s) : BackwardDataWorkspaceFloats(s);
}

int64_t ForwardWorkspaceFloats(const ConvShape& s) {
  WorkspaceCarver carver;
  carver.Take(SubsampledFloats(s));
  carver.Take(PaddedChannels(s.k));
  return carver.floats();
}

int64_t BackwardDataWorkspaceFloats(const ConvShape& s) { return SubsampledFloats(s); }

Status RunForward(const char* pass, Engine engine, const ConvShape& shape, const float* x,
                  const float* w, const float* bias, float* y, Workspace workspace,
                  pthreadpool_t pool) {
  Status status = CheckConvCall(pass, shape, {x, w, y});
  if (status.ok()) status = CheckWorkspace(pass, workspace, ForwardWorkspaceFloats(shape));
  if (!status.ok()) return status;
  WorkspaceCarver carver(workspace);
  float* x_sub = carver.Take(SubsampledFloats(shape));
  float* padded_bias = carver.Take(PaddedChannels(shape.k));
  const bool strided = IsStridedPointwise(shape);
  if (strided) x = Subsample(shape, x, x_sub, pool);
  const ConvShape s = AsLongRows(strided ? SubsampledShape(shape) : shape);
  if (bias != nullptr) {
    std::copy(bias, bias + s.k, padded_bias);
    std::fill(padded_bias + s.k, padded_bias + PaddedChannels(s.k), 0.0f);
  }
  engine(Problem{x, w, bias ? padded_bias : nullptr, y, s.n, BlocksOf(s.k), BlocksOf(s.c), s.r, s.s,
                 Axis{s.p(), s.h, s.stride_h, s.pad_h, false},
                 Axis{s.q(), s.w, s.stride_w, s.pad_w, false}, InBlockChunk(s), s.c},
         pool);
  return Status::Ok();
}

Status RunBackwardData(const char* pass, Engine engine, const ConvShape& shape, const float* dy,
                       const float* w_transposed, float* dx, Workspace workspace,
                       pthreadpool_t pool) {
  Status status = CheckConvCall(pass, shape, {dy, w_transposed, dx});
  if (status.ok()) status = CheckWorkspace(pass, workspace, BackwardDataWorkspaceFloats(shape));
  if (!status.ok()) return status;
  const bool strided = IsStridedPointwise(shape);
  const ConvShape s = AsLongRows(strided ? SubsampledShape(shape) : shape);
  float* out = strided ? WorkspaceCarver(workspace).Take(SubsampledFloats(shape)) : dx;
  engine(Problem{dy, w_transposed, nullptr, out, s.n, BlocksOf(s.c), BlocksOf(s.k), s.r, s.s,
                 Axis{s.h, s.p(), s.stride_h, s.pad_h, true},
                 Axis{s.w, s.q(), s.stride_w, s.pad_w, true}, InBlockChunk(s), s.k},
         pool);
  if (strided) Upsample(shape, out, dx, pool);
  return Status::Ok();
}

}  // namespace direct
}  // namespace sparsetrain
