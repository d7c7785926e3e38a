#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/linear.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "kernels/isa.h"
#include "kernels/linear.h"
#include "kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// out[j] = sum over k < terms of coeff(k) * row(k)[j], for j < length: four vectors of `out`
// stay in registers while the terms stream past.
template <class Coeff, class Row>
HWY_INLINE void SumScaledRows(int64_t terms, const Coeff& coeff, const Row& row, float* out,
                              int64_t length) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = int64_t(hn::Lanes(d));
  int64_t j = 0;
  for (; j + 4 * lanes <= length; j += 4 * lanes) {
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    for (int64_t k = 0; k < terms; ++k) {
      const auto c = hn::Set(d, coeff(k));
      const float* r = row(k) + j;
      a0 = hn::MulAdd(c, hn::LoadU(d, r), a0);
      a1 = hn::MulAdd(c, hn::LoadU(d, r + lanes), a1);
      a2 = hn::MulAdd(c, hn::LoadU(d, r + 2 * lanes), a2);
      a3 = hn::MulAdd(c, hn::LoadU(d, r + 3 * lanes), a3);
    }
    hn::StoreU(a0, d, out + j);
    hn::StoreU(a1, d, out + j + lanes);
    hn::StoreU(a2, d, out + j + 2 * lanes);
    hn::StoreU(a3, d, out + j + 3 * lanes);
  }
  for (; j + lanes <= length; j += lanes) {
    auto a = hn::Zero(d);
    for (int64_t k = 0; k < terms; ++k)
      a = hn::MulAdd(hn::Set(d, coeff(k)), hn::LoadU(d, row(k) + j), a);
    hn::StoreU(a, d, out + j);
  }
  for (; j < length; ++j) {
    float a = 0.0f;
    for (int64_t k = 0; k < terms; ++k) a += coeff(k) * row(k)[j];
    out[j] = a;
  }
}

// Dot products of x with kCount (1 or 4) consecutive weight rows, into y. The accumulators are
// named, not an array: SVE's vectors cannot be array elements.
template <int kCount>
HWY_INLINE void DotRows(const float* x, const float* w, int64_t length, float* y) {
  static_assert(kCount == 1 || kCount == 4, "one or four rows");
  const hn::ScalableTag<float> d;
  const int64_t lanes = int64_t(hn::Lanes(d));
  auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
  int64_t j = 0;
  for (; j + lanes <= length; j += lanes) {
    const auto v = hn::LoadU(d, x + j);
    a0 = hn::MulAdd(v, hn::LoadU(d, w + j), a0);
    if constexpr (kCount == 4) {
      a1 = hn::MulAdd(v, hn::LoadU(d, w + length + j), a1);
      a2 = hn::MulAdd(v, hn::LoadU(d, w + 2 * length + j), a2);
      a3 = hn::MulAdd(v, hn::LoadU(d, w + 3 * length + j), a3);
    }
  }
  const auto finish = [&](int i, decltype(a0) acc) HWY_ATTR {
    float sum = hn::GetLane(hn::SumOfLanes(d, acc));
    for (int64_t t = j; t < length; ++t) sum += x[t] * w[i * length + t];
    y[i] = sum;
  };
  finish(0, a0);
  if constexpr (kCount == 4) {
    finish(1, a1);
    finish(2, a2);
    finish(3, a3);
  }
}

void LinearForwardImpl(LinearShape shape, const float* x, const float* w, const float* bias,
                       float* y, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  ParallelFor(pool, size_t(shape.rows), [&](size_t row) HWY_ATTR {
    const float* x_row = x + int64_t(row) * shape.in;
    float* y_row = y + int64_t(row) * shape.out;
    int64_t o = 0;
    for (; o + 4 <= shape.out; o += 4) DotRows<4>(x_row, w + o * shape.in, shape.in, y_row + o);
    for (; o < shape.out; ++o) DotRows<1>(x_row, w + o * shape.in, shape.in, y_row + o);
    if (bias) {
      for (o = 0; o < shape.out; ++o) y_row[o] += bias[o];
    }
  });
}

void LinearBackwardDataImpl(LinearShape shape, const float* dy, const float* w, float* dx,
                            pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  ParallelFor(pool, size_t(shape.rows), [&](size_t row) HWY_ATTR {
    const float* dy_row = dy + int64_t(row) * shape.out;
    SumScaledRows(
        shape.out, [&](int64_t o) { return dy_row[o]; },
        [&](int64_t o) { return w + o * shape.in; }, dx + int64_t(row) * shape.in, shape.in);
  });
}

void LinearBackwardWeightsImpl(LinearShape shape, const float* x, const float* dy, float* dw,
                               float* dbias, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  ParallelFor(pool, size_t(shape.out), [&](size_t out) HWY_ATTR {
    const int64_t o = int64_t(out);
    SumScaledRows(
        shape.rows, [&](int64_t row) { return dy[row * shape.out + o]; },
        [&](int64_t row) { return x + row * shape.in; }, dw + o * shape.in, shape.in);
    if (dbias) {
      float sum = 0.0f;
      for (int64_t row = 0; row < shape.rows; ++row) sum += dy[row * shape.out + o];
      dbias[o] = sum;
    }
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(LinearForwardImpl);
HWY_EXPORT(LinearBackwardDataImpl);
HWY_EXPORT(LinearBackwardWeightsImpl);

void LinearForward(LinearShape shape, const float* x, const float* w, const float* bias, float* y,
                   pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(LinearForwardImpl)(shape, x, w, bias, y, pool);
}

void LinearBackwardData(LinearShape shape, const float* dy, const float* w, float* dx,
                        pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(LinearBackwardDataImpl)(shape, dy, w, dx, pool);
}

void LinearBackwardWeights(LinearShape shape, const float* x, const float* dy, float* dw,
                           float* dbias, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(LinearBackwardWeightsImpl)(shape, x, dy, dw, dbias, pool);
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
