#include "table/process_table.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "sources/replay/script.h"

namespace procwatch {
namespace {

using replay::Script;
using Kind = Change::Kind;

std::string base(const std::string& path) {
  const size_t s = path.rfind('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

// A /proc stand-in: tests edit `procs` and `ppids`; counts calls.
struct FakeProc {
  std::map<int32_t, ProcInfo> procs;
  std::map<int32_t, int32_t> ppids;  // answers of read_ppid
  int reads = 0;
  int names = 0;

  Enricher enricher() {
    Enricher e;
    e.read = [this](int32_t pid, const ExecCapture*) -> std::optional<ProcInfo> {
      ++reads;
      auto it = procs.find(pid);
      if (it == procs.end()) return std::nullopt;
      return it->second;
    };
    e.read_ppid = [this](int32_t pid) -> std::optional<int32_t> {
      auto it = ppids.find(pid);
      if (it == ppids.end()) return std::nullopt;
      return it->second;
    };
    // Tree name: parent's tree + "/" + basename of exe (or comm).
    e.name = [this](const ProcInfo& self, const ProcInfo* parent) {
      ++names;
      const std::string leaf = self.exe.empty() ? self.comm : base(self.exe);
      return (parent ? parent->tree : std::string()) + "/" + leaf;
    };
    e.user_name = [](uint32_t uid) {
      return uid == 0 ? std::string("root") : "u" + std::to_string(uid);
    };
    return e;
  }
};

ProcInfo proc(int32_t pid, uint64_t start, int32_t ppid, std::string exe,
              std::vector<std::string> argv = {}) {
  ProcInfo p;
  p.key = {pid, start};
  p.ppid = ppid;
  p.exe = std::move(exe);
  p.comm = base(p.exe).substr(0, 15);
  p.argv = argv.empty() ? std::vector<std::string>{base(p.exe)} : std::move(argv);
  p.uid = p.euid = 1000;
  p.gid = p.egid = 1000;
  p.ids_known = true;
  p.user = "u1000";
  p.cgroup = "/user.slice";
  return p;
}

std::vector<Change> play(ProcessTable& t, const Script& s) {
  std::vector<Change> all;
  for (const ProcEvent& ev : s.events()) {
    auto c = t.apply(ev);
    all.insert(all.end(), c.begin(), c.end());
  }
  return all;
}

std::vector<Kind> kinds(const std::vector<Change>& cs) {
  std::vector<Kind> k;
  for (const auto& c : cs) k.push_back(c.kind);
  return k;
}

class TableTest : public ::testing::Test {
 protected:
  TableTest() : table(fake.enricher()) {
    fake.procs[1] = proc(1, 1, 0, "/sbin/init");
    table.load_scan({fake.procs[1]});
  }
  FakeProc fake;
  ProcessTable table;
};

TEST_F(TableTest, LoadScanNamesInit) {
  ASSERT_NE(table.find(1), nullptr);
  EXPECT_EQ(table.find(1)->tree, "/init");
  EXPECT_EQ(table.size(), 1u);
}

TEST_F(TableTest, ForkCopiesParentIdentity) {
  Script s;
  s.fork(1, 100, 500);
  auto ch = play(table, s);
  ASSERT_EQ(kinds(ch), std::vector<Kind>{Kind::Fork});
  const ProcInfo* c = table.find(100);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->key, (ProcKey{100, 500}));
  EXPECT_EQ(c->ppid, 1);
  EXPECT_EQ(c->parent_start_time, 1u);
  EXPECT_EQ(c->exe, "/sbin/init");
  EXPECT_EQ(c->argv, std::vector<std::string>{"init"});
  EXPECT_EQ(c->cgroup, "/user.slice");
  EXPECT_EQ(c->user, "u1000");
  EXPECT_EQ(c->tree, "/init");
  EXPECT_EQ(c->start_ns, s.events()[0].ts_ns);
  EXPECT_EQ(c->threads, 1u);
  EXPECT_FALSE(c->incomplete);
  EXPECT_EQ(ch[0].info.key, c->key);
  EXPECT_EQ(table.children(1), std::vector<int32_t>{100});
}

TEST_F(TableTest, ForkWithoutStartTimeDerivesKeyAndExecAdoptsRealOne) {
  Script s;
  s.fork(1, 100, Script::kNoStart);
  play(table, s);
  const uint64_t derived = table.ticks_from_mono_ns(s.events()[0].ts_ns);
  ASSERT_NE(table.find(ProcKey{100, derived}), nullptr);
  // The exec's capture carries the real start time: same process, key updated, no reuse.
  s.take();
  s.exec(100, "/bin/true", {"true"}, ExecCapture{.start_time = 777});
  auto ch = play(table, s);
  EXPECT_EQ(kinds(ch), std::vector<Kind>{Kind::Exec});
  EXPECT_NE(table.find(ProcKey{100, 777}), nullptr);
  EXPECT_EQ(table.stats().stale_replaced, 0u);
}

TEST_F(TableTest, PidReuseAfterLostExitIsTwoIdentities) {
  Script s;
  s.fork(1, 100, 500).exec(100, "/bin/sleep", {"sleep", "1"});
  play(table, s);
  ASSERT_NE(table.find(ProcKey{100, 500}), nullptr);
  // Exit of 100 lost; pid 100 is handed out again.
  s.take();
  s.fork(1, 100, 900);
  auto ch = play(table, s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Replaced, Kind::Fork}));
  EXPECT_EQ(ch[0].info.key, (ProcKey{100, 500}));
  EXPECT_EQ(ch[0].info.exe, "/bin/sleep");
  EXPECT_EQ(ch[1].info.key, (ProcKey{100, 900}));
  EXPECT_EQ(ch[1].info.exe, "/sbin/init");  // the new child: parent's image, not sleep's
  EXPECT_EQ(table.find(ProcKey{100, 500}), nullptr);
  EXPECT_NE(table.find(ProcKey{100, 900}), nullptr);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.stats().stale_replaced, 1u);
}

TEST_F(TableTest, PidReuseSeenFirstByExecReplaces) {
  Script s;
  s.fork(1, 100, 500).exec(100, "/bin/sleep", {"sleep"});
  play(table, s);
  // Fork and exit of the old 100 lost; a new 100 (start 900) execs.
  fake.procs[100] = proc(100, 900, 1, "/usr/bin/top");
  s.take();
  s.exec_raw(100, ExecCapture{.start_time = 900, .exe = "/usr/bin/top"});
  auto ch = play(table, s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Replaced, Kind::Exec}));
  EXPECT_EQ(ch[0].info.exe, "/bin/sleep");
  EXPECT_EQ(ch[1].info.key, (ProcKey{100, 900}));
  EXPECT_EQ(table.find(100)->exe, "/usr/bin/top");
  EXPECT_EQ(table.stats().stale_replaced, 1u);
}

TEST_F(TableTest, StaleEntryChildrenAreReparented) {
  Script s;
  s.fork(1, 100, 500).fork(100, 200, 510);
  play(table, s);
  fake.ppids[200] = 1;
  s.take();
  s.fork(1, 100, 900);  // the old 100 died unseen
  auto ch = play(table, s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Replaced, Kind::Reparent, Kind::Fork}));
  EXPECT_EQ(table.find(200)->ppid, 1);
  EXPECT_TRUE(table.children(100).empty());
}

TEST_F(TableTest, ReconcileRemovesLostExitsAndAddsMissedStarts) {
  Script s;
  s.fork(1, 100, 500).fork(1, 101, 501).fork(101, 102, 502);
  play(table, s);
  ASSERT_EQ(table.size(), 4u);
  // 101 exited unseen (102 went to init), 103 started unseen, 100 exec'd unseen.
  std::vector<ProcInfo> scan = {fake.procs[1], proc(100, 500, 1, "/usr/bin/vim"),
                                proc(102, 502, 1, "/sbin/init"), proc(103, 600, 100, "/bin/ls")};
  auto r = table.reconcile(scan);
  ASSERT_EQ(r.removed.size(), 1u);
  EXPECT_EQ(r.removed[0].key, (ProcKey{101, 501}));
  ASSERT_EQ(r.added.size(), 1u);
  EXPECT_EQ(r.added[0].key, (ProcKey{103, 600}));
  EXPECT_EQ(r.added[0].tree, "/init/vim/ls");  // named after its refreshed parent
  EXPECT_EQ(r.reparented, 1u);
  EXPECT_EQ(r.refreshed, 1u);
  EXPECT_EQ(table.size(), 4u);
  EXPECT_EQ(table.find(101), nullptr);
  EXPECT_EQ(table.find(102)->ppid, 1);
  EXPECT_EQ(table.find(100)->exe, "/usr/bin/vim");
  EXPECT_EQ(table.find(100)->start_ns, s.events()[0].ts_ns);  // our precise start kept
  EXPECT_EQ(table.children(1), (std::vector<int32_t>{100, 102}));
  EXPECT_EQ(table.children(100), std::vector<int32_t>{103});
  EXPECT_EQ(table.depth(103), 2);
}

TEST_F(TableTest, ReconcileDropsReusedPid) {
  Script s;
  s.fork(1, 100, 500);
  play(table, s);
  auto r = table.reconcile({fake.procs[1], proc(100, 999, 1, "/bin/x")});
  ASSERT_EQ(r.removed.size(), 1u);
  EXPECT_EQ(r.removed[0].key.start_time, 500u);
  ASSERT_EQ(r.added.size(), 1u);
  EXPECT_EQ(table.find(100)->key.start_time, 999u);
}

TEST_F(TableTest, OrphanTakesHookParent) {
  Script s;
  s.fork(1, 50, 400).fork(1, 100, 500).fork(100, 200, 510);
  play(table, s);
  fake.ppids[200] = 50;  // a subreaper
  s.take();
  s.exit(100, 0);
  auto ch = play(table, s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit, Kind::Reparent}));
  EXPECT_EQ(ch[1].info.key.pid, 200);
  EXPECT_EQ(ch[1].old_ppid, 100);
  EXPECT_EQ(ch[1].info.ppid, 50);
  EXPECT_EQ(ch[1].info.parent_start_time, 400u);
  EXPECT_EQ(table.children(50), std::vector<int32_t>{200});
  EXPECT_EQ(table.depth(200), 2);
  EXPECT_EQ(table.stats().reparented, 1u);
}

TEST_F(TableTest, OrphanFallsBackToInit) {
  Script s;
  s.fork(1, 100, 500).fork(100, 200, 510).fork(100, 201, 511);
  play(table, s);
  fake.ppids[201] = 100;  // hook still sees the dying parent: ignored
  s.take();
  s.exit(100);
  auto ch = play(table, s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Exit, Kind::Reparent, Kind::Reparent}));
  EXPECT_EQ(table.find(200)->ppid, 1);
  EXPECT_EQ(table.find(201)->ppid, 1);
  EXPECT_EQ(table.find(200)->parent_start_time, 1u);
  EXPECT_EQ(table.children(1), (std::vector<int32_t>{200, 201}));
}

TEST_F(TableTest, ThreadsAreCountedNotTracked) {
  Script s;
  s.fork(1, 100, 500).thread(100, 101).thread(100, 102);
  auto ch = play(table, s);
  EXPECT_EQ(kinds(ch), std::vector<Kind>{Kind::Fork});
  EXPECT_EQ(table.find(100)->threads, 3u);
  EXPECT_EQ(table.find(101), nullptr);
  EXPECT_EQ(table.size(), 2u);
  s.take();
  s.thread_exit(100, 101);
  EXPECT_TRUE(play(table, s).empty());
  EXPECT_EQ(table.find(100)->threads, 2u);
  EXPECT_EQ(table.size(), 2u);
  // Extra thread exits never take the count below the main thread.
  s.take();
  s.thread_exit(100, 102).thread_exit(100, 103);
  play(table, s);
  EXPECT_EQ(table.find(100)->threads, 1u);
  s.take();
  s.thread(555, 556);
  play(table, s);
  EXPECT_EQ(table.stats().threads_unknown, 1u);
}

TEST_F(TableTest, ReExecRefreshesIdentityEachTime) {
  Script s;
  s.fork(1, 100, 500);
  s.exec(100, "/bin/sh", {"sh", "x.sh"});
  // `exec /usr/bin/env python3 x.py` in the script, then env execs python3.
  s.exec(100, "/usr/bin/env", {"env", "python3", "x.py"});
  s.exec(100, "/usr/bin/python3.11", {"python3", "x.py"});
  std::vector<Change> ch;
  std::vector<std::string> trees, exes;
  std::vector<std::vector<std::string>> argvs;
  for (const ProcEvent& ev : s.events()) {
    for (auto& c : table.apply(ev)) {
      if (c.kind != Kind::Exec) continue;
      trees.push_back(c.info.tree);
      exes.push_back(c.info.exe);
      argvs.push_back(c.info.argv);
      EXPECT_EQ(c.info.key, (ProcKey{100, 500}));
      EXPECT_EQ(c.info.ppid, 1);
      EXPECT_EQ(c.info.start_ns, s.events()[0].ts_ns);
      // Enricher has nothing for 100: capture kept but marked incomplete.
      EXPECT_TRUE(c.info.incomplete);
    }
  }
  EXPECT_EQ(exes, (std::vector<std::string>{"/bin/sh", "/usr/bin/env", "/usr/bin/python3.11"}));
  EXPECT_EQ(trees, (std::vector<std::string>{"/init/sh", "/init/env", "/init/python3.11"}));
  EXPECT_EQ(argvs.back(), (std::vector<std::string>{"python3", "x.py"}));
  EXPECT_EQ(table.find(100)->comm, "python3.11");
  EXPECT_EQ(table.size(), 2u);
}

TEST_F(TableTest, ReExecWithEnricherTakesFreshIds) {
  Script s;
  s.fork(1, 100, 500).exec(100, "/bin/sh", {"sh"});
  play(table, s);
  ProcInfo su = proc(100, 500, 1, "/usr/bin/su");
  su.uid = 1000;
  su.euid = 0;
  su.user = "u1000";
  su.context = "unconfined";
  fake.procs[100] = su;
  s.take();
  s.exec(100, "/usr/bin/su", {"su"});
  auto ch = play(table, s);
  ASSERT_EQ(ch.size(), 1u);
  EXPECT_FALSE(ch[0].info.incomplete);
  EXPECT_EQ(ch[0].info.euid, 0u);
  EXPECT_EQ(ch[0].info.context, "unconfined");
  EXPECT_EQ(ch[0].info.tree, "/init/su");
}

TEST_F(TableTest, ExecBeforeForkSeen) {
  fake.procs[300] = proc(300, 800, 1, "/usr/bin/curl", {"curl", "-s", "x"});
  // The exec (CPU 1) is delivered before the fork (CPU 0) that happened earlier.
  Script s;
  s.fork(1, 300, 800).exec(300, "/usr/bin/curl", {"curl", "-s", "x"});
  std::vector<ProcEvent> evs = s.take();
  std::swap(evs[0], evs[1]);
  auto ch = table.apply(evs[0]);
  ASSERT_EQ(kinds(ch), std::vector<Kind>{Kind::Exec});
  EXPECT_EQ(ch[0].info.key, (ProcKey{300, 800}));
  EXPECT_EQ(ch[0].info.ppid, 1);
  EXPECT_EQ(ch[0].info.parent_start_time, 1u);
  EXPECT_EQ(ch[0].info.tree, "/init/curl");
  EXPECT_FALSE(ch[0].info.incomplete);
  ch = table.apply(evs[1]);  // the late fork keeps what the exec learned
  ASSERT_EQ(kinds(ch), std::vector<Kind>{Kind::Fork});
  EXPECT_EQ(table.find(300)->exe, "/usr/bin/curl");
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.stats().stale_replaced, 0u);
}

TEST_F(TableTest, ExecBeforeForkWithoutStartTimes) {
  // Nothing readable, no start times: the late fork still does not clobber the exec.
  Script s;
  s.fork(1, 300, Script::kNoStart).exec_raw(300, ExecCapture{.exe = "/bin/echo"});
  std::vector<ProcEvent> evs = s.take();
  table.apply(evs[1]);
  table.apply(evs[0]);
  EXPECT_EQ(table.find(300)->exe, "/bin/echo");
  EXPECT_EQ(table.stats().stale_replaced, 0u);
}

TEST_F(TableTest, ExitOfUnknownPid) {
  Script s;
  s.exit_raw(4242, 1 << 8);
  auto ch = play(table, s);
  ASSERT_EQ(ch.size(), 1u);
  EXPECT_EQ(ch[0].kind, Kind::Exit);
  EXPECT_FALSE(ch[0].known);
  EXPECT_TRUE(ch[0].info.incomplete);
  EXPECT_EQ(ch[0].info.key.pid, 4242);
  EXPECT_EQ(ch[0].exit_code, 1);
  EXPECT_EQ(ch[0].duration_s, 0);
  EXPECT_EQ(table.stats().exits_unknown, 1u);
  EXPECT_EQ(table.size(), 1u);
}

TEST_F(TableTest, ExitWithUnknownStatusHasNoCode) {
  Script s;
  s.fork(1, 300);
  ExitEvent x{300, 300, 0, 17, 1, 1};
  x.code_known = false;  // as the procfs poller reports a vanished process
  s.event(x);
  auto ch = play(table, s);
  ASSERT_EQ(ch.back().kind, Kind::Exit);
  EXPECT_FALSE(ch.back().exit_code.has_value());
  EXPECT_EQ(ch.back().exit_signal, 0);
}

struct ExitCase {
  const char* name;
  uint32_t raw;
  std::optional<int> code;
  int signal;
  bool core;
};

class ExitDecodeTest : public ::testing::TestWithParam<ExitCase> {};

TEST_P(ExitDecodeTest, DecodesStatusAndDuration) {
  const ExitCase& tc = GetParam();
  ProcessTable t;
  Script s(5'000'000'000, 250'000'000);  // events 0.25 s apart
  s.fork(0, 100, 500).sleep(750'000'000).exit_raw(100, tc.raw);
  auto ch = play(t, s);
  ASSERT_EQ(ch.size(), 2u);
  const Change& c = ch[1];
  EXPECT_EQ(c.kind, Kind::Exit);
  EXPECT_TRUE(c.known);
  EXPECT_EQ(c.exit_code, tc.code);
  EXPECT_EQ(c.exit_signal, tc.signal);
  EXPECT_EQ(c.core_dumped, tc.core);
  EXPECT_DOUBLE_EQ(c.duration_s, 1.0);
  EXPECT_EQ(t.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ExitDecodeTest,
    ::testing::Values(ExitCase{"ok", 0, 0, 0, false}, ExitCase{"code3", 3 << 8, 3, 0, false},
                      ExitCase{"code255", 255 << 8, 255, 0, false},
                      ExitCase{"sigkill", 9, std::nullopt, 9, false},
                      ExitCase{"sigsegv_core", 11 | 0x80, std::nullopt, 11, true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(TableTest, CoredumpEventMarksExit) {
  Script s;
  s.fork(1, 100, 500).coredump(100).kill(100, 6);
  auto ch = play(table, s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Fork, Kind::Coredump, Kind::Exit}));
  EXPECT_TRUE(ch[2].core_dumped);
  EXPECT_EQ(ch[2].exit_signal, 6);
  EXPECT_FALSE(ch[2].exit_code.has_value());
}

TEST_F(TableTest, EnricherNothingKeepsCaptureIncomplete) {
  Script s;
  s.fork(1, 100, 500).exec(100, "/tmp/a.out", {"./a.out", "-v"});
  auto ch = play(table, s);
  ASSERT_EQ(ch.size(), 2u);
  const ProcInfo& i = ch[1].info;
  EXPECT_TRUE(i.incomplete);
  EXPECT_EQ(i.exe, "/tmp/a.out");
  EXPECT_EQ(i.argv, (std::vector<std::string>{"./a.out", "-v"}));
  EXPECT_EQ(i.comm, "a.out");
  EXPECT_EQ(i.cgroup, "/user.slice");  // not image-bound: kept from the fork
  EXPECT_GE(table.stats().incomplete, 1u);
}

TEST_F(TableTest, ExecWithNoCaptureAndNoEnricherClearsOldImage) {
  Script s;
  s.fork(1, 100, 500).exec_raw(100, ExecCapture{});
  auto ch = play(table, s);
  const ProcInfo& i = ch[1].info;
  EXPECT_TRUE(i.incomplete);
  EXPECT_EQ(i.exe, "");  // not init's: that image is gone
  EXPECT_TRUE(i.argv.empty());
}

TEST_F(TableTest, CaptureWinsOverEnricher) {
  ProcInfo later = proc(100, 500, 1, "/usr/bin/python3", {"python3", "y.py"});
  fake.procs[100] = later;  // what /proc says by the time the engine reads it
  Script s;
  s.fork(1, 100, 500).exec(100, "/bin/sh", {"sh", "x.sh"});
  auto ch = play(table, s);
  const ProcInfo& i = ch[1].info;
  EXPECT_EQ(i.exe, "/bin/sh");
  EXPECT_EQ(i.argv, (std::vector<std::string>{"sh", "x.sh"}));
  EXPECT_EQ(i.comm, "sh");
  EXPECT_FALSE(i.incomplete);
}

TEST_F(TableTest, EnricherReadingAnotherProcessIsIgnored) {
  fake.procs[100] = proc(100, 999, 1, "/usr/bin/other");  // pid reused before the read
  Script s;
  s.fork(1, 100, 500).exec(100, "/bin/sh", {"sh"});
  auto ch = play(table, s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Fork, Kind::Exec}));
  EXPECT_EQ(ch[1].info.key, (ProcKey{100, 500}));
  EXPECT_EQ(ch[1].info.exe, "/bin/sh");
  EXPECT_TRUE(ch[1].info.incomplete);
}

TEST_F(TableTest, UidGidCommEvents) {
  Script s;
  s.fork(1, 100, 500).uid(100, 0).gid(100, 5, 6).comm(100, "worker");
  auto ch = play(table, s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Fork, Kind::Uid, Kind::Gid, Kind::Comm}));
  EXPECT_EQ(ch[1].info.uid, 0u);
  EXPECT_EQ(ch[1].info.euid, 0u);
  EXPECT_EQ(ch[1].info.user, "root");
  EXPECT_EQ(ch[2].info.gid, 5u);
  EXPECT_EQ(ch[2].info.egid, 6u);
  EXPECT_EQ(ch[3].old_comm, "init");
  EXPECT_EQ(table.find(100)->comm, "worker");
  EXPECT_EQ(table.find(100)->user, "root");
}

TEST_F(TableTest, SidPtraceLostAreReported) {
  Script s;
  s.fork(1, 100, 500).sid(100).ptrace(100, 1).lost(7, "seq_gap");
  auto ch = play(table, s);
  ASSERT_EQ(kinds(ch), (std::vector<Kind>{Kind::Fork, Kind::Sid, Kind::Ptrace, Kind::Lost}));
  EXPECT_EQ(ch[2].tracer_pid, 1);
  EXPECT_EQ(ch[3].lost_count, 7u);
  EXPECT_EQ(ch[3].lost_reason, "seq_gap");
  EXPECT_EQ(table.stats().lost_events, 7u);
  EXPECT_EQ(table.size(), 2u);
}

TEST_F(TableTest, EventForUnknownPidLearnsFromEnricher) {
  fake.procs[700] = proc(700, 650, 1, "/usr/sbin/sshd");
  Script s;
  s.uid(700, 0).uid(701, 0);
  auto ch = play(table, s);
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_TRUE(ch[0].known);
  EXPECT_EQ(ch[0].info.exe, "/usr/sbin/sshd");
  EXPECT_EQ(ch[0].info.tree, "/init/sshd");
  EXPECT_FALSE(ch[1].known);  // unreadable: reported, not stored
  EXPECT_EQ(ch[1].info.uid, 0u);
  EXPECT_NE(table.find(700), nullptr);
  EXPECT_EQ(table.find(701), nullptr);
  EXPECT_EQ(table.stats().learned, 1u);
}

TEST_F(TableTest, ForkOfUnknownParentLearnsParent) {
  fake.procs[40] = proc(40, 30, 1, "/usr/sbin/cron");
  Script s;
  s.fork(40, 41, 600);
  auto ch = play(table, s);
  ASSERT_EQ(ch.size(), 1u);
  EXPECT_EQ(ch[0].info.exe, "/usr/sbin/cron");
  EXPECT_EQ(ch[0].info.parent_start_time, 30u);
  EXPECT_EQ(table.depth(41), 2);
}

TEST_F(TableTest, ForkOfUnreadableParentReadsChild) {
  fake.procs[41] = proc(41, 600, 40, "/bin/cat");
  Script s;
  s.fork(40, 41, 600).fork(42, 43, 601);
  auto ch = play(table, s);
  ASSERT_EQ(ch.size(), 2u);
  EXPECT_EQ(ch[0].info.exe, "/bin/cat");
  EXPECT_EQ(ch[0].info.ppid, 40);
  EXPECT_FALSE(ch[0].info.incomplete);
  EXPECT_TRUE(ch[1].info.incomplete);  // neither parent nor child readable
  EXPECT_EQ(ch[1].info.key, (ProcKey{43, 601}));
  EXPECT_EQ(ch[1].info.ppid, 42);
}

TEST(TableScan, LoadScanLinksParentsAndNamesParentsFirst) {
  FakeProc fake;
  ProcessTable t(fake.enricher());
  // Children listed before parents, as /proc order does not promise anything.
  t.load_scan({proc(11, 30, 10, "/bin/bash"), proc(12, 40, 99, "/bin/orphan"),
               proc(10, 20, 1, "/usr/sbin/sshd"), proc(1, 1, 0, "/sbin/init")});
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t.find(11)->parent_start_time, 20u);
  EXPECT_EQ(t.find(10)->parent_start_time, 1u);
  EXPECT_EQ(t.find(12)->parent_start_time, 0u);
  EXPECT_EQ(t.find(11)->tree, "/init/sshd/bash");
  EXPECT_EQ(t.find(12)->tree, "/orphan");
  EXPECT_EQ(t.depth(1), 0);
  EXPECT_EQ(t.depth(10), 1);
  EXPECT_EQ(t.depth(11), 2);
  EXPECT_EQ(t.depth(12), 0);
  EXPECT_EQ(t.depth(555), 0);
  EXPECT_EQ(t.children(10), std::vector<int32_t>{11});
  EXPECT_EQ(t.children(1), std::vector<int32_t>{10});
  EXPECT_NE(t.find(ProcKey{11, 30}), nullptr);
  EXPECT_EQ(t.find(ProcKey{11, 31}), nullptr);
  auto snap = t.snapshot();
  ASSERT_EQ(snap.size(), 4u);
  EXPECT_EQ(snap[0].key.pid, 1);
  EXPECT_EQ(snap[3].key.pid, 12);
  // start_ns derived from start ticks at 100 Hz.
  EXPECT_EQ(t.find(10)->start_ns, 200'000'000u);
  // A second scan replaces everything.
  t.load_scan({proc(1, 1, 0, "/sbin/init")});
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.children(1).empty());
}

TEST(TableScan, DepthTolerratesPpidCycle) {
  ProcessTable t;
  t.load_scan({proc(5, 1, 6, "/a"), proc(6, 1, 5, "/b")});
  EXPECT_LE(t.depth(5), 3);
}

TEST_F(TableTest, DepthFollowsForks) {
  Script s;
  s.fork(1, 10, 100).fork(10, 20, 101).fork(20, 30, 102);
  play(table, s);
  EXPECT_EQ(table.depth(1), 0);
  EXPECT_EQ(table.depth(30), 3);
  s.take();
  s.exit(20);
  play(table, s);
  EXPECT_EQ(table.depth(30), 1);  // re-parented to init
}

TEST_F(TableTest, MemoryIsBoundedByLiveProcesses) {
  const size_t baseline = table.size();
  const size_t baseline_index = table.indexed_parents();
  Script s;
  for (int i = 0; i < 20000; ++i) {
    const int32_t pid = 1000 + i % 300;  // pids get reused, like pid_max wrapping
    s.fork(1, pid, 1000 + uint64_t(i)).thread(pid, pid + 5000).exec(pid, "/bin/true", {"true"});
    s.thread_exit(pid, pid + 5000).exit(pid, 0);
  }
  play(table, s);
  EXPECT_EQ(table.size(), baseline);
  EXPECT_EQ(table.indexed_parents(), baseline_index);
  EXPECT_TRUE(table.children(1).empty());
  size_t seen = 0;
  table.for_each([&](const ProcInfo&) { ++seen; });
  EXPECT_EQ(seen, baseline);
  EXPECT_EQ(table.stats().stale_replaced, 0u);
  EXPECT_EQ(table.stats().exits_unknown, 0u);
}

TEST_F(TableTest, IndexStaysBoundedWithOrphans) {
  Script s;
  for (int i = 0; i < 1000; ++i) {
    const int32_t a = 2000 + (i % 50) * 2, b = a + 1;
    s.fork(1, a, 10'000 + uint64_t(i)).fork(a, b, 10'000 + uint64_t(i)).exit(a).exit(b);
  }
  play(table, s);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.indexed_parents(), 0u);  // init has no children left either
  EXPECT_EQ(table.stats().reparented, 1000u);
}

TEST(ChangeKind, Names) {
  EXPECT_STREQ(change_kind_name(Kind::Fork), "fork");
  EXPECT_STREQ(change_kind_name(Kind::Reparent), "reparent");
  EXPECT_STREQ(change_kind_name(Kind::Replaced), "replaced");
}

TEST(TableClock, TickConversionsRoundTrip) {
  ProcessTable t({}, TableOptions{.ticks_per_second = 100, .boot_minus_mono_ns = 3'000'000'000});
  EXPECT_EQ(t.ticks_from_mono_ns(2'000'000'000), 500u);  // 5 s of boottime
  EXPECT_EQ(t.mono_ns_from_ticks(500), 2'000'000'000u);
  EXPECT_EQ(t.mono_ns_from_ticks(100), 0u);  // before monotonic zero: clamped
}

}  // namespace
}  // namespace procwatch
