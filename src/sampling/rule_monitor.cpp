#include "sampling/rule_monitor.h"

#include <cstdio>
#include <ctime>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "export/event_format.h"
#include "export/metrics_collector.h"
#include "sampling/rule_json.h"

namespace procwatch::sampling {

namespace {

void log_to_stderr(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}


using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

using metrics::add;
using metrics::family;

}  // namespace

namespace {

SamplerOptions sampler_options(const rules::Config& config, SamplerOptions so) {
  if (config.cpu) so.cpu_window = config.cpu->window;
  return so;
}

}  // namespace

RuleMonitor::RuleMonitor(rules::Config config, const procfs::ProcReader& reader,
                         RuleMonitorOptions options)
    : options_(std::move(options)),
      sampler_(reader, sampler_options(config, options_.sampler)),
      engine_(std::move(config)) {
  if (!options_.log) options_.log = log_to_stderr;
}

RuleMonitor::~RuleMonitor() { stop(); }

void RuleMonitor::start(SnapshotFn latest, std::chrono::milliseconds poll) {
  if (thread_.joinable()) return;
  {
    std::lock_guard lk(run_mu_);
    stop_ = false;
  }
  thread_ = std::thread([this, latest = std::move(latest), poll] { loop(latest, poll); });
}

void RuleMonitor::stop() {
  {
    std::lock_guard lk(run_mu_);
    stop_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

template <typename T>
void RuleMonitor::hand_over(std::optional<T>& slot, T value, void (RuleMonitor::*apply)(T)) {
  if (!thread_.joinable()) {  // not started: this is the only thread
    (this->*apply)(std::move(value));
    return;
  }
  {
    std::lock_guard lk(run_mu_);
    slot = std::move(value);
  }
  run_cv_.notify_all();
}

void RuleMonitor::request_reload(rules::Config config) {
  hand_over(pending_reload_, std::move(config), &RuleMonitor::reload);
}

void RuleMonitor::loop(SnapshotFn latest, std::chrono::milliseconds poll) {
  for (;;) {
    std::optional<rules::Config> next;
    std::optional<std::vector<rules::FlaggedExec>> flagged;
    {
      std::unique_lock lk(run_mu_);
      if (stop_) return;
      next.swap(pending_reload_);
      flagged.swap(pending_flagged_);
    }
    if (next) reload(std::move(*next));
    if (flagged) apply_flagged(std::move(*flagged));
    std::shared_ptr<const EngineSnapshot> snap = latest();
    const bool arrived = snap && snap->generation != last_generation_;
    if (snap) last_generation_ = snap->generation;
    tick([&snap] { return snap ? snap->copy_processes() : std::vector<ProcInfo>{}; }, arrived,
         rules::SteadyClock::now());
    std::unique_lock lk(run_mu_);
    run_cv_.wait_for(lk, poll, [this] {
      return stop_ || pending_reload_.has_value() || pending_flagged_.has_value();
    });
  }
}

void RuleMonitor::reload(rules::Config config) {
  sampler_.set_cpu_window(sampler_options(config, options_.sampler).cpu_window);
  rules::RuleEngine next(std::move(config));
  next.adopt_states(engine_);
  engine_ = std::move(next);
  last_eval_.reset();
  last_cpu_.reset();
}

std::vector<rules::ProcSample> RuleMonitor::cached_samples(std::vector<ProcInfo> infos,
                                                           rules::TimePoint now) const {
  std::unordered_map<int32_t, std::pair<uint64_t, std::string>> comm_of;
  comm_of.reserve(infos.size());
  for (const ProcInfo& p : infos) comm_of.emplace(p.key.pid, std::make_pair(p.key.start_time, p.comm));
  const double since_cpu = std::chrono::duration<double>(now - cpu_sampled_at_).count();
  std::vector<rules::ProcSample> out;
  out.reserve(infos.size());
  for (ProcInfo& info : infos) {
    rules::ProcSample s;
    if (auto it = comm_of.find(info.ppid); it != comm_of.end()) {
      if (info.parent_start_time == 0 || it->second.first == info.parent_start_time) {
        s.parent_name = it->second.second;
      }
    }
    if (auto it = numbers_.find(info.key); it != numbers_.end()) {
      const Numbers& n = it->second;
      s.state = n.state;
      s.ps_stat = n.ps_stat;
      s.vsz_kb = n.vsz_kb;
      s.rss_kb = n.rss_kb;
      s.cpu_percent = n.cpu_percent;
      s.lifetime_cpu_percent = n.lifetime_cpu_percent;
      s.elapsed_s = n.elapsed_s + since_cpu;
    }
    s.info = std::move(info);
    out.push_back(std::move(s));
  }
  return out;
}

void RuleMonitor::set_flagged(std::vector<rules::FlaggedExec> flagged) {
  hand_over(pending_flagged_, std::move(flagged), &RuleMonitor::apply_flagged);
}

void RuleMonitor::apply_flagged(std::vector<rules::FlaggedExec> flagged) {
  engine_.set_flagged(std::move(flagged));
  pending_ = true;  // evaluate at the next tick
}

bool RuleMonitor::tick(const std::function<std::vector<ProcInfo>()>& infos, bool events_arrived,
                       rules::TimePoint now) {
  const bool cpu_due = !last_cpu_ || now - *last_cpu_ >= options_.cpu_interval;
  const bool soon_due = !last_eval_ || now - *last_eval_ >= options_.min_interval;
  if (!cpu_due && !(soon_due && (events_arrived || pending_))) return false;

  std::vector<rules::ProcSample> snapshot;
  if (cpu_due) {
    snapshot = sampler_.sample(infos());
    numbers_.clear();
    for (const auto& s : snapshot) {
      numbers_[s.info.key] = Numbers{s.state,       s.ps_stat,    s.vsz_kb,
                                     s.rss_kb,      s.cpu_percent, s.lifetime_cpu_percent,
                                     s.elapsed_s};
    }
    cpu_sampled_at_ = now;
    last_cpu_ = now;
  } else {
    snapshot = cached_samples(infos(), now);
  }
  last_eval_ = now;
  auto results = engine_.evaluate(snapshot, now);
  pending_ = false;
  for (const auto& r : results) pending_ = pending_ || (!r.raw_ok && r.ok);
  publish(std::move(results), now);
  return true;
}

void RuleMonitor::publish(std::vector<rules::RuleResult> results, rules::TimePoint now) {
  for (const auto& r : results) {
    auto it = last_ok_.emplace(r.rule, true).first;  // rules start out as holding
    if (it->second == r.ok) continue;
    it->second = r.ok;
    nlohmann::json line = {
        {"ts", output::format_timestamp(realtime_ns())},
        {"level", r.ok ? "info" : (r.severity == rules::Severity::kCritical ? "error" : "warn")},
        {"msg", r.ok ? "rule holds again" : "rule violated"},
        {"rule", r.rule},
        {"ok", r.ok},
        {"status", rules::status_name(rules::result_status(r))},
        {"severity", rules::severity_name(r.severity)},
        {"count", r.count},
        {"expected", r.expected},
        {"pids", r.pids},
        {"violations_total", r.violations_total},
        {"message", r.message},
    };
    options_.log(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  std::lock_guard lock(mu_);
  published_ = std::move(results);
  published_at_ = now;
  ++evaluations_;
}

std::vector<MetricFamily> RuleMonitor::families() const {
  std::vector<rules::RuleResult> rs;
  {
    std::lock_guard lock(mu_);
    rs = published_;
  }
  MetricFamily ok = family("procwatch_rule_ok",
                           "Whether the rule holds (1) or is violated past its `for` (0).",
                           MetricType::Gauge);
  MetricFamily processes =
      family("procwatch_rule_processes",
             "Processes the rule matches (cpu: processes over the limit).", MetricType::Gauge);
  MetricFamily violations =
      family("procwatch_rule_violations_total",
             "Times the rule went from holding to violated.", MetricType::Counter);
  ok.metric.reserve(rs.size());
  processes.metric.reserve(rs.size());
  violations.metric.reserve(rs.size());
  // Hogs by tree, only while the cpu rule reports them (bounded by kMaxCpuHogs).
  std::map<std::string, int> hogs;
  for (const auto& r : rs) {
    add(ok, {{"rule", r.rule}}).gauge.value = r.ok ? 1 : 0;
    add(processes, {{"rule", r.rule}}).gauge.value = double(r.count);
    add(violations, {{"rule", r.rule}}).counter.value = double(r.violations_total);
    if (!r.is_cpu || r.ok) continue;
    for (const auto& h : r.hogs) ++hogs[h.tree.empty() ? "/unknown" : h.tree];
  }
  MetricFamily hog = family("procwatch_cpu_hog",
                            "Processes of the tree over the configured CPU limit.",
                            MetricType::Gauge);
  for (const auto& [tree, n] : hogs) add(hog, {{"tree", tree}}).gauge.value = n;

  std::vector<MetricFamily> out;
  out.reserve(4);
  out.push_back(std::move(ok));
  out.push_back(std::move(processes));
  out.push_back(std::move(violations));
  out.push_back(std::move(hog));
  return out;
}

std::string RuleMonitor::json() const {
  std::lock_guard lock(mu_);
  return rule_results_json(published_, rules::SteadyClock::now())
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<rules::RuleResult> RuleMonitor::results() const {
  std::lock_guard lock(mu_);
  return published_;
}

uint64_t RuleMonitor::evaluations() const {
  std::lock_guard lock(mu_);
  return evaluations_;
}

}  // namespace procwatch::sampling
