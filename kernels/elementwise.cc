#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/elementwise.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "kernels/chunks-inl.h"
#include "kernels/elementwise.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"

#ifndef SPARSETRAIN_KERNELS_ELEMENTWISE_ONCE_
#define SPARSETRAIN_KERNELS_ELEMENTWISE_ONCE_
namespace sparsetrain {

// Dropout's keep decision for element i: a 24-bit uniform value from a hash of (seed, i)
// (MurmurHash3's finaliser), compared with the threshold drop * 2^24.
inline uint32_t DropoutKey(uint32_t seed, uint32_t i) {
  uint32_t h = i * 0x9E3779B9u + seed;
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h >> 8;
}

inline uint32_t SeedBits(uint64_t seed) { return uint32_t(seed ^ (seed >> 32)); }

}  // namespace sparsetrain
#endif  // SPARSETRAIN_KERNELS_ELEMENTWISE_ONCE_

HWY_BEFORE_NAMESPACE();
namespace sparsetrain {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// out[i] = op(i) for i in [0, count); returns how many are zero. vector_op(d, i) computes
// Lanes(d) results from i on, scalar_op(i) one (the tail).
template <class VectorOp, class ScalarOp>
int64_t WriteCountingZeros(float* out, int64_t count, pthreadpool_t pool, const VectorOp& vector_op,
                           const ScalarOp& scalar_op) {
  std::atomic<int64_t> zeros{0};
  ForEachChunk(count, pool, [&](auto d, int64_t i, int64_t end) HWY_ATTR {
    const int64_t lanes = int64_t(hn::Lanes(d));
    int64_t chunk_zeros = 0;
    for (; i + lanes <= end; i += lanes) {
      const auto v = vector_op(d, i);
      hn::StoreU(v, d, out + i);
      chunk_zeros += int64_t(hn::CountTrue(d, hn::Eq(v, hn::Zero(d))));
    }
    for (; i < end; ++i) {
      out[i] = scalar_op(i);
      chunk_zeros += out[i] == 0.0f;
    }
    zeros.fetch_add(chunk_zeros, std::memory_order_relaxed);
  });
  return zeros.load();
}

int64_t ReluForwardImpl(const float* x, float* y, int64_t count, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  return WriteCountingZeros(
      y, count, pool,
      [x](auto d, int64_t i) HWY_ATTR { return hn::Max(hn::LoadU(d, x + i), hn::Zero(d)); },
      [x](int64_t i) { return x[i] > 0.0f ? x[i] : 0.0f; });
}

int64_t ReluBackwardImpl(const float* dy, const float* y, float* dx, int64_t count,
                         pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  return WriteCountingZeros(
      dx, count, pool,
      [dy, y](auto d, int64_t i) HWY_ATTR {
        return hn::IfThenElseZero(hn::Gt(hn::LoadU(d, y + i), hn::Zero(d)), hn::LoadU(d, dy + i));
      },
      [dy, y](int64_t i) { return y[i] > 0.0f ? dy[i] : 0.0f; });
}

int64_t CountZerosImpl(const float* x, int64_t count, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  std::atomic<int64_t> zeros{0};
  ForEachChunk(count, pool, [&](auto d, int64_t i, int64_t end) HWY_ATTR {
    const int64_t lanes = int64_t(hn::Lanes(d));
    int64_t chunk_zeros = 0;
    for (; i + lanes <= end; i += lanes) {
      chunk_zeros += int64_t(hn::CountTrue(d, hn::Eq(hn::LoadU(d, x + i), hn::Zero(d))));
    }
    for (; i < end; ++i) chunk_zeros += x[i] == 0.0f;
    zeros.fetch_add(chunk_zeros, std::memory_order_relaxed);
  });
  return zeros.load();
}

void AddImpl(const float* a, const float* b, float* y, int64_t count, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  ForEachElement(count, pool, [&](auto d, int64_t i) HWY_ATTR {
    hn::StoreU(hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, y + i);
  });
}

void MultiplyImpl(const float* a, const float* b, float* y, int64_t count, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  ForEachElement(count, pool, [&](auto d, int64_t i) HWY_ATTR {
    hn::StoreU(hn::Mul(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, y + i);
  });
}

void MultiplyBackwardImpl(const float* a, const float* b, const float* dy, float* da, float* db,
                          int64_t count, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  ForEachElement(count, pool, [&](auto d, int64_t i) HWY_ATTR {
    const auto g = hn::LoadU(d, dy + i);
    // Both read before either is written: da or db may alias dy.
    const auto to_a = hn::Mul(g, hn::LoadU(d, b + i)), to_b = hn::Mul(g, hn::LoadU(d, a + i));
    if (da != nullptr) hn::StoreU(to_a, d, da + i);
    if (db != nullptr) hn::StoreU(to_b, d, db + i);
  });
}

int64_t DropoutImpl(const float* x, float* y, int64_t count, float drop, uint64_t seed,
                    pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  const uint32_t seed_bits = SeedBits(seed);
  const int32_t threshold = int32_t(double(drop) * double(1 << 24));
  const float keep_scale = 1.0f / (1.0f - drop);
  return WriteCountingZeros(
      y, count, pool,
      [=](auto d, int64_t i) HWY_ATTR {
        const hn::RebindToUnsigned<decltype(d)> du;
        const hn::RebindToSigned<decltype(d)> di;
        auto h = hn::Add(hn::Mul(hn::Iota(du, uint32_t(i)), hn::Set(du, 0x9E3779B9u)),
                         hn::Set(du, seed_bits));
        h = hn::Xor(h, hn::ShiftRight<16>(h));
        h = hn::Mul(h, hn::Set(du, 0x85EBCA6Bu));
        h = hn::Xor(h, hn::ShiftRight<13>(h));
        h = hn::Mul(h, hn::Set(du, 0xC2B2AE35u));
        h = hn::Xor(h, hn::ShiftRight<16>(h));
        const auto key = hn::BitCast(di, hn::ShiftRight<8>(h));
        const auto keep = hn::RebindMask(d, hn::Gt(key, hn::Set(di, threshold - 1)));
        return hn::IfThenElseZero(keep, hn::Mul(hn::LoadU(d, x + i), hn::Set(d, keep_scale)));
      },
      [=](int64_t i) {
        return int32_t(DropoutKey(seed_bits, uint32_t(i))) >= threshold ? x[i] * keep_scale : 0.0f;
      });
}

double SumOfSquaresImpl(const float* x, int64_t count, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  std::mutex mutex;
  double total = 0.0;
  ForEachChunk(count, pool, [&](auto d, int64_t i, int64_t end) HWY_ATTR {
    constexpr int64_t kRun = 256;  // floats summed in float before adding into the double
    double chunk_sum = 0.0;
    for (; i + kRun <= end; i += kRun) {
      auto sum = hn::Zero(d);
      for (int64_t j = 0; j < kRun; j += int64_t(hn::Lanes(d))) {
        const auto v = hn::LoadU(d, x + i + j);
        sum = hn::MulAdd(v, v, sum);
      }
      chunk_sum += hn::GetLane(hn::SumOfLanes(d, sum));
    }
    for (; i < end; ++i) chunk_sum += double(x[i]) * x[i];
    std::lock_guard<std::mutex> lock(mutex);
    total += chunk_sum;
  });
  return total;
}

void ScaleImpl(float* x, int64_t count, float alpha, pthreadpool_t pool) {
  NoteTargetRan(HWY_TARGET);
  ForEachElement(count, pool, [&](auto d, int64_t i) HWY_ATTR {
    hn::StoreU(hn::Mul(hn::LoadU(d, x + i), hn::Set(d, alpha)), d, x + i);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace sparsetrain
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace sparsetrain {
HWY_EXPORT(ReluForwardImpl);
HWY_EXPORT(ReluBackwardImpl);
HWY_EXPORT(CountZerosImpl);
HWY_EXPORT(AddImpl);
HWY_EXPORT(MultiplyImpl);
HWY_EXPORT(MultiplyBackwardImpl);
HWY_EXPORT(DropoutImpl);
HWY_EXPORT(SumOfSquaresImpl);
HWY_EXPORT(ScaleImpl);

int64_t ReluForward(const float* x, float* y, int64_t count, pthreadpool_t pool) {
  return HWY_DYNAMIC_DISPATCH(ReluForwardImpl)(x, y, count, pool);
}

int64_t ReluBackward(const float* dy, const float* y, float* dx, int64_t count,
                     pthreadpool_t pool) {
  return HWY_DYNAMIC_DISPATCH(ReluBackwardImpl)(dy, y, dx, count, pool);
}

int64_t CountZeros(const float* x, int64_t count, pthreadpool_t pool) {
  return HWY_DYNAMIC_DISPATCH(CountZerosImpl)(x, count, pool);
}

void Add(const float* a, const float* b, float* y, int64_t count, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(AddImpl)(a, b, y, count, pool);
}

void Multiply(const float* a, const float* b, float* y, int64_t count, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(MultiplyImpl)(a, b, y, count, pool);
}

void MultiplyBackward(const float* a, const float* b, const float* dy, float* da, float* db,
                      int64_t count, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(MultiplyBackwardImpl)(a, b, dy, da, db, count, pool);
}

int64_t Dropout(const float* x, float* y, int64_t count, float drop, uint64_t seed,
                pthreadpool_t pool) {
  return HWY_DYNAMIC_DISPATCH(DropoutImpl)(x, y, count, drop, seed, pool);
}

double SumOfSquares(const float* x, int64_t count, pthreadpool_t pool) {
  return HWY_DYNAMIC_DISPATCH(SumOfSquaresImpl)(x, count, pool);
}

void Scale(float* x, int64_t count, float alpha, pthreadpool_t pool) {
  HWY_DYNAMIC_DISPATCH(ScaleImpl)(x, count, alpha, pool);
}

}  // namespace sparsetrain
#endif  // HWY_ONCE
