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

// A 1x1, stride 1, unpadded convolution maps pixels one to one, so an image's H*W pixels can be
// cut into rows of any length that divides H*W: the same memory. Long rows leave few tiles
// partly empty; rows of at most kMaxLongRow pixels keep a row's sources in cache while every
// output-block group passes over it (see ForEachOutputRow).
ConvShape AsLongRows(ConvShape s) {
  constexpr int64_t kMaxLongRow = 256;
  if (s.r == 1 && s.s == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0) {
    const int64_t pixels = s.h * s.w;
    int64_t row = std::min(pixels, kMaxLongRow);
    while (pixels % row != 0) --row;
    s.w = std::max(row, s.w);  // never shorter than the image's own rows
    s.h = pixels / s.w;
  }
  return s;
}

}  // namespace

bool IsStridedPointwise(const ConvShape& s) {
  return s.r == 1 && s.s == 1 && s.pad_h == 0 && s.pad_w == 0 && (s.stride_h > 1 || s.stride_w > 1);
}

ConvShape SubsampledShape(const ConvShape& s) {
  ConvShape sub = s;
  sub.h = s.p(), sub.w = s.q();
  sub.stride_h = sub.stride_w = 1;
  return sub;
}

const float* Subsampled(const ConvShape& s, const float* x, pthreadpool_t pool) {
  thread_local AlignedFloats buffer;
  float* x_sub = Scratch(buffer, StorageFloats(SubsampledShape(s).input(), Layout::kNChw16c));
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

float* Scratch(AlignedFloats& buffer, int64_t floats) {
  if (buffer.size() < size_t(floats)) buffer.resize(floats);
  return buffer.data();
}

Status RunForward(const char* pass, Engine engine, const ConvShape& shape, const float* x,
                  const float* w, const float* bias, float* y, pthreadpool_t pool) {
  Status status = CheckConvCall(pass, shape, {x, w, y});
  if (!status.ok()) return status;
  if (IsStridedPointwise(shape)) {
    return RunForward(pass, engine, SubsampledShape(shape), Subsampled(shape, x, pool), w, bias, y,
                      pool);
  }
  const ConvShape s = AsLongRows(shape);
  AlignedFloats padded_bias;
  if (bias != nullptr) {
    padded_bias.assign(PaddedChannels(s.k), 0.0f);
    std::copy(bias, bias + s.k, padded_bias.begin());
  }
  engine(Problem{x, w, bias ? padded_bias.data() : nullptr, y, s.n, BlocksOf(s.k), BlocksOf(s.c),
                 s.r, s.s, Axis{s.p(), s.h, s.stride_h, s.pad_h, false},
                 Axis{s.q(), s.w, s.stride_w, s.pad_w, false}, InBlockChunk(s)},
         pool);
  return Status::Ok();
}

Status RunBackwardData(const char* pass, Engine engine, const ConvShape& shape, const float* dy,
                       const float* w_transposed, float* dx, pthreadpool_t pool) {
  Status status = CheckConvCall(pass, shape, {dy, w_transposed, dx});
  if (!status.ok()) return status;
  if (IsStridedPointwise(shape)) {
    thread_local AlignedFloats buffer;
    const ConvShape sub = SubsampledShape(shape);
    float* dx_sub = Scratch(buffer, StorageFloats(sub.input(), Layout::kNChw16c));
    status = RunBackwardData(pass, engine, sub, dy, w_transposed, dx_sub, pool);
    Upsample(shape, dx_sub, dx, pool);
    return status;
  }
  const ConvShape s = AsLongRows(shape);
  engine(Problem{dy, w_transposed, nullptr, dx, s.n, BlocksOf(s.c), BlocksOf(s.k), s.r, s.s,
                 Axis{s.h, s.p(), s.stride_h, s.pad_h, true},
                 Axis{s.w, s.q(), s.stride_w, s.pad_w, true}, InBlockChunk(s)},
         pool);
  return Status::Ok();
}

}  // namespace direct
}  // namespace sparsetrain
