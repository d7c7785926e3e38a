#include "kernels/conv_shape.h"

#include <cctype>

namespace sparsetrain {
namespace {

// The descriptor's fields, in the order they are written.
struct Field {
  const char* name;
  int64_t ConvShape::*member;
  int64_t ConvShape::*twin;  // the row field a column field defaults to and is omitted for
  bool required;             // else ConvShape's default (batch 1, stride 1, padding 0) or the twin
};
constexpr Field kFields[] = {
    {"mb", &ConvShape::n, nullptr, false},
    {"ic", &ConvShape::c, nullptr, true},
    {"ih", &ConvShape::h, nullptr, true},
    {"iw", &ConvShape::w, &ConvShape::h, false},
    {"oc", &ConvShape::k, nullptr, true},
    {"kh", &ConvShape::r, nullptr, true},
    {"kw", &ConvShape::s, &ConvShape::r, false},
    {"sh", &ConvShape::stride_h, nullptr, false},
    {"sw", &ConvShape::stride_w, &ConvShape::stride_h, false},
    {"ph", &ConvShape::pad_h, nullptr, false},
    {"pw", &ConvShape::pad_w, &ConvShape::pad_h, false},
};
constexpr int kFieldCount = sizeof kFields / sizeof *kFields;

}  // namespace

std::string ProblemDescriptor(const ConvShape& shape) {
  std::string text;
  for (const Field& f : kFields) {
    if (f.twin != nullptr && shape.*f.member == shape.*f.twin) continue;
    text += f.name + std::to_string(shape.*f.member);
  }
  return text;
}

Status ParseProblemDescriptor(const std::string& text, ConvShape* shape) {
  const auto invalid = [&](const std::string& what) {
    return InvalidArgument("problem '" + text + "': " + what);
  };
  ConvShape s;
  bool seen[kFieldCount] = {};
  size_t i = 0;
  while (i < text.size()) {
    int field = -1;
    for (int f = 0; f < kFieldCount && field < 0; ++f) {
      if (text.compare(i, 2, kFields[f].name) == 0) field = f;
    }
    if (field < 0) return invalid("unknown field at '" + text.substr(i) + "'");
    if (seen[field]) return invalid(std::string(kFields[field].name) + " given twice");
    i += 2;
    const size_t digits_start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == digits_start || i - digits_start > 12) {
      return invalid(std::string(kFields[field].name) + " needs a number of at most 12 digits");
    }
    s.*kFields[field].member = std::stoll(text.substr(digits_start, i - digits_start));
    seen[field] = true;
  }
  for (int f = 0; f < kFieldCount; ++f) {
    if (seen[f]) continue;
    if (kFields[f].required) return invalid(std::string("needs ") + kFields[f].name);
    if (kFields[f].twin != nullptr) s.*kFields[f].member = s.*kFields[f].twin;
  }
  Status status = Validate(s);
  if (!status.ok()) return invalid(status.message());
  *shape = s;
  return Status::Ok();
}

}  // namespace sparsetrain
