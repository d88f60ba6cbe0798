// EngineSnapshot: what the engine published after a batch, for outputs on other threads
// (exporter, rule monitor, check, tree). Immutable once published and shared by pointer;
// processes are shared too, so a snapshot costs the engine one pointer per process, and only
// the processes that changed since the last one are copied.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include "core/proc_event.h"
#include "core/proc_info.h"
#include "table/process_table.h"

namespace procwatch {

struct EngineStats {
  std::array<uint64_t, std::variant_size_v<EventBody>> events{};  // by EventBody index
  uint64_t lost = 0;        // sum of LostEvent counts
  uint64_t resyncs = 0;     // /proc rescans after a loss
  uint64_t incomplete = 0;  // exec/fork records reported with incomplete identity
  uint64_t resync_removed = 0, resync_added = 0;
  uint64_t snapshots = 0;   // snapshots published
};

struct EngineSnapshot {
  uint64_t generation = 0;  // grows with every batch that changed something
  std::vector<std::shared_ptr<const ProcInfo>> processes;  // live processes, sorted by pid
  EngineStats stats;
  TableStats table;
  uint64_t newest_event_realtime_ns = 0;  // CLOCK_REALTIME of the newest applied event; 0: none
  uint64_t published_realtime_ns = 0;

  // A copy of every process (for code that takes values, e.g. the rule sampler).
  std::vector<ProcInfo> copy_processes() const {
    std::vector<ProcInfo> out;
    out.reserve(processes.size());
    for (const auto& p : processes) out.push_back(*p);
    return out;
  }
};

}  // namespace procwatch
