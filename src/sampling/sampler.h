// Sampler: turns a procfs scan (or ProcInfos the engine already holds) into rules::ProcSample
// snapshots with ps-style numbers: STAT flags, VSZ/RSS, elapsed, lifetime %CPU and %CPU over a
// window. Keeps per-(pid, start) CPU history between calls, so one Sampler belongs to one
// thread. Never throws; a process that vanished mid-read is skipped (full scan) or keeps zero
// numbers (from infos).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proc_info.h"
#include "core/result.h"
#include "procfs/parsers.h"
#include "procfs/reader.h"
#include "rules/rule.h"

namespace procwatch::sampling {

// The /proc/PID/stat fields ps needs (pgrp, session, tpgid, nice, ...): procfs::Stat, read by
// the one stat parser, procfs::parse_stat.
using PsStat = procfs::Stat;
inline Result<PsStat> parse_ps_stat(std::string_view text) { return procfs::parse_stat(text); }

// ps's STAT column (procps pr_stat): state, then '<' (nice < 0) or 'N' (nice > 0), 'L' (locked
// pages), 's' (session leader), 'l' (multi-threaded), '+' (in the tty's foreground group).
std::string ps_stat_flags(const PsStat& st, int32_t tgid, bool locked_pages);

// "VmLck:  N kB" from /proc/PID/status, 0 when absent.
uint64_t parse_vm_lck_kb(std::string_view status_text);

struct SamplerOptions {
  long ticks_per_second = 0;  // 0 = sysconf(_SC_CLK_TCK)
  long page_size = 0;         // bytes; 0 = sysconf(_SC_PAGESIZE)
  // Seconds since boot at the moment of sampling. Empty = <root>/uptime, or CLOCK_BOOTTIME
  // when that file cannot be read (fixture trees). Tests inject a fixed clock.
  std::function<double()> uptime_s;
  // cpu_percent is measured against the newest earlier sample at least this old (or the
  // oldest one kept when none is); with no earlier sample it is the lifetime percentage.
  std::chrono::milliseconds cpu_window{30000};
  // Also read status (one more file per process): VmLck for the 'L' flag, and VmRSS/VmSize,
  // which ps shows; stat's rss lags behind them by the kernel's per-CPU counter batching.
  bool read_status = true;
  bool name_trees = true;   // full scan: name trees with the naming module
};

class Sampler {
 public:
  explicit Sampler(const procfs::ProcReader& reader, SamplerOptions options = {});

  // Reads every process under the reader's root, links parents, names trees (TreeNamer over
  // a ProcessTable) and fills the numbers. Sorted by pid.
  std::vector<rules::ProcSample> sample();

  // Numbers for processes whose identity is already known (e.g. the engine's snapshot, tree
  // names included). parent_name comes from the infos themselves. A process whose stat is
  // unreadable or whose start time differs (pid reused) is left out.
  std::vector<rules::ProcSample> sample(std::vector<ProcInfo> infos);

  // The window of the windowed CPU percentage (a config reload may change it).
  void set_cpu_window(std::chrono::milliseconds window) { options_.cpu_window = window; }
  // Seconds since boot as this sampler sees it.
  double uptime_s() const;
  // Number of (pid, start) histories kept (bounded by live processes).
  size_t tracked() const { return history_.size(); }

 private:
  struct Tick {
    double uptime_s = 0;
    uint64_t ticks = 0;
  };
  std::optional<rules::ProcSample> fill(ProcInfo info, double now_s);

  const procfs::ProcReader& reader_;
  SamplerOptions options_;
  std::map<ProcKey, std::deque<Tick>> history_;
  std::map<ProcKey, std::deque<Tick>> next_history_;  // rebuilt each call: drops the dead
};

}  // namespace procwatch::sampling
