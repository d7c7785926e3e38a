#include "kernels/cache_sizes.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace sparsetrain {
namespace {

TEST(CacheSizesTest, ParsesSysfsSizes) {
  EXPECT_EQ(ParseCacheSize("512K"), 512 << 10);
  EXPECT_EQ(ParseCacheSize("1M"), 1 << 20);
  EXPECT_EQ(ParseCacheSize("32768K"), int64_t(32) << 20);
  EXPECT_EQ(ParseCacheSize("1024"), 1024);
  for (const char* bad : {"", "K", "12X", "-5K", "1.5M"}) EXPECT_EQ(ParseCacheSize(bad), 0) << bad;
}

// The detected sizes are the ones the kernel reports for cpu0, where it reports them.
TEST(CacheSizesTest, DetectedSizesMatchTheKernelsReport) {
  const CacheSizes& caches = DataCaches();
  EXPECT_GE(caches.l1_bytes, 4 << 10);
  EXPECT_GE(caches.l2_bytes, caches.l1_bytes);
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    std::ifstream type_file(dir + "/type"), level_file(dir + "/level"), size_file(dir + "/size");
    std::string type, level, size;
    if (!std::getline(type_file, type)) break;
    std::getline(level_file, level);
    std::getline(size_file, size);
    if (type == "Instruction") continue;
    if (level == "1") EXPECT_EQ(caches.l1_bytes, ParseCacheSize(size));
    if (level == "2") EXPECT_EQ(caches.l2_bytes, ParseCacheSize(size));
  }
}

}  // namespace
}  // namespace sparsetrain
