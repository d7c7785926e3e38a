// Writing a whole file so that a crash leaves the old one or the new one, never half of either.
#ifndef SPARSETRAIN_RUNTIME_ATOMIC_FILE_H_
#define SPARSETRAIN_RUNTIME_ATOMIC_FILE_H_

#include <string>

#include "kernels/base/status.h"

namespace sparsetrain {

// Writes `bytes` to a temporary file beside `path`, flushes it to disk and renames it over
// `path`. kIoError names `what` ("checkpoint", "ONNX model") and the path.
Status WriteFileAtomically(const std::string& path, const std::string& bytes,
                           const std::string& what);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_ATOMIC_FILE_H_
