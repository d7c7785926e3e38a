// Where tensors get their memory: the C library by default, or hooks an embedding application
// supplies (the C API's st_allocator), installed for the calls made on one thread.
#ifndef SPARSETRAIN_RUNTIME_ALLOCATOR_H_
#define SPARSETRAIN_RUNTIME_ALLOCATOR_H_

#include <cstddef>

namespace sparsetrain {

struct Allocator {
  void* (*alloc)(void* user, size_t bytes, size_t alignment) = nullptr;
  void (*free)(void* user, void* ptr) = nullptr;
  void* user = nullptr;
};

// The allocator tensors created on this thread use (null: aligned_alloc / free).
const Allocator* CurrentAllocator();

// Installs `allocator` (may be null) on this thread for the scope's lifetime.
class ScopedAllocator {
 public:
  explicit ScopedAllocator(const Allocator* allocator);
  ~ScopedAllocator();
  ScopedAllocator(const ScopedAllocator&) = delete;
  ScopedAllocator& operator=(const ScopedAllocator&) = delete;

 private:
  const Allocator* previous_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_ALLOCATOR_H_
