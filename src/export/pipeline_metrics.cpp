#include "export/pipeline_metrics.h"

#include <utility>

#include "export/metrics_collector.h"

namespace procwatch::metrics {

using prometheus::MetricFamily;
using prometheus::MetricType;

double engine_lag_seconds(const PipelineState& s) {
  if (!s.engine || s.engine->newest_event_realtime_ns == 0 || s.queue_depth == 0) return 0;
  if (s.now_realtime_ns <= s.engine->newest_event_realtime_ns) return 0;
  return double(s.now_realtime_ns - s.engine->newest_event_realtime_ns) / 1e9;
}

std::vector<MetricFamily> pipeline_families(const PipelineState& s) {
  std::vector<MetricFamily> out;
  auto one = [&](const char* name, const char* help, MetricType type, double v) {
    out.push_back(family(name, help, type));
    auto& m = add(out.back(), {});
    if (type == MetricType::Counter)
      m.counter.value = v;
    else
      m.gauge.value = v;
  };
  one("procwatch_queue_events", "Events waiting in the queue between the source and the engine.",
      MetricType::Gauge, double(s.queue_depth));
  one("procwatch_queue_capacity_events", "Events the queue holds at most.", MetricType::Gauge,
      double(s.queue_capacity));
  one("procwatch_queue_dropped_total",
      "Events the queue refused because it was full; each loss also triggers a resync.",
      MetricType::Counter, double(s.queue_dropped));

  const std::string source = s.source.name.empty() ? "none" : s.source.name;
  auto per_source = [&](const char* name, const char* help, uint64_t v) {
    out.push_back(family(name, help, MetricType::Counter));
    add(out.back(), {{"source", source}}).counter.value = double(v);
  };
  per_source("procwatch_source_events_total", "Events the source decoded and queued.",
             s.source.events);
  per_source("procwatch_source_lost_total", "Kernel events the source knows it missed.",
             s.source.lost);
  per_source("procwatch_source_malformed_total",
             "Kernel messages the source's decoder skipped (truncated or malformed).",
             s.source.malformed);
  out.push_back(family("procwatch_source_internal_total",
                       "The source's own counts by name: skipped messages by reason, incomplete "
                       "exec captures (netlink exec_capture_missed, ebpf exe_missing), socket "
                       "and ring-buffer losses (see README, Event sources).",
                       MetricType::Counter));
  for (const auto& [name, v] : s.source.counters)
    add(out.back(), {{"source", source}, {"name", name}}).counter.value = double(v);

  if (s.engine) {
    const TableStats& t = s.engine->table;
    out.push_back(family("procwatch_table_adjustments_total",
                         "Events the process table had to fit in, by kind: exit of an unknown pid "
                         "(exits_unknown), pid reuse after a lost exit (stale_replaced), orphans "
                         "moved to a new parent (reparented), unknown pids read from /proc "
                         "(learned), thread events of an unknown process (threads_unknown), "
                         "identities read incompletely (incomplete).",
                         MetricType::Counter));
    for (const auto& [kind, v] :
         {std::pair{"exits_unknown", t.exits_unknown}, std::pair{"stale_replaced", t.stale_replaced},
          std::pair{"reparented", t.reparented}, std::pair{"learned", t.learned},
          std::pair{"threads_unknown", t.threads_unknown}, std::pair{"incomplete", t.incomplete}})
      add(out.back(), {{"kind", kind}}).counter.value = double(v);
    one("procwatch_engine_lag_seconds",
        "Now minus the time of the newest event the engine applied, while events wait in the "
        "queue; 0 when the engine has applied everything queued.",
        MetricType::Gauge, engine_lag_seconds(s));
    one("procwatch_engine_last_event_timestamp_seconds",
        "Time of the newest event the engine applied (0 before the first).", MetricType::Gauge,
        double(s.engine->newest_event_realtime_ns) / 1e9);
    one("procwatch_engine_snapshots_total",
        "Snapshots the engine published for the exporter, the rule monitor and check.",
        MetricType::Counter, double(s.engine->stats.snapshots));
  }
  one("procwatch_scrape_duration_seconds",
      "How long the previous GET /metrics took to collect and serialize its series (0 before "
      "the second scrape).",
      MetricType::Gauge, s.last_scrape_s > 0 ? s.last_scrape_s : 0);
  return out;
}

}  // namespace procwatch::metrics
