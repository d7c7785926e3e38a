// The data cache sizes of the CPU the process runs on, for the blocking choices that depend on
// them: CPUs differ (an EPYC of the Zen 2-4 generations has 512 KiB or 1 MiB of L2 per core, a
// Xeon of the Sapphire Rapids class 2 MiB), so kernels size their chunks from what is detected
// rather than from constants tuned on one machine.
#ifndef SPARSETRAIN_KERNELS_CACHE_SIZES_H_
#define SPARSETRAIN_KERNELS_CACHE_SIZES_H_

#include <cstdint>
#include <string>

namespace sparsetrain {

struct CacheSizes {
  int64_t l1_bytes;  // per core, data
  int64_t l2_bytes;  // per core
};

// Read once from Linux's sysfs (cpu0's caches), else sysconf; kDefaultCaches where neither says.
const CacheSizes& DataCaches();
constexpr CacheSizes kDefaultCaches = {32 << 10, 1 << 20};

// Bytes of a sysfs cache size ("512K", "1M", "32768K", "1024"); 0 if it cannot be read.
int64_t ParseCacheSize(const std::string& text);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_CACHE_SIZES_H_
