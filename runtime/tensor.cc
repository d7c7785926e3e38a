#include "runtime/tensor.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/base/limits.h"
#include "kernels/reorder.h"

namespace sparsetrain {

Status CheckDims(Dims dims) {
  if (dims.n <= 0 || dims.c <= 0 || dims.h <= 0 || dims.w <= 0) {
    return InvalidArgument("tensor: dimensions must be positive, got " + dims.text());
  }
  // The largest storage any layout gives these dims (padding of both n and c) must fit.
  const double padded = double(PaddedChannels(dims.n)) * PaddedChannels(dims.c) * dims.h * dims.w;
  if (!WithinTensorLimit(padded)) return InvalidArgument("tensor: size overflows");
  return Status::Ok();
}

void* Allocator::Allocate(size_t bytes, size_t alignment) const {
  return alloc != nullptr ? alloc(user, bytes, alignment) : std::aligned_alloc(alignment, bytes);
}

void Allocator::Free(void* ptr) const {
  if (free != nullptr) {
    free(user, ptr);
  } else {
    std::free(ptr);
  }
}

Status Buffer::Allocate(size_t bytes, const Allocator& allocator) {
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* block = allocator.Allocate(rounded, kAlignment);
  if (block == nullptr) {
    return OutOfMemory("cannot allocate " + std::to_string(rounded) + " bytes");
  }
  if (reinterpret_cast<uintptr_t>(block) % kAlignment != 0) {
    allocator.Free(block);
    return InvalidArgument("the allocator returned misaligned memory");
  }
  std::memset(block, 0, rounded);
  block_ = std::unique_ptr<void, Release>(block, Release{allocator, int64_t(rounded)});
  return Status::Ok();
}

Status Tensor::Create(Dims dims, Layout layout, const Allocator& allocator, Tensor* out) {
  if (out == nullptr) return InvalidArgument("tensor: null output");
  Status status = CheckDims(dims);
  if (!status.ok()) return status;
  Tensor t;
  status = t.owned_.Allocate(size_t(StorageFloats(dims, layout)) * sizeof(float), allocator);
  if (!status.ok()) return status.Within("tensor");
  t.data_ = static_cast<float*>(t.owned_.data());
  t.dims_ = dims;
  t.layout_ = layout;
  *out = std::move(t);
  return Status::Ok();
}

Status Tensor::Reshape(Dims dims, Layout layout, const Allocator& allocator) {
  if (!empty() && owned_.data() == nullptr)
    return InvalidArgument("tensor: cannot reshape a wrapped buffer");
  Status status = CheckDims(dims);
  if (!status.ok()) return status;
  const int64_t bytes = StorageFloats(dims, layout) * int64_t(sizeof(float));
  if (bytes > capacity_bytes()) return Create(dims, layout, allocator, this);
  std::memset(data_, 0, size_t(bytes));
  dims_ = dims;
  layout_ = layout;
  return Status::Ok();
}

Status Tensor::Wrap(float* data, Dims dims, Layout layout, Tensor* out) {
  if (out == nullptr) return InvalidArgument("tensor: null output");
  if (data == nullptr) return InvalidArgument("tensor: cannot wrap a null buffer");
  Status status = CheckDims(dims);
  if (!status.ok()) return status;
  Tensor t;
  t.data_ = data;
  t.dims_ = dims;
  t.layout_ = layout;
  *out = std::move(t);
  return Status::Ok();
}

Status Tensor::CopyFrom(const float* src, Layout from, pthreadpool_t pool) {
  if (empty()) return InvalidArgument("tensor: copy into an empty tensor");
  return Reorder(src, from, data_, layout_, dims_, pool);
}

Status Tensor::CopyTo(float* dst, Layout to, pthreadpool_t pool) const {
  if (empty()) return InvalidArgument("tensor: copy out of an empty tensor");
  return Reorder(data_, layout_, dst, to, dims_, pool);
}

Status WorkspaceArena::Reserve(int64_t floats, Workspace* out) {
  if (!WithinTensorLimit(double(floats))) return InvalidArgument("workspace: size overflows");
  Status status = storage_.Grow(size_t(floats) * sizeof(float), allocator_);
  if (!status.ok()) return status.Within("workspace");
  *out = {static_cast<float*>(storage_.data()), storage_.bytes() / int64_t(sizeof(float))};
  return Status::Ok();
}

}  // namespace sparsetrain
