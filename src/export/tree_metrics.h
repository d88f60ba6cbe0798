// TreeMetrics: per-tree exec/exit counters and lifetime histograms fed with the engine's
// EventRecords, and the immutable MetricsSnapshot it publishes for scrapes. TreeMetrics is NOT
// thread-safe (the engine thread owns it); a published snapshot never changes and may be read
// by any thread. Nothing here throws on the event path (allocation aside).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/proc_event.h"
#include "engine/engine_snapshot.h"
#include "export/event_format.h"
#include "table/process_table.h"

namespace procwatch::metrics {

// Label value for everything beyond --max-trees, and for processes the namer left unnamed.
inline constexpr std::string_view kOtherTree = "/other";
inline constexpr std::string_view kUnnamedTree = "/unnamed";

// Upper bounds (seconds) of the lifetime histogram: 1 ms .. 1 day; +Inf is implicit.
// Twelve bounds: each bucket line costs scrape time for every tree (see bench/scrape_bench.cpp).
inline constexpr std::array<double, 12> kDurationBuckets = {0.001, 0.005, 0.01, 0.05, 0.1,  0.5,
                                                            1,     10,    60,   600,  3600, 86400};

enum class ExitOutcome : uint8_t { Success, Failure, Signal };
inline constexpr std::array<std::string_view, 3> kOutcomeNames = {"success", "failure", "signal"};
// Success = exit(0), Failure = non-zero exit code, Signal = killed. nullopt when the source did
// not see the status (e.g. the procfs poller): such exits are not counted by outcome.
std::optional<ExitOutcome> classify_exit(const ExitDetails& d);

// Index of the first bucket whose bound is >= seconds (kDurationBuckets.size() = +Inf only).
size_t duration_bucket(double seconds);

struct TreeSample {
  std::string tree;
  // With --metrics.container-labels: the container (name, else short id; "" on the host) and
  // its Kubernetes namespace, exported as labels `container` and `namespace`.
  bool container_labels = false;
  std::string container, pod_namespace;
  uint64_t processes = 0;  // live now
  uint64_t execs = 0;
  std::array<uint64_t, 3> exits{};  // by ExitOutcome
  bool ever_exited = false;         // any exit, whatever its outcome
  // Cumulative counts per kDurationBuckets bound (the +Inf bucket is duration_count).
  std::array<uint64_t, kDurationBuckets.size()> duration_buckets{};
  uint64_t duration_count = 0;
  double duration_sum = 0;

  bool operator==(const TreeSample&) const = default;
};

// What one scrape exposes. Trees are sorted by name. The engine/source fields are filled by the
// caller (src/app) from the engine's snapshot.
struct MetricsSnapshot {
  std::vector<TreeSample> trees;
  uint64_t tree_overflow = 0;      // events folded into /other
  uint64_t tracked_processes = 0;  // table size
  std::string source;              // "netlink", "ebpf", "procfs", "replay"
  std::vector<std::pair<std::string, uint64_t>> events_by_type;  // handled by the engine
  uint64_t events_lost = 0;
  uint64_t resyncs = 0;
  uint64_t incomplete = 0;
};

// Engine event counters (EngineStats::events, indexed like EventBody) as (event_name, count).
using EventCounts = std::array<uint64_t, std::variant_size_v<EventBody>>;
std::vector<std::pair<std::string, uint64_t>> named_event_counts(const EventCounts& counts);

struct TreeMetricsOptions {
  size_t max_trees = 2000;                     // distinct names kept, /other not included
  uint64_t tree_ttl_ns = 3600'000'000'000ull;  // idle trees with no live process expire
  // Series per (tree, container, namespace) instead of per tree; max_trees then caps the
  // distinct label sets.
  bool container_labels = false;
};

class TreeMetrics {
 public:
  explicit TreeMetrics(TreeMetricsOptions options = {});

  // Counts an exec (under the exec'd process's tree) or an exit (by outcome, and its lifetime).
  // Other records are ignored. now_ns: any monotonic clock, the same one publish() gets.
  void observe(const EventRecord& r, uint64_t now_ns);

  // Counts live processes per tree from the engine's snapshot, expires trees idle for longer
  // than the TTL and returns the metrics snapshot. O(processes + trees log trees).
  std::shared_ptr<MetricsSnapshot> publish(const EngineSnapshot& engine, uint64_t now_ns);
  // Same, from a table (benchmarks and tests that drive a table without an engine).
  std::shared_ptr<MetricsSnapshot> publish(const ProcessTable& table, uint64_t now_ns);
  // Same, with live processes given as their tree names (tests and benchmarks).
  std::shared_ptr<MetricsSnapshot> publish(const std::vector<std::string_view>& live_trees,
                                           uint64_t now_ns);

  size_t tree_count() const { return trees_.size(); }
  uint64_t overflow() const { return overflow_; }

 private:
  struct TreeState {
    uint64_t execs = 0;
    std::array<uint64_t, 3> exits{};
    bool ever_exited = false;
    std::array<uint64_t, kDurationBuckets.size() + 1> buckets{};  // not cumulative; last = +Inf
    uint64_t duration_count = 0;
    double duration_sum = 0;
    uint64_t last_seen_ns = 0;
    uint64_t live = 0;  // scratch for publish()
  };

  // The state for `tree`, created when there is room; /other otherwise (*folded set).
  TreeState& slot(std::string_view tree, uint64_t now_ns, bool* folded);
  template <typename ForEachTree>
  std::shared_ptr<MetricsSnapshot> publish_impl(ForEachTree&& for_each, uint64_t now_ns);
  // The key of p's series: its tree, plus its container and namespace with container_labels.
  std::string_view series_key(const ProcInfo& p, std::string& buf) const;

  TreeMetricsOptions options_;
  // Transparent, so lookups by string_view do not allocate.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, TreeState, Hash, std::equal_to<>> trees_;  // + /other
  size_t named_ = 0;  // entries other than /other
  uint64_t overflow_ = 0;
};

}  // namespace procwatch::metrics
