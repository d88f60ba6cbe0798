#include "export/metrics_collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ostream>
#include <streambuf>
#include <thread>
#include <unordered_map>
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

// The labels of one tree's series: `tree`, and `container` and `namespace` when enabled.
std::vector<ClientMetric::Label> tree_labels(const TreeSample& t,
                                             std::vector<ClientMetric::Label> first = {}) {
  if (t.container_labels) {
    first.push_back({"container", t.container});
    first.push_back({"namespace", t.pod_namespace});
  }
  first.push_back({"tree", t.tree});
  return first;
}

void add_histogram(MetricFamily& f, const TreeSample& t) {
  ClientMetric& m = add(f, tree_labels(t));
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

namespace {

// Appends to a string through a 16 KiB put area: TextSerializer writes label values one
// character at a time, and an ostringstream costs more per insert and copies the whole text
// at the end. The area is on the heap: HTTP worker threads have small stacks.
class AppendBuf : public std::streambuf {
 public:
  explicit AppendBuf(std::string& out) : out_(out), buf_(new char[kSize]) {
    setp(buf_.get(), buf_.get() + kSize);
  }
  ~AppendBuf() override { flush(); }

 protected:
  int_type overflow(int_type c) override {
    flush();
    if (!traits_type::eq_int_type(c, traits_type::eof())) sputc(char(c));
    return traits_type::not_eof(c);
  }
  int sync() override {
    flush();
    return 0;
  }

 private:
  void flush() {
    out_.append(pbase(), size_t(pptr() - pbase()));
    setp(buf_.get(), buf_.get() + kSize);
  }
  static constexpr size_t kSize = 16 * 1024;
  std::string& out_;
  std::unique_ptr<char[]> buf_;
};

void serialize_into(std::string& out, const std::vector<MetricFamily>& families) {
  AppendBuf buf(out);
  std::ostream os(&buf);
  prometheus::TextSerializer().Serialize(os, families);
}

}  // namespace

std::string serialize_text(const std::vector<MetricFamily>& families) {
  std::string out;
  serialize_into(out, families);
  return out;
}

namespace {

// The per-tree families, in exposition order, without metrics.
std::vector<MetricFamily> tree_families(bool prom_cnproc) {
  std::vector<MetricFamily> f;
  f.push_back(family("procwatch_tree_processes", "Live processes per tree.", MetricType::Gauge));
  f.push_back(family("procwatch_tree_execs_total",
                     "Execs per tree (counted under the tree of the exec'd process).",
                     MetricType::Counter));
  f.push_back(family("procwatch_tree_exits_total",
                     "Process exits per tree by outcome: success (exit 0), failure "
                     "(non-zero exit) or signal (killed).",
                     MetricType::Counter));
  f.push_back(family("procwatch_process_duration_seconds",
                     "Lifetimes of the processes that exited, per tree.", MetricType::Histogram));
  if (prom_cnproc) {
    // prom-cnproc's series, so its dashboards keep working.
    f.push_back(family("process",
                       "prom-cnproc compatible: RUNNING is 1 while any process of the tree "
                       "lives, STOPPED is its complement.",
                       MetricType::Gauge));
    f.push_back(family("process_seconds",
                       "prom-cnproc compatible: lifetimes of the processes that exited, per tree.",
                       MetricType::Histogram));
  }
  return f;
}

// Appends the series of one tree to families made by tree_families().
void add_tree(std::vector<MetricFamily>& f, const TreeSample& t) {
  add_gauge(f[0], tree_labels(t), double(t.processes));
  add_counter(f[1], tree_labels(t), double(t.execs));
  for (size_t i = 0; i < kOutcomeNames.size(); ++i)
    add_counter(f[2], tree_labels(t, {{"outcome", std::string(kOutcomeNames[i])}}),
                double(t.exits[i]));
  add_histogram(f[3], t);
  if (f.size() > 4) {
    const double running = t.processes > 0 ? 1 : 0;
    add_gauge(f[4], tree_labels(t, {{"state", "RUNNING"}}), running);
    add_gauge(f[4], tree_labels(t, {{"state", "STOPPED"}}), 1 - running);
    add_histogram(f[5], t);
  }
}

}  // namespace

// Each tree's lines, per family, as TextSerializer wrote them, kept while the tree's numbers
// stay the same: a scrape serializes only the trees that changed since the last one and
// copies the rest. Serializing is most of a scrape's cost (it writes label values a character
// at a time), and on a real machine most trees are quiet between two scrapes.
struct MetricsCollector::TreeTextCache {
  struct Entry {
    TreeSample sample;
    std::vector<std::string> lines;  // per tree family
    uint64_t generation = 0;
    bool fresh = false;  // lines need (re)serializing
  };
  std::mutex mu;  // one scrape renders at a time
  std::vector<std::string> headers;  // HELP and TYPE of each tree family
  std::unordered_map<std::string, Entry> entries;
  uint64_t generation = 0;
  size_t last_serialized = 0;
};

namespace {

// Serializes the series of each tree in [begin, end) into its lines, family by family,
// without the family headers. One Serialize() call for them all: each call costs a locale
// switch, which is more than a tree's lines. Every tree family gets one or more lines per tree,
// so the output is exactly one "# TYPE" header then lines, per (tree, family), in order.
void render_trees(MetricsCollector::TreeTextCache::Entry* const* begin,
                  MetricsCollector::TreeTextCache::Entry* const* end, bool prom_cnproc) {
  std::vector<MetricFamily> proto = tree_families(prom_cnproc);
  for (auto& fam : proto) fam.help.clear();  // no HELP line
  std::vector<MetricFamily> all;
  all.reserve(size_t(end - begin) * proto.size());
  for (auto* e = begin; e != end; ++e) {
    std::vector<MetricFamily> f = proto;
    add_tree(f, (*e)->sample);
    for (auto& fam : f) all.push_back(std::move(fam));
  }
  std::string text;
  serialize_into(text, all);
  size_t pos = 0;
  for (auto* e = begin; e != end; ++e) {
    (*e)->lines.assign(proto.size(), std::string());
    for (std::string& section : (*e)->lines) {
      const size_t body = text.find('\n', pos) + 1;  // past "# TYPE ..."
      const size_t next = text.find("\n#", body - 1);
      const size_t stop = next == std::string::npos ? text.size() : next + 1;
      section.assign(text, body, stop - body);
      pos = stop;
    }
  }
}

}  // namespace

MetricsCollector::MetricsCollector(CollectorOptions options)
    : options_(std::move(options)),
      snapshot_(std::make_shared<const MetricsSnapshot>()),
      cache_(std::make_unique<TreeTextCache>()) {
  for (const MetricFamily& f : tree_families(options_.prom_cnproc))
    cache_->headers.push_back(serialize_text({f}));
}

MetricsCollector::~MetricsCollector() = default;

void MetricsCollector::publish(std::shared_ptr<const MetricsSnapshot> snapshot) {
  std::lock_guard lk(mu_);
  snapshot_.swap(snapshot);
  // the old snapshot is released after the lock, outside the critical section
}

std::shared_ptr<const MetricsSnapshot> MetricsCollector::snapshot() const {
  std::lock_guard lk(mu_);
  return snapshot_;
}

std::vector<MetricFamily> MetricsCollector::other_families(const MetricsSnapshot& s) const {
  std::vector<MetricFamily> out;
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

std::vector<MetricFamily> MetricsCollector::Collect() const {
  const std::shared_ptr<const MetricsSnapshot> snap = snapshot();
  std::vector<MetricFamily> out = tree_families(options_.prom_cnproc);
  for (MetricFamily& f : out) f.metric.reserve(snap->trees.size() * 2);
  for (const TreeSample& t : snap->trees) add_tree(out, t);
  for (MetricFamily& f : other_families(*snap)) out.push_back(std::move(f));
  return out;
}

std::string MetricsCollector::exposition(const std::vector<MetricFamily>& extra) const {
  const std::shared_ptr<const MetricsSnapshot> snap = snapshot();
  const std::vector<TreeSample>& trees = snap->trees;
  TreeTextCache& c = *cache_;
  std::lock_guard lk(c.mu);
  const uint64_t gen = ++c.generation;

  // Mark what must be serialized, then serialize it on a few threads (entries are distinct,
  // and the map is not modified meanwhile).
  std::vector<TreeTextCache::Entry*> order, todo;
  order.reserve(trees.size());
  for (const TreeSample& t : trees) {
    TreeTextCache::Entry& e =
        c.entries[t.container_labels ? t.tree + '\x1f' + t.container + '\x1f' + t.pod_namespace
                                     : t.tree];
    if (e.lines.empty() || !(e.sample == t)) {
      e.sample = t;
      todo.push_back(&e);
    }
    e.generation = gen;
    order.push_back(&e);
  }
  c.last_serialized = todo.size();
  // A thread costs more than serializing a few trees.
  const size_t threads =
      todo.size() < 256 ? 1 : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  std::vector<std::thread> helpers;
  const size_t per = (todo.size() + threads - 1) / threads;
  for (size_t t = 0; t < threads; ++t) {
    auto* b = todo.data() + std::min(todo.size(), t * per);
    auto* e = todo.data() + std::min(todo.size(), (t + 1) * per);
    if (t + 1 < threads)
      helpers.emplace_back(render_trees, b, e, options_.prom_cnproc);
    else
      render_trees(b, e, options_.prom_cnproc);
  }
  for (auto& h : helpers) h.join();
  std::erase_if(c.entries, [gen](const auto& kv) { return kv.second.generation != gen; });

  std::string out;
  size_t bytes = 0;
  for (const auto* e : order)
    for (const auto& l : e->lines) bytes += l.size();
  out.reserve(bytes + 64 * 1024);
  for (size_t f = 0; f < c.headers.size(); ++f) {
    out += c.headers[f];
    for (const auto* e : order) out += e->lines[f];
  }
  std::vector<MetricFamily> rest = other_families(*snap);
  rest.insert(rest.end(), extra.begin(), extra.end());
  serialize_into(out, rest);
  return out;
}

size_t MetricsCollector::last_serialized_trees() const {
  std::lock_guard lk(cache_->mu);
  return cache_->last_serialized;
}

}  // namespace procwatch::metrics
