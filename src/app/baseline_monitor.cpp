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

constexpr size_t kMaxPending = 16;
constexpr uint64_t kPublishEveryNs = 200'000'000;

int64_t now_s() { return int64_t(realtime_ns() / 1'000'000'000ull); }

void say(const std::string& line) {
  std::fprintf(stderr, "procwatch: %s\n", line.c_str());
  std::fflush(stderr);
}

nlohmann::json entries_json(const baseline::Baseline::Map& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [k, s] : m) {
    nlohmann::json e = nlohmann::json::object();
    output::set_text(e, "tree", k.tree);  // bytes that are not UTF-8 kept in *_b64
    output::set_text(e, "exe", k.exe);
    output::set_text(e, "user", k.user);
    e["first_seen"] = baseline::format_time(s.first_seen);
    e["last_seen"] = baseline::format_time(s.last_seen);
    e["count"] = s.count;
    out.push_back(std::move(e));
  }
  return out;
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

BaselineReply error(int status, const std::string& message) {
  return {status, escape_control(message) + "\n"};
}

}  // namespace

std::string baseline_json(const baseline::Baseline& b, const std::string& file, int64_t now) {
  nlohmann::json j = {{"file", file},
                      {"learning", b.learning(now)},
                      {"learning_until", baseline::format_time(b.learn_started + b.learn_for_s)},
                      {"frozen", b.frozen},
                      {"entries", entries_json(b.entries())},
                      {"flagged", entries_json(b.flagged())}};
  return dump(j);
}

BaselineReply baseline_operation(baseline::Baseline& b, const std::string& file,
                                 const std::string& action, const std::string& body,
                                 int64_t now, bool* changed) {
  *changed = false;
  if (action == "show") return {200, baseline_json(b, file, now)};
  if (action == "approve" || action == "forget") {
    const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("trees") || !j["trees"].is_array() ||
        j["trees"].empty())
      return error(400, "expected a JSON body {\"trees\": [\"/tree\", ...]}");
    std::vector<std::string> trees;
    for (const auto& t : j["trees"]) {
      if (!t.is_string()) return error(400, "\"trees\" must hold strings");
      trees.push_back(t.get<std::string>());
    }
    // All or nothing: a tree that is not there changes nothing.
    for (const auto& t : trees) {
      bool found = false;
      for (const auto* m : {&b.flagged(), &b.entries()}) {
        if (action == "approve" && m == &b.entries()) continue;
        for (const auto& [k, s] : *m) found = found || k.tree == t;
      }
      if (!found)
        return error(404, (action == "approve" ? "nothing flagged for tree " : "no tree ") + t);
    }
    size_t n = 0;
    for (const auto& t : trees) n += action == "approve" ? b.approve(t) : b.forget(t);
    *changed = true;
    return {200, dump({{action == "approve" ? "approved" : "forgotten", n}})};
  }
  if (action == "import") {
    auto other = baseline::Baseline::parse(body, "request body");
    if (!other) return error(400, other.error().message);
    const size_t before = b.entries().size();
    b.merge(*other);
    *changed = true;
    return {200, dump({{"added", b.entries().size() - before}})};
  }
  if (action == "freeze" || action == "learn") {
    b.frozen = action == "freeze";
    if (action == "learn") b.learn_started = now;
    *changed = true;
    return {200, dump({{"learning", b.learning(now)}})};
  }
  return error(404, "unknown baseline operation " + action);
}

BaselineMonitor::BaselineMonitor(BaselineOptions options) : options_(std::move(options)) {
  const int64_t now = now_s();
  auto loaded = baseline::Baseline::load(options_.path);
  if (loaded) {
    base_ = std::move(*loaded);
    // The file is current: the first write waits a whole interval (writing 2,000 entries at
    // the first exec after start cost ~50 ms of CPU for nothing).
    last_save_attempt_ = now;
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
  flagged_ = base_.flagged().size();
  learning_ = base_.learning(now);
}

bool BaselineMonitor::learning(int64_t now) const { return base_.learning(now); }

void BaselineMonitor::annotate(EventRecord& r) {
  if (r.event != "exec") return;
  const int64_t now = int64_t(r.ts_realtime_ns / 1'000'000'000ull);
  std::string uid;
  if (r.proc.user.empty()) uid = std::to_string(r.proc.uid);
  const std::string& user = r.proc.user.empty() ? uid : r.proc.user;
  bool first_flag = false;
  const bool expected = base_.observe(r.proc.tree, r.proc.exe, user, now, &first_flag);
  r.expected = expected;
  dirty_ = true;  // counts and last-seen times change too
  if (expected) return;
  metrics_dirty_ = true;
  flagged_changed_ = true;
  auto it = unexpected_.find(r.proc.tree);
  if (it == unexpected_.end() && unexpected_.size() >= options_.max_trees)
    it = unexpected_.try_emplace("/other").first;
  else if (it == unexpected_.end())
    it = unexpected_.emplace(r.proc.tree, 0).first;
  ++it->second;
  if (first_flag) {
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

BaselineReply BaselineMonitor::call(const std::string& action, std::string body,
                                    std::chrono::milliseconds wait) {
  auto p = std::make_shared<Pending>();
  p->action = action;
  p->body = std::move(body);
  std::future<BaselineReply> reply = p->reply.get_future();
  {
    std::lock_guard lock(ops_mu_);
    if (ops_.size() >= kMaxPending) return error(503, "too many baseline operations waiting");
    ops_.push_back(p);
  }
  if (reply.wait_for(wait) != std::future_status::ready)
    return error(503, "the engine did not answer within " + std::to_string(wait.count()) + " ms");
  return reply.get();
}

void BaselineMonitor::run_pending(int64_t now) {
  std::deque<std::shared_ptr<Pending>> ops;
  {
    std::lock_guard lock(ops_mu_);
    ops.swap(ops_);
  }
  for (auto& p : ops) {
    bool changed = false;
    BaselineReply r = baseline_operation(base_, options_.path, p->action, p->body, now, &changed);
    if (changed) {
      dirty_ = metrics_dirty_ = flagged_changed_ = true;
      if (!save(now))
        r = error(500, "done in memory but not saved to " + options_.path + " (see the log)");
    }
    p->reply.set_value(std::move(r));
  }
}

void BaselineMonitor::publish() {
  std::lock_guard lock(mu_);
  published_unexpected_ = unexpected_;
  entries_ = base_.entries().size();
  flagged_ = base_.flagged().size();
}

void BaselineMonitor::tick(int64_t now) {
  run_pending(now);
  const uint64_t mono = monotonic_ns();
  if (metrics_dirty_ || mono - last_publish_ns_ >= kPublishEveryNs) {
    // Entry counts change while learning, so they are refreshed at least every 200 ms.
    publish();
    metrics_dirty_ = false;
    last_publish_ns_ = mono;
    std::lock_guard lock(mu_);
    learning_ = base_.learning(now);
  }
  if (dirty_ && now - last_save_attempt_ >= options_.save_every_s) save(now);
}

std::optional<std::vector<rules::FlaggedExec>> BaselineMonitor::flagged_if_changed() {
  if (!flagged_changed_) return std::nullopt;
  flagged_changed_ = false;
  std::vector<rules::FlaggedExec> out;
  out.reserve(base_.flagged().size());
  for (const auto& [k, s] : base_.flagged()) out.push_back({k.tree, k.exe, k.user, s.count});
  return out;
}

bool BaselineMonitor::save(int64_t now) {
  if (!dirty_) return true;
  last_save_attempt_ = now;
  if (auto ok = base_.save(options_.path); !ok) {
    say("baseline: " + ok.error().message + "; kept in memory, retried in " +
        std::to_string(options_.save_every_s) + " s");
    return false;
  }
  dirty_ = false;
  std::lock_guard lock(mu_);
  last_save_s_ = double(realtime_ns()) / 1e9;
  return true;
}

std::vector<prometheus::MetricFamily> BaselineMonitor::families() const {
  using prometheus::MetricType;
  std::lock_guard lock(mu_);
  std::vector<prometheus::MetricFamily> f;
  f.push_back(metrics::family("procwatch_unexpected_execs_total",
                              "Execs outside the baseline while enforcing, per tree.",
                              MetricType::Counter));
  for (const auto& [tree, n] : published_unexpected_)
    metrics::add(f.back(), {{"tree", tree}}).counter.value = double(n);
  f.push_back(metrics::family("procwatch_baseline_entries",
                              "Entries (tree, exe, user) in the baseline.", MetricType::Gauge));
  metrics::add(f.back(), {}).gauge.value = double(entries_);
  f.push_back(metrics::family("procwatch_baseline_flagged",
                              "Entries seen outside the baseline while enforcing and not yet "
                              "approved or forgotten.",
                              MetricType::Gauge));
  metrics::add(f.back(), {}).gauge.value = double(flagged_);
  f.push_back(metrics::family("procwatch_baseline_learning", "1 while the baseline learns.",
                              MetricType::Gauge));
  metrics::add(f.back(), {}).gauge.value = learning_ ? 1 : 0;
  f.push_back(metrics::family("procwatch_baseline_last_save_timestamp_seconds",
                              "When the baseline file was last written.", MetricType::Gauge));
  metrics::add(f.back(), {}).gauge.value = last_save_s_;
  return f;
}

}  // namespace procwatch::app
