#include "export/tree_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sources/replay/script.h"

namespace procwatch::metrics {
namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

EventRecord exec_rec(std::string tree) {
  EventRecord r;
  r.event = "exec";
  r.proc.tree = std::move(tree);
  return r;
}

EventRecord exit_rec(std::string tree, int code, int sig = 0, double duration_s = 0.5,
                             bool code_known = true) {
  EventRecord r;
  r.event = "exit";
  r.proc.tree = std::move(tree);
  ExitDetails d;
  d.code_known = code_known;
  d.exit_code = code;
  d.signal = sig;
  d.duration_s = duration_s;
  r.exit = d;
  return r;
}

const TreeSample* find(const MetricsSnapshot& s, std::string_view tree) {
  for (const auto& t : s.trees)
    if (t.tree == tree) return &t;
  return nullptr;
}

std::vector<std::string> names(const MetricsSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& t : s.trees) out.push_back(t.tree);
  return out;
}

TEST(ClassifyExit, Table) {
  struct Case {
    int code, sig;
    bool known;
    std::optional<ExitOutcome> want;
  } cases[] = {
      {0, 0, true, ExitOutcome::Success},   {1, 0, true, ExitOutcome::Failure},
      {255, 0, true, ExitOutcome::Failure}, {-1, 9, true, ExitOutcome::Signal},
      {-1, 11, true, ExitOutcome::Signal},  {0, 0, false, std::nullopt},
      {-1, 15, false, ExitOutcome::Signal},
  };
  for (const auto& c : cases) {
    ExitDetails d;
    d.exit_code = c.code;
    d.signal = c.sig;
    d.code_known = c.known;
    EXPECT_EQ(classify_exit(d), c.want) << c.code << " " << c.sig << " " << c.known;
  }
}

TEST(DurationBucket, BoundsAreInclusiveUpperLimits) {
  EXPECT_EQ(duration_bucket(0), 0u);
  EXPECT_EQ(duration_bucket(0.001), 0u);
  EXPECT_EQ(duration_bucket(0.0011), 1u);
  EXPECT_EQ(duration_bucket(1), 6u);
  EXPECT_EQ(duration_bucket(86400), kDurationBuckets.size() - 1);
  EXPECT_EQ(duration_bucket(86400.5), kDurationBuckets.size());
  EXPECT_EQ(duration_bucket(1e12), kDurationBuckets.size());
  EXPECT_DOUBLE_EQ(kDurationBuckets.front(), 0.001);
  EXPECT_DOUBLE_EQ(kDurationBuckets.back(), 86400);
  EXPECT_TRUE(std::is_sorted(kDurationBuckets.begin(), kDurationBuckets.end()));
}

TEST(TreeMetrics, CountsExecsUnderTheExecdTreeSortedByName) {
  TreeMetrics m;
  m.observe(exec_rec("/sshd/b"), 0);
  m.observe(exec_rec("/sshd/a"), 0);
  m.observe(exec_rec("/sshd/b"), 0);
  EventRecord fork = exec_rec("/sshd/c");
  fork.event = "fork";  // not counted, and creates no tree
  m.observe(fork, 0);
  auto s = m.publish(std::vector<std::string_view>{}, 0);
  EXPECT_EQ(names(*s), (std::vector<std::string>{"/sshd/a", "/sshd/b"}));
  EXPECT_EQ(find(*s, "/sshd/a")->execs, 1u);
  EXPECT_EQ(find(*s, "/sshd/b")->execs, 2u);
  EXPECT_EQ(find(*s, "/sshd/b")->processes, 0u);
}

TEST(TreeMetrics, ExitsByOutcome) {
  TreeMetrics m;
  m.observe(exit_rec("/t", 0), 0);
  m.observe(exit_rec("/t", 0), 0);
  m.observe(exit_rec("/t", 3), 0);
  m.observe(exit_rec("/t", -1, 9), 0);
  m.observe(exit_rec("/u", 0, 0, 1, /*code_known=*/false), 0);
  auto s = m.publish(std::vector<std::string_view>{}, 0);
  const TreeSample* t = find(*s, "/t");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->exits[size_t(ExitOutcome::Success)], 2u);
  EXPECT_EQ(t->exits[size_t(ExitOutcome::Failure)], 1u);
  EXPECT_EQ(t->exits[size_t(ExitOutcome::Signal)], 1u);
  EXPECT_TRUE(t->ever_exited);
  const TreeSample* u = find(*s, "/u");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->exits, (std::array<uint64_t, 3>{0, 0, 0}));  // outcome unknown: not guessed
  EXPECT_TRUE(u->ever_exited);
  EXPECT_EQ(u->duration_count, 1u);  // the lifetime is still known
}

TEST(TreeMetrics, LifetimeHistogramIsCumulative) {
  TreeMetrics m;
  for (double d : {0.0005, 0.002, 0.7, 100000.0, 0.001}) m.observe(exit_rec("/h", 0, 0, d), 0);
  m.observe(exit_rec("/h", 0, 0, -1), 0);  // start unknown: no lifetime
  auto s = m.publish(std::vector<std::string_view>{}, 0);
  const TreeSample& h = *find(*s, "/h");
  EXPECT_EQ(h.duration_count, 5u);
  EXPECT_NEAR(h.duration_sum, 0.0005 + 0.002 + 0.7 + 100000 + 0.001, 1e-6);
  EXPECT_EQ(h.duration_buckets[0], 2u);      // le 0.001 (inclusive)
  EXPECT_EQ(h.duration_buckets[1], 3u);      // le 0.005
  EXPECT_EQ(h.duration_buckets[5], 3u);      // le 0.5
  EXPECT_EQ(h.duration_buckets[6], 4u);      // le 1
  EXPECT_EQ(h.duration_buckets.back(), 4u);  // le 86400: the 100000 s one is only in +Inf
  EXPECT_EQ(h.exits[size_t(ExitOutcome::Success)], 6u);
}

TEST(TreeMetrics, EmptyTreeNameIsUnnamed) {
  TreeMetrics m;
  m.observe(exec_rec(""), 0);
  auto s = m.publish(std::vector<std::string_view>{""}, 0);
  ASSERT_EQ(s->trees.size(), 1u);
  EXPECT_EQ(s->trees[0].tree, kUnnamedTree);
  EXPECT_EQ(s->trees[0].execs, 1u);
  EXPECT_EQ(s->trees[0].processes, 1u);
}

TEST(TreeMetrics, OverflowGoesToOtherAndIsCounted) {
  TreeMetricsOptions o;
  o.max_trees = 2;
  TreeMetrics m(o);
  m.observe(exec_rec("/a"), 0);
  m.observe(exec_rec("/b"), 0);
  m.observe(exec_rec("/c"), 0);
  m.observe(exit_rec("/d", 1), 0);
  m.observe(exec_rec("/a"), 0);  // an existing tree keeps its own series
  EXPECT_EQ(m.overflow(), 2u);
  // Live processes of a tree with no room count under /other too, without raising overflow.
  auto s = m.publish(std::vector<std::string_view>{"/e", "/a", "/c"}, 0);
  EXPECT_EQ(names(*s), (std::vector<std::string>{"/a", "/b", "/other"}));
  EXPECT_EQ(s->tree_overflow, 2u);
  EXPECT_EQ(s->tracked_processes, 3u);
  const TreeSample& other = *find(*s, "/other");
  EXPECT_EQ(other.execs, 1u);
  EXPECT_EQ(other.exits[size_t(ExitOutcome::Failure)], 1u);
  EXPECT_EQ(other.processes, 2u);
  EXPECT_EQ(find(*s, "/a")->execs, 2u);
  EXPECT_EQ(find(*s, "/a")->processes, 1u);
  EXPECT_EQ(m.publish(std::vector<std::string_view>{"/e"}, 0)->tree_overflow, 2u);
}

TEST(TreeMetrics, IdleTreesExpireAfterTtlAndFreeTheirSlot) {
  TreeMetricsOptions o;
  o.max_trees = 1;
  o.tree_ttl_ns = 10 * kSec;
  TreeMetrics m(o);
  m.observe(exec_rec("/a"), 0);
  EXPECT_EQ(names(*m.publish(std::vector<std::string_view>{}, 5 * kSec)),
            std::vector<std::string>{"/a"});
  EXPECT_EQ(names(*m.publish(std::vector<std::string_view>{}, 10 * kSec)),
            std::vector<std::string>{"/a"});  // exactly the TTL: still there
  EXPECT_TRUE(m.publish(std::vector<std::string_view>{}, 11 * kSec)->trees.empty());
  EXPECT_EQ(m.tree_count(), 0u);
  m.observe(exec_rec("/b"), 12 * kSec);  // the slot is free again: no overflow
  EXPECT_EQ(m.overflow(), 0u);
  auto s = m.publish(std::vector<std::string_view>{}, 12 * kSec);
  EXPECT_EQ(names(*s), std::vector<std::string>{"/b"});
  EXPECT_EQ(find(*s, "/b")->execs, 1u);
}

TEST(TreeMetrics, TreesWithLiveProcessesDoNotExpire) {
  TreeMetricsOptions o;
  o.tree_ttl_ns = 10 * kSec;
  TreeMetrics m(o);
  m.observe(exec_rec("/a"), 0);
  EXPECT_EQ(find(*m.publish(std::vector<std::string_view>{"/a"}, 100 * kSec), "/a")->processes, 1u);
  // Last seen alive at 100 s: expires only after 110 s.
  EXPECT_EQ(m.publish(std::vector<std::string_view>{}, 109 * kSec)->trees.size(), 1u);
  EXPECT_TRUE(m.publish(std::vector<std::string_view>{}, 111 * kSec)->trees.empty());
}

TEST(TreeMetrics, PublishCountsLiveProcessesFromTheTable) {
  Enricher e;
  e.name = [](const ProcInfo& self, const ProcInfo* parent) {
    return (parent ? parent->tree : std::string()) + "/" + self.comm;
  };
  ProcessTable table(e);
  replay::Script s;
  s.fork(1, 100).exec(100, "/bin/sh", {"sh"});
  s.fork(100, 101).exec(101, "/bin/sleep", {"sleep", "9"});
  s.fork(100, 102).exec(102, "/bin/sleep", {"sleep", "9"});
  s.fork(100, 103).exec(103, "/bin/true", {"true"}).exit(103, 0);
  TreeMetrics m;
  for (const ProcEvent& ev : s.events()) {
    for (const Change& c : table.apply(ev)) {
      EventRecord r;
      r.event = change_kind_name(c.kind);
      r.proc = c.info;
      if (c.kind == Change::Kind::Exit) r.exit = ExitDetails{};
      m.observe(r, 0);
    }
  }
  auto snap = m.publish(table, 0);
  EXPECT_EQ(snap->tracked_processes, table.size());
  EXPECT_EQ(snap->tracked_processes, 3u);
  const TreeSample* sleep = find(*snap, "/sh/sleep");
  ASSERT_NE(sleep, nullptr);
  EXPECT_EQ(sleep->processes, 2u);
  EXPECT_EQ(sleep->execs, 2u);
  ASSERT_NE(find(*snap, "/sh"), nullptr);
  EXPECT_EQ(find(*snap, "/sh")->processes, 1u);
  const TreeSample* t = find(*snap, "/sh/true");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->processes, 0u);
  EXPECT_EQ(t->exits[size_t(ExitOutcome::Success)], 1u);
}

TEST(NamedEventCounts, UsesEventNamesInVariantOrder) {
  EventCounts c{};
  c[0] = 5;
  c[1] = 7;
  c[c.size() - 1] = 2;
  auto named = named_event_counts(c);
  ASSERT_EQ(named.size(), c.size());
  EXPECT_EQ(named[0], (std::pair<std::string, uint64_t>{"fork", 5}));
  EXPECT_EQ(named[1], (std::pair<std::string, uint64_t>{"exec", 7}));
  EXPECT_EQ(named[2].first, "exit");
  EXPECT_EQ(named.back(), (std::pair<std::string, uint64_t>{"lost", 2}));
}

}  // namespace
}  // namespace procwatch::metrics
