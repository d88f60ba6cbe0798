// RuleEngine: evaluates a parsed Config against process snapshots. Pure apart from its own
// per-rule state (violating_since, violation counters); owned and called by one thread.
// Never throws; never reads the system.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rules/matcher.h"
#include "rules/rule.h"

namespace procwatch::rules {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

inline constexpr size_t kMaxResultPids = 20;
inline constexpr size_t kMaxCpuHogs = 20;

struct CpuHog {
  int32_t pid = 0;
  std::string name;  // comm
  std::string tree;
  double percent = 0;
  bool lifetime = false;  // over the whole life rather than the window
};

struct RuleResult {
  std::string rule;
  Severity severity = Severity::kCritical;
  bool ok = true;      // after `for`: a violation is reported once it held that long
  bool raw_ok = true;  // this snapshot alone
  int64_t count = 0;   // matching processes (CPU: number of hogs)
  std::string expected;  // the count range as written ("1:", "0")
  // With `per`: count for each key (user name, container id, tree), sorted by key, and the
  // keys whose count is outside the range.
  std::vector<std::pair<std::string, int64_t>> counts_per;
  std::vector<std::string> failing_keys;
  std::vector<int32_t> pids;  // first kMaxResultPids matching pids, ascending
  bool pids_truncated = false;
  std::string message;           // one line for humans
  uint64_t violations_total = 0;  // reported OK -> violation transitions so far
  std::optional<TimePoint> violating_since;
  bool is_cpu = false;
  std::vector<CpuHog> hogs;  // highest first, at most kMaxCpuHogs
};

// OK when ok; else the rule's severity.
Status result_status(const RuleResult& r);
// Worst status of all results (OK for none).
Status overall_status(const std::vector<RuleResult>& results);

class RuleEngine {
 public:
  explicit RuleEngine(Config config);
  // Results in config order, then the CPU result ("cpu") and the unexpected result
  // ("unexpected") when configured.
  std::vector<RuleResult> evaluate(const std::vector<ProcSample>& snapshot, TimePoint now);
  // What the baseline flagged, for the `unexpected` rule (kept until the next call).
  void set_flagged(std::vector<FlaggedExec> flagged) { flagged_ = std::move(flagged); }
  const Config& config() const { return config_; }
  // Keeps `old`'s `for` timers and violation counters for rules of the same name (and for the
  // cpu section), so a config reload does not reset procwatch_rule_violations_total.
  void adopt_states(const RuleEngine& old);

 private:
  struct State {
    std::optional<TimePoint> violating_since;
    bool reported = false;  // last reported ok == false
    uint64_t violations_total = 0;
  };
  void apply_for(State& st, std::chrono::milliseconds for_duration, TimePoint now,
                 RuleResult& r);
  RuleResult evaluate_rule(const Rule& rule, const std::vector<ProcSample>& snapshot,
                           const MatchContext& ctx) const;
  RuleResult evaluate_cpu(const CpuConfig& cpu, const std::vector<ProcSample>& snapshot) const;
  RuleResult evaluate_unexpected(const UnexpectedConfig& u) const;

  Config config_;
  std::vector<State> states_;
  State cpu_state_;
  State unexpected_state_;
  std::vector<FlaggedExec> flagged_;
};

// Nagios plugin output: "PROCS CRITICAL: <failing rules> | <perfdata>".
struct NagiosOutput {
  Status status = Status::kOk;
  std::string text;  // one line, no trailing newline
};
NagiosOutput format_nagios(const std::vector<RuleResult>& results);

// mon output: first line the failing rule names (space separated; empty when all pass), then
// one detail line per failing rule. Exit status is 1 when overall_status() is not OK.
std::string format_mon(const std::vector<RuleResult>& results);

// Prometheus alerting rules (one alert per rule on procwatch_rule_ok{rule="X"} == 0, `for:`
// from the rule, a severity label and a summary annotation). Passes `promtool check rules`.
std::string export_prometheus_rules(const Config& config);
// The same, plus a group "procwatch-baseline" (an alert per tree on new unexpected execs) and,
// with fleet, a group "procwatch-fleet": recording rules counting on how many hosts (instances)
// of each job every tree ran in the last day, and an alert for a tree that ran on fewer than
// min_hosts of them in a job that has at least min_hosts.
struct ExportOptions {
  bool fleet = false;
  int min_hosts = 2;
  std::chrono::milliseconds fleet_for{std::chrono::minutes(30)};  // `for:` of the fleet alert
};
std::string export_prometheus_rules(const Config& config, const ExportOptions& options);
std::string export_prometheus_rules(const std::vector<Rule>& rules);

}  // namespace procwatch::rules
