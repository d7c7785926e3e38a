// Where and when a benchmark ran, for the "# key: value" lines that open its CSV (read by
// tools/perf_table.py, which prints them under each table).
#ifndef SPARSETRAIN_BENCH_PROVENANCE_H_
#define SPARSETRAIN_BENCH_PROVENANCE_H_

#include <ctime>
#include <fstream>
#include <string>
#include <thread>

namespace sparsetrain {

// "AMD EPYC (family 26, model 2, AVX-512), 2 cores": /proc/cpuinfo's model name, family and
// model (names such as "AMD EPYC" hide the generation, and kernels tuned on one lose on another)
// and the CPUs online.
inline std::string CpuDescription() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU", family, number;
  bool avx512 = false, flags_seen = false;
  const auto value = [&](const std::string& l) {
    const size_t colon = l.find(':');
    return colon == std::string::npos ? std::string()
                                      : l.substr(l.find_first_not_of(' ', colon + 1));
  };
  while (std::getline(cpuinfo, line) && !flags_seen) {
    if (line.rfind("model name", 0) == 0) model = value(line);
    if (line.rfind("cpu family", 0) == 0) family = value(line);
    if (line.rfind("model\t", 0) == 0) number = value(line);
    if (line.rfind("flags", 0) == 0) {
      avx512 = line.find(" avx512f") != std::string::npos;
      flags_seen = true;
    }
  }
  return model + " (family " + family + ", model " + number + ", " +
         (avx512 ? "AVX-512" : "no AVX-512") + "), " +
         std::to_string(std::thread::hardware_concurrency()) + " cores";
}

// Today in UTC, YYYY-MM-DD.
inline std::string TodayUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &utc);
  return text;
}

}  // namespace sparsetrain

#endif  // SPARSETRAIN_BENCH_PROVENANCE_H_
