#include "app/baseline_monitor.h"

#include <cerrno>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/text.h"
#include "export/event_format.h"
#include "export/metrics_collector.h"

namespace procwatch::app {

namespace {

int64_t now_s() { return int64_t(realtime_ns() / 1'000'000'000ull); }

void say(const std::string& line) {
  std::fprintf(stderr, "procwatch: %s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace

BaselineMonitor::BaselineMonitor(BaselineOptions options) : options_(std::move(options)) {
  const int64_t now = now_s();
  auto loaded = baseline::Baseline::load(options_.path);
  if (loaded) {
    base_ = std::move(*loaded);
  } else {
    base_ = baseline::Baseline{};
    base_.learn_started = now;
    if (loaded.error().errnum == ENOENT) {
      say("baseline " + escape_control(options_.path) + ": none yet; learning for " +
          std::to_string(options_.learn_for_s) + " s");
    } else {
      const std::string kept = options_.path + ".corrupt";
      const bool moved = std::rename(options_.path.c_str(), kept.c_str()) == 0;
      say("baseline " + loaded.error().message + "; starting a fresh learning period" +
          (moved ? " (the file is kept as " + escape_control(kept) + ")" : ""));
    }
    dirty_ = true;
  }
  base_.learn_for_s = options_.learn_for_s;  // the flag wins; the start time is the file's
  entries_ = base_.entries().size();
  learning_ = base_.learning(now);
}

bool BaselineMonitor::learning(int64_t now) const { return base_.learning(now); }

void BaselineMonitor::annotate(EventRecord& r) {
  if (r.event != "exec") return;
  const int64_t now = int64_t(r.ts_realtime_ns / 1'000'000'000ull);
  const std::string& user = r.proc.user.empty() ? std::to_string(r.proc.uid) : r.proc.user;
  const bool expected = base_.observe(r.proc.tree, r.proc.exe, user, now);
  r.expected = expected;
  dirty_ = true;  // counts and last-seen times change too
  std::lock_guard lock(mu_);
  entries_ = base_.entries().size();
  learning_ = base_.learning(now);
  if (expected) return;
  auto it = unexpected_.find(r.proc.tree);
  if (it == unexpected_.end() && unexpected_.size() >= options_.max_trees)
    it = unexpected_.try_emplace("/other").first;
  else if (it == unexpected_.end())
    it = unexpected_.emplace(r.proc.tree, 0).first;
  ++it->second;
  baseline::Key key{r.proc.tree, baseline::normalize_exe(r.proc.exe), user};
  if (reported_.size() < baseline::kMaxEntries && reported_.insert(key).second) {
    nlohmann::json line = {{"ts", output::format_timestamp(r.ts_realtime_ns)},
                           {"level", "warn"},
                           {"msg", "unexpected process tree"},
                           {"pid", r.proc.key.pid}};
    output::set_text(line, "tree", r.proc.tree);
    output::set_text(line, "exe", r.proc.exe);
    output::set_text(line, "user", user);
    std::fprintf(stderr, "%s\n",
                 line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

void BaselineMonitor::tick(int64_t now) {
  {
    std::lock_guard lock(mu_);
    learning_ = base_.learning(now);
  }
  if (dirty_ && now - last_save_attempt_ >= options_.save_every_s) save(now);
}

void BaselineMonitor::save(int64_t now) {
  if (!dirty_) return;
  last_save_attempt_ = now;
  if (auto ok = base_.save(options_.path); !ok) {
    say("baseline: " + ok.error().message + "; kept in memory, retried in " +
        std::to_string(options_.save_every_s) + " s");
    return;
  }
  dirty_ = false;
  std::lock_guard lock(mu_);
  last_save_s_ = double(realtime_ns()) / 1e9;
}

std::vector<prometheus::MetricFamily> BaselineMonitor::families() const {
  using prometheus::MetricType;
  std::lock_guard lock(mu_);
  std::vector<prometheus::MetricFamily> f;
  f.push_back(metrics::family("procwatch_unexpected_execs_total",
                              "Execs outside the baseline while enforcing, per tree.",
                              MetricType::Counter));
  for (const auto& [tree, n] : unexpected_)
    metrics::add(f.back(), {{"tree", tree}}).counter.value = double(n);
  f.push_back(metrics::family("procwatch_baseline_entries",
                              "Entries (tree, exe, user) in the baseline.", MetricType::Gauge));
  metrics::add(f.back(), {}).gauge.value = double(entries_);
  f.push_back(metrics::family("procwatch_baseline_learning", "1 while the baseline learns.",
                              MetricType::Gauge));
  metrics::add(f.back(), {}).gauge.value = learning_ ? 1 : 0;
  f.push_back(metrics::family("procwatch_baseline_last_save_timestamp_seconds",
                              "When the baseline file was last written.", MetricType::Gauge));
  metrics::add(f.back(), {}).gauge.value = last_save_s_;
  return f;
}

}  // namespace procwatch::app
