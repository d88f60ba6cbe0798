// Series about the pipeline itself (sources -> queue -> engine), built at scrape time from
// values the caller read on the scrape's thread: the queue's depth and drops, the source's own
// counters, the engine's last snapshot (lag, table adjustments). Pure: no I/O, no locks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "engine/engine_snapshot.h"

namespace procwatch::metrics {

// What a source counted (SourceStats, as plain values: export does not see the sources).
struct SourceCounts {
  std::string name;  // "netlink", "ebpf", "procfs", "replay"
  uint64_t events = 0, lost = 0, malformed = 0;
  std::map<std::string, uint64_t> counters;  // source-specific, by name
};

struct PipelineState {
  uint64_t queue_depth = 0, queue_capacity = 0, queue_dropped = 0;
  SourceCounts source;
  std::shared_ptr<const EngineSnapshot> engine;  // may be null: no engine series
  uint64_t now_realtime_ns = 0;
  double last_scrape_s = 0;  // the previous /metrics scrape's duration; 0: none yet
};

// Engine lag: how far the engine is behind what the kernel reported. Now minus the newest
// applied event's time while events wait in the queue; 0 once the queue is drained (the engine
// has applied everything there is) or before any event.
double engine_lag_seconds(const PipelineState& s);

// procwatch_queue_events, procwatch_queue_capacity_events, procwatch_queue_dropped_total,
// procwatch_source_{events,lost,malformed}_total{source}, procwatch_source_internal_total{source,
// name}, procwatch_table_adjustments_total{kind}, procwatch_engine_lag_seconds,
// procwatch_engine_last_event_timestamp_seconds, procwatch_engine_snapshots_total,
// procwatch_scrape_duration_seconds.
std::vector<prometheus::MetricFamily> pipeline_families(const PipelineState& s);

}  // namespace procwatch::metrics
