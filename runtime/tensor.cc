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
    return InvalidArgument("tensor: dimensions must be positive, got " + std::to_string(dims.n) +
                           "x" + std::to_string(dims.c) + "x" + std::to_string(dims.h) + "x" +
                           std::to_string(dims.w));
  }
  // The largest storage any layout gives these dims (padding of both n and c) must fit.
  const double padded = double(PaddedChannels(dims.n)) * PaddedChannels(dims.c) * dims.h * dims.w;
  if (!WithinTensorLimit(padded)) return InvalidArgument("tensor: size overflows");
  return Status::Ok();
}

namespace {
thread_local const Allocator* current_allocator = nullptr;
}  // namespace

const Allocator* CurrentAllocator() { return current_allocator; }

ScopedAllocator::ScopedAllocator(const Allocator* allocator) : previous_(current_allocator) {
  current_allocator = allocator;
}

ScopedAllocator::~ScopedAllocator() { current_allocator = previous_; }

void Tensor::FreeDeleter::operator()(float* p) const {
  if (allocator.free != nullptr) {
    allocator.free(allocator.user, p);
  } else {
    std::free(p);
  }
}

Status Tensor::Create(Dims dims, Layout layout, Tensor* out) {
  if (out == nullptr) return InvalidArgument("tensor: null output");
  Status status = CheckDims(dims);
  if (!status.ok()) return status;
  const size_t bytes = size_t(StorageFloats(dims, layout)) * sizeof(float);
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  const Allocator* allocator = CurrentAllocator();
  float* data = static_cast<float*>(allocator != nullptr
                                        ? allocator->alloc(allocator->user, rounded, kAlignment)
                                        : std::aligned_alloc(kAlignment, rounded));
  if (data != nullptr && reinterpret_cast<uintptr_t>(data) % kAlignment != 0) {
    if (allocator != nullptr) allocator->free(allocator->user, data);
    return Status(StatusCode::kInvalidArgument, "tensor: the allocator returned misaligned memory");
  }
  if (data == nullptr) {
    return OutOfMemory("tensor: cannot allocate " + std::to_string(rounded) + " bytes");
  }
  std::memset(data, 0, rounded);
  Tensor t;
  t.owned_ = std::unique_ptr<float, FreeDeleter>(
      data, FreeDeleter{allocator != nullptr ? *allocator : Allocator()});
  t.data_ = data;
  t.dims_ = dims;
  t.layout_ = layout;
  t.capacity_bytes_ = int64_t(rounded);
  *out = std::move(t);
  return Status::Ok();
}

Status Tensor::Reshape(Dims dims, Layout layout) {
  if (!empty() && owned_ == nullptr)
    return InvalidArgument("tensor: cannot reshape a wrapped buffer");
  Status status = CheckDims(dims);
  if (!status.ok()) return status;
  const int64_t bytes = StorageFloats(dims, layout) * int64_t(sizeof(float));
  if (bytes > capacity_bytes_) return Create(dims, layout, this);
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
  const int64_t held = storage_.capacity_bytes() / int64_t(sizeof(float));
  if (floats > held) {
    Status status = Tensor::Create({floats, 1, 1, 1}, Layout::kNCHW, &storage_);
    if (!status.ok()) return status.Within("workspace");
  }
  *out = {storage_.data(), storage_.capacity_bytes() / int64_t(sizeof(float))};
  return Status::Ok();
}

}  // namespace sparsetrain
