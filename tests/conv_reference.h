// The test oracle: plain scalar convolution in NCHW / KCRS, obviously correct rather than fast.
//
// Accumulates in double. Alongside each result it can return the sum of the absolute values of
// the products that formed it, from which tests derive a per-element float error bound.
#ifndef SPARSETRAIN_TESTS_CONV_REFERENCE_H_
#define SPARSETRAIN_TESTS_CONV_REFERENCE_H_

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/conv_shape.h"

namespace sparsetrain {
namespace reference {

// Calls f(n, k, c, oh, ow, ih, iw, r, s) for every product the convolution forms
// (input pixels in the padding contribute nothing and are skipped).
template <typename F>
void ForEachProduct(const ConvShape& sh, F&& f) {
  for (int64_t n = 0; n < sh.n; ++n)
    for (int64_t k = 0; k < sh.k; ++k)
      for (int64_t c = 0; c < sh.c; ++c)
        for (int64_t oh = 0; oh < sh.p(); ++oh)
          for (int64_t ow = 0; ow < sh.q(); ++ow)
            for (int64_t r = 0; r < sh.r; ++r)
              for (int64_t s = 0; s < sh.s; ++s) {
                const int64_t ih = oh * sh.stride_h - sh.pad_h + r;
                const int64_t iw = ow * sh.stride_w - sh.pad_w + s;
                if (ih < 0 || ih >= sh.h || iw < 0 || iw >= sh.w) continue;
                f(n, k, c, oh, ow, ih, iw, r, s);
              }
}

inline int64_t XIndex(const ConvShape& sh, int64_t n, int64_t c, int64_t h, int64_t w) {
  return ((n * sh.c + c) * sh.h + h) * sh.w + w;
}
inline int64_t YIndex(const ConvShape& sh, int64_t n, int64_t k, int64_t p, int64_t q) {
  return ((n * sh.k + k) * sh.p() + p) * sh.q() + q;
}
inline int64_t WIndex(const ConvShape& sh, int64_t k, int64_t c, int64_t r, int64_t s) {
  return ((k * sh.c + c) * sh.r + r) * sh.s + s;
}

// Sums, for every product the convolution forms, product(...) into out[target(...)], in double;
// `extra(i)` (a bias) is added last. out_abs (may be null) gets the sums of absolute values.
template <typename T, typename Target, typename Product, typename Extra>
void Accumulate(const ConvShape& sh, int64_t count, Target&& target, Product&& product,
                Extra&& extra, T* out, T* out_abs) {
  std::vector<double> acc(count), abs(count);
  ForEachProduct(sh, [&](auto... at) {
    const double p = product(at...);
    const int64_t i = target(at...);
    acc[i] += p;
    abs[i] += std::fabs(p);
  });
  for (int64_t i = 0; i < count; ++i) {
    const double e = extra(i);
    out[i] = T(acc[i] + e);
    if (out_abs) out_abs[i] = T(abs[i] + std::fabs(e));
  }
}

inline double NoExtra(int64_t) { return 0.0; }

// y = conv(x, w) + bias. `bias` may be null; `y_abs` (may be null) gets sum |x*w| + |bias|.
template <typename T>
void ConvForward(const ConvShape& sh, const T* x, const T* w, const T* bias, T* y,
                 T* y_abs = nullptr) {
  Accumulate(
      sh, sh.output().count(),
      [&](int64_t n, int64_t k, int64_t, int64_t oh, int64_t ow, auto...) {
        return YIndex(sh, n, k, oh, ow);
      },
      [&](int64_t n, int64_t k, int64_t c, int64_t, int64_t, int64_t ih, int64_t iw, int64_t r,
          int64_t s) { return double(x[XIndex(sh, n, c, ih, iw)]) * w[WIndex(sh, k, c, r, s)]; },
      [&](int64_t i) { return bias ? double(bias[i / (sh.p() * sh.q()) % sh.k]) : 0.0; }, y, y_abs);
}

// dx = conv_transpose(dy, w).
template <typename T>
void ConvBackwardData(const ConvShape& sh, const T* dy, const T* w, T* dx, T* dx_abs = nullptr) {
  Accumulate(
      sh, sh.input().count(),
      [&](int64_t n, int64_t, int64_t c, int64_t, int64_t, int64_t ih, int64_t iw, auto...) {
        return XIndex(sh, n, c, ih, iw);
      },
      [&](int64_t n, int64_t k, int64_t c, int64_t oh, int64_t ow, int64_t, int64_t, int64_t r,
          int64_t s) { return double(dy[YIndex(sh, n, k, oh, ow)]) * w[WIndex(sh, k, c, r, s)]; },
      NoExtra, dx, dx_abs);
}

// dw = sum over batch and output pixels of dy * x; dbias (may be null) = sum of dy per channel.
template <typename T>
void ConvBackwardWeights(const ConvShape& sh, const T* x, const T* dy, T* dw, T* dbias,
                         T* dw_abs = nullptr, T* dbias_abs = nullptr) {
  Accumulate(
      sh, sh.weights().count(),
      [&](int64_t, int64_t k, int64_t c, int64_t, int64_t, int64_t, int64_t, int64_t r, int64_t s) {
        return WIndex(sh, k, c, r, s);
      },
      [&](int64_t n, int64_t k, int64_t c, int64_t oh, int64_t ow, int64_t ih, int64_t iw,
          auto...) { return double(dy[YIndex(sh, n, k, oh, ow)]) * x[XIndex(sh, n, c, ih, iw)]; },
      NoExtra, dw, dw_abs);
  if (dbias == nullptr) return;
  const int64_t pq = sh.p() * sh.q();
  for (int64_t k = 0; k < sh.k; ++k) {
    double sum = 0, sum_abs = 0;
    for (int64_t n = 0; n < sh.n; ++n)
      for (int64_t i = 0; i < pq; ++i) {
        const double g = dy[(n * sh.k + k) * pq + i];
        sum += g;
        sum_abs += std::fabs(g);
      }
    dbias[k] = T(sum);
    if (dbias_abs) dbias_abs[k] = T(sum_abs);
  }
}

}  // namespace reference
}  // namespace sparsetrain

#endif  // SPARSETRAIN_TESTS_CONV_REFERENCE_H_
