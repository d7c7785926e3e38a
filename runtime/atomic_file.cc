#include "runtime/atomic_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
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

// Removes the temporary files of `path` ("<path>.tmp.<pid>") that processes no longer running
// left behind, killed in the moment a temporary file had a name.
void RemoveStaleTemporaries(const std::string& dir, const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string prefix = path.substr(slash == std::string::npos ? 0 : slash + 1) + ".tmp.";
  DIR* entries = opendir(dir.c_str());
  if (entries == nullptr) return;
  while (const dirent* entry = readdir(entries)) {
    const std::string name = entry->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (pid > 0 && *end == '\0' && kill(pid_t(pid), 0) != 0 && errno == ESRCH) {
      std::remove((dir + "/" + name).c_str());
    }
  }
  closedir(entries);
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& bytes,
                           const std::string& what) {
  // The data goes into a file without a name (O_TMPFILE), which a crash takes away with it; it
  // gets a temporary name only once it is complete, just before the rename. Where the file
  // system has no O_TMPFILE, a named temporary file takes its place. A crash between naming and
  // renaming leaves the name, which the next save beside it removes.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const std::string temp = path + ".tmp." + std::to_string(getpid());
  int fd = open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  const bool unnamed = fd >= 0;
  if (!unnamed) fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status(StatusCode::kIoError,
                  what + " '" + path + "': cannot create " + temp + ": " + std::strerror(errno));
  }
  bool ok = WriteAll(fd, bytes.data(), bytes.size()) && fsync(fd) == 0;
  int error = ok ? 0 : errno;
  if (ok && unnamed) {
    const std::string self = "/proc/self/fd/" + std::to_string(fd);
    std::remove(temp.c_str());  // one a crash of this process left, if any
    ok = linkat(AT_FDCWD, self.c_str(), AT_FDCWD, temp.c_str(), AT_SYMLINK_FOLLOW) == 0;
    error = ok ? 0 : errno;
  }
  if (ok && unnamed) {  // at once: the name lives for two system calls
    ok = std::rename(temp.c_str(), path.c_str()) == 0;
    error = ok ? 0 : errno;
  }
  const bool closed = close(fd) == 0;
  if (ok && !closed) ok = false, error = errno;
  if (ok && !unnamed) {
    ok = std::rename(temp.c_str(), path.c_str()) == 0;
    error = ok ? 0 : errno;
  }
  if (!ok) {
    std::remove(temp.c_str());
    return Status(StatusCode::kIoError,
                  what + " '" + path + "': write failed: " + std::strerror(error));
  }
  RemoveStaleTemporaries(dir, path);
  return Status::Ok();
}

}  // namespace sparsetrain
