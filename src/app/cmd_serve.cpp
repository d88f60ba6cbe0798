// `procwatch serve`: Prometheus exporter. Data flows one way: source -> queue -> engine (owns
// the table) -> snapshot -> outputs. The engine thread applies events, feeds the per-tree
// counters and the events log (listeners) and publishes an EngineSnapshot after each batch;
// every kPublishEvery it turns the snapshot into the exporter's MetricsSnapshot. The rule
// monitor runs on its own thread over the engine's snapshots; HTTP threads read only published
// snapshots, the queue's and the source's counters. The listener opens only once the source is
// attached and the initial /proc scan is in the table, so the first scrape already counts every
// launch after it. SIGHUP re-reads the rules and the web config and reopens the events log;
// nothing in the table or the counters is reset.
#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/baseline_monitor.h"
#include "app/container_names.h"
#include "app/commands.h"
#include "app/live_capture.h"
#include "app/redaction.h"
#include "app/sd_notify.h"
#include "core/clock.h"
#include "core/text.h"
#include "engine/engine.h"
#include "export/event_log.h"
#include "export/http_server.h"
#include "export/metrics_collector.h"
#include "export/pipeline_metrics.h"
#include "export/tree_metrics.h"
#include "export/web_config.h"
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
         "<li><a href=\"/-/healthy\">/-/healthy</a></li>"
         "<li><a href=\"/-/ready\">/-/ready</a></li></ul>\n</body></html>\n";
}

// "http://0.0.0.0:9501/metrics" for ":9501"; the bound port replaces a requested port 0.
std::string metrics_url(const std::string& listen_address, int port, bool tls) {
  std::string host = listen_address.substr(0, listen_address.rfind(':'));
  if (host.empty()) host = "0.0.0.0";
  return (tls ? "https://" : "http://") + host + ":" + std::to_string(port) + "/metrics";
}

// The web config's TLS settings need a new listener: stop, start again on the port first bound,
// and fall back to the previous settings if the new ones do not start.
bool restart_with_tls(http::Server& server, const std::string& listen_address, int port,
                      const std::optional<http::TlsOptions>& tls) {
  const std::string addr =
      listen_address.substr(0, listen_address.rfind(':')) + ":" + std::to_string(port);
  http::ServerOptions next = server.options(), previous = server.options();
  next.tls = tls;
  server.stop();
  auto started = server.start(addr, next);
  if (started) return true;
  std::fprintf(stderr, "procwatch: reload: %s; keeping the previous TLS settings\n",
               started.error().message.c_str());
  if (auto again = server.start(addr, previous); !again)
    std::fprintf(stderr, "procwatch: reload: %s\n", again.error().message.c_str());
  return false;
}

// What the daemon itself reports beside the collector's series; written by the engine thread,
// read at scrape time.
struct DaemonState {
  std::atomic<bool> reload_ok{true};
  std::atomic<double> reload_ok_at_s{0};
  const output::EventLog* events_log = nullptr;

  std::vector<prometheus::MetricFamily> families() const {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> f;
    f.push_back(metrics::family("procwatch_config_last_reload_successful",
                                "1 when the last configuration load (start or SIGHUP) worked.",
                                MetricType::Gauge));
    metrics::add(f.back(), {}).gauge.value = reload_ok ? 1 : 0;
    f.push_back(metrics::family("procwatch_config_last_reload_success_timestamp_seconds",
                                "When the configuration was last loaded successfully.",
                                MetricType::Gauge));
    metrics::add(f.back(), {}).gauge.value = reload_ok_at_s;
    if (events_log != nullptr) {
      f.push_back(metrics::family("procwatch_events_log_written_total",
                                  "Event lines written to the --events-log file.",
                                  MetricType::Counter));
      metrics::add(f.back(), {}).counter.value = double(events_log->written());
      f.push_back(metrics::family("procwatch_events_log_dropped_total",
                                  "Event lines the --events-log file could not take (disk full, "
                                  "I/O error); capture went on.",
                                  MetricType::Counter));
      metrics::add(f.back(), {}).counter.value = double(events_log->dropped());
    }
    return f;
  }
};

double realtime_s() { return double(realtime_ns()) / 1e9; }

// /api/v1/baseline (GET: the baseline and what it flagged) and POST /api/v1/baseline/<op>
// (approve, forget, import, freeze, learn). Every path asks for the web config's basic auth
// when it has users; without users, the POSTs answer loopback clients only.
void add_baseline_api(http::Server& server, BaselineMonitor& baseline) {
  auto answer = [](const BaselineReply& r) {
    return http::Response{r.status,
                          r.status == 200 ? "application/json" : "text/plain; charset=utf-8",
                          r.body};
  };
  server.handle("/api/v1/baseline", [&baseline, answer](const http::Request&) {
    return answer(baseline.call("show", ""));
  });
  for (const char* op : {"approve", "forget", "import", "freeze", "learn"}) {
    server.handle_post(
        std::string("/api/v1/baseline/") + op,
        [&baseline, answer, action = std::string(op)](const http::Request& req) {
          if (!req.authenticated && !req.loopback)
            return http::Response{403, "text/plain; charset=utf-8",
                                  "changing the baseline needs basic auth (web config "
                                  "basic_auth_users) or a loopback client\n"};
          return answer(baseline.call(action, req.body));
        },
        size_t(4) << 20);
  }
}

}  // namespace

int run_serve(const ServeOptions& opts) {
  // Two malloc arenas, not one per thread: a scrape's megabytes of text on the HTTP pool spread
  // over 7 arenas that each kept their high-water mark (heap RSS 25-28 MiB at 2,000 trees for
  // 7.5 MB in use; 11.8 MiB with one arena).
  mallopt(M_ARENA_MAX, 2);
  auto ttl = rules::parse_duration(opts.tree_ttl);
  if (!ttl || ttl->count() <= 0) {
    std::fprintf(stderr, "procwatch: --tree-ttl: %s\n",
                 ttl ? "must be positive" : escape_control(ttl.error().message).c_str());
    return kExitUsage;
  }

  // Rules (--config): parsed before anything starts, so a bad file is one message and exit 2.
  std::optional<rules::Config> rules_config;
  auto cpu_interval = rules::parse_duration(opts.cpu_interval);
  if (!cpu_interval || cpu_interval->count() <= 0) {
    std::fprintf(stderr, "procwatch: --cpu-interval: %s\n",
                 cpu_interval ? "must be positive"
                              : escape_control(cpu_interval.error().message).c_str());
    return kExitUsage;
  }
  if (!opts.rules_config.empty()) {
    auto loaded = rules::load_config(opts.rules_config);
    if (!loaded) {
      std::fprintf(stderr, "procwatch: %s\n", escape_control(loaded.error().message).c_str());
      return kExitUsage;
    }
    if (!apply_redaction(*loaded)) return kExitUsage;
    rules_config = std::move(*loaded);
  }
  // Web config (--web.config.file): TLS, basic auth, headers; a bad file is exit 2 at start.
  std::optional<web::WebConfig> web_config;
  if (!opts.web_config.empty()) {
    auto loaded = web::load_web_config(opts.web_config);
    if (!loaded) {
      std::fprintf(stderr, "procwatch: %s\n", escape_control(loaded.error().message).c_str());
      return kExitUsage;
    }
    web_config = std::move(*loaded);
  }
  // The listener opens only once capture is live, but a busy port is said before anything starts.
  if (auto ok = http::check_listen_address(opts.listen_address); !ok) {
    std::fprintf(stderr, "procwatch: %s\n", escape_control(ok.error().message).c_str());
    return kExitUsage;
  }
  DaemonState daemon;
  daemon.reload_ok_at_s = realtime_s();

  std::unique_ptr<BaselineMonitor> baseline;
  if (!opts.baseline.empty()) {
    auto learn = rules::parse_duration(opts.baseline_learn);
    auto every = rules::parse_duration(opts.baseline_save_interval);
    for (const auto& [flag, d] : {std::pair{"--baseline.learn", &learn},
                                  std::pair{"--baseline.save-interval", &every}}) {
      if (!*d || (*d)->count() < 0) {
        std::fprintf(stderr, "procwatch: %s: %s\n", flag,
                     *d ? "must not be negative" : (*d).error().message.c_str());
        return kExitUsage;
      }
    }
    BaselineOptions bo;
    bo.path = opts.baseline;
    bo.learn_for_s = learn->count() / 1000;
    bo.save_every_s = every->count() / 1000;
    bo.max_trees = opts.max_trees;
    baseline = std::make_unique<BaselineMonitor>(bo);
  }
  if (rules_config && rules_config->unexpected && !baseline) {
    const rules::SourceMark m = rules_config->unexpected->mark;
    std::fprintf(stderr, "procwatch: %s:%d:%d: 'unexpected' needs --baseline FILE\n",
                 escape_control(opts.rules_config).c_str(), m.line, m.column);
    return kExitUsage;
  }

  std::unique_ptr<output::EventLog> events_log;
  if (!opts.events_log.empty()) {
    auto opened = output::EventLog::open(opts.events_log);
    if (!opened) {
      std::fprintf(stderr, "procwatch: --events-log: %s\n",
                   escape_control(opened.error().message).c_str());
      return kExitUsage;
    }
    events_log = std::move(*opened);
    daemon.events_log = events_log.get();
  }

  metrics::CollectorOptions copts;
  copts.prom_cnproc = opts.prom_cnproc;
  copts.version = PROCWATCH_VERSION;
  copts.proc_root = opts.common.procfs_root;
  metrics::MetricsCollector collector(copts);

  TreeNamer namer;
  procfs::ProcReader reader(opts.common.procfs_root);
  use_container_names(reader, opts.common);
  Engine engine(reader, tree_name_fn(namer));
  LiveCapture live(opts.common, reader, engine);

  metrics::TreeMetricsOptions topts;
  topts.max_trees = opts.max_trees;
  topts.tree_ttl_ns = uint64_t(ttl->count()) * 1'000'000ull;
  topts.container_labels = opts.container_labels;
  metrics::TreeMetrics tree_metrics(topts);
  engine.add_listener(
      [&](const EventRecord& r) { tree_metrics.observe(r, monotonic_ns()); });
  if (events_log) engine.add_listener([&](const EventRecord& r) { events_log->append(r); });
  if (baseline) engine.set_annotator([&](EventRecord& r) { baseline->annotate(r); });

  if (auto rc = live.start()) return *rc;
  const std::string source_str = live.source_name();

  // Runs on its own thread over the engine's snapshots; HTTP threads call families()/json(),
  // which copy the published results under the monitor's own mutex.
  std::unique_ptr<sampling::RuleMonitor> rule_monitor;
  auto flagged_to_rules = [&] {
    if (!rule_monitor || !baseline) return;
    if (auto flagged = baseline->flagged_if_changed()) rule_monitor->set_flagged(std::move(*flagged));
  };
  if (rules_config) {
    sampling::RuleMonitorOptions ropts;
    ropts.cpu_interval = *cpu_interval;
    rule_monitor =
        std::make_unique<sampling::RuleMonitor>(std::move(*rules_config), reader, ropts);
    flagged_to_rules();
    rule_monitor->start([&engine] { return engine.snapshot(); });
  }

  uint64_t last_publish = 0;
  auto publish = [&](const Engine& e) {
    const uint64_t now = monotonic_ns();
    const std::shared_ptr<const EngineSnapshot> es = e.snapshot();
    std::shared_ptr<metrics::MetricsSnapshot> snap = tree_metrics.publish(*es, now);
    const EngineStats& st = es->stats;
    snap->source = source_str;
    snap->events_by_type = metrics::named_event_counts(st.events);
    snap->events_lost = st.lost;
    snap->resyncs = st.resyncs;
    snap->incomplete = st.incomplete;
    collector.publish(std::move(snap));
    last_publish = now;
  };
  publish(engine);

  std::atomic<double> last_scrape_s{0};
  auto pipeline = [&] {
    metrics::PipelineState p;
    const EventQueue& q = live.queue();
    p.queue_depth = q.size();
    p.queue_capacity = q.capacity();
    p.queue_dropped = q.dropped();
    SourceStats ss = live.source_stats();
    p.source = {source_str, ss.events, ss.lost, ss.malformed, std::move(ss.counters)};
    p.engine = engine.snapshot();
    p.now_realtime_ns = realtime_ns();
    p.last_scrape_s = last_scrape_s.load();
    return metrics::pipeline_families(p);
  };

  http::Server server;
  server.handle("/metrics", [&](const http::Request&) {
    const uint64_t t0 = monotonic_ns();
    std::vector<prometheus::MetricFamily> extra = daemon.families();
    {
      auto p = pipeline();
      extra.insert(extra.end(), std::make_move_iterator(p.begin()), std::make_move_iterator(p.end()));
    }
    if (baseline) {
      auto b = baseline->families();
      extra.insert(extra.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
    }
    if (rule_monitor) {
      auto rules = rule_monitor->families();
      extra.insert(extra.end(), std::make_move_iterator(rules.begin()),
                   std::make_move_iterator(rules.end()));
    }
    http::Response resp{200, metrics::kTextContentType, collector.exposition(extra)};
    last_scrape_s = double(monotonic_ns() - t0) / 1e9;
    return resp;
  });
  if (rule_monitor) {
    server.handle("/api/v1/rules", [&](const http::Request&) {
      return http::Response{200, "application/json", rule_monitor->json() + "\n"};
    });
  }
  if (baseline) add_baseline_api(server, *baseline);
  server.handle("/", [&](const http::Request&) {
    return http::Response{200, "text/html; charset=utf-8", landing_page(source_str)};
  });
  server.handle("/-/healthy", [](const http::Request&) {
    return http::Response{200, "text/plain; charset=utf-8", "procwatch is healthy.\n"};
  });
  // Ready once it answers at all: the listener opens only when capture is live.
  server.handle("/-/ready", [](const http::Request&) {
    return http::Response{200, "text/plain; charset=utf-8", "procwatch is ready.\n"};
  });
  http::ServerOptions server_opts;
  if (web_config) {
    server_opts.tls = web_config->tls;
    server.set_access(web::access_of(*web_config));
  }
  if (auto started = server.start(opts.listen_address, server_opts); !started) {
    std::fprintf(stderr, "procwatch: %s\n", escape_control(started.error().message).c_str());
    live.stop();
    return kExitUsage;
  }
  const int bound_port = server.port();
  std::fprintf(stderr, "procwatch: serving %s (source %s)\n",
               escape_control(metrics_url(opts.listen_address, server.port(),
                                            server_opts.tls.has_value()))
                   .c_str(),
               source_str.c_str());
  std::fflush(stderr);

  SystemdNotifier notifier;
  auto status = [&](const Engine& e) {
    return "source " + source_str + ", " + std::to_string(e.table().size()) +
           " processes tracked, " + std::to_string(e.stats().lost) + " events lost";
  };
  notifier.ready(status(engine));

  std::atomic<bool> reload_requested{false};
  live.on_sighup([&] { reload_requested = true; });
  auto reload = [&](const Engine& e) {
    notifier.reloading();
    bool ok = true;
    if (events_log) {
      if (auto r = events_log->reopen(); !r)
        std::fprintf(stderr, "procwatch: reload: %s; still writing the previous file\n",
                     r.error().message.c_str());
    }
    if (rule_monitor) {
      auto loaded = rules::load_config(opts.rules_config);
      if (loaded && apply_redaction(*loaded)) {
        rule_monitor->request_reload(std::move(*loaded));
      } else if (!loaded) {
        ok = false;
        std::fprintf(stderr, "procwatch: reload failed, keeping the previous rules: %s\n",
                     escape_control(loaded.error().message).c_str());
      } else {
        ok = false;
      }
    }
    if (web_config) {
      auto loaded = web::load_web_config(opts.web_config);
      if (!loaded) {
        ok = false;
        std::fprintf(stderr, "procwatch: reload failed, keeping the previous web config: %s\n",
                     escape_control(loaded.error().message).c_str());
      } else {
        server.set_access(web::access_of(*loaded));
        if (loaded->tls != server.options().tls &&
            !restart_with_tls(server, opts.listen_address, bound_port, loaded->tls))
          ok = false;
        web_config = std::move(*loaded);
      }
    }
    daemon.reload_ok = ok;
    if (ok) {
      daemon.reload_ok_at_s = realtime_s();
      std::fprintf(stderr, "procwatch: reloaded%s\n",
                   rule_monitor ? (" " + escape_control(opts.rules_config)).c_str() : "");
    }
    std::fflush(stderr);
    notifier.ready(status(e));
  };

  // Engine::run calls the hook after every batch, and at least every 200 ms when idle.
  engine.set_batch_hook([&](const Engine& e) {
    if (reload_requested.exchange(false)) reload(e);
    if (events_log) events_log->flush();
    if (baseline) baseline->tick(int64_t(realtime_s()));
    flagged_to_rules();
    const uint64_t now = monotonic_ns();
    if (now - last_publish >= kPublishEveryNs) publish(e);
    notifier.tick(now, [&] { return status(e); });
  });

  live.run();
  notifier.stopping();
  if (rule_monitor) rule_monitor->stop();
  if (baseline) baseline->save(int64_t(realtime_s()));
  server.stop();
  return kExitOk;
}

}  // namespace procwatch::app
