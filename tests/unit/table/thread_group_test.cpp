// Thread groups, exec from a thread and re-parenting, as the eBPF source (group_dead known)
// and the netlink source (group_dead unknown: the table asks group_alive) report them.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sources/replay/script.h"
#include "table/process_table.h"

namespace procwatch {
namespace {

using replay::Script;
using Kind = Change::Kind;

constexpr uint64_t kLater = 100'000'000'000;  // an end_batch "now" well past any settle time

// /proc stand-in: which groups are alive, which ppid /proc shows; counts hook calls.
struct FakeProc {
  std::set<int32_t> alive;
  std::map<int32_t, int32_t> ppids;
  int group_checks = 0;

  Enricher enricher() {
    Enricher e;
    e.read_ppid = [this](int32_t pid) -> std::optional<int32_t> {
      auto it = ppids.find(pid);
      if (it == ppids.end()) return std::nullopt;
      return it->second;
    };
    e.group_alive = [this](int32_t pid, uint64_t) {
      ++group_checks;
      return alive.count(pid) != 0;
    };
    return e;
  }
};

ProcInfo proc(int32_t pid, int32_t ppid) {
  ProcInfo p;
  p.key = {pid, uint64_t(pid)};
  p.ppid = ppid;
  p.exe = "/sbin/init";
  return p;
}

// Exit of thread `tid` of `pid` with exit(code); group_dead as the source knows it.
ExitEvent thread_exit(int32_t pid, int32_t tid, int code, std::optional<bool> group_dead,
                      int32_t parent = 1) {
  ExitEvent x{pid, tid, uint32_t(code & 0xff) << 8, 0, parent, parent};
  x.group_dead = group_dead;
  return x;
}

class ThreadGroupTest : public ::testing::Test {
 protected:
  ThreadGroupTest() : table(fake.enricher()) { table.load_scan({proc(1, 0)}); }

  std::vector<Change> play(Script& s) {
    std::vector<Change> all;
    for (const ProcEvent& ev : s.take()) {
      auto c = table.apply(ev);
      all.insert(all.end(), c.begin(), c.end());
    }
    return all;
  }
  // Two batch ends: what a settled engine would have emitted by now.
  std::vector<Change> settle() {
    auto a = table.end_batch(kLater);
    auto b = table.end_batch(2 * kLater);
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }
  static std::vector<Kind> kinds(const std::vector<Change>& cs) {
    std::vector<Kind> k;
    for (const auto& c : cs) k.push_back(c.kind);
    return k;
  }

  FakeProc fake;
  ProcessTable table;
};

// ---- leader exits first ------------------------------------------------------------------

TEST_F(ThreadGroupTest, LeaderExitsFirstNetlink) {
  Script s;
  s.fork(1, 100).thread(100, 101).fork(100, 200);
  play(s);
  fake.alive = {100};  // leader is a zombie, the worker runs
  s.event(thread_exit(100, 100, 0, std::nullopt));
  EXPECT_TRUE(play(s).empty());
  EXPECT_TRUE(settle().empty());
  ASSERT_NE(table.find(100), nullptr);  // still a live process
  EXPECT_EQ(table.find(200)->ppid, 100);
  EXPECT_EQ(table.children(100), std::vector<int32_t>{200});
  EXPECT_EQ(table.stats().leader_exits, 1u);

  fake.alive.clear();  // the worker is the last thread: the count says so, no /proc read
  s.event(thread_exit(100, 101, 7, std::nullopt));
  auto ch = play(s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit, Kind::Reparent}));
  EXPECT_EQ(ch[0].info.key.pid, 100);
  EXPECT_EQ(ch[0].exit_code, 7);
  EXPECT_EQ(table.find(100), nullptr);
  EXPECT_EQ(table.stats().exits_unknown, 0u);
  EXPECT_EQ(fake.group_checks, 1);
}

// The thread count can be too high (threads created during the start-up scan counted twice):
// /proc says the group is dead and the exit comes once no later thread exit did.
TEST_F(ThreadGroupTest, LeaderExitsFirstCountTooHighNetlink) {
  ProcInfo p = proc(100, 1);
  p.threads = 3;  // really 2
  table.load_scan({proc(1, 0), p});
  fake.alive = {100};
  Script s;
  s.event(thread_exit(100, 100, 0, std::nullopt));
  EXPECT_TRUE(play(s).empty());
  fake.alive.clear();
  s.event(thread_exit(100, 101, 7, std::nullopt));
  EXPECT_TRUE(play(s).empty());  // held: another thread exit may follow
  EXPECT_TRUE(table.end_batch(0).empty());
  auto ch = settle();
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit}));
  EXPECT_EQ(ch[0].exit_code, 7);
  EXPECT_EQ(table.pending(), 0u);
}

TEST_F(ThreadGroupTest, LeaderExitsFirstEbpf) {
  Script s;
  s.fork(1, 100).thread(100, 101).fork(100, 200);
  play(s);
  s.event(thread_exit(100, 100, 0, false));
  EXPECT_TRUE(play(s).empty());
  ASSERT_NE(table.find(100), nullptr);
  EXPECT_EQ(table.find(200)->ppid, 100);
  s.event(thread_exit(100, 101, 7, true));
  auto ch = play(s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit, Kind::Reparent}));
  EXPECT_EQ(ch[0].exit_code, 7);
  EXPECT_EQ(fake.group_checks, 0);  // the kernel said it: no /proc reads
}

// ---- exec from a non-leader thread -------------------------------------------------------

// The old leader's exit before the exec; the exec'd program already gone when it is checked.
TEST_F(ThreadGroupTest, ExecFromThreadExitFirstNetlink) {
  Script s;
  s.fork(1, 100).thread(100, 101).fork(100, 200);
  play(s);
  s.event(thread_exit(100, 100, 0, std::nullopt));  // de_thread killed the leader
  EXPECT_TRUE(play(s).empty());
  s.exec(100, "/usr/bin/true", {"true"});
  auto ch = play(s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exec}));
  EXPECT_EQ(ch[0].info.key.pid, 100);
  EXPECT_EQ(table.children(100), std::vector<int32_t>{200});
  EXPECT_TRUE(settle().empty());  // no exit for the old leader
  s.exit(100, 3);
  ch = play(s);
  auto later = settle();
  ch.insert(ch.end(), later.begin(), later.end());
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit, Kind::Reparent}));
  EXPECT_EQ(ch[0].exit_code, 3);
  EXPECT_EQ(ch[0].info.exe, "/usr/bin/true");
}

TEST_F(ThreadGroupTest, ExecFromThreadExecFirstNetlink) {
  Script s;
  s.fork(1, 100).thread(100, 101);
  play(s);
  fake.alive = {100};  // the exec'd image runs
  s.exec(100, "/usr/bin/true", {"true"}).event(thread_exit(100, 100, 0, std::nullopt));
  auto ch = play(s);
  auto later = settle();
  ch.insert(ch.end(), later.begin(), later.end());
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exec}));
  fake.alive.clear();
  s.exit(100, 0);
  ch = play(s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit}));
  EXPECT_EQ(ch[0].info.exe, "/usr/bin/true");
}

// Same, when the exec'd program ended before the old leader's exit was checked.
TEST_F(ThreadGroupTest, ExecFromThreadExecFirstProgramGoneNetlink) {
  Script s;
  s.fork(1, 100).thread(100, 101);
  play(s);
  s.exec(100, "/usr/bin/true", {"true"})
      .event(thread_exit(100, 100, 0, std::nullopt))
      .exit(100, 4);
  auto ch = play(s);
  auto later = settle();
  ch.insert(ch.end(), later.begin(), later.end());
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exec, Kind::Exit}));
  EXPECT_EQ(ch[1].exit_code, 4);  // the last exit's status, not the old leader's
}

TEST_F(ThreadGroupTest, ExecFromThreadEbpfEitherOrder) {
  for (bool exit_first : {true, false}) {
    SCOPED_TRACE(exit_first);
    const int32_t pid = exit_first ? 100 : 300, kid = pid + 100;
    Script s;
    s.fork(1, pid).thread(pid, pid + 1).fork(pid, kid);
    play(s);
    if (exit_first) s.event(thread_exit(pid, pid, 0, false));
    s.exec(pid, "/usr/bin/true", {"true"});
    if (!exit_first) s.event(thread_exit(pid, pid, 0, false));
    auto ch = play(s);
    ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exec}));
    EXPECT_EQ(table.find(kid)->ppid, pid);
    s.event(thread_exit(pid, pid, 0, true));
    ch = play(s);
    ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit, Kind::Reparent}));
    EXPECT_EQ(fake.group_checks, 0);
  }
}

// ---- several threads at once -------------------------------------------------------------

TEST_F(ThreadGroupTest, SeveralThreadsExitAtOnceNetlink) {
  Script s;
  s.fork(1, 100).thread(100, 101).thread(100, 102).thread(100, 103);
  play(s);
  EXPECT_EQ(table.find(100)->threads, 4u);
  // exit_group: workers and the leader in any order; /proc shows the group gone.
  s.event(thread_exit(100, 101, 9, std::nullopt))
      .event(thread_exit(100, 100, 9, std::nullopt))
      .event(thread_exit(100, 103, 9, std::nullopt))
      .event(thread_exit(100, 102, 9, std::nullopt));
  auto ch = play(s);  // the last one by the count
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit}));
  EXPECT_EQ(ch[0].exit_code, 9);
  EXPECT_EQ(table.stats().exits_unknown, 0u);
  EXPECT_EQ(table.stats().threads_unknown, 0u);
}

// Two threads dying at once both see signal->live == 0: one exit, no unknown exit.
TEST_F(ThreadGroupTest, DuplicateGroupDeadEbpf) {
  Script s;
  s.fork(1, 100, 42).thread(100, 101).thread(100, 102);
  play(s);
  ExitEvent a = thread_exit(100, 101, 1, true), b = thread_exit(100, 102, 1, true),
            c = thread_exit(100, 100, 1, false);
  a.start_time = b.start_time = c.start_time = 42;
  s.event(a).event(b).event(c);
  auto ch = play(s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit}));
  EXPECT_EQ(ch[0].exit_code, 1);
  EXPECT_EQ(table.stats().group_dead_duplicates, 1u);
  EXPECT_EQ(table.stats().exits_unknown, 0u);
  // A later process with the pid reused is a new one; its exit is no duplicate.
  s.fork(1, 100, 77);
  ExitEvent d = thread_exit(100, 100, 0, true);
  d.start_time = 77;
  s.event(d);
  EXPECT_EQ(kinds(play(s)), (std::vector<Kind>{Kind::Fork, Kind::Exit}));
}

// Single-threaded processes never cost a /proc read on exit.
TEST_F(ThreadGroupTest, SingleThreadedExitsAreNotChecked) {
  Script s;
  for (int32_t pid = 100; pid < 200; ++pid) s.fork(1, pid).exit(pid, 0);
  auto ch = play(s);
  EXPECT_EQ(ch.size(), 200u);
  EXPECT_EQ(fake.group_checks, 0);
  EXPECT_EQ(table.pending(), 0u);
}

// A pending group exit whose pid is forked again did die: it is reported first.
TEST_F(ThreadGroupTest, PendingExitFlushedByPidReuse) {
  Script s;
  s.fork(1, 100, 10).thread(100, 101).thread(100, 102);
  play(s);
  s.event(thread_exit(100, 101, 0, std::nullopt)).event(thread_exit(100, 100, 5, std::nullopt));
  EXPECT_TRUE(play(s).empty());
  s.fork(1, 100, 20);
  auto ch = play(s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit, Kind::Fork}));
  EXPECT_EQ(ch[0].exit_code, 5);
  EXPECT_EQ(ch[0].info.key.start_time, 10u);
  EXPECT_EQ(ch[1].info.key.start_time, 20u);
}

TEST_F(ThreadGroupTest, FinalEndBatchReportsPendingExits) {
  Script s;
  s.fork(1, 100).thread(100, 101);
  play(s);
  s.event(thread_exit(100, 100, 2, std::nullopt));
  play(s);
  auto ch = table.end_batch(0, /*final=*/true);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit}));
  EXPECT_EQ(ch[0].exit_code, 2);
}

// ---- re-parenting ------------------------------------------------------------------------

// eBPF reports the exit before exit_notify moves the children: /proc still shows the dying
// parent, then the subreaper.
TEST_F(ThreadGroupTest, SubreaperOrphanReReadAfterBatch) {
  Script s;
  s.fork(1, 50).fork(50, 100).fork(100, 200);
  play(s);
  fake.ppids[200] = 100;
  s.exit(100, 0);
  auto ch = play(s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit, Kind::Reparent}));
  EXPECT_EQ(table.find(200)->ppid, 1);  // for now
  fake.ppids[200] = 50;                 // exit_notify has run
  ch = table.end_batch(kLater);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Reparent}));
  EXPECT_EQ(ch[0].old_ppid, 1);
  EXPECT_EQ(table.find(200)->ppid, 50);
  EXPECT_EQ(table.children(50), (std::vector<int32_t>{200}));
  EXPECT_EQ(table.depth(200), 2);
  EXPECT_EQ(table.pending(), 0u);
}

TEST_F(ThreadGroupTest, OrphanReReadsAreBounded) {
  Script s;
  s.fork(1, 100).fork(100, 200);
  play(s);
  fake.ppids[200] = 100;  // never changes (a broken /proc)
  s.exit(100, 0);
  play(s);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(table.end_batch(kLater).empty());
  EXPECT_EQ(table.pending(), 0u);
  EXPECT_EQ(table.stats().orphan_rereads, 5u);
  EXPECT_EQ(table.find(200)->ppid, 1);
}

// The source's own later records name the real parent.
TEST_F(ThreadGroupTest, LaterRecordsCarryTheNewParent) {
  Script s;
  s.fork(1, 50).fork(50, 100).fork(100, 200).fork(100, 201);
  play(s);
  s.exit(100, 0);  // no ppid hook answer: both fall back to init
  play(s);
  ASSERT_EQ(table.find(200)->ppid, 1);
  ExecCapture cap;
  cap.ppid = 50;
  s.exec(200, "/bin/sleep", {"sleep", "1"}, cap);
  auto ch = play(s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exec}));
  EXPECT_EQ(ch[0].info.ppid, 50);
  EXPECT_EQ(table.depth(200), 2);
  s.event(thread_exit(201, 201, 0, true, /*parent=*/50));
  ch = play(s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit}));
  EXPECT_EQ(ch[0].info.ppid, 50);
}

// ---- exe deleted at exit -----------------------------------------------------------------

TEST_F(ThreadGroupTest, ExitReportsExeDeleted) {
  Script s;
  s.fork(1, 100).exec(100, "/tmp/sleep-copy", {"sleep-copy", "5"});
  play(s);
  EXPECT_FALSE(table.find(100)->exe_deleted);
  ExitEvent x = thread_exit(100, 100, 0, true);
  x.exe_deleted = true;
  s.event(x);
  auto ch = play(s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit}));
  EXPECT_TRUE(ch[0].info.exe_deleted);
  EXPECT_EQ(ch[0].info.exe, "/tmp/sleep-copy");
}

// ---- resync ------------------------------------------------------------------------------

TEST_F(ThreadGroupTest, ResyncClearsWhatWaited) {
  Script s;
  s.fork(1, 100).thread(100, 101).fork(1, 300).fork(300, 400);
  play(s);
  s.event(thread_exit(100, 100, 0, std::nullopt)).exit(300, 0);
  fake.ppids[400] = 300;
  play(s);
  EXPECT_EQ(table.pending(), 2u);  // a group exit and an orphan
  ProcInfo p400 = proc(400, 1);
  p400.key = table.find(400)->key;
  auto r = table.reconcile({proc(1, 0), p400});
  EXPECT_EQ(table.pending(), 0u);
  ASSERT_EQ(r.removed.size(), 1u);
  EXPECT_EQ(r.removed[0].key.pid, 100);
  EXPECT_TRUE(table.end_batch(kLater, true).empty());
}

}  // namespace
}  // namespace procwatch
