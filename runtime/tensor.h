// Tensor: f32 data of logical shape (N, C, H, W) in one of the layouts of kernels/layout.h.
// Owned storage is kAlignment (64-byte) aligned and zero-initialised (so channel padding reads as
// zeros), from the allocator it is created with (runtime/allocator.h); a tensor may instead wrap a
// caller's buffer, which the caller keeps alive.
#ifndef SPARSETRAIN_RUNTIME_TENSOR_H_
#define SPARSETRAIN_RUNTIME_TENSOR_H_

#include <pthreadpool.h>

#include <cstdint>
#include <memory>

#include "kernels/aligned.h"
#include "kernels/base/status.h"
#include "kernels/layout.h"
#include "kernels/workspace.h"
#include "runtime/allocator.h"

namespace sparsetrain {

// OK if every dimension is positive and a tensor of `dims` fits kMaxTensorElements in any layout.
Status CheckDims(Dims dims);

class Tensor {
 public:
  Tensor() = default;  // empty: no storage, all dimensions 0

  // A new zero-filled tensor with storage from `allocator`.
  static Status Create(Dims dims, Layout layout, const Allocator& allocator, Tensor* out);
  // A tensor over `data` (StorageFloats(dims, layout) floats, not copied, not freed).
  static Status Wrap(float* data, Dims dims, Layout layout, Tensor* out);

  // Gives an owned (or empty) tensor new dims and layout, zero-filled, reusing its storage when it
  // is large enough (a batch smaller than the last does not reallocate), else from `allocator`.
  Status Reshape(Dims dims, Layout layout, const Allocator& allocator);

  const Dims& dims() const { return dims_; }
  Layout layout() const { return layout_; }
  float* data() { return data_; }
  const float* data() const { return data_; }
  int64_t storage_floats() const { return StorageFloats(dims_, layout_); }
  bool empty() const { return data_ == nullptr; }
  // Bytes of owned storage (0 for a wrapped tensor).
  int64_t capacity_bytes() const { return owned_.bytes(); }

  // Fills this tensor from `src`, which holds the same logical tensor in layout `from`; the
  // conversion runs on `pool` (null: the calling thread).
  Status CopyFrom(const float* src, Layout from, pthreadpool_t pool = nullptr);
  // Writes this tensor to `dst` in layout `to`.
  Status CopyTo(float* dst, Layout to, pthreadpool_t pool = nullptr) const;

 private:
  Buffer owned_;
  float* data_ = nullptr;
  Dims dims_;
  Layout layout_ = Layout::kNCHW;
};

// Scratch memory for kernel calls (kernels/workspace.h), grown to the largest need seen and then
// reused: after the first step of a model nothing is allocated for it again.
class WorkspaceArena {
 public:
  WorkspaceArena() = default;  // from the C library
  explicit WorkspaceArena(const Allocator& allocator) : allocator_(allocator) {}
  // A workspace of at least `floats` floats; allocates only when that is more than ever before.
  Status Reserve(int64_t floats, Workspace* out);
  int64_t bytes() const { return storage_.bytes(); }

 private:
  Allocator allocator_;
  Buffer storage_;
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_TENSOR_H_
