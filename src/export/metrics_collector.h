// MetricsCollector: a prometheus::Collectable that builds every procwatch series at scrape time
// from the last published MetricsSnapshot. publish() (engine thread) and Collect()/exposition()
// (HTTP threads) are thread-safe: they only swap / copy a shared_ptr under a small mutex, so a
// scrape never touches the process table. Nothing throws except allocation.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "export/tree_metrics.h"

namespace procwatch::metrics {

struct CollectorOptions {
  bool prom_cnproc = false;         // also `process{state,tree}` and `process_seconds{tree}`
  bool self_metrics = true;         // process_* from /proc/self (off for deterministic tests)
  std::string version;              // procwatch_build_info{version}; empty = no build_info
  std::string proc_root = "/proc";  // where self metrics read self/ and stat
};

// The usual process_* series of the running process (CPU, memory, fds, start time). Files that
// cannot be read just leave their series out.
std::vector<prometheus::MetricFamily> process_self_metrics(const std::string& proc_root);

// Building blocks for scrape-time series (also used by the rule monitor).
prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type);
prometheus::ClientMetric& add(prometheus::MetricFamily& f,
                              std::vector<prometheus::ClientMetric::Label> labels);

// Text exposition format 0.0.4 (prometheus-cpp's TextSerializer).
std::string serialize_text(const std::vector<prometheus::MetricFamily>& families);
inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

class MetricsCollector : public prometheus::Collectable {
 public:
  explicit MetricsCollector(CollectorOptions options = {});
  ~MetricsCollector() override;

  void publish(std::shared_ptr<const MetricsSnapshot> snapshot);
  std::shared_ptr<const MetricsSnapshot> snapshot() const;

  std::vector<prometheus::MetricFamily> Collect() const override;
  // The same text as serialize_text(Collect() followed by `extra`), but each tree's lines are
  // kept from the previous call while its numbers did not change (see TreeTextCache).
  std::string exposition(const std::vector<prometheus::MetricFamily>& extra = {}) const;
  // How many trees the last exposition() had to serialize (the rest were kept).
  size_t last_serialized_trees() const;

 
  struct TreeTextCache;  // defined in the .cpp

 private:
  std::vector<prometheus::MetricFamily> other_families(const MetricsSnapshot& s) const;

  CollectorOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const MetricsSnapshot> snapshot_;
  std::unique_ptr<TreeTextCache> cache_;
};

}  // namespace procwatch::metrics
