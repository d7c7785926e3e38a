// Protobuf messages of ONNX models built in memory from the model's allocator.
#ifndef SPARSETRAIN_RUNTIME_ONNX_ARENA_H_
#define SPARSETRAIN_RUNTIME_ONNX_ARENA_H_

#include <google/protobuf/arena.h>

#include <functional>

#include "kernels/base/status.h"
#include "runtime/allocator.h"

namespace sparsetrain {

// Runs `body` with an arena whose blocks come from `allocator` and are all returned before this
// returns; an allocation that fails unwinds `body` and makes kOutOfMemory.
Status WithArena(const Allocator& allocator,
                 const std::function<Status(google::protobuf::Arena*)>& body);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_ONNX_ARENA_H_
