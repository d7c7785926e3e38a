// After its first training step, a model trains, evaluates and predicts without a single heap
// allocation (games and real-time apps call it from a frame loop), on every ISA. malloc and
// friends are interposed for the whole process, so allocations by the pool's worker threads
// count too. The model's memory comes from the allocator it is built with: what it reports is
// exactly what that allocator has handed out, and destroying it returns all of it.
#include <gtest/gtest.h>
#include <malloc.h>
#include <pthreadpool.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

#include "runtime/model_builder.h"
#include "tests/per_target_test.h"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
}

namespace {
std::atomic<bool> counting{false};
std::atomic<int64_t> allocations{0};
void Count() {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
}
}  // namespace

extern "C" {
void* malloc(size_t bytes) {
  Count();
  return __libc_malloc(bytes);
}
void* calloc(size_t n, size_t bytes) {
  Count();
  return __libc_calloc(n, bytes);
}
void* realloc(void* p, size_t bytes) {
  Count();
  return __libc_realloc(p, bytes);
}
void* memalign(size_t alignment, size_t bytes) {
  Count();
  return __libc_memalign(alignment, bytes);
}
void* aligned_alloc(size_t alignment, size_t bytes) { return memalign(alignment, bytes); }
int posix_memalign(void** out, size_t alignment, size_t bytes) {
  *out = memalign(alignment, bytes);
  return *out != nullptr ? 0 : ENOMEM;
}
void free(void* p) { __libc_free(p); }
}

namespace sparsetrain {
namespace {

class ZeroAllocationTest : public PerTargetPoolTest {};

// Allocator hooks that track the bytes live.
struct LiveBytes {
  std::map<void*, size_t> blocks;
  int64_t bytes = 0;
  Allocator allocator() {
    Allocator a;
    a.alloc = [](void* user, size_t size, size_t alignment) -> void* {
      auto* live = static_cast<LiveBytes*>(user);
      void* p = std::aligned_alloc(alignment, size);
      live->blocks[p] = size;
      live->bytes += int64_t(size);
      return p;
    };
    a.free = [](void* user, void* p) {
      auto* live = static_cast<LiveBytes*>(user);
      live->bytes -= int64_t(live->blocks.at(p));
      live->blocks.erase(p);
      std::free(p);
    };
    a.user = this;
    return a;
  }
};

TEST_P(ZeroAllocationTest, StepsAfterTheFirstAllocateNothing) {
  // Every kind of layer: conv (3x3, strided 1x1), depthwise and grouped conv, batch norm, ReLU,
  // the other activations, fused ReLU + max pooling, ceil-mode and average pooling, a residual
  // block, a squeeze-and-excitation gate, concatenation, global pooling, dropout, linear.
  LiveBytes live;
  ActivationFunction hard_sigmoid, hard_swish;
  hard_sigmoid.kind = ActivationKind::kHardSigmoid;
  hard_swish.kind = ActivationKind::kHardSwish;
  ModelBuilder b(3, 16, 16, live.allocator());
  b.Conv2d(16, 3).BatchNorm().Relu().MaxPool(2, 2);
  b.BeginResidual().Conv2d(32, 3, 2).BatchNorm().Relu().Conv2d(32, 3).BatchNorm();
  b.Shortcut().Conv2d(32, 1, 2, 0).EndResidual().Relu("x");
  b.DepthwiseConv2d(3).Relu6().AdaptiveAvgPool(1).Conv2d(32, 1, 1, 0).Activate(hard_sigmoid);
  b.Multiply("x", "", "gated").Activate(hard_swish, "h").Concat({"h", "x"});
  b.AvgPool(3, 2, 1, false, true).MaxPool(2, 2, 0, "", true).GroupedConv2d(32, 3, 4);
  b.GlobalAvgPool().Flatten().Dropout(0.2f).Linear(10);
  std::unique_ptr<Model> model;
  ASSERT_TRUE(b.Build(3, &model).ok());
  model->set_pool(pool_);
  constexpr int64_t kBatch = 4;
  std::vector<float> images(kBatch * 3 * 16 * 16), logits(kBatch * 10);
  std::vector<int32_t> labels(kBatch);
  for (size_t i = 0; i < images.size(); ++i) images[i] = float(int(i * 37 % 23) - 9) / 9.0f;
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t(i * 3 % 10);
  StepResult r;
  ASSERT_TRUE(model->TrainStep(images.data(), labels.data(), kBatch, &r).ok());
  ASSERT_TRUE(model->EvalStep(images.data(), labels.data(), kBatch, &r).ok());
  ASSERT_TRUE(model->Predict(images.data(), kBatch, logits.data()).ok());

  allocations = 0;
  counting = true;
  // Enough steps for the kernel selector to try both kernels and settle.
  for (int step = 0; step < 12; ++step) {
    if (!model->TrainStep(images.data(), labels.data(), kBatch, &r).ok()) break;
  }
  const Status eval = model->EvalStep(images.data(), labels.data(), kBatch, &r);
  const Status predict = model->Predict(images.data(), kBatch, logits.data());
  counting = false;
  ASSERT_TRUE(eval.ok() && predict.ok());
  EXPECT_EQ(model->steps(), 13);
  EXPECT_EQ(allocations.load(), 0);
  ExpectRanOnTarget();

  const MemoryFootprint m = model->Memory();
  EXPECT_GT(m.workspace_bytes, 0);
  EXPECT_EQ(m.parameter_bytes + m.gradient_bytes + m.optimizer_bytes + m.activation_bytes +
                m.activation_gradient_bytes + m.workspace_bytes,
            live.bytes);
  model.reset();
  EXPECT_EQ(live.bytes, 0);
  EXPECT_TRUE(live.blocks.empty());
}

INSTANTIATE_PER_TARGET_TEST_SUITE(ZeroAllocationTest);

}  // namespace
}  // namespace sparsetrain
