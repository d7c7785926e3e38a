// Memory layouts of activations and weights, and their sizes.
//
// Shapes are always given as the logical (N, C, H, W); for weights that is (K, C, R, S):
// output channels, input channels, kernel rows, kernel columns. Blocked layouts pad channel
// counts up to a multiple of kChannelBlock with zeros, so kernels never see a partial block.
#ifndef SPARSETRAIN_KERNELS_LAYOUT_H_
#define SPARSETRAIN_KERNELS_LAYOUT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

namespace sparsetrain {

// Channels per block: one AVX-512 vector of f32 (two AVX2 vectors).
constexpr int64_t kChannelBlock = 16;
// Floats of one 16 x 16 block of a weight layout: one kernel tap of an input and an output block.
constexpr int64_t kWeightBlockFloats = kChannelBlock * kChannelBlock;

enum class Layout {
  kNCHW,        // user layout of activations; PyTorch's (K, C, R, S) order for weights
  kNChw16c,     // activations: [N][C/16][H][W][16c]
  kOIhw16i16o,  // forward weights: [K/16][C/16][R][S][16c][16k] (output channels innermost)
  kIOhw16o16i,  // transposed weights: [C/16][K/16][R][S][16k][16c] (input channels innermost)
};

const char* LayoutName(Layout layout);

struct Dims {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t count() const { return n * c * h * w; }
  bool operator==(const Dims& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
  bool operator!=(const Dims& o) const { return !(*this == o); }
  // "NxCxHxW", for messages and logs.
  std::string text() const {
    return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(h) + "x" +
           std::to_string(w);
  }
};

inline int64_t BlocksOf(int64_t channels) { return (channels + kChannelBlock - 1) / kChannelBlock; }
inline int64_t PaddedChannels(int64_t channels) { return BlocksOf(channels) * kChannelBlock; }

// Number of floats a tensor of `dims` occupies in `layout` (channel padding included).
inline int64_t StorageFloats(Dims dims, Layout layout) {
  switch (layout) {
    case Layout::kNCHW:
      return dims.count();
    case Layout::kNChw16c:
      return dims.n * PaddedChannels(dims.c) * dims.h * dims.w;
    case Layout::kOIhw16i16o:
    case Layout::kIOhw16o16i:
      return PaddedChannels(dims.n) * PaddedChannels(dims.c) * dims.h * dims.w;
  }
  return 0;
}

// A count of zeros in a tensor's storage as a fraction of its real elements: channel padding is
// always zero and costs no kernel anything, so it is left out (a 3-channel image in nChw16c is
// not 81% zeros). -1 for an unknown (negative) count.
inline double ZeroFraction(int64_t storage_zeros, Dims dims, Layout layout) {
  if (storage_zeros < 0 || dims.count() == 0) return -1.0;
  const int64_t padding = StorageFloats(dims, layout) - dims.count();
  return double(std::max<int64_t>(0, storage_zeros - padding)) / double(dims.count());
}

inline bool IsWeightLayout(Layout layout) {
  return layout == Layout::kOIhw16i16o || layout == Layout::kIOhw16o16i;
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_LAYOUT_H_
