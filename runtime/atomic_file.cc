#include "runtime/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sparsetrain {
namespace {

// Writes all of `size` bytes to fd.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= size_t(n);
  }
  return true;
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& bytes,
                           const std::string& what) {
  const std::string temp = path + ".tmp." + std::to_string(getpid());
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status(StatusCode::kIoError,
                  what + " '" + path + "': cannot create " + temp + ": " + std::strerror(errno));
  }
  const bool written = WriteAll(fd, bytes.data(), bytes.size()) && fsync(fd) == 0;
  const int write_errno = errno;
  const bool closed = close(fd) == 0;
  if (!written || !closed || std::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = !written ? write_errno : errno;
    std::remove(temp.c_str());
    return Status(StatusCode::kIoError,
                  what + " '" + path + "': write failed: " + std::strerror(error));
  }
  return Status::Ok();
}

}  // namespace sparsetrain
