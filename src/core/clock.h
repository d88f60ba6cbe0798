// Clock helpers. The kernel stamps proc events with CLOCK_MONOTONIC; /proc start times are
// clock ticks since boot (CLOCK_BOOTTIME based).
#pragma once

#include <cstdint>
#include <ctime>
#include <unistd.h>

namespace procwatch {

inline uint64_t now_ns(clockid_t clk) {
  timespec ts{};
  clock_gettime(clk, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
inline uint64_t monotonic_ns() { return now_ns(CLOCK_MONOTONIC); }
inline uint64_t boottime_ns() { return now_ns(CLOCK_BOOTTIME); }
inline uint64_t realtime_ns() { return now_ns(CLOCK_REALTIME); }
inline long clock_ticks_per_second() {
  static const long hz = sysconf(_SC_CLK_TCK);
  return hz;
}

}  // namespace procwatch
