#include "runtime/tensor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace sparsetrain {
namespace {

TEST(TensorTest, CreateIsAlignedZeroedAndPadded) {
  Tensor t;
  ASSERT_TRUE(Tensor::Create(Dims{2, 17, 3, 5}, Layout::kNChw16c, Allocator(), &t).ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % kAlignment, 0u);
  EXPECT_EQ(t.storage_floats(), 2 * 32 * 3 * 5);
  EXPECT_EQ(t.dims().c, 17);
  EXPECT_EQ(t.layout(), Layout::kNChw16c);
  for (int64_t i = 0; i < t.storage_floats(); ++i) ASSERT_EQ(t.data()[i], 0.0f) << i;
}

TEST(TensorTest, CopyInAndOutThroughBlockedLayout) {
  const Dims d{2, 19, 4, 3};
  std::vector<float> nchw(d.count());
  for (size_t i = 0; i < nchw.size(); ++i) nchw[i] = float(i) * 0.5f - 10.0f;
  Tensor t;
  ASSERT_TRUE(Tensor::Create(d, Layout::kNChw16c, Allocator(), &t).ok());
  ASSERT_TRUE(t.CopyFrom(nchw.data(), Layout::kNCHW).ok());
  // Element (n=1, c=18, h=2, w=1) sits in block 1, lane 2.
  EXPECT_EQ(t.data()[(((1 * 2 + 1) * 4 + 2) * 3 + 1) * 16 + 2],
            nchw[((1 * 19 + 18) * 4 + 2) * 3 + 1]);
  std::vector<float> back(d.count(), -1.0f);
  ASSERT_TRUE(t.CopyTo(back.data(), Layout::kNCHW).ok());
  EXPECT_EQ(back, nchw);
}

TEST(TensorTest, WrapUsesTheCallersBuffer) {
  std::vector<float> buffer(2 * 3 * 4 * 5, 1.5f);
  Tensor t;
  ASSERT_TRUE(Tensor::Wrap(buffer.data(), Dims{2, 3, 4, 5}, Layout::kNCHW, &t).ok());
  EXPECT_EQ(t.data(), buffer.data());
  t.data()[7] = 3.0f;
  EXPECT_EQ(buffer[7], 3.0f);
}

TEST(TensorTest, BadDimensionsAreRejectedAndLeaveTheTargetAlone) {
  Tensor t;
  ASSERT_TRUE(Tensor::Create(Dims{1, 1, 1, 1}, Layout::kNCHW, Allocator(), &t).ok());
  const float* before = t.data();
  for (Dims d : {Dims{0, 1, 1, 1}, Dims{1, -3, 1, 1}, Dims{1, 1 << 20, 1 << 20, 1 << 20}}) {
    const Status status = Tensor::Create(d, Layout::kNCHW, Allocator(), &t);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(status.message().empty());
    EXPECT_EQ(t.data(), before);
  }
  EXPECT_EQ(Tensor::Wrap(nullptr, Dims{1, 1, 1, 1}, Layout::kNCHW, &t).code(),
            StatusCode::kInvalidArgument);
  Tensor empty;
  float x = 0;
  EXPECT_EQ(empty.CopyFrom(&x, Layout::kNCHW).code(), StatusCode::kInvalidArgument);
}

// Hooks that count live blocks and bytes, and can be told to fail.
struct CountingHeap {
  int64_t blocks = 0, bytes = 0;
  bool fail = false;
  Allocator allocator() {
    Allocator a;
    a.alloc = [](void* user, size_t bytes, size_t alignment) -> void* {
      auto* heap = static_cast<CountingHeap*>(user);
      if (heap->fail) return nullptr;
      void* p = std::aligned_alloc(alignment, bytes);
      ++heap->blocks;
      heap->bytes += int64_t(bytes);
      return p;
    };
    a.free = [](void* user, void* p) {
      --static_cast<CountingHeap*>(user)->blocks;
      std::free(p);
    };
    a.user = this;
    return a;
  }
};

TEST(TensorTest, StorageComesFromAndReturnsToTheGivenAllocator) {
  CountingHeap first, second;
  {
    Tensor t;
    ASSERT_TRUE(Tensor::Create(Dims{1, 3, 2, 2}, Layout::kNCHW, first.allocator(), &t).ok());
    EXPECT_EQ(first.blocks, 1);
    EXPECT_EQ(first.bytes, t.capacity_bytes());
    // Smaller: the storage is reused; larger: a new block from the allocator given now, and the
    // old one back to the allocator it came from.
    ASSERT_TRUE(t.Reshape(Dims{1, 2, 2, 2}, Layout::kNCHW, second.allocator()).ok());
    EXPECT_EQ(second.blocks, 0);
    ASSERT_TRUE(t.Reshape(Dims{4, 3, 8, 8}, Layout::kNCHW, second.allocator()).ok());
    EXPECT_EQ(first.blocks, 0);
    EXPECT_EQ(second.blocks, 1);
    for (int64_t i = 0; i < t.storage_floats(); ++i) ASSERT_EQ(t.data()[i], 0.0f) << i;
  }
  EXPECT_EQ(second.blocks, 0);
}

TEST(TensorTest, AFailingAllocatorIsOutOfMemoryAndKeepsTheOldStorage) {
  CountingHeap heap;
  Tensor t;
  ASSERT_TRUE(Tensor::Create(Dims{1, 1, 2, 2}, Layout::kNCHW, heap.allocator(), &t).ok());
  const float* before = t.data();
  heap.fail = true;
  const Status status = t.Reshape(Dims{1, 1, 64, 64}, Layout::kNCHW, heap.allocator());
  EXPECT_EQ(status.code(), StatusCode::kOutOfMemory);
  EXPECT_NE(status.message().find("tensor: cannot allocate"), std::string::npos)
      << status.message();
  EXPECT_EQ(t.data(), before);
  EXPECT_EQ(t.dims().h, 2);
  WorkspaceArena arena(heap.allocator());
  Workspace workspace;
  EXPECT_EQ(arena.Reserve(100, &workspace).code(), StatusCode::kOutOfMemory);
  EXPECT_EQ(arena.bytes(), 0);
}

}  // namespace
}  // namespace sparsetrain
