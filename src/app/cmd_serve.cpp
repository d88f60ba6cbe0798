// `procwatch serve`: Prometheus exporter. The engine thread feeds TreeMetrics and publishes an
// immutable snapshot every kPublishEvery; HTTP threads only read the last snapshot.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/commands.h"
#include "app/live_capture.h"
#include "core/clock.h"
#include "engine/engine.h"
#include "export/http_server.h"
#include "export/metrics_collector.h"
#include "export/tree_metrics.h"
#include "naming/tree_namer.h"
#include "rules/config.h"
#include "rules/rule.h"
#include "sampling/rule_monitor.h"

namespace procwatch::app {

namespace {

constexpr uint64_t kPublishEveryNs = 500'000'000;

std::string landing_page(const std::string& source) {
  return "<!DOCTYPE html>\n<html><head><title>procwatch exporter</title></head><body>\n"
         "<h1>procwatch exporter</h1>\n<p>Version " PROCWATCH_VERSION ", " +
         source +
         " source.</p>\n"
         "<ul><li><a href=\"/metrics\">/metrics</a></li>"
         "<li><a href=\"/-/healthy\">/-/healthy</a></li></ul>\n</body></html>\n";
}

}  // namespace

int run_serve(const ServeOptions& opts) {
  auto ttl = rules::parse_duration(opts.tree_ttl);
  if (!ttl || ttl->count() <= 0) {
    std::fprintf(stderr, "procwatch: --tree-ttl: %s\n",
                 ttl ? "must be positive" : ttl.error().message.c_str());
    return kExitUsage;
  }

  // Rules (--config): parsed before anything starts, so a bad file is one message and exit 2.
  std::optional<rules::Config> rules_config;
  auto cpu_interval = rules::parse_duration(opts.cpu_interval);
  if (!cpu_interval || cpu_interval->count() <= 0) {
    std::fprintf(stderr, "procwatch: --cpu-interval: %s\n",
                 cpu_interval ? "must be positive" : cpu_interval.error().message.c_str());
    return kExitUsage;
  }
  if (!opts.rules_config.empty()) {
    auto loaded = rules::load_config(opts.rules_config);
    if (!loaded) {
      std::fprintf(stderr, "procwatch: %s\n", loaded.error().message.c_str());
      return kExitUsage;
    }
    rules_config = std::move(*loaded);
  }
  // Set once on this thread before the engine runs; HTTP threads read it.
  std::unique_ptr<sampling::RuleMonitor> rule_monitor_owner;
  std::atomic<const sampling::RuleMonitor*> rule_monitor{nullptr};

  metrics::CollectorOptions copts;
  copts.prom_cnproc = opts.prom_cnproc;
  copts.version = PROCWATCH_VERSION;
  copts.proc_root = opts.common.procfs_root;
  metrics::MetricsCollector collector(copts);
  std::atomic<const char*> source_name{"none"};

  // HTTP first: a busy port must fail before anything else is said or started.
  http::Server server;
  server.handle("/metrics", [&](const http::Request&) {
    std::vector<prometheus::MetricFamily> rules;
    if (const auto* m = rule_monitor.load()) rules = m->families();
    return http::Response{200, metrics::kTextContentType, collector.exposition(rules)};
  });
  if (rules_config) {
    server.handle("/api/v1/rules", [&](const http::Request&) {
      const auto* m = rule_monitor.load();
      if (m == nullptr) return http::Response{503, "text/plain; charset=utf-8", "starting\n"};
      return http::Response{200, "application/json", m->json() + "\n"};
    });
  }
  server.handle("/", [&](const http::Request&) {
    return http::Response{200, "text/html; charset=utf-8", landing_page(source_name.load())};
  });
  server.handle("/-/healthy", [](const http::Request&) {
    return http::Response{200, "text/plain; charset=utf-8", "procwatch is healthy.\n"};
  });
  if (auto started = server.start(opts.listen_address); !started) {
    std::fprintf(stderr, "procwatch: %s\n", started.error().message.c_str());
    return kExitUsage;
  }

  TreeNamer namer;
  procfs::ProcReader reader(opts.common.procfs_root);
  Engine engine(reader, tree_name_fn(namer));
  LiveCapture live(opts.common, reader, engine);

  metrics::TreeMetricsOptions topts;
  topts.max_trees = opts.max_trees;
  topts.tree_ttl_ns = uint64_t(ttl->count()) * 1'000'000ull;
  metrics::TreeMetrics tree_metrics(topts);
  engine.add_listener(
      [&](const output::EventRecord& r) { tree_metrics.observe(r, monotonic_ns()); });

  if (auto rc = live.start()) {
    server.stop();
    return *rc;
  }
  const std::string source_str = live.source_name();
  source_name = source_str.c_str();

  uint64_t events_seen = 0;
  auto rules_tick = [&](const Engine& e) {
    if (!rule_monitor_owner) return;
    uint64_t total = 0;
    for (uint64_t n : e.stats().events) total += n;
    const bool arrived = total != events_seen;
    events_seen = total;
    rule_monitor_owner->tick([&e] { return e.table().snapshot(); }, arrived,
                             rules::SteadyClock::now());
  };
  if (rules_config) {
    sampling::RuleMonitorOptions ropts;
    ropts.cpu_interval = *cpu_interval;
    rule_monitor_owner =
        std::make_unique<sampling::RuleMonitor>(std::move(*rules_config), reader, ropts);
    rules_tick(engine);
    rule_monitor = rule_monitor_owner.get();
  }

  uint64_t last_publish = 0;
  auto publish = [&](const Engine& e) {
    const uint64_t now = monotonic_ns();
    std::shared_ptr<metrics::MetricsSnapshot> snap = tree_metrics.publish(e.table(), now);
    const EngineStats& st = e.stats();
    snap->source = source_str;
    snap->events_by_type = metrics::named_event_counts(st.events);
    snap->events_lost = st.lost;
    snap->resyncs = st.resyncs;
    snap->incomplete = st.incomplete;
    collector.publish(std::move(snap));
    last_publish = now;
  };
  publish(engine);
  // Engine::run calls the hook after every batch, and at least every 200 ms when idle.
  engine.set_batch_hook([&](const Engine& e) {
    rules_tick(e);
    if (monotonic_ns() - last_publish >= kPublishEveryNs) publish(e);
  });

  live.run();
  server.stop();
  return kExitOk;
}

}  // namespace procwatch::app
