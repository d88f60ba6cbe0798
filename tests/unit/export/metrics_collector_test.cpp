// MetricsCollector: exposition built from snapshots; golden text on a replayed script through
// the real Engine; prom-cnproc series; process_* self metrics; promtool lint.
#include "export/metrics_collector.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/engine.h"
#include "sources/replay/script.h"

namespace procwatch::metrics {
namespace {

namespace fs = std::filesystem;

// promtool check metrics < text: exit status and its output.
std::pair<int, std::string> promtool_check(const std::string& text) {
  char path[] = "/tmp/pw-promtool-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return {-1, "mkstemp failed"};
  EXPECT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
  close(fd);
  const std::string cmd = std::string("/usr/bin/promtool check metrics < ") + path + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  unlink(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Lines of `text` starting with `prefix`.
std::vector<std::string> lines_with(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

// The daemon's path on a scripted workload: Script -> Engine (empty /proc, so every identity
// comes from the events) -> TreeMetrics listener -> snapshot -> collector. Tree names come from
// a trivial namer (parent tree + "/" + comm) so the golden file does not follow naming changes.
class ReplayedServe : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pw-emptyproc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    proc_root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(proc_root_); }

  std::shared_ptr<MetricsSnapshot> run(const replay::Script& script, TreeMetrics& m,
                                       uint64_t publish_at_ns) {
    procfs::ProcReader reader(proc_root_);
    Engine engine(reader, [](const ProcInfo& self, const ProcInfo* parent) {
      if (self.comm.empty()) return std::string();
      return (parent && !parent->tree.empty() ? parent->tree : std::string()) + "/" + self.comm;
    });
    engine.add_listener([&](const EventRecord& r) { m.observe(r, publish_at_ns); });
    for (const ProcEvent& ev : script.events()) engine.handle(ev);
    auto snap = m.publish(engine.table(), publish_at_ns);
    snap->source = "replay";
    snap->events_by_type = named_event_counts(engine.stats().events);
    snap->events_lost = engine.stats().lost;
    snap->resyncs = engine.stats().resyncs;
    snap->incomplete = engine.stats().incomplete;
    return snap;
  }

  static replay::Script workload() {
    replay::Script s;
    s.fork(1, 100).exec(100, "/bin/bash", {"bash", "deploy.sh"});
    s.fork(100, 101).exec(101, "/usr/bin/curl", {"curl", "-s", "http://x"});
    s.sleep(2'000'000).exit(101, 0);  // ~3 ms
    s.fork(100, 102).exec(102, "/bin/false", {"false"}).exit(102, 1);
    s.fork(100, 103).exec(103, "/bin/sleep", {"sleep", "60"});
    s.sleep(700'000'000).kill(103, 9);                           // ~0.7 s, killed
    s.fork(100, 104).exec(104, "/bin/sleep", {"sleep", "600"});  // still running
    s.fork(100, 105).comm(105, "worker").uid(105, 0);            // forked, never execs
    s.fork(1, 200).exec(200, "/usr/sbin/cron", {"cron"});
    s.fork(200, 201).exec(201, "/bin/sh", {"sh", "-c", "job"});
    s.sleep(90'000'000'000ull).exit(201, 2);  // 90 s, failed
    return s;
  }

  std::string proc_root_;
};

TEST_F(ReplayedServe, GoldenExposition) {
  TreeMetrics m;
  auto snap = run(workload(), m, 1000 * 1'000'000'000ull);
  CollectorOptions o;
  o.self_metrics = false;
  o.version = "0.0.0-test";
  MetricsCollector c(o);
  c.publish(snap);
  const std::string text = c.exposition();

  const fs::path golden = fs::path(PROCWATCH_EXPORT_GOLDEN) / "serve.prom";
  if (getenv("PROCWATCH_UPDATE_GOLDEN")) {
    std::ofstream(golden) << text;
    GTEST_SKIP() << "golden file rewritten: " << golden;
  }
  EXPECT_EQ(text, read_file(golden)) << "re-run with PROCWATCH_UPDATE_GOLDEN=1 after checking";

  // A few facts the golden text must show, so a wrong golden file cannot pass silently.
  EXPECT_TRUE(has_line(text, "procwatch_tree_execs_total{tree=\"/bash/curl\"} 1"));
  EXPECT_TRUE(
      has_line(text, "procwatch_tree_exits_total{outcome=\"signal\",tree=\"/bash/sleep\"} 1"));
  EXPECT_TRUE(
      has_line(text, "procwatch_tree_exits_total{outcome=\"failure\",tree=\"/cron/sh\"} 1"));
  EXPECT_TRUE(has_line(text, "procwatch_tree_processes{tree=\"/bash/sleep\"} 1"));
  // 105 forked and renamed itself: a comm change does not move it to another tree.
  EXPECT_TRUE(has_line(text, "procwatch_tree_processes{tree=\"/bash\"} 2"));
  EXPECT_TRUE(
      has_line(text, "procwatch_process_duration_seconds_bucket{tree=\"/cron/sh\",le=\"60\"} 0"));
  EXPECT_TRUE(
      has_line(text, "procwatch_process_duration_seconds_bucket{tree=\"/cron/sh\",le=\"600\"} 1"));
  EXPECT_TRUE(has_line(text, "procwatch_events_total{source=\"replay\",type=\"exec\"} 7"));
  EXPECT_TRUE(has_line(text, "procwatch_tracked_processes 4"));
  EXPECT_TRUE(has_line(text, "procwatch_build_info{source=\"replay\",version=\"0.0.0-test\"} 1"));
  EXPECT_TRUE(lines_with(text, "process_").empty());  // self metrics off

  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(ReplayedServe, PromCnprocSeries) {
  TreeMetrics m;
  auto snap = run(workload(), m, 1000 * 1'000'000'000ull);
  CollectorOptions o;
  o.self_metrics = false;
  o.prom_cnproc = true;
  MetricsCollector c(o);
  c.publish(snap);
  const std::string text = c.exposition();
  // /bash/sleep: one killed, one still running -> RUNNING.
  EXPECT_TRUE(has_line(text, "process{state=\"RUNNING\",tree=\"/bash/sleep\"} 1"));
  EXPECT_TRUE(has_line(text, "process{state=\"STOPPED\",tree=\"/bash/sleep\"} 0"));
  // /bash/curl exited and nothing of it lives -> STOPPED.
  EXPECT_TRUE(has_line(text, "process{state=\"RUNNING\",tree=\"/bash/curl\"} 0"));
  EXPECT_TRUE(has_line(text, "process{state=\"STOPPED\",tree=\"/bash/curl\"} 1"));
  EXPECT_EQ(lines_with(text, "process{").size(), 2 * snap->trees.size());
  // process_seconds mirrors procwatch_process_duration_seconds.
  const auto ours = lines_with(text, "procwatch_process_duration_seconds_");
  const auto theirs = lines_with(text, "process_seconds_");
  ASSERT_EQ(ours.size(), theirs.size());
  ASSERT_FALSE(ours.empty());
  for (size_t i = 0; i < ours.size(); ++i)
    EXPECT_EQ(ours[i].substr(std::string("procwatch_process_duration_seconds_").size()),
              theirs[i].substr(std::string("process_seconds_").size()));
  EXPECT_TRUE(has_line(text, "# TYPE process_seconds histogram"));
  EXPECT_TRUE(has_line(text, "# TYPE process gauge"));
  // No build_info without a version.
  EXPECT_TRUE(lines_with(text, "procwatch_build_info").empty());
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out;

  o.prom_cnproc = false;
  MetricsCollector plain(o);
  plain.publish(snap);
  const std::string p = plain.exposition();
  EXPECT_TRUE(lines_with(p, "process{").empty());
  EXPECT_TRUE(lines_with(p, "process_seconds").empty());
}

TEST_F(ReplayedServe, LostEventsAndResyncsAreCounted) {
  replay::Script s;
  s.fork(1, 100).exec(100, "/bin/sh", {"sh"}).lost(3, "enobufs");
  TreeMetrics m;
  auto snap = run(s, m, 0);
  MetricsCollector c(CollectorOptions{false, false, "", "/proc"});
  c.publish(snap);
  const std::string text = c.exposition();
  EXPECT_TRUE(has_line(text, "procwatch_events_lost_total{source=\"replay\"} 3"));
  EXPECT_TRUE(has_line(text, "procwatch_resyncs_total 1"));
  EXPECT_TRUE(has_line(text, "procwatch_events_total{source=\"replay\",type=\"lost\"} 1"));
  // The resync against an empty /proc removed the process: nothing is tracked any more.
  EXPECT_TRUE(has_line(text, "procwatch_tracked_processes 0"));
}

TEST(MetricsCollector, BeforeFirstPublishOnlySelfSeries) {
  CollectorOptions o;
  o.self_metrics = false;
  o.version = "1.2.3";
  MetricsCollector c(o);
  const std::string text = c.exposition();
  EXPECT_TRUE(lines_with(text, "procwatch_tree_processes{").empty());
  EXPECT_TRUE(has_line(text, "procwatch_trees 0"));
  EXPECT_TRUE(has_line(text, "procwatch_build_info{source=\"none\",version=\"1.2.3\"} 1"));
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out;
}

TEST(MetricsCollector, SelfMetricsFromProc) {
  auto fams = process_self_metrics("/proc");
  std::map<std::string, double> v;
  for (const auto& f : fams) {
    ASSERT_EQ(f.metric.size(), 1u) << f.name;
    v[f.name] = f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value
                                                          : f.metric[0].gauge.value;
  }
  EXPECT_GT(v["process_resident_memory_bytes"], 1e5);
  EXPECT_GE(v["process_virtual_memory_bytes"], v["process_resident_memory_bytes"]);
  EXPECT_GE(v["process_open_fds"], 3);  // stdin, stdout, stderr
  EXPECT_GT(v["process_max_fds"], 0);
  EXPECT_GE(v["process_cpu_seconds_total"], 0);
  const double now = double(time(nullptr));
  EXPECT_LE(v["process_start_time_seconds"], now + 1);
  EXPECT_GT(v["process_start_time_seconds"], now - 86400);  // tests start within a day

  // Missing files leave their series out (getrlimit needs no file).
  auto none = process_self_metrics("/nonexistent-proc");
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].name, "process_max_fds");
}

TEST(MetricsCollector, FullExpositionPassesPromtool) {
  TreeMetrics m;
  EventRecord r;
  r.event = "exec";
  r.proc.tree = "/a \"quoted\" \\ tree\nwith newline";  // escaping must survive the lint
  m.observe(r, 0);
  CollectorOptions o;
  o.prom_cnproc = true;
  o.version = "1";
  MetricsCollector c(o);
  auto snap = m.publish(std::vector<std::string_view>{}, 0);
  snap->source = "netlink";
  c.publish(snap);
  const std::string text = c.exposition();
  EXPECT_FALSE(lines_with(text, "process_resident_memory_bytes ").empty());
  EXPECT_FALSE(lines_with(text, "process_start_time_seconds ").empty());
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out << "\n" << text;
}

// --metrics.container-labels: series per (tree, container, namespace), the cap counting
// distinct label sets, and the exposition still lints.
TEST(MetricsCollector, ContainerLabels) {
  TreeMetricsOptions to;
  to.container_labels = true;
  to.max_trees = 3;
  TreeMetrics m(to);
  auto rec = [](std::string tree, std::string id, std::string name, std::string ns) {
    EventRecord r;
    r.event = "exec";
    r.proc.tree = std::move(tree);
    r.proc.container_id = std::move(id);
    r.proc.container_name = std::move(name);
    r.proc.pod_namespace = std::move(ns);
    return r;
  };
  m.observe(rec("/nginx", std::string(64, 'a'), "web", "shop"), 0);
  m.observe(rec("/nginx", std::string(64, 'a'), "web", "shop"), 0);
  m.observe(rec("/nginx", "", "", ""), 0);                        // the host
  m.observe(rec("/nginx", std::string(64, 'b'), "", ""), 0);      // unnamed: the short id
  m.observe(rec("/nginx", std::string(64, 'c'), "api", "prod"), 0);  // a 4th set: /other
  auto snap = m.publish(std::vector<std::string_view>{}, 0);
  EXPECT_EQ(snap->tree_overflow, 1u);
  CollectorOptions o;
  o.version = "1";
  MetricsCollector c(o);
  snap->source = "ebpf";
  c.publish(snap);
  const std::string text = c.exposition();
  EXPECT_NE(text.find("procwatch_tree_execs_total{container=\"web\",namespace=\"shop\","
                      "tree=\"/nginx\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("procwatch_tree_execs_total{container=\"\",namespace=\"\",tree=\"/nginx\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("procwatch_tree_execs_total{container=\"bbbbbbbbbbbb\",namespace=\"\","
                      "tree=\"/nginx\"} 1"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("api"), std::string::npos) << text;
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out << "\n" << text;

  TreeMetrics plain;  // off: one series per tree, no container labels
  plain.observe(rec("/nginx", std::string(64, 'a'), "web", "shop"), 0);
  plain.observe(rec("/nginx", "", "", ""), 0);
  auto ps = plain.publish(std::vector<std::string_view>{}, 0);
  ASSERT_EQ(ps->trees.size(), 1u);
  EXPECT_EQ(ps->trees[0].execs, 2u);
  EXPECT_FALSE(ps->trees[0].container_labels);
}

TEST(MetricsCollector, ConcurrentPublishAndScrape) {
  MetricsCollector c(CollectorOptions{false, false, "v", "/proc"});
  std::atomic<bool> done{false};
  std::thread publisher([&] {
    TreeMetrics m;
    for (int i = 0; i < 300; ++i) {
      m.observe(EventRecord{"exec", 0, ProcInfo{.tree = "/t" + std::to_string(i % 7)}},
                uint64_t(i));
      c.publish(m.publish(std::vector<std::string_view>{"/t1"}, uint64_t(i)));
    }
    done = true;
  });
  size_t scrapes = 0;
  while (!done || scrapes == 0) {
    const std::string text = c.exposition();
    EXPECT_FALSE(lines_with(text, "procwatch_trees ").empty());
    ++scrapes;
  }
  publisher.join();
  EXPECT_TRUE(has_line(c.exposition(), "procwatch_trees 7"));
}

}  // namespace
}  // namespace procwatch::metrics

namespace procwatch::metrics {
namespace {

TreeSample sample(std::string tree, uint64_t n) {
  TreeSample t;
  t.tree = std::move(tree);
  t.processes = n % 3;
  t.execs = n;
  t.exits = {n / 2, n % 5, n % 2};
  t.ever_exited = n > 0;
  for (size_t i = 0; i < t.duration_buckets.size(); ++i) t.duration_buckets[i] = n / 2 + i / 4;
  t.duration_count = n / 2 + 3;
  t.duration_sum = double(n) * 0.125;
  return t;
}

std::shared_ptr<MetricsSnapshot> snapshot_of(std::vector<TreeSample> trees) {
  auto s = std::make_shared<MetricsSnapshot>();
  s->trees = std::move(trees);
  s->source = "replay";
  s->events_by_type = {{"exec", 7}};
  return s;
}

// The kept per-tree text must never differ from a fresh serialization of Collect(): across
// changed, unchanged, added and removed trees, label values that need escaping, enough trees
// to be serialized on several threads, with and without prom-cnproc, with extra families.
TEST(MetricsCollectorCache, ExpositionEqualsSerializingCollect) {
  for (bool cnproc : {false, true}) {
    SCOPED_TRACE(cnproc);
    MetricsCollector c(CollectorOptions{cnproc, false, "9.9", "/proc"});
    prometheus::MetricFamily extra = family("procwatch_rule_ok", "A rule.", prometheus::MetricType::Gauge);
    add(extra, {{"rule", "r\"1\""}}).gauge.value = 1;

    std::vector<TreeSample> trees;
    for (int i = 0; i < 600; ++i) trees.push_back(sample("/t/" + std::to_string(i), uint64_t(i)));
    trees.push_back(sample("/odd/\"quoted\"\\back\nslash", 4));
    auto check = [&](size_t want_serialized) {
      c.publish(snapshot_of(trees));
      std::vector<prometheus::MetricFamily> fams = c.Collect();
      fams.push_back(extra);
      const std::string want = serialize_text(fams);
      EXPECT_EQ(c.exposition({extra}), want);
      EXPECT_EQ(c.last_serialized_trees(), want_serialized);
    };
    check(trees.size());  // first scrape: everything
    check(0);             // nothing changed
    trees[5].execs += 1;
    trees[600].duration_sum += 1;
    check(2);
    trees.erase(trees.begin() + 10);             // a tree expired
    trees.push_back(sample("/new/tree", 9));     // and one appeared
    check(1);
    for (auto& t : trees) t.processes += 1;      // all changed: several threads
    check(trees.size());
    auto [rc, out] = promtool_check(c.exposition({extra}));
    EXPECT_EQ(rc, 0) << out;
  }
}

}  // namespace
}  // namespace procwatch::metrics
