// Comparisons of the runtime's tensors with PyTorch's (golden files).
#ifndef SPARSETRAIN_TESTS_EXPECT_CLOSE_H_
#define SPARSETRAIN_TESTS_EXPECT_CLOSE_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace sparsetrain {

// Every element within 1e-4 of the largest reference magnitude.
inline void ExpectClose(const std::string& what, const std::vector<float>& ours,
                        const std::vector<float>& want) {
  ASSERT_EQ(ours.size(), want.size()) << what;
  float scale = 0.0f;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(ours[i], want[i], 1e-4f * scale) << what << "[" << i << "]";
  }
}

// A tensor's values in PyTorch's order (NCHW).
inline std::vector<float> InPyTorchOrder(const Tensor& t) {
  std::vector<float> v(size_t(t.dims().count()));
  EXPECT_TRUE(t.CopyTo(v.data(), Layout::kNCHW).ok());
  return v;
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_TESTS_EXPECT_CLOSE_H_
