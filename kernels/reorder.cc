// Every layout here stores each logical tensor as "rows": runs of elements contiguous in memory
// along one logical axis (W for kNCHW, the 16 channels of a block for the blocked layouts). A
// reorder walks the destination's rows; along a row the source is read at a constant stride, so
// each row is one strided gather (a plain load when the stride is 1), and padding rows are zeros.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/reorder.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <algorithm>
#include <string>

#include <hwy/highway.h>

#include "kernels/isa.h"
#include "kernels/layout.h"

#ifndef SPARSETRAIN_KERNELS_REORDER_ONCE_
#define SPARSETRAIN_KERNELS_REORDER_ONCE_
namespace sparsetrain {
namespace reorder_detail {

struct Coord {
  int64_t n, c, h, w;
};

enum class Axis { kN, kC, kW };

// Offset in floats of logical element `x` (which may lie in channel padding) in `layout`.
inline int64_t Offset(Layout layout, const Dims& d, const Coord& x) {
  constexpr int64_t B = kChannelBlock;
  switch (layout) {
    case Layout::kNCHW:
      return ((x.n * d.c + x.c) * d.h + x.h) * d.w + x.w;
    case Layout::kNChw16c:
      return (((x.n * BlocksOf(d.c) + x.c / B) * d.h + x.h) * d.w + x.w) * B + x.c % B;
    case Layout::kOIhw16i16o:
      return (((x.n / B * BlocksOf(d.c) + x.c / B) * d.h + x.h) * d.w + x.w) * B * B +
             x.c % B * B + x.n % B;
    case Layout::kIOhw16o16i:
      return (((x.c / B * BlocksOf(d.n) + x.n / B) * d.h + x.h) * d.w + x.w) * B * B +
             x.n % B * B + x.c % B;
  }
  return 0;
}

// The destination rows of `layout`: how many, how long, along which axis, and where each starts.
struct RowPlan {
  int64_t rows, length;
  Axis axis;
};

inline RowPlan PlanRows(Layout layout, const Dims& d) {
  const int64_t B = kChannelBlock, cb = BlocksOf(d.c), kb = BlocksOf(d.n);
  switch (layout) {
    case Layout::kNCHW:
      return {d.n * d.c * d.h, d.w, Axis::kW};
    case Layout::kNChw16c:
      return {d.n * cb * d.h * d.w, B, Axis::kC};
    case Layout::kOIhw16i16o:
      return {kb * cb * d.h * d.w * B, B, Axis::kN};
    case Layout::kIOhw16o16i:
      return {cb * kb * d.h * d.w * B, B, Axis::kC};
  }
  return {0, 0, Axis::kW};
}

inline Coord RowStart(Layout layout, const Dims& d, int64_t row) {
  const int64_t B = kChannelBlock, cb = BlocksOf(d.c), kb = BlocksOf(d.n);
  switch (layout) {
    case Layout::kNCHW:
      return {row / (d.c * d.h), row / d.h % d.c, row % d.h, 0};
    case Layout::kNChw16c: {
      const int64_t hw = row % (d.h * d.w), nc = row / (d.h * d.w);
      return {nc / cb, nc % cb * B, hw / d.w, hw % d.w};
    }
    case Layout::kOIhw16i16o: {  // row = (((kb * CB + cb) * H + h) * W + w) * 16 + ci
      const int64_t ci = row % B, rest = row / B;
      const int64_t w = rest % d.w, h = rest / d.w % d.h, blocks = rest / (d.w * d.h);
      return {blocks / cb * B, blocks % cb * B + ci, h, w};
    }
    case Layout::kIOhw16o16i: {  // row = (((cb * KB + kb) * H + h) * W + w) * 16 + ko
      const int64_t ko = row % B, rest = row / B;
      const int64_t w = rest % d.w, h = rest / d.w % d.h, blocks = rest / (d.w * d.h);
      return {blocks % kb * B + ko, blocks / kb * B, h, w};
    }
  }
  return {0, 0, 0, 0};
}

inline int64_t& AxisOf(Coord& x, Axis axis) {
  return axis == Axis::kN ? x.n : axis == Axis::kC ? x.c : x.w;
}

}  // namespace reorder_detail
}  // namespace sparsetrain
#endif  // SPARSETRAIN_KERNELS_REORDER_ONCE_

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using namespace reorder_detail;  // NOLINT

// dst[i] = src[i * stride] for i < valid, 0 for valid <= i < length.
HWY_INLINE void CopyStridedRow(const float* HWY_RESTRICT src, int64_t stride, int64_t valid,
                               float* HWY_RESTRICT dst, int64_t length) {
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  if (stride == 1) {
    for (; i + lanes <= valid; i += lanes) hn::StoreU(hn::LoadU(d, src + i), d, dst + i);
  } else {
    const auto step = hn::Mul(hn::Iota(di, 0), hn::Set(di, static_cast<int32_t>(stride)));
    for (; i + lanes <= valid; i += lanes) {
      hn::StoreU(hn::GatherIndex(d, src + i * stride, step), d, dst + i);
    }
  }
  for (; i < valid; ++i) dst[i] = src[i * stride];
  for (; i < length; ++i) dst[i] = 0.0f;
}

void ReorderRows(const float* HWY_RESTRICT src, Layout from, float* HWY_RESTRICT dst, Layout to,
                 Dims dims) {
  NoteTargetRan(HWY_TARGET);
  const RowPlan plan = PlanRows(to, dims);
  for (int64_t row = 0; row < plan.rows; ++row) {
    Coord start = RowStart(to, dims, row);
    float* out = dst + row * plan.length;
    const bool in_range = start.n < dims.n && start.c < dims.c;
    if (!in_range) {
      CopyStridedRow(src, 0, 0, out, plan.length);
      continue;
    }
    const int64_t extent = plan.axis == Axis::kN ? dims.n : plan.axis == Axis::kC ? dims.c : dims.w;
    const int64_t valid = std::min(plan.length, extent - AxisOf(start, plan.axis));
    const int64_t first = Offset(from, dims, start);
    Coord next = start;
    AxisOf(next, plan.axis) += 1;
    const int64_t stride = Offset(from, dims, next) - first;
    CopyStridedRow(src + first, stride, valid, out, plan.length);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {

HWY_EXPORT(ReorderRows);

Status Reorder(const float* src, Layout from, float* dst, Layout to, Dims dims) {
  if (src == nullptr || dst == nullptr) return InvalidArgument("Reorder: null tensor data");
  if (dims.n <= 0 || dims.c <= 0 || dims.h <= 0 || dims.w <= 0) {
    return InvalidArgument("Reorder: dimensions must be positive");
  }
  const bool weights = IsWeightLayout(from) || IsWeightLayout(to);
  const bool activations = from == Layout::kNChw16c || to == Layout::kNChw16c;
  if (weights && activations) {
    return InvalidArgument(std::string("Reorder: no conversion from ") + LayoutName(from) +
                           " to " + LayoutName(to));
  }
  HWY_DYNAMIC_DISPATCH(ReorderRows)(src, from, dst, to, dims);
  return Status::Ok();
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
