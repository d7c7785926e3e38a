// Scratch memory for kernel calls, given by the caller: no kernel allocates. Each kernel that
// needs scratch has a query saying how many floats a call of a given shape and thread count
// needs (as XNNPACK's reshape step does); the caller passes at least that much as a Workspace,
// and a smaller one is refused.
#ifndef SPARSETRAIN_KERNELS_WORKSPACE_H_
#define SPARSETRAIN_KERNELS_WORKSPACE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "kernels/base/limits.h"
#include "kernels/base/status.h"

namespace sparsetrain {

struct Workspace {
  float* data = nullptr;  // 64-byte aligned
  int64_t floats = 0;
};

// Lays out the pieces of a workspace one after another, each on a 64-byte boundary. A size
// query and its kernel take the same pieces in the same order, so they agree on the layout:
// the query carves from no memory and reads floats(); the kernel carves the caller's workspace.
class WorkspaceCarver {
 public:
  explicit WorkspaceCarver(Workspace workspace = {}) : base_(workspace.data) {}
  float* Take(int64_t floats) {
    float* piece = base_ != nullptr ? base_ + used_ : nullptr;
    used_ += (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
    return piece;
  }
  int64_t floats() const { return used_; }

 private:
  static constexpr int64_t kAlignFloats = 16;
  float* base_;
  int64_t used_ = 0;
};

// OK if `workspace` holds `needed` floats; else kInvalidArgument naming `pass`.
inline Status CheckWorkspace(const char* pass, Workspace workspace, int64_t needed) {
  if (needed > 0 && (workspace.data == nullptr || workspace.floats < needed)) {
    return InvalidArgument(std::string(pass) + ": the workspace holds " +
                           std::to_string(workspace.floats) + " floats, the call needs " +
                           std::to_string(needed));
  }
  return Status::Ok();
}

// Per-thread pieces of scratch: slots of equal size, one per thread of the pool, of which each
// work item claims one while it runs. A pool runs at most as many items at once as it has
// threads, so a claim always finds one free (pthreadpool does not tell an item its thread).
class ThreadSlots {
 public:
  static constexpr int64_t kMaxSlots = kMaxThreads;

  ThreadSlots(float* base, int64_t slot_floats) : base_(base), slot_floats_(slot_floats) {}

  class Claim {
   public:
    explicit Claim(ThreadSlots& slots) : slots_(slots), index_(slots.Acquire()) {}
    ~Claim() { slots_.Release(index_); }
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    float* data() const { return slots_.base_ + index_ * slots_.slot_floats_; }

   private:
    ThreadSlots& slots_;
    int64_t index_;
  };

 private:
  int64_t Acquire() {
    for (;;) {
      for (int64_t word = 0; word < kWords; ++word) {
        uint64_t used = used_[word].load(std::memory_order_relaxed);
        while (~used != 0) {
          const int bit = __builtin_ctzll(~used);
          if (used_[word].compare_exchange_weak(used, used | uint64_t{1} << bit,
                                                std::memory_order_acquire)) {
            return word * 64 + bit;
          }
        }
      }
    }
  }
  void Release(int64_t index) {
    used_[index / 64].fetch_and(~(uint64_t{1} << (index % 64)), std::memory_order_release);
  }

  static constexpr int64_t kWords = kMaxSlots / 64;
  float* base_;
  int64_t slot_floats_;
  std::atomic<uint64_t> used_[kWords] = {};
};

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_WORKSPACE_H_
