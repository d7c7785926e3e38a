#include "kernels/conv_shape.h"

#include <gtest/gtest.h>

namespace sparsetrain {
namespace {

ConvShape Shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t s,
                int64_t stride_h, int64_t stride_w, int64_t pad_h, int64_t pad_w) {
  ConvShape shape;
  shape.n = n, shape.c = c, shape.h = h, shape.w = w, shape.k = k, shape.r = r, shape.s = s;
  shape.stride_h = stride_h, shape.stride_w = stride_w, shape.pad_h = pad_h, shape.pad_w = pad_w;
  return shape;
}

void ExpectSame(const ConvShape& a, const ConvShape& b) {
  EXPECT_EQ(ProblemDescriptor(a), ProblemDescriptor(b));
  EXPECT_TRUE(a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w && a.k == b.k && a.r == b.r &&
              a.s == b.s && a.stride_h == b.stride_h && a.stride_w == b.stride_w &&
              a.pad_h == b.pad_h && a.pad_w == b.pad_w);
}

TEST(ProblemDescriptorTest, WritesRowsAndOnlyTheColumnsThatDiffer) {
  EXPECT_EQ(ProblemDescriptor(Shape(64, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1)),
            "mb64ic64ih28oc64kh3sh1ph1");
  EXPECT_EQ(ProblemDescriptor(Shape(2, 3, 30, 17, 8, 5, 1, 2, 1, 2, 0)),
            "mb2ic3ih30iw17oc8kh5kw1sh2sw1ph2pw0");
}

TEST(ProblemDescriptorTest, ReadsBackWhatItWrites) {
  for (const ConvShape& shape :
       {Shape(64, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1), Shape(2, 3, 30, 17, 8, 5, 1, 2, 1, 2, 0),
        Shape(16, 256, 14, 14, 1024, 1, 1, 1, 1, 0, 0), Shape(1, 1, 7, 9, 3, 3, 2, 3, 2, 1, 1)}) {
    ConvShape parsed;
    ASSERT_TRUE(ParseProblemDescriptor(ProblemDescriptor(shape), &parsed).ok())
        << ProblemDescriptor(shape);
    ExpectSame(parsed, shape);
  }
}

TEST(ProblemDescriptorTest, FillsDefaultsAndAcceptsAnyOrder) {
  ConvShape parsed;
  ASSERT_TRUE(ParseProblemDescriptor("oc32kh3ic16ih12", &parsed).ok());
  ExpectSame(parsed, Shape(1, 16, 12, 12, 32, 3, 3, 1, 1, 0, 0));
  ASSERT_TRUE(ParseProblemDescriptor("mb8ic16ih12iw10oc32kh3sh2ph1", &parsed).ok());
  ExpectSame(parsed, Shape(8, 16, 12, 10, 32, 3, 3, 2, 2, 1, 1));
}

TEST(ProblemDescriptorTest, RefusesMalformedTextAndLeavesTheShapeAlone) {
  const ConvShape before = Shape(3, 5, 7, 7, 9, 3, 3, 1, 1, 1, 1);
  for (const char* bad :
       {"", "ic16ih12oc32", "ic16ih12oc32kh3xx1", "ic16ih12oc32kh", "ic16ic8ih12oc32kh3",
        "ic16ih12oc32kh3ph3", "ic0ih12oc32kh3", "ic16ih12oc32kh3mb9999999999999"}) {
    ConvShape shape = before;
    const Status status = ParseProblemDescriptor(bad, &shape);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("problem '"), std::string::npos) << status.message();
    ExpectSame(shape, before);
  }
}

}  // namespace
}  // namespace sparsetrain
