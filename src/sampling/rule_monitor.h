// RuleMonitor: rule evaluation inside `procwatch serve`, on a thread of its own (start()): it
// reads the engine's published snapshots, never the table, so its CPU re-reads of /proc and the
// rules' user/group lookups (NSS may block on LDAP) never hold up the engine. tick() and
// reload() belong to that thread (or to the caller's, when not started: tests); families(),
// json(), results() and request_reload() may be called from any thread. Never throws on tick().
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/metric_family.h>

#include "engine/engine_snapshot.h"
#include "procfs/reader.h"
#include "rules/engine.h"
#include "sampling/sampler.h"

namespace procwatch::sampling {

struct RuleMonitorOptions {
  // Evaluate at most this often while events arrive (and while a `for` is pending).
  std::chrono::milliseconds min_interval{200};
  // Re-read CPU/memory numbers from /proc and evaluate this often even without events.
  std::chrono::milliseconds cpu_interval{5000};
  SamplerOptions sampler;
  // One line per state change (default: the JSON line to stderr).
  std::function<void(const std::string& json_line)> log;
};

class RuleMonitor {
 public:
  RuleMonitor(rules::Config config, const procfs::ProcReader& reader,
              RuleMonitorOptions options = {});
  ~RuleMonitor();

  // Starts the monitor's thread: every `poll` it takes latest() and ticks (events_arrived when
  // the snapshot's generation moved). latest() must be callable from that thread until stop().
  using SnapshotFn = std::function<std::shared_ptr<const EngineSnapshot>()>;
  void start(SnapshotFn latest, std::chrono::milliseconds poll = std::chrono::milliseconds(50));
  // Joins the thread; idempotent.
  void stop();
  // Any thread: evaluate `config` from the next tick on (reload() on the monitor's thread, or
  // at once when it is not started).
  void request_reload(rules::Config config);

  // Monitor thread. `infos` is produced only when an evaluation is due (the table snapshot);
  // `events_arrived` says whether the table may have changed since the last call. Returns true
  // when it evaluated.
  bool tick(const std::function<std::vector<ProcInfo>()>& infos, bool events_arrived,
            rules::TimePoint now);

  // Any thread: the baseline's flagged entries for the `unexpected` rule, evaluated at the next
  // tick (handed to the monitor's thread like request_reload).
  void set_flagged(std::vector<rules::FlaggedExec> flagged);

  // Monitor thread: evaluate `config` from now on (SIGHUP). Rules that keep their name keep
  // their `for` timers and violation counters; the next tick() evaluates at once.
  void reload(rules::Config config);

  // procwatch_rule_ok, procwatch_rule_processes, procwatch_rule_violations_total and
  // procwatch_cpu_hog, built at scrape time from the published results (serialized for /metrics
  // together with the MetricsCollector's families by prometheus-cpp's TextSerializer).
  std::vector<prometheus::MetricFamily> families() const;
  // The /api/v1/rules document (rule_results_json).
  std::string json() const;
  std::vector<rules::RuleResult> results() const;
  uint64_t evaluations() const;

 private:
  struct Numbers {
    char state = 'S';
    std::string ps_stat;
    uint64_t vsz_kb = 0, rss_kb = 0;
    double cpu_percent = 0, lifetime_cpu_percent = 0;
    double elapsed_s = 0;
  };
  std::vector<rules::ProcSample> cached_samples(std::vector<ProcInfo> infos,
                                                rules::TimePoint now) const;
  void publish(std::vector<rules::RuleResult> results, rules::TimePoint now);

  RuleMonitorOptions options_;
  Sampler sampler_;
  rules::RuleEngine engine_;
  std::map<ProcKey, Numbers> numbers_;  // from the last CPU sample
  std::optional<rules::TimePoint> last_eval_, last_cpu_;
  rules::TimePoint cpu_sampled_at_{};
  bool pending_ = false;  // some rule violates but its `for` has not elapsed
  std::map<std::string, bool> last_ok_;

  // The monitor's thread.
  void loop(SnapshotFn latest, std::chrono::milliseconds poll);
  std::thread thread_;
  std::mutex run_mu_;  // stop_, pending_reload_, pending_flagged_
  std::condition_variable run_cv_;
  bool stop_ = false;
  std::optional<rules::Config> pending_reload_;
  std::optional<std::vector<rules::FlaggedExec>> pending_flagged_;
  void apply_flagged(std::vector<rules::FlaggedExec> flagged);  // monitor thread
  // Any thread: `value` for `apply` on the monitor's thread (at once when it is not started).
  template <typename T>
  void hand_over(std::optional<T>& slot, T value, void (RuleMonitor::*apply)(T));
  uint64_t last_generation_ = 0;

  mutable std::mutex mu_;
  std::vector<rules::RuleResult> published_;
  rules::TimePoint published_at_{};
  uint64_t evaluations_ = 0;
};

}  // namespace procwatch::sampling
