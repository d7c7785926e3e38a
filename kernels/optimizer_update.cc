#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/optimizer_update.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <cmath>

#include "kernels/chunks-inl.h"
#include "kernels/isa.h"
#include "kernels/optimizer_update.h"
#include "kernels/parallel.h"

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void SgdUpdateImpl(float* param, const float* grad, float* velocity, int64_t count,
                   const SgdStep& step, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  ForEachElement(count, pool, [&](auto d, int64_t i) HWY_ATTR {
    const auto p = hn::LoadU(d, param + i);
    auto g = hn::MulAdd(hn::Set(d, step.weight_decay), p, hn::LoadU(d, grad + i));
    if (step.momentum != 0.0f) {
      const auto mu = hn::Set(d, step.momentum);
      const auto vel = hn::MulAdd(mu, hn::LoadU(d, velocity + i), g);
      hn::StoreU(vel, d, velocity + i);
      g = step.nesterov ? hn::MulAdd(mu, vel, g) : vel;
    }
    hn::StoreU(hn::NegMulAdd(hn::Set(d, step.lr), g, p), d, param + i);
  });
}

void AdamUpdateImpl(float* param, const float* grad, float* m, float* v, int64_t count,
                    const AdamStep& step, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const float correction1 = 1.0f - std::pow(step.beta1, float(step.step));
  const float correction2_sqrt = std::sqrt(1.0f - std::pow(step.beta2, float(step.step)));
  const float step_size = step.lr / correction1;
  const float decay_factor = step.decoupled ? 1.0f - step.lr * step.weight_decay : 1.0f;
  const float grad_decay = step.decoupled ? 0.0f : step.weight_decay;
  ForEachElement(count, pool, [&](auto d, int64_t i) HWY_ATTR {
    auto p = hn::Mul(hn::LoadU(d, param + i), hn::Set(d, decay_factor));
    const auto g = hn::MulAdd(hn::Set(d, grad_decay), p, hn::LoadU(d, grad + i));
    const auto m_new = hn::MulAdd(hn::Set(d, 1.0f - step.beta1), g,
                                  hn::Mul(hn::LoadU(d, m + i), hn::Set(d, step.beta1)));
    const auto v_new = hn::MulAdd(hn::Mul(g, g), hn::Set(d, 1.0f - step.beta2),
                                  hn::Mul(hn::LoadU(d, v + i), hn::Set(d, step.beta2)));
    const auto denom =
        hn::Add(hn::Div(hn::Sqrt(v_new), hn::Set(d, correction2_sqrt)), hn::Set(d, step.eps));
    p = hn::NegMulAdd(hn::Set(d, step_size), hn::Div(m_new, denom), p);
    hn::StoreU(m_new, d, m + i);
    hn::StoreU(v_new, d, v + i);
    hn::StoreU(p, d, param + i);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(SgdUpdateImpl);
HWY_EXPORT(AdamUpdateImpl);

void SgdUpdate(float* param, const float* grad, float* velocity, int64_t count, const SgdStep& step,
               pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(SgdUpdateImpl)(param, grad, velocity, count, step, pool);
}

void AdamUpdate(float* param, const float* grad, float* m, float* v, int64_t count,
                const AdamStep& step, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(AdamUpdateImpl)(param, grad, m, v, count, step, pool);
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
