// Every layout here stores each logical tensor as "rows": runs of elements contiguous in memory
// along one logical axis (W for kNCHW, the 16 channels of a block for the blocked layouts). A
// reorder walks the destination's rows; along a row the source is read at a constant stride
// (vector copies when it is 1), and padding rows are zeros.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/reorder.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <string>

#include "kernels/isa.h"
#include "kernels/layout.h"
#include "kernels/parallel.h"
#include "kernels/reorder.h"

#ifndef SPARSETRAIN_KERNELS_REORDER_ONCE_
#define SPARSETRAIN_KERNELS_REORDER_ONCE_
namespace sparsetrain {
namespace reorder_detail {

struct Coord {
  int64_t n, c, h, w;
};

enum class Axis { kN, kC, kH, kW };

inline int64_t& AxisOf(Coord& x, Axis axis) {
  switch (axis) {
    case Axis::kN:
      return x.n;
    case Axis::kC:
      return x.c;
    case Axis::kH:
      return x.h;
    case Axis::kW:
      break;
  }
  return x.w;
}

inline int64_t ExtentOf(const Dims& d, Axis axis) {
  Coord extent{d.n, d.c, d.h, d.w};
  return AxisOf(extent, axis);
}

// Offset in floats of logical element `x` (which may lie in channel padding) in `layout`.
inline int64_t Offset(Layout layout, const Dims& d, const Coord& x) {
  constexpr int64_t B = kChannelBlock;
  switch (layout) {
    case Layout::kNCHW:
      return ((x.n * d.c + x.c) * d.h + x.h) * d.w + x.w;
    case Layout::kNChw16c:
      return (((x.n * BlocksOf(d.c) + x.c / B) * d.h + x.h) * d.w + x.w) * B + x.c % B;
    case Layout::kOIhw16i16o:
      return (((x.n / B * BlocksOf(d.c) + x.c / B) * d.h + x.h) * d.w + x.w) * B * B + x.c % B * B +
             x.n % B;
    case Layout::kIOhw16o16i:
      return (((x.c / B * BlocksOf(d.n) + x.n / B) * d.h + x.h) * d.w + x.w) * B * B + x.n % B * B +
             x.c % B;
  }
  return 0;
}

// How `layout` stores a tensor as rows: `length` elements contiguous along `axis`. Consecutive
// rows come in groups of `group` that differ only along `row_axis`, so within a group both the
// source and destination offsets advance by a constant per row.
struct RowPlan {
  int64_t groups, group, length;
  Axis axis, row_axis;
};

inline RowPlan PlanRows(Layout layout, const Dims& d) {
  const int64_t B = kChannelBlock, cb = BlocksOf(d.c), kb = BlocksOf(d.n);
  switch (layout) {
    case Layout::kNCHW:  // rows (n, c, h)
      return {d.n * d.c, d.h, d.w, Axis::kW, Axis::kH};
    case Layout::kNChw16c:  // rows (n, cb, h, w)
      return {d.n * cb * d.h, d.w, B, Axis::kC, Axis::kW};
    case Layout::kOIhw16i16o:  // rows (kb, cb, r, s, ci)
      return {kb * cb * d.h * d.w, B, B, Axis::kN, Axis::kC};
    case Layout::kIOhw16o16i:  // rows (cb, kb, r, s, ko)
      return {cb * kb * d.h * d.w, B, B, Axis::kC, Axis::kN};
  }
  return {0, 0, 0, Axis::kW, Axis::kW};
}

// The logical coordinate of the first element of row group `g`.
inline Coord GroupStart(Layout layout, const Dims& d, int64_t g) {
  const int64_t B = kChannelBlock, cb = BlocksOf(d.c), kb = BlocksOf(d.n);
  switch (layout) {
    case Layout::kNCHW:  // g = n * C + c
      return {g / d.c, g % d.c, 0, 0};
    case Layout::kNChw16c: {  // g = (n * CB + cb) * H + h
      const int64_t nc = g / d.h;
      return {nc / cb, nc % cb * B, g % d.h, 0};
    }
    case Layout::kOIhw16i16o: {  // g = ((kb * CB + cb) * R + r) * S + s
      const int64_t blocks = g / (d.h * d.w);
      return {blocks / cb * B, blocks % cb * B, g / d.w % d.h, g % d.w};
    }
    case Layout::kIOhw16o16i: {  // g = ((cb * KB + kb) * R + r) * S + s
      const int64_t blocks = g / (d.h * d.w);
      return {blocks % kb * B, blocks / kb * B, g / d.w % d.h, g % d.w};
    }
  }
  return {0, 0, 0, 0};
}

// Offset change in `layout` when `x` moves one step along `axis`.
inline int64_t Step(Layout layout, const Dims& d, Coord x, Axis axis) {
  const int64_t here = Offset(layout, d, x);
  AxisOf(x, axis) += 1;
  return Offset(layout, d, x) - here;
}

}  // namespace reorder_detail
}  // namespace sparsetrain
#endif  // SPARSETRAIN_KERNELS_REORDER_ONCE_

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using namespace reorder_detail;  // NOLINT

// dst[i] = src[i * stride] for i < valid, 0 for valid <= i < length. Strided rows are copied
// element by element: hardware gathers are slower than that on current x86 parts (microcode
// mitigations of gather data sampling).
HWY_INLINE void CopyStridedRow(const float* HWY_RESTRICT src, int64_t stride, int64_t valid,
                               float* HWY_RESTRICT dst, int64_t length) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  if (stride == 1) {
    for (; i + lanes <= valid; i += lanes) hn::StoreU(hn::LoadU(d, src + i), d, dst + i);
  }
  for (; i < valid; ++i) dst[i] = src[i * stride];
  for (; i < length; ++i) dst[i] = 0.0f;
}

void ReorderRows(const float* HWY_RESTRICT src, Layout from, float* HWY_RESTRICT dst, Layout to,
                 Dims dims, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const RowPlan plan = PlanRows(to, dims);
  const int64_t extent = ExtentOf(dims, plan.axis);
  ParallelFor(pool, size_t(plan.groups), [&](size_t group) HWY_ATTR {
    const int64_t g = int64_t(group);
    const Coord start = GroupStart(to, dims, g);
    // Both steps are constant inside a block, and a group never leaves its channel blocks.
    const int64_t stride = Step(from, dims, start, plan.axis);
    const int64_t row_step = Step(from, dims, start, plan.row_axis);
    const float* in = src + Offset(from, dims, start);
    float* out = dst + g * plan.group * plan.length;
    for (int64_t i = 0; i < plan.group; ++i, in += row_step, out += plan.length) {
      Coord at = start;
      AxisOf(at, plan.row_axis) += i;
      const bool in_range = at.n < dims.n && at.c < dims.c;
      const int64_t valid = in_range ? std::min(plan.length, extent - AxisOf(at, plan.axis)) : 0;
      CopyStridedRow(in, stride, valid, out, plan.length);
    }
  });
}

// OIhw16i16o <-> IOhw16o16i: the same 16x16 blocks, each transposed (weights are transposed for
// backward by input every training step, so this path is kept short). Padding is written as
// zeros whatever the source holds there.
void TransposeWeightBlocks(const float* HWY_RESTRICT src, Layout from, float* HWY_RESTRICT dst,
                           Dims d, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  constexpr int64_t B = kChannelBlock;
  const bool from_forward = from == Layout::kOIhw16i16o;
  const int64_t outer = from_forward ? BlocksOf(d.n) : BlocksOf(d.c);
  const int64_t inner = from_forward ? BlocksOf(d.c) : BlocksOf(d.n);
  const int64_t taps = d.h * d.w;
  ParallelFor(pool, size_t(outer * inner), [&](size_t item) HWY_ATTR {
    const int64_t a = int64_t(item) / inner, b = int64_t(item) % inner;
    // A source block's rows are channels of inner block b, its columns of outer block a.
    const int64_t rows = std::min(B, (from_forward ? d.c : d.n) - b * B);
    const int64_t cols = std::min(B, (from_forward ? d.n : d.c) - a * B);
    for (int64_t t = 0; t < taps; ++t) {
      const float* in = src + ((a * inner + b) * taps + t) * B * B;
      float* out = dst + ((b * outer + a) * taps + t) * B * B;
      for (int64_t j = 0; j < B; ++j) {
        for (int64_t i = 0; i < B; ++i)
          out[j * B + i] = i < rows && j < cols ? in[i * B + j] : 0.0f;
      }
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {

HWY_EXPORT(ReorderRows);
HWY_EXPORT(TransposeWeightBlocks);

Status Reorder(const float* src, Layout from, float* dst, Layout to, Dims dims,
               pthreadpool_t pool) {
  if (src == nullptr || dst == nullptr) return InvalidArgument("Reorder: null tensor data");
  if (dims.n <= 0 || dims.c <= 0 || dims.h <= 0 || dims.w <= 0) {
    return InvalidArgument("Reorder: dimensions must be positive");
  }
  const bool weights = IsWeightLayout(from) || IsWeightLayout(to);
  const bool activations = from == Layout::kNChw16c || to == Layout::kNChw16c;
  if (weights && activations) {
    return InvalidArgument(std::string("Reorder: no conversion from ") + LayoutName(from) + " to " +
                           LayoutName(to));
  }
  const bool block_transpose = (from == Layout::kOIhw16i16o && to == Layout::kIOhw16o16i) ||
                               (from == Layout::kIOhw16o16i && to == Layout::kOIhw16i16o);
  if (block_transpose) {
    HWY_DYNAMIC_DISPATCH(TransposeWeightBlocks)(src, from, dst, dims, pool);
  } else {
    HWY_DYNAMIC_DISPATCH(ReorderRows)(src, from, dst, to, dims, pool);
  }
  return Status::Ok();
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
