#include "kernels/layout.h"

namespace sparsetrain {

const char* LayoutName(Layout layout) {
  switch (layout) {
    case Layout::kNCHW:
      return "nchw";
    case Layout::kNChw16c:
      return "nChw16c";
    case Layout::kOIhw16i16o:
      return "OIhw16i16o";
    case Layout::kIOhw16o16i:
      return "IOhw16o16i";
  }
  return "unknown";
}

}  // namespace sparsetrain
