// Seeded, platform-independent random numbers: parameter initialisation and the order of
// training examples are reproducible from a seed on any machine. The generator is SplitMix64
// (written out here so other languages can replay it, e.g. bench/torch_fashion_mnist.py).
#ifndef SPARSETRAIN_RUNTIME_RANDOM_H_
#define SPARSETRAIN_RUNTIME_RANDOM_H_

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

namespace sparsetrain {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), 53 bits.
  double Uniform() { return double(Next() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller).
  double Normal() {
    const double u1 = 1.0 - Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  // A uniformly random permutation of 0..count-1 (Fisher-Yates from the top; the modulo bias is
  // negligible below 2^32 elements).
  std::vector<int64_t> Permutation(int64_t count) {
    std::vector<int64_t> order(count);
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = count - 1; i > 0; --i) {
      const int64_t j = int64_t(Next() % uint64_t(i + 1));
      std::swap(order[i], order[j]);
    }
    return order;
  }

 private:
  uint64_t state_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_RANDOM_H_
