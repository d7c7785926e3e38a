// Where the runtime's memory comes from: the C library by default, or hooks an embedding
// application supplies (the C API's st_allocator). An allocator is passed explicitly to whatever
// allocates - a model, a tensor, a workspace - and each block goes back to the one it came from.
#ifndef SPARSETRAIN_RUNTIME_ALLOCATOR_H_
#define SPARSETRAIN_RUNTIME_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/base/status.h"

namespace sparsetrain {

// Hooks that allocate aligned blocks; without hooks, aligned_alloc and free.
struct Allocator {
  void* (*alloc)(void* user, size_t bytes, size_t alignment) = nullptr;
  void (*free)(void* user, void* ptr) = nullptr;
  void* user = nullptr;

  void* Allocate(size_t bytes, size_t alignment) const;
  void Free(void* ptr) const;
};

// A zero-filled, kAlignment-aligned block of bytes owned until destruction or reallocation.
class Buffer {
 public:
  Buffer() = default;
  // Replaces the block with a new one of at least `bytes` bytes (rounded up to kAlignment) from
  // `allocator`; on failure the old block is kept.
  Status Allocate(size_t bytes, const Allocator& allocator);
  // Allocate, unless the block already holds `bytes` bytes: then it is kept as it is.
  Status Grow(size_t bytes, const Allocator& allocator) {
    return int64_t(bytes) <= this->bytes() ? Status::Ok() : Allocate(bytes, allocator);
  }
  void* data() const { return block_.get(); }
  // Bytes held (0 when empty).
  int64_t bytes() const { return block_ != nullptr ? block_.get_deleter().bytes : 0; }

 private:
  struct Release {
    Allocator allocator;  // the one that allocated
    int64_t bytes;
    void operator()(void* p) const { allocator.Free(p); }
  };
  std::unique_ptr<void, Release> block_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_ALLOCATOR_H_
