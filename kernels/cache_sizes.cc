#include "kernels/cache_sizes.h"

#include <unistd.h>

#include <cctype>
#include <fstream>

namespace sparsetrain {
namespace {

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The size of cpu0's data or unified cache at `level` from sysfs; 0 if none is listed.
int64_t SysfsCache(int level) {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    const std::string type = ReadLine(dir + "/type");
    if (type.empty()) break;
    if (type == "Instruction" || ReadLine(dir + "/level") != std::to_string(level)) continue;
    return ParseCacheSize(ReadLine(dir + "/size"));
  }
  return 0;
}

int64_t Detected(int level, int sysconf_name, int64_t fallback) {
  int64_t bytes = SysfsCache(level);
  if (bytes <= 0) bytes = int64_t(sysconf(sysconf_name));
  return bytes > 0 ? bytes : fallback;
}

}  // namespace

int64_t ParseCacheSize(const std::string& text) {
  size_t i = 0;
  int64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i < 12) {
    value = value * 10 + (text[i++] - '0');
  }
  if (i == 0) return 0;
  const std::string unit = text.substr(i);
  if (unit.empty()) return value;
  if (unit == "K") return value << 10;
  if (unit == "M") return value << 20;
  return 0;
}

const CacheSizes& DataCaches() {
  static const CacheSizes caches = {Detected(1, _SC_LEVEL1_DCACHE_SIZE, kDefaultCaches.l1_bytes),
                                    Detected(2, _SC_LEVEL2_CACHE_SIZE, kDefaultCaches.l2_bytes)};
  return caches;
}

}  // namespace sparsetrain
