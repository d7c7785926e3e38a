// Status: the error type of every layer of the library, from the kernels up. Every fallible call
// returns one; the C ABI maps it to st_status and a thread-local message, so no exception ever
// has to cross a boundary.
#ifndef SPARSETRAIN_KERNELS_BASE_STATUS_H_
#define SPARSETRAIN_KERNELS_BASE_STATUS_H_

#include <string>
#include <utility>

namespace sparsetrain {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // a parameter is malformed: null, out of range, unknown name
  kShapeMismatch,    // shapes or layouts of operands do not agree
  kUnsupported,      // well-formed but not available here (e.g. an ISA the CPU lacks)
  kOutOfMemory,
  kIoError,
  kCorruptData,  // a file or buffer failed validation
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The same status with "`context`: " in front of its message (OK stays OK).
  Status Within(const std::string& context) const {
    return ok() ? Status() : Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

inline Status OutOfMemory(std::string message) {
  return Status(StatusCode::kOutOfMemory, std::move(message));
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_BASE_STATUS_H_
