#include "runtime/onnx_arena.h"

#include <new>
#include <utility>

namespace sparsetrain {
namespace {

// Protobuf's arena takes plain functions for its blocks, so the allocator of the arena in use
// is this thread's.
thread_local const Allocator* arena_allocator = nullptr;

void* AllocateArenaBlock(size_t bytes) {
  // Protobuf asks for any size; aligned allocation takes whole multiples of the alignment.
  constexpr size_t kAlign = alignof(std::max_align_t);
  void* block = arena_allocator->Allocate((bytes + kAlign - 1) / kAlign * kAlign, kAlign);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void FreeArenaBlock(void* block, size_t /*bytes*/) { arena_allocator->Free(block); }

}  // namespace

Status WithArena(const Allocator& allocator,
                 const std::function<Status(google::protobuf::Arena*)>& body) {
  google::protobuf::ArenaOptions options;
  options.block_alloc = AllocateArenaBlock;
  options.block_dealloc = FreeArenaBlock;
  const Allocator* outer = std::exchange(arena_allocator, &allocator);
  Status status;
  try {
    google::protobuf::Arena arena(options);
    status = body(&arena);
  } catch (const std::bad_alloc&) {
    status = OutOfMemory("ONNX model: out of memory");
  }
  arena_allocator = outer;
  return status;
}

}  // namespace sparsetrain
