#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/activation.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <atomic>
#include <cmath>

#include "kernels/activation.h"
#include "kernels/base/status.h"
#include "kernels/channels.h"
#include "kernels/chunks-inl.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// out[i] = op(d, i) for i in [0, count), whole vectors then one lane at a time; returns how
// many are zero.
template <class Op>
int64_t WriteCountingZeros(float* out, int64_t count, pthreadpool_t pool, const Op& op) {
  std::atomic<int64_t> zeros{0};
  ForEachChunk(count, pool, [&](auto d, int64_t i, int64_t end) HWY_ATTR {
    const hn::CappedTag<float, 1> d1;
    int64_t chunk_zeros = 0;
    const auto write = [&](auto tag) HWY_ATTR {
      const auto v = op(tag, i);
      hn::StoreU(v, tag, out + i);
      chunk_zeros += int64_t(hn::CountTrue(tag, hn::Eq(v, hn::Zero(tag))));
      i += int64_t(hn::Lanes(tag));
    };
    while (i + int64_t(hn::Lanes(d)) <= end) write(d);
    while (i < end) write(d1);
    zeros.fetch_add(chunk_zeros, std::memory_order_relaxed);
  });
  return zeros.load();
}

template <class D, class V>
HWY_INLINE V Sigmoid(D d, V x) {
  const auto one = hn::Set(d, 1.0f);
  return hn::Div(one, hn::Add(one, hn::Exp(d, hn::Neg(x))));
}

// f(x) for the lanes of x.
template <class D, class V>
HWY_INLINE V Apply(const ActivationFunction& f, D d, V x) {
  switch (f.kind) {
    case ActivationKind::kClip:
      return hn::Min(hn::Max(x, hn::Set(d, f.lo)), hn::Set(d, f.hi));
    case ActivationKind::kSigmoid:
      return Sigmoid(d, x);
    case ActivationKind::kHardSigmoid:
      return hn::Min(hn::Max(hn::MulAdd(hn::Set(d, f.alpha), x, hn::Set(d, f.beta)), hn::Zero(d)),
                     hn::Set(d, 1.0f));
    case ActivationKind::kHardSwish: {
      const auto gate =
          hn::Min(hn::Max(hn::Add(x, hn::Set(d, 3.0f)), hn::Zero(d)), hn::Set(d, 6.0f));
      return hn::Mul(x, hn::Mul(gate, hn::Set(d, 1.0f / 6.0f)));
    }
    case ActivationKind::kSilu:
      return hn::Mul(x, Sigmoid(d, x));
  }
  return x;
}

// f'(x) for the lanes of x, with PyTorch's choices at the kinks.
template <class D, class V>
HWY_INLINE V Slope(const ActivationFunction& f, D d, V x) {
  const auto zero = hn::Zero(d), one = hn::Set(d, 1.0f);
  switch (f.kind) {
    case ActivationKind::kClip:
      return hn::IfThenElseZero(hn::And(hn::Gt(x, hn::Set(d, f.lo)), hn::Lt(x, hn::Set(d, f.hi))),
                                one);
    case ActivationKind::kSigmoid: {
      const auto s = Sigmoid(d, x);
      return hn::Mul(s, hn::Sub(one, s));
    }
    case ActivationKind::kHardSigmoid: {
      const auto z = hn::MulAdd(hn::Set(d, f.alpha), x, hn::Set(d, f.beta));
      return hn::IfThenElseZero(hn::And(hn::Gt(z, zero), hn::Lt(z, one)), hn::Set(d, f.alpha));
    }
    case ActivationKind::kHardSwish: {
      // 0 below -3, (2x + 3) / 6 on [-3, 3], 1 above.
      const auto middle = hn::MulAdd(x, hn::Set(d, 1.0f / 3.0f), hn::Set(d, 0.5f));
      const auto inside = hn::IfThenElse(hn::Le(x, hn::Set(d, 3.0f)), middle, one);
      return hn::IfThenElseZero(hn::Ge(x, hn::Set(d, -3.0f)), inside);
    }
    case ActivationKind::kSilu: {
      const auto s = Sigmoid(d, x);
      return hn::Mul(s, hn::MulAdd(x, hn::Sub(one, s), one));
    }
  }
  return one;
}

int64_t ActivationForwardImpl(const ActivationFunction& f, const float* x, float* y, int64_t count,
                              pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  return WriteCountingZeros(
      y, count, pool, [&](auto d, int64_t i) HWY_ATTR { return Apply(f, d, hn::LoadU(d, x + i)); });
}

int64_t ActivationBackwardImpl(const ActivationFunction& f, const float* x, const float* dy,
                               float* dx, int64_t count, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  return WriteCountingZeros(dx, count, pool, [&](auto d, int64_t i) HWY_ATTR {
    return hn::Mul(hn::LoadU(d, dy + i), Slope(f, d, hn::LoadU(d, x + i)));
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(ActivationForwardImpl);
HWY_EXPORT(ActivationBackwardImpl);

Status Validate(const ActivationFunction& f) {
  const bool finite =
      std::isfinite(f.lo) && std::isfinite(f.hi) && std::isfinite(f.alpha) && std::isfinite(f.beta);
  if (!finite) return InvalidArgument("activation parameters must be finite");
  if (f.kind == ActivationKind::kClip && !(f.lo <= f.hi)) {
    return InvalidArgument("clip needs min <= max, got min " + std::to_string(f.lo) + " and max " +
                           std::to_string(f.hi));
  }
  if (f.kind == ActivationKind::kHardSigmoid && f.alpha == 0.0f) {
    return InvalidArgument("hard sigmoid needs a non-zero alpha");
  }
  return Status::Ok();
}

const char* ActivationName(const ActivationFunction& f) {
  switch (f.kind) {
    case ActivationKind::kClip:
      return f.lo == 0.0f && f.hi == 6.0f ? "relu6" : "clip";
    case ActivationKind::kSigmoid:
      return "sigmoid";
    case ActivationKind::kHardSigmoid:
      return "hardsigmoid";
    case ActivationKind::kHardSwish:
      return "hardswish";
    case ActivationKind::kSilu:
      return "silu";
  }
  return "activation";
}

int64_t ActivationForward(const ActivationFunction& f, const Dims& dims, Layout layout,
                          const float* x, float* y, pthreadpool_t pool) {
  const int64_t count = StorageFloats(dims, layout);
  int64_t zeros = HWY_DYNAMIC_DISPATCH(ActivationForwardImpl)(f, x, y, count, pool);
  // The padding lanes of the last channel block held f(0); they must stay zero.
  if (layout == Layout::kNChw16c) zeros += ZeroChannelPadding(dims, y);
  return zeros;
}

int64_t ActivationBackward(const ActivationFunction& f, const float* x, const float* dy, float* dx,
                           int64_t count, pthreadpool_t pool) {
  return HWY_DYNAMIC_DISPATCH(ActivationBackwardImpl)(f, x, dy, dx, count, pool);
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
