// Backward by weights split over images as well, for layers too small to give every thread its
// own part of dw (a first layer's few channels): part 0 of the images sums into dw, each later
// part into its own copy of dw, and the copies are added into dw at the end. The dense and the
// sparse kernels share it. Include after hwy/highway.h, inside no namespace.

#if defined(SPARSETRAIN_KERNELS_IMAGE_SPLIT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SPARSETRAIN_KERNELS_IMAGE_SPLIT_INL_H_
#undef SPARSETRAIN_KERNELS_IMAGE_SPLIT_INL_H_
#else
#define SPARSETRAIN_KERNELS_IMAGE_SPLIT_INL_H_
#endif

#include <hwy/highway.h>
#include <pthreadpool.h>

#include <cstdint>

#include "kernels/chunks-inl.h"

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

struct ImageSplit {
  int64_t parts = 1;
  int64_t dw_floats = 0;      // of one copy: a whole number of 16-float blocks
  float* dw = nullptr;        // part 0's, the result
  float* partials = nullptr;  // parts 1 .. parts - 1, dw_floats each

  // Floats of the copies `parts` parts need besides dw.
  static int64_t PartialFloats(int64_t parts, int64_t dw_floats) { return (parts - 1) * dw_floats; }
  float* DwOf(int64_t part) const { return part == 0 ? dw : partials + (part - 1) * dw_floats; }
  // Part `part` takes images [ImageBegin(part), ImageBegin(part + 1)) of `images`.
  int64_t ImageBegin(int64_t part, int64_t images) const { return part * images / parts; }

  // Adds the later parts' copies into dw, on `pool`.
  void Sum(pthreadpool_t pool) const {
    if (parts == 1) return;
    ForEachChunk(dw_floats, pool, [&](auto d, int64_t begin, int64_t end) HWY_ATTR {
      for (int64_t part = 1; part < parts; ++part) {
        const float* copy = DwOf(part);
        for (int64_t i = begin; i < end; i += int64_t(hn::Lanes(d))) {
          hn::StoreU(hn::Add(hn::LoadU(d, dw + i), hn::LoadU(d, copy + i)), d, dw + i);
        }
      }
    });
  }
};

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#endif  // SPARSETRAIN_KERNELS_IMAGE_SPLIT_INL_H_
