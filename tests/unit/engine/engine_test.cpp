#include "engine/engine.h"
#include "export/event_format.h"
#include "sources/replay/script.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace procwatch {
namespace {

namespace fs = std::filesystem;

// A copy of the basic fixture /proc tree that a test changes while "events are lost".
class EngineResync : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("engine-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::copy(std::string(PROCWATCH_FIXTURES) + "/proc/basic", dir_,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A new process: a copy of `from` as `pid`, started at `start` ticks.
  void add_like(int from, int pid, uint64_t start) {
    fs::copy(dir_ / std::to_string(from), dir_ / std::to_string(pid),
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    std::ifstream in(dir_ / std::to_string(pid) / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::string rest = text.substr(text.rfind(')') + 2);
    std::vector<std::string> f;
    for (size_t at = 0; at < rest.size();) {
      size_t sp = rest.find(' ', at);
      if (sp == std::string::npos) sp = rest.size();
      f.push_back(rest.substr(at, sp - at));
      at = sp + 1;
    }
    f[19] = std::to_string(start);  // field 22 (starttime) is the 20th after the comm
    std::string out = std::to_string(pid) + text.substr(text.find(' '), text.rfind(')') + 2 - text.find(' '));
    for (size_t i = 0; i < f.size(); ++i) out += (i ? " " : "") + f[i];
    std::ofstream(dir_ / std::to_string(pid) / "stat") << out;
  }

  fs::path dir_;
};

TEST_F(EngineResync, GoneAndNewProcessesAreReportedAsResyncRecords) {
  procfs::ProcReader reader(dir_.string());
  Engine engine(reader, [](const ProcInfo& self, const ProcInfo*) { return "/" + self.comm; });
  std::vector<EventRecord> seen;
  engine.add_listener([&](const EventRecord& r) { seen.push_back(r); });
  engine.initial_scan();
  ASSERT_TRUE(engine.table().find(1400));
  ASSERT_FALSE(engine.table().find(1500));

  // While the kernel's events were lost, 1400 exited and 1500 started.
  fs::remove_all(dir_ / "1400");
  add_like(1300, 1500, 99000);
  ProcEvent lost;
  lost.body = LostEvent{3, "seq_gap"};
  engine.handle(lost);

  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].event, "lost");
  EXPECT_FALSE(seen[0].resync);
  EXPECT_EQ(seen[1].event, "exit");
  EXPECT_TRUE(seen[1].resync);
  EXPECT_EQ(seen[1].proc.key.pid, 1400);
  ASSERT_TRUE(seen[1].exit.has_value());
  EXPECT_FALSE(seen[1].exit->code_known) << "how it ended is unknown";
  EXPECT_EQ(seen[2].event, "exec");
  EXPECT_TRUE(seen[2].resync);
  EXPECT_EQ(seen[2].proc.key.pid, 1500);
  EXPECT_EQ(seen[2].proc.key.start_time, 99000u);
  EXPECT_FALSE(seen[2].proc.tree.empty()) << "named like any exec";
  EXPECT_FALSE(engine.table().find(1400));
  EXPECT_TRUE(engine.table().find(1500));
  EXPECT_EQ(engine.stats().resync_removed, 1u);
  EXPECT_EQ(engine.stats().resync_added, 1u);

  // The JSON forms say so; other records do not carry the key.
  std::string line;
  output::append_event_json_line(line, seen[2]);
  EXPECT_NE(line.find("\"resync\":true"), std::string::npos) << line;
  EXPECT_EQ(output::event_json(seen[2]).dump() + "\n", line);
  std::string plain;
  output::append_event_json_line(plain, seen[0]);
  EXPECT_EQ(plain.find("resync"), std::string::npos);
}

// The snapshot must say what the table says, field for field.
void expect_snapshot_is_table(const Engine& engine) {
  const auto snap = engine.snapshot();
  const std::vector<ProcInfo> table = engine.table().snapshot();
  ASSERT_EQ(snap->processes.size(), table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    const ProcInfo& a = *snap->processes[i];
    const ProcInfo& b = table[i];
    SCOPED_TRACE("pid " + std::to_string(b.key.pid));
    EXPECT_EQ(a.key.pid, b.key.pid);
    EXPECT_EQ(a.key.start_time, b.key.start_time);
    EXPECT_EQ(a.ppid, b.ppid);
    EXPECT_EQ(a.parent_start_time, b.parent_start_time);
    EXPECT_EQ(a.comm, b.comm);
    EXPECT_EQ(a.exe, b.exe);
    EXPECT_EQ(a.argv, b.argv);
    EXPECT_EQ(a.uid, b.uid);
    EXPECT_EQ(a.euid, b.euid);
    EXPECT_EQ(a.user, b.user);
    EXPECT_EQ(a.threads, b.threads);
    EXPECT_EQ(a.tree, b.tree);
  }
}

TreeNameFn comm_namer() {
  return [](const ProcInfo& self, const ProcInfo*) { return "/" + self.comm; };
}

TEST(EngineSnapshot, InitialScanIsPublished) {
  procfs::ProcReader reader(std::string(PROCWATCH_FIXTURES) + "/proc/basic");
  Engine engine(reader, comm_namer());
  EXPECT_TRUE(engine.snapshot()->processes.empty()) << "never null, empty before the scan";
  engine.initial_scan();
  const auto snap = engine.snapshot();
  EXPECT_FALSE(snap->processes.empty());
  EXPECT_EQ(snap->stats.snapshots, 1u);
  expect_snapshot_is_table(engine);
  for (size_t i = 1; i < snap->processes.size(); ++i)
    EXPECT_LT(snap->processes[i - 1]->key.pid, snap->processes[i]->key.pid);
}

TEST(EngineSnapshot, FollowsEveryKindOfChangeAndSharesWhatDidNotChange) {
  procfs::ProcReader reader(std::string(PROCWATCH_FIXTURES) + "/proc/basic");
  Engine engine(reader, comm_namer());
  engine.initial_scan();
  const auto first = engine.snapshot();

  replay::Script s;
  s.fork(1300, 5000).exec(5000, "/bin/sh", {"sh", "-c", "x"});
  s.fork(5000, 5001).exec(5001, "/usr/bin/sleep", {"sleep", "9"});
  s.fork(5001, 5002).thread(5001, 5003).comm(5001, "napper").uid(5002, 1000, 1000);
  s.exit(5000, 0);  // 5001 is orphaned: re-parented
  s.kill(5002, 9);
  for (const ProcEvent& ev : s.events()) engine.handle(ev);
  EXPECT_EQ(engine.snapshot(), first) << "published only by publish_snapshot() / run()";
  engine.publish_snapshot();
  const auto second = engine.snapshot();
  ASSERT_NE(second, first);
  EXPECT_GT(second->generation, first->generation);
  expect_snapshot_is_table(engine);

  // Processes no event touched are the same objects in both snapshots: a snapshot copies
  // what changed, not the table.
  size_t shared = 0;
  for (const auto& p : second->processes)
    for (const auto& q : first->processes) shared += p == q;
  EXPECT_EQ(shared, first->processes.size() - 1) << "all but 1300, whose child came and went";

  // Nothing changed: nothing published, the same pointer.
  engine.publish_snapshot();
  EXPECT_EQ(engine.snapshot(), second);
  EXPECT_EQ(engine.snapshot()->stats.snapshots, second->stats.snapshots);
}

TEST(EngineSnapshot, RunPublishesAndKeepsTheNewestEventTime) {
  procfs::ProcReader reader(std::string(PROCWATCH_FIXTURES) + "/proc/basic");
  Engine engine(reader, comm_namer());
  engine.initial_scan();
  EXPECT_EQ(engine.snapshot()->newest_event_realtime_ns, 0u);
  EventQueue queue(64);
  replay::Script s;
  s.fork(1300, 6000).exec(6000, "/bin/true", {"true"}).exit(6000, 0);
  s.fork(1300, 6001).exec(6001, "/bin/sleep", {"sleep", "1"});
  uint64_t newest = 0;
  for (ProcEvent ev : s.events()) {
    newest = std::max(newest, ev.ts_ns);
    queue.push(std::move(ev));
  }
  queue.close();
  engine.run(queue);
  const auto snap = engine.snapshot();
  expect_snapshot_is_table(engine);
  EXPECT_EQ(snap->newest_event_realtime_ns, engine.to_realtime(newest));
  EXPECT_EQ(snap->stats.events[EventBody(ExecEvent{}).index()], 2u);
  bool found = false;
  for (const auto& p : snap->processes) found = found || p->key.pid == 6001;
  EXPECT_TRUE(found);
}

TEST(EngineSnapshot, AnEngineNobodyReadsDoesNotPublishWhileRunning) {
  procfs::ProcReader reader(std::string(PROCWATCH_FIXTURES) + "/proc/basic");
  Engine engine(reader, comm_namer());
  engine.set_snapshot_every(std::chrono::milliseconds(0));
  engine.initial_scan();
  const auto scanned = engine.snapshot();
  EventQueue queue(64);
  replay::Script s;
  s.fork(1300, 6000).exec(6000, "/bin/sleep", {"sleep", "1"});
  for (ProcEvent ev : s.events()) queue.push(std::move(ev));
  queue.close();
  engine.run(queue);
  EXPECT_EQ(engine.snapshot(), scanned);
  EXPECT_TRUE(engine.table().find(6000));
  engine.publish_snapshot();  // asked for: published
  expect_snapshot_is_table(engine);
}

TEST_F(EngineResync, SnapshotAfterAResyncIsTheTable) {
  procfs::ProcReader reader(dir_.string());
  Engine engine(reader, comm_namer());
  engine.initial_scan();
  fs::remove_all(dir_ / "1400");
  add_like(1300, 1500, 99000);
  ProcEvent lost;
  lost.body = LostEvent{3, "seq_gap"};
  engine.handle(lost);
  engine.publish_snapshot();
  expect_snapshot_is_table(engine);
  EXPECT_EQ(engine.snapshot()->stats.resyncs, 1u);
}

}  // namespace
}  // namespace procwatch
