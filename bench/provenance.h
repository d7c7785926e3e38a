// Where and when a benchmark ran, for the "# key: value" lines that open its CSV (read by
// tools/perf_table.py, which prints them under each table).
#ifndef SPARSETRAIN_BENCH_PROVENANCE_H_
#define SPARSETRAIN_BENCH_PROVENANCE_H_

#include <ctime>
#include <fstream>
#include <string>
#include <thread>

namespace sparsetrain {

// "AMD EPYC, 2 cores": /proc/cpuinfo's model name and the CPUs online.
inline std::string CpuDescription() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(line.find_first_not_of(' ', colon + 1));
      break;
    }
  }
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
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
