// Placing buffers of known lifetimes in one arena, as a compiler lays out a stack frame: buffers
// whose lifetimes overlap get disjoint bytes, the others may share them.
#ifndef SPARSETRAIN_RUNTIME_MEMORY_PLAN_H_
#define SPARSETRAIN_RUNTIME_MEMORY_PLAN_H_

#include <cstdint>
#include <vector>

namespace sparsetrain {

// A buffer of `bytes`, in use from time `first` to time `last` (inclusive).
struct BufferLifetime {
  int64_t first = 0, last = 0;
  int64_t bytes = 0;
};

// The byte offset of each buffer in an arena of *arena_bytes: the largest buffers are placed
// first, each at the lowest offset (a multiple of `alignment`) where it overlaps no placed buffer
// whose lifetime it shares.
std::vector<int64_t> PlaceBuffers(const std::vector<BufferLifetime>& buffers, int64_t alignment,
                                  int64_t* arena_bytes);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_MEMORY_PLAN_H_
