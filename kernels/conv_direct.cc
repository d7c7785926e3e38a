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

// A 1x1, stride 1, unpadded convolution maps pixels one to one, so each image can be treated as
// a single row of H*W pixels: the same memory, with no short rows to leave tiles partly empty.
ConvShape AsLongRows(ConvShape s) {
  if (s.r == 1 && s.s == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0) {
    s.w *= s.h;
    s.h = 1;
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

namespace {

// Calls copy(dense_pixel, strided_pixel) for every output pixel, one input row per item.
template <class Copy>
void ForEachStridedPixel(const ConvShape& s, pthreadpool_t pool, const Copy& copy) {
  const int64_t p = s.p(), q = s.q(), blocks = s.n * BlocksOf(s.c);
  ParallelFor(pool, size_t(blocks * p), [&](size_t item) {
    const int64_t nc = int64_t(item) / p, oh = int64_t(item) % p;
    for (int64_t ow = 0; ow < q; ++ow) {
      copy(((nc * p + oh) * q + ow) * kChannelBlock,
           ((nc * s.h + oh * s.stride_h) * s.w + ow * s.stride_w) * kChannelBlock);
    }
  });
}

}  // namespace

const float* Subsampled(const ConvShape& s, const float* x, pthreadpool_t pool) {
  thread_local AlignedFloats buffer;
  float* x_sub = Scratch(buffer, StorageFloats(SubsampledShape(s).input(), Layout::kNChw16c));
  ForEachStridedPixel(s, pool, [&](int64_t dense, int64_t strided) {
    std::copy_n(x + strided, kChannelBlock, x_sub + dense);
  });
  return x_sub;
}

void Upsample(const ConvShape& s, const float* dx_sub, float* dx, pthreadpool_t pool) {
  std::fill_n(dx, StorageFloats(s.input(), Layout::kNChw16c), 0.0f);
  ForEachStridedPixel(s, pool, [&](int64_t dense, int64_t strided) {
    std::copy_n(dx_sub + dense, kChannelBlock, dx + strided);
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
