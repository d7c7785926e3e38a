// The geometry of a 2-D convolution: input (N, C, H, W), weights (K, C, R, S), output (N, K, P, Q).
#ifndef SPARSETRAIN_KERNELS_CONV_SHAPE_H_
#define SPARSETRAIN_KERNELS_CONV_SHAPE_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "kernels/base/limits.h"
#include "kernels/base/pass.h"
#include "kernels/base/status.h"
#include "kernels/layout.h"

namespace sparsetrain {

struct ConvShape {
  int64_t n = 1;                // batch
  int64_t c = 1, h = 1, w = 1;  // input channels and size
  int64_t k = 1;                // output channels
  int64_t r = 1, s = 1;         // kernel rows, columns
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;  // zeros added on each side, as in PyTorch

  int64_t p() const { return (h + 2 * pad_h - r) / stride_h + 1; }  // output rows
  int64_t q() const { return (w + 2 * pad_w - s) / stride_w + 1; }  // output columns

  Dims input() const { return {n, c, h, w}; }
  Dims weights() const { return {k, c, r, s}; }
  Dims output() const { return {n, k, p(), q()}; }
};

// OK if every size is positive, the kernel fits the padded input, and padding is smaller than
// the kernel (so every output sees at least one input); else kInvalidArgument naming the field.
inline Status Validate(const ConvShape& s) {
  const struct {
    const char* name;
    int64_t value;
  } positive[] = {
      {"batch", s.n},          {"input channels", s.c},         {"height", s.h},
      {"width", s.w},          {"output channels", s.k},        {"kernel rows", s.r},
      {"kernel columns", s.s}, {"vertical stride", s.stride_h}, {"horizontal stride", s.stride_w}};
  for (const auto& f : positive) {
    if (f.value <= 0) {
      return InvalidArgument(std::string(f.name) + " must be positive, got " +
                             std::to_string(f.value));
    }
  }
  if (s.pad_h < 0 || s.pad_w < 0 || s.pad_h >= s.r || s.pad_w >= s.s) {
    return InvalidArgument("padding must be in [0, kernel size), got " + std::to_string(s.pad_h) +
                           "x" + std::to_string(s.pad_w));
  }
  if (s.h + 2 * s.pad_h < s.r || s.w + 2 * s.pad_w < s.s) {
    return InvalidArgument("kernel " + std::to_string(s.r) + "x" + std::to_string(s.s) +
                           " is larger than the padded input");
  }
  if (!WithinTensorLimit(double(s.n) * s.c * s.h * s.w) ||
      !WithinTensorLimit(double(s.k) * s.c * s.r * s.s) ||
      !WithinTensorLimit(double(s.n) * s.k * s.p() * s.q())) {
    return InvalidArgument("tensor sizes overflow");
  }
  return Status::Ok();
}

// The problem descriptor of `shape`, in the manner of oneDNN's benchdnn:
// "mb64ic64ih28oc64kh3sh1ph1" (batch, input channels, input rows, output channels, kernel rows,
// stride, padding). Columns follow the rows unless they differ: "iw", "kw", "sw", "pw" then appear
// after their row twins.
std::string ProblemDescriptor(const ConvShape& shape);
// Reads a descriptor back: fields in any order, each a name and a decimal number; "ic", "ih",
// "oc" and "kh" are required, mb defaults to 1, stride to 1, padding to 0, and each column field
// to its row twin. kInvalidArgument naming the first problem; the result is Validate()d.
Status ParseProblemDescriptor(const std::string& text, ConvShape* shape);

// Validate(shape), then that none of `tensors` is null; `pass` names the call in the message.
inline Status CheckConvCall(const char* pass, const ConvShape& shape,
                            std::initializer_list<const float*> tensors) {
  Status status = Validate(shape);
  if (!status.ok()) return status.Within(pass);
  for (const float* t : tensors) {
    if (t == nullptr) return InvalidArgument(std::string(pass) + ": null tensor");
  }
  return Status::Ok();
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_CONV_SHAPE_H_
