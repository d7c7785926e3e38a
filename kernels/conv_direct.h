// The geometry shared by the direct-convolution engine (conv_direct-inl.h) and its users.
//
// Forward and backward-by-input both compute
//   out[ob][y][x] = sum over ib, r, s of in[ib][src(y, r)][src(x, s)] (x) w[ob][ib][r][s]
// with weights blocked [ob][ib][r][s][16 in][16 out], so a weight row is one 16-channel vector:
//  - forward:   in = x,  out = y,  src(o, tap) = o * stride - pad + tap             (OIhw16i16o)
//  - backward:  in = dy, out = dx, src(o, tap) = (o + pad - tap) / stride if exact  (IOhw16o16i)
#ifndef SPARSETRAIN_KERNELS_CONV_DIRECT_H_
#define SPARSETRAIN_KERNELS_CONV_DIRECT_H_

#include <pthreadpool.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/aligned.h"
#include "kernels/base/status.h"
#include "kernels/conv_shape.h"
#include "kernels/layout.h"
#include "kernels/workspace.h"

namespace sparsetrain {
namespace direct {

// One spatial axis of the pass, seen from the output it computes.
struct Axis {
  int64_t out_size, src_size, stride, pad;
  bool transposed;

  // Source pixels step by this much per output pixel of a tile.
  int64_t SourceStep() const { return transposed ? 1 : stride; }
  // Output pixels of one tile step by this much (one phase of the stride when transposed).
  int64_t OutputStep() const { return transposed ? stride : 1; }
  // The source pixel that output `out` reads through `tap`; false if the tap misses it.
  bool Source(int64_t out, int64_t tap, int64_t* src) const {
    if (!transposed) {
      *src = out * stride - pad + tap;
      return true;
    }
    const int64_t num = out + pad - tap;
    // Strides 1 and 2 spare a division per tap in the tile loops (num may be negative: the
    // shift rounds down, and an odd num has no source either way).
    if (stride == 1) {
      *src = num;
      return true;
    }
    if (stride == 2) {
      *src = num >> 1;
      return (num & 1) == 0;
    }
    if (num % stride != 0) return false;
    *src = num / stride;
    return true;
  }
};

struct Problem {
  const float* in;
  const float* w;
  const float* bias;  // padded to whole blocks, or null
  float* out;
  int64_t batch, out_blocks, in_blocks, taps_h, taps_w;
  Axis rows, cols;
  int64_t in_block_chunk;  // input-channel blocks summed per pass over the output tile
  int64_t in_channels;     // the source's real channels: the last block may end in padding

  // Real channels of input block ib: a first layer's 1 or 3, padded to 16, need not be summed.
  int64_t ChannelsOfBlock(int64_t ib) const {
    return std::min<int64_t>(kChannelBlock, in_channels - ib * kChannelBlock);
  }

  // Floats between the weights of consecutive output blocks.
  int64_t WeightBlockStride() const { return in_blocks * taps_h * taps_w * kWeightBlockFloats; }
  // The weights of output block ob, input block ib, kernel row r: taps_w 16x16 blocks.
  const float* WeightRow(int64_t ob, int64_t ib, int64_t r) const {
    return w + ((ob * in_blocks + ib) * taps_h + r) * taps_w * kWeightBlockFloats;
  }
  // A 1x1 kernel at stride 1 without padding: output pixel i reads source pixel i.
  bool MapsPixelsOneToOne() const {
    const auto one_to_one = [](const Axis& a) { return a.stride == 1 && a.pad == 0; };
    return taps_h == 1 && taps_w == 1 && one_to_one(rows) && one_to_one(cols);
  }
};

// A row segment of output pixels first + step * t, t < count.
struct PixelRun {
  int64_t first, step, count;
};

// An engine that runs a whole pass (one per kernel family and ISA).
using Engine = void (*)(const Problem&, pthreadpool_t);

// The workspace RunForward and RunBackwardData need for `shape` (the same for every engine);
// WorkspaceFloats picks one by pass (forward or backward by input).
int64_t ForwardWorkspaceFloats(const ConvShape& shape);
int64_t BackwardDataWorkspaceFloats(const ConvShape& shape);
int64_t WorkspaceFloats(Pass pass, const ConvShape& shape);

// Checks the call and runs the forward pass (y = conv(x, w) + bias) on `engine`; `pass` names
// the call in error messages.
Status RunForward(const char* pass, Engine engine, const ConvShape& shape, const float* x,
                  const float* w, const float* bias, float* y, Workspace workspace,
                  pthreadpool_t pool);
// The same for backward by input (weights transposed, IOhw16o16i).
Status RunBackwardData(const char* pass, Engine engine, const ConvShape& shape, const float* dy,
                       const float* w_transposed, float* dx, Workspace workspace,
                       pthreadpool_t pool);

// A 1x1, stride 1, unpadded convolution maps pixels one to one, so an image's H*W pixels can be
// cut into rows of any length that divides H*W: the same memory. Long rows leave few tiles
// partly empty (and few zero-mask words partly used); rows of at most 256 pixels keep a row's
// sources in cache while every output-block group passes over it (see ForEachRowRange). Other
// shapes are returned as they are.
ConvShape AsLongRows(ConvShape shape);
// The same test on a shape: a 1x1 kernel at stride 1 without padding.
bool MapsPixelsOneToOne(const ConvShape& shape);

// A 1x1 convolution with stride > 1 and no padding reads only every stride-th pixel: it equals
// a stride-1 convolution of the subsampled input, whose pixels are then contiguous.
bool IsStridedPointwise(const ConvShape& shape);
ConvShape SubsampledShape(const ConvShape& shape);  // input (N, C, P, Q), stride 1
// Floats of SubsampledShape's input when IsStridedPointwise(shape), else 0.
int64_t SubsampledFloats(const ConvShape& shape);
// Writes x (nChw16c, shape's input) as SubsampledShape's input to x_sub, and returns x_sub.
const float* Subsample(const ConvShape& shape, const float* x, float* x_sub, pthreadpool_t pool);
// The reverse, writing zeros where the stride skips: dx_sub -> dx.
void Upsample(const ConvShape& shape, const float* dx_sub, float* dx, pthreadpool_t pool);

}  // namespace direct
}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_CONV_DIRECT_H_
