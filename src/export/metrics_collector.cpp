#include "export/metrics_collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string_view>

#include "core/clock.h"
#include "procfs/parsers.h"

namespace procwatch::metrics {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric& add(MetricFamily& f, std::vector<ClientMetric::Label> labels) {
  ClientMetric& m = f.metric.emplace_back();
  m.label = std::move(labels);
  return m;
}

namespace {

void add_gauge(MetricFamily& f, std::vector<ClientMetric::Label> labels, double v) {
  add(f, std::move(labels)).gauge.value = v;
}

void add_counter(MetricFamily& f, std::vector<ClientMetric::Label> labels, double v) {
  add(f, std::move(labels)).counter.value = v;
}

void add_histogram(MetricFamily& f, const TreeSample& t) {
  ClientMetric& m = add(f, {{"tree", t.tree}});
  auto& h = m.histogram;
  h.sample_count = t.duration_count;
  h.sample_sum = t.duration_sum;
  h.bucket.reserve(kDurationBuckets.size() + 1);
  for (size_t i = 0; i < kDurationBuckets.size(); ++i)
    h.bucket.push_back({t.duration_buckets[i], kDurationBuckets[i]});
  h.bucket.push_back({t.duration_count, std::numeric_limits<double>::infinity()});
}

MetricFamily single(std::string name, std::string help, MetricType type, double v) {
  MetricFamily f = family(std::move(name), std::move(help), type);
  if (type == MetricType::Counter)
    add_counter(f, {}, v);
  else
    add_gauge(f, {}, v);
  return f;
}

std::string read_small(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < (1 << 16))
    out.append(buf, size_t(n));
  ::close(fd);
  return out;
}

// "btime <seconds since epoch>" from /proc/stat.
std::optional<uint64_t> boot_time_s(const std::string& proc_root) {
  const std::string text = read_small(proc_root + "/stat");
  const size_t at = text.find("\nbtime ");
  if (at == std::string::npos) return std::nullopt;
  return std::strtoull(text.c_str() + at + 7, nullptr, 10);
}

}  // namespace

std::vector<MetricFamily> process_self_metrics(const std::string& proc_root) {
  std::vector<MetricFamily> out;
  const double hz = double(clock_ticks_per_second());
  if (auto st = procfs::parse_stat(read_small(proc_root + "/self/stat"))) {
    out.push_back(single("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.", MetricType::Counter,
                         double(st->utime + st->stime) / hz));
    out.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.",
                         MetricType::Gauge, double(st->rss_pages) * double(sysconf(_SC_PAGESIZE))));
    out.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::Gauge, double(st->vsize)));
    if (auto btime = boot_time_s(proc_root))
      out.push_back(single("process_start_time_seconds",
                           "Start time of the process since unix epoch in seconds.",
                           MetricType::Gauge, double(*btime) + double(st->start_time) / hz));
  }
  if (DIR* d = ::opendir((proc_root + "/self/fd").c_str())) {
    uint64_t n = 0;
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    out.push_back(single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
                         double(n > 0 ? n - 1 : 0)));  // minus the DIR's own
  }
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0)
    out.push_back(single("process_max_fds", "Maximum number of open file descriptors.",
                         MetricType::Gauge, double(lim.rlim_cur)));
  return out;
}

std::string serialize_text(const std::vector<MetricFamily>& families) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, families);
  return std::move(os).str();
}

MetricsCollector::MetricsCollector(CollectorOptions options)
    : options_(std::move(options)), snapshot_(std::make_shared<const MetricsSnapshot>()) {}

void MetricsCollector::publish(std::shared_ptr<const MetricsSnapshot> snapshot) {
  std::lock_guard lk(mu_);
  snapshot_.swap(snapshot);
  // the old snapshot is released after the lock, outside the critical section
}

std::shared_ptr<const MetricsSnapshot> MetricsCollector::snapshot() const {
  std::lock_guard lk(mu_);
  return snapshot_;
}

std::vector<MetricFamily> MetricsCollector::Collect() const {
  const std::shared_ptr<const MetricsSnapshot> snap = snapshot();
  const MetricsSnapshot& s = *snap;
  std::vector<MetricFamily> out;
  out.reserve(24);

  MetricFamily processes =
      family("procwatch_tree_processes", "Live processes per tree.", MetricType::Gauge);
  MetricFamily execs =
      family("procwatch_tree_execs_total",
             "Execs per tree (counted under the tree of the exec'd process).", MetricType::Counter);
  MetricFamily exits = family("procwatch_tree_exits_total",
                              "Process exits per tree by outcome: success (exit 0), failure "
                              "(non-zero exit) or signal (killed).",
                              MetricType::Counter);
  MetricFamily durations =
      family("procwatch_process_duration_seconds",
             "Lifetimes of the processes that exited, per tree.", MetricType::Histogram);
  processes.metric.reserve(s.trees.size());
  execs.metric.reserve(s.trees.size());
  exits.metric.reserve(s.trees.size() * kOutcomeNames.size());
  durations.metric.reserve(s.trees.size());
  for (const TreeSample& t : s.trees) {
    add_gauge(processes, {{"tree", t.tree}}, double(t.processes));
    add_counter(execs, {{"tree", t.tree}}, double(t.execs));
    for (size_t i = 0; i < kOutcomeNames.size(); ++i)
      add_counter(exits, {{"outcome", std::string(kOutcomeNames[i])}, {"tree", t.tree}},
                  double(t.exits[i]));
    add_histogram(durations, t);
  }
  out.push_back(std::move(processes));
  out.push_back(std::move(execs));
  out.push_back(std::move(exits));

  if (options_.prom_cnproc) {
    // prom-cnproc's series, so its dashboards keep working.
    MetricFamily state = family("process",
                                "prom-cnproc compatible: RUNNING is 1 while any process of the "
                                "tree lives, STOPPED is its complement.",
                                MetricType::Gauge);
    state.metric.reserve(s.trees.size() * 2);
    MetricFamily seconds = durations;
    seconds.name = "process_seconds";
    seconds.help = "prom-cnproc compatible: lifetimes of the processes that exited, per tree.";
    for (const TreeSample& t : s.trees) {
      const double running = t.processes > 0 ? 1 : 0;
      add_gauge(state, {{"state", "RUNNING"}, {"tree", t.tree}}, running);
      add_gauge(state, {{"state", "STOPPED"}, {"tree", t.tree}}, 1 - running);
    }
    out.push_back(std::move(durations));
    out.push_back(std::move(state));
    out.push_back(std::move(seconds));
  } else {
    out.push_back(std::move(durations));
  }

  const std::string source = s.source.empty() ? "none" : s.source;
  MetricFamily events = family("procwatch_events_total", "Events handled by the engine, by type.",
                               MetricType::Counter);
  for (const auto& [type, n] : s.events_by_type)
    add_counter(events, {{"source", source}, {"type", type}}, double(n));
  out.push_back(std::move(events));
  MetricFamily lost = family("procwatch_events_lost_total",
                             "Kernel events the source knows it missed.", MetricType::Counter);
  add_counter(lost, {{"source", source}}, double(s.events_lost));
  out.push_back(std::move(lost));
  out.push_back(single("procwatch_resyncs_total", "Rescans of /proc after lost events.",
                       MetricType::Counter, double(s.resyncs)));
  out.push_back(single("procwatch_incomplete_total",
                       "Processes reported with incomplete identity (gone before /proc was read).",
                       MetricType::Counter, double(s.incomplete)));
  out.push_back(single("procwatch_tracked_processes", "Processes in the process table.",
                       MetricType::Gauge, double(s.tracked_processes)));
  out.push_back(single("procwatch_trees", "Tree names currently exposed (including /other).",
                       MetricType::Gauge, double(s.trees.size())));
  out.push_back(single("procwatch_tree_overflow_total",
                       "Exec and exit events counted under tree=\"/other\" because --max-trees "
                       "names were already in use.",
                       MetricType::Counter, double(s.tree_overflow)));
  if (!options_.version.empty()) {
    MetricFamily info =
        family("procwatch_build_info", "Always 1; labels give the version and the event source.",
               MetricType::Gauge);
    add_gauge(info, {{"source", source}, {"version", options_.version}}, 1);
    out.push_back(std::move(info));
  }
  if (options_.self_metrics) {
    for (MetricFamily& f : process_self_metrics(options_.proc_root)) out.push_back(std::move(f));
  }
  return out;
}

std::string MetricsCollector::exposition() const { return serialize_text(Collect()); }

}  // namespace procwatch::metrics
