#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace sparsetrain {

std::vector<int64_t> PlaceBuffers(const std::vector<BufferLifetime>& buffers, int64_t alignment,
                                  int64_t* arena_bytes) {
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  const auto round_up = [&](int64_t bytes) {
    return (bytes + alignment - 1) / alignment * alignment;
  };
  std::vector<int64_t> offsets(buffers.size(), 0);
  std::vector<size_t> placed;
  int64_t end = 0;
  for (size_t i : order) {
    const BufferLifetime& b = buffers[i];
    // The placed buffers alive at the same time, by offset: the first gap that fits is taken.
    std::vector<size_t> overlapping;
    for (size_t j : placed) {
      if (buffers[j].first <= b.last && b.first <= buffers[j].last) overlapping.push_back(j);
    }
    std::sort(overlapping.begin(), overlapping.end(),
              [&](size_t x, size_t y) { return offsets[x] < offsets[y]; });
    int64_t offset = 0;
    for (size_t j : overlapping) {
      if (offset + b.bytes <= offsets[j]) break;
      offset = std::max(offset, round_up(offsets[j] + buffers[j].bytes));
    }
    offsets[i] = offset;
    end = std::max(end, offset + b.bytes);
    placed.push_back(i);
  }
  *arena_bytes = round_up(end);
  return offsets;
}

}  // namespace sparsetrain
