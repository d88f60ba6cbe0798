#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "sources/poll/poll_source.h"

extern char** environ;

namespace procwatch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kFixture = std::string(PROCWATCH_FIXTURES) + "/proc/basic";
const std::string kSession = "/user.slice/user-1000.slice/session-3.scope";

// A private copy of the fixture tree that a test may change; removed at the end.
class TempTree {
 public:
  TempTree() {
    char tmpl[] = "/tmp/procwatch-poll-XXXXXX";
    base_ = mkdtemp(tmpl);
    fs::create_directories(root());
    fs::create_directories(staging());
    fs::copy(kFixture, root(), fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  }
  ~TempTree() { fs::remove_all(base_); }
  std::string root() const { return base_ + "/proc"; }
  std::string staging() const { return base_ + "/staging"; }

  // Builds a process directory outside the tree, then renames it in, so a concurrent scan
  // sees all of it or nothing.
  void add_process(int pid, const std::string& comm, int ppid, uint64_t start, uint32_t uid,
                   const std::string& exe, const std::vector<std::string>& argv) {
    const std::string d = staging() + "/" + std::to_string(pid);
    fs::create_directories(d);
    std::string stat = std::to_string(pid) + " (" + comm + ") S " + std::to_string(ppid);
    for (int i = 5; i <= 52; ++i) {
      stat += " " + (i == 20 ? std::string("1") : i == 22 ? std::to_string(start) : "0");
    }
    write(d + "/stat", stat + "\n");
    const std::string ids = std::to_string(uid);
    write(d + "/status", "Name:\t" + comm + "\nTgid:\t" + std::to_string(pid) + "\nPPid:\t" +
                             std::to_string(ppid) + "\nUid:\t" + ids + "\t" + ids + "\t" + ids +
                             "\t" + ids + "\nGid:\t" + ids + "\t" + ids + "\t" + ids + "\t" + ids +
                             "\nThreads:\t1\n");
    std::string cmdline;
    for (const auto& a : argv) cmdline += a + '\0';
    write(d + "/cmdline", cmdline);
    write(d + "/cgroup", "1:name=systemd:" + kSession + "\n0::" + kSession + "\n");
    fs::create_symlink(exe, d + "/exe");
    fs::rename(d, root() + "/" + std::to_string(pid));
  }

  void remove_process(int pid) {
    const std::string away = staging() + "/gone-" + std::to_string(pid);
    fs::rename(root() + "/" + std::to_string(pid), away);
    fs::remove_all(away);
  }

  // Replaces the exe link atomically.
  void set_exe(int pid, const std::string& target) {
    const std::string d = root() + "/" + std::to_string(pid);
    fs::create_symlink(target, d + "/exe.new");
    fs::rename(d + "/exe.new", d + "/exe");
  }

 private:
  static void write(const std::string& path, const std::string& data) {
    std::ofstream f(path, std::ios::binary);
    f << data;
  }
  std::string base_;
};

// Pops events until `done(events)` or the deadline.
template <class Done>
std::vector<ProcEvent> collect(EventQueue& q, std::chrono::milliseconds deadline, Done done) {
  std::vector<ProcEvent> all, batch;
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done(all) && std::chrono::steady_clock::now() < end) {
    q.pop_batch(batch, 256, 20ms);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  return all;
}

std::vector<ProcEvent> drain_for(EventQueue& q, std::chrono::milliseconds d) {
  return collect(q, d, [](const std::vector<ProcEvent>&) { return false; });
}

ExecCapture expected_capture(uint64_t start, const std::string& exe, std::vector<std::string> argv,
                             int32_t ppid, const std::string& comm, uint32_t uid,
                             const std::string& cgroup) {
  ExecCapture c;
  c.start_time = start;
  c.exe = exe;
  c.argv = std::move(argv);
  c.ppid = ppid;
  c.comm = comm;
  c.uid = c.euid = c.gid = c.egid = uid;
  c.cgroup = cgroup;
  return c;
}

void expect_capture_eq(const ExecCapture& got, const ExecCapture& want) {
  EXPECT_EQ(got.start_time, want.start_time);
  EXPECT_EQ(got.exe, want.exe);
  EXPECT_EQ(got.exe_deleted, want.exe_deleted);
  EXPECT_EQ(got.argv, want.argv);
  EXPECT_EQ(got.argv_truncated, want.argv_truncated);
  EXPECT_EQ(got.ppid, want.ppid);
  EXPECT_EQ(got.comm, want.comm);
  EXPECT_EQ(got.uid, want.uid);
  EXPECT_EQ(got.euid, want.euid);
  EXPECT_EQ(got.gid, want.gid);
  EXPECT_EQ(got.egid, want.egid);
  EXPECT_EQ(got.cgroup, want.cgroup);
  EXPECT_FALSE(got.cgroup_id.has_value());
}

PollSnapshot snapshot_of(const procfs::ProcReader& r) {
  PollSnapshot s;
  for (auto& p : r.scan()) s.emplace(p.key, p);
  return s;
}

TEST(PollDiff, ExactEventsForAddRemoveExeChangeAndReuse) {
  procfs::ProcReader reader(kFixture);
  const PollSnapshot before = snapshot_of(reader);
  ASSERT_EQ(before.size(), 13u);
  EXPECT_TRUE(diff_snapshots(before, before, 1000).empty());

  PollSnapshot after = before;
  after.erase(ProcKey{1300, 90500});               // exited
  ProcInfo bash = after.at(ProcKey{1022, 88245});  // exec'd zsh
  bash.exe = "/usr/bin/zsh";
  after[bash.key] = bash;
  ProcInfo reused = after.at(ProcKey{1400, 91000});  // pid 1400 reused
  after.erase(reused.key);
  reused.key.start_time = 96000;
  reused.start_ns = 0;
  after.emplace(reused.key, reused);
  ProcInfo kworker = after.at(ProcKey{9, 5});  // a new kernel thread
  kworker.key = ProcKey{10, 95500};
  kworker.start_ns = 0;
  after.emplace(kworker.key, kworker);
  ProcInfo gone_exe = after.at(ProcKey{612, 1520});  // unreadable exe is not a change
  gone_exe.exe.clear();
  after[gone_exe.key] = gone_exe;

  const auto evs = diff_snapshots(before, after, 777);
  ASSERT_EQ(evs.size(), 6u);

  const auto& e0 = std::get<ExitEvent>(evs[0].body);  // exits by key: 1300 then 1400
  EXPECT_EQ(e0.pid, 1300);
  EXPECT_EQ(e0.tid, 1300);
  EXPECT_EQ(e0.parent_pid, 1022);
  EXPECT_EQ(e0.exit_code, 0u);
  EXPECT_FALSE(e0.code_known);
  EXPECT_EQ(evs[0].ts_ns, 777u);
  const auto& e1 = std::get<ExitEvent>(evs[1].body);
  EXPECT_EQ(e1.pid, 1400);
  EXPECT_EQ(e1.parent_pid, 1100);
  EXPECT_FALSE(e1.code_known);

  const auto& f2 = std::get<ForkEvent>(evs[2].body);  // born by start time: kworker first
  EXPECT_EQ(f2.child_pid, 10);
  EXPECT_EQ(f2.parent_pid, 2);
  EXPECT_EQ(f2.child_start_time, 95500u);
  EXPECT_EQ(evs[2].ts_ns, 777u);
  const auto& f3 = std::get<ForkEvent>(evs[3].body);  // no exec for the kernel thread
  EXPECT_EQ(f3.child_pid, 1400);
  EXPECT_EQ(f3.child_tid, 1400);
  EXPECT_EQ(f3.parent_pid, 1100);
  EXPECT_EQ(f3.parent_tid, 1100);
  EXPECT_EQ(f3.child_start_time, 96000u);
  const auto& x4 = std::get<ExecEvent>(evs[4].body);
  EXPECT_EQ(x4.pid, 1400);
  expect_capture_eq(x4.capture, expected_capture(96000, "/tmp/.x9f3kq/payload",
                                                 {"/tmp/.x9f3kq/payload", "-c", "beacon"}, 1100,
                                                 "payload", 1000, kSession));
  const auto& x5 = std::get<ExecEvent>(evs[5].body);  // exe change
  EXPECT_EQ(x5.pid, 1022);
  EXPECT_EQ(x5.tid, 1022);
  expect_capture_eq(
      x5.capture, expected_capture(88245, "/usr/bin/zsh", {"-bash"}, 1021, "bash", 1000, kSession));
  EXPECT_EQ(evs[5].ts_ns, 777u);
}

TEST(PollDiff, CaptureCarriesDeletedFlagAndLeavesUnknownsUnset) {
  procfs::ProcReader reader(kFixture);
  ExecCapture agent = capture_from_info(*reader.read_process(3050));
  EXPECT_EQ(agent.exe, "/opt/app/bin/agent");
  EXPECT_TRUE(agent.exe_deleted);
  EXPECT_EQ(agent.cgroup, "/system.slice/agent.service");
  ExecCapture zombie = capture_from_info(*reader.read_process(1200));
  EXPECT_FALSE(zombie.exe.has_value());
  EXPECT_FALSE(zombie.argv.has_value());
  EXPECT_EQ(zombie.start_time, 90100u);
  ProcInfo no_ids;
  no_ids.key = {5, 6};
  EXPECT_FALSE(capture_from_info(no_ids).uid.has_value());
}

TEST(PollSourceFixture, SeesChangesBetweenPolls) {
  TempTree tree;
  procfs::ProcReader reader(tree.root());
  PollSource src(reader, 20ms);
  EXPECT_STREQ(src.name(), "procfs");
  EventQueue q(1024);
  ASSERT_TRUE(src.start(q).ok());
  EXPECT_EQ(src.start(q).error().errnum, EBUSY);

  // The first snapshot emits nothing, and neither do unchanged polls.
  EXPECT_TRUE(drain_for(q, 150ms).empty());
  EXPECT_GE(src.stats().counters["polls"], 2u);

  tree.add_process(1500, "curl", 1400, 95000, 1000, "/usr/bin/curl",
                   {"curl", "-s", "http://example.com/x"});
  tree.remove_process(1300);
  tree.set_exe(1022, "/usr/bin/zsh");

  auto evs = collect(q, 3000ms, [](const std::vector<ProcEvent>& v) { return v.size() >= 4; });
  auto extra = drain_for(q, 150ms);  // nothing more may come
  EXPECT_TRUE(extra.empty()) << extra.size() << " extra events, first "
                             << (extra.empty() ? "" : event_name(extra[0].body));
  ASSERT_EQ(evs.size(), 4u);

  // The three changes may straddle two polls; within a process the order is fixed.
  int fork_at = -1, exec_new_at = -1, exit_at = -1, exec_change_at = -1;
  for (int i = 0; i < 4; ++i) {
    const auto& b = evs[size_t(i)].body;
    if (const auto* f = std::get_if<ForkEvent>(&b)) {
      fork_at = i;
      EXPECT_EQ(f->child_pid, 1500);
      EXPECT_EQ(f->child_tid, 1500);
      EXPECT_EQ(f->parent_pid, 1400);
      EXPECT_EQ(f->child_start_time, 95000u);
    } else if (const auto* x = std::get_if<ExecEvent>(&b)) {
      if (x->pid == 1500) {
        exec_new_at = i;
        expect_capture_eq(x->capture, expected_capture(95000, "/usr/bin/curl",
                                                       {"curl", "-s", "http://example.com/x"}, 1400,
                                                       "curl", 1000, kSession));
      } else {
        exec_change_at = i;
        EXPECT_EQ(x->pid, 1022);
        expect_capture_eq(x->capture, expected_capture(88245, "/usr/bin/zsh", {"-bash"}, 1021,
                                                       "bash", 1000, kSession));
      }
    } else if (const auto* e = std::get_if<ExitEvent>(&b)) {
      exit_at = i;
      EXPECT_EQ(e->pid, 1300);
      EXPECT_EQ(e->parent_pid, 1022);
      EXPECT_FALSE(e->code_known);
    } else {
      ADD_FAILURE() << "unexpected " << event_name(b);
    }
  }
  EXPECT_GE(fork_at, 0);
  EXPECT_EQ(exec_new_at, fork_at + 1);
  EXPECT_GE(exit_at, 0);
  EXPECT_GE(exec_change_at, 0);

  SourceStats st = src.stats();
  EXPECT_EQ(st.events, 4u);
  EXPECT_EQ(st.lost, 0u);
  EXPECT_EQ(st.counters["exit_unknown"], 1u);
  EXPECT_EQ(st.counters["exe_changed"], 1u);

  // pid 1400 dies and the pid is reused by a new process: exit first, then fork + exec.
  tree.remove_process(1400);
  tree.add_process(1400, "sh", 1022, 97000, 1000, "/usr/bin/dash", {"sh", "-c", "true"});
  evs = collect(q, 3000ms, [](const std::vector<ProcEvent>& v) { return v.size() >= 3; });
  extra = drain_for(q, 100ms);
  EXPECT_TRUE(extra.empty());
  ASSERT_EQ(evs.size(), 3u);
  const auto& exit = std::get<ExitEvent>(evs[0].body);
  EXPECT_EQ(exit.pid, 1400);
  EXPECT_EQ(exit.parent_pid, 1100);
  const auto& fork = std::get<ForkEvent>(evs[1].body);
  EXPECT_EQ(fork.child_pid, 1400);
  EXPECT_EQ(fork.parent_pid, 1022);
  EXPECT_EQ(fork.child_start_time, 97000u);
  const auto& exec = std::get<ExecEvent>(evs[2].body);
  expect_capture_eq(exec.capture, expected_capture(97000, "/usr/bin/dash", {"sh", "-c", "true"},
                                                   1022, "sh", 1000, kSession));

  src.stop();
  src.stop();  // idempotent
  const uint64_t polls = src.stats().counters["polls"];
  tree.remove_process(2310);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(src.stats().counters["polls"], polls);  // stopped: no more polling
  EXPECT_EQ(q.size(), 0u);
}

TEST(PollSourceLive, SeesSleepChildExecAndExit) {
  procfs::ProcReader reader;
  PollSource src(reader, 50ms);
  EventQueue q(1 << 16);
  ASSERT_TRUE(src.start(q).ok());

  const char* argv[] = {"sleep", "0.5", nullptr};
  pid_t child = -1;
  ASSERT_EQ(
      posix_spawn(&child, "/usr/bin/sleep", nullptr, nullptr, const_cast<char**>(argv), environ),
      0);
  const auto start_ticks = reader.read_start_time(child);

  bool reaped = false, saw_fork = false, saw_exec = false, saw_exit = false;
  bool exit_after_exec = false;
  std::vector<ProcEvent> batch;
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!saw_exit && std::chrono::steady_clock::now() < end) {
    q.pop_batch(batch, 1024, 20ms);
    for (const ProcEvent& ev : batch) {
      if (const auto* f = std::get_if<ForkEvent>(&ev.body); f && f->child_pid == child) {
        saw_fork = true;
        EXPECT_EQ(f->parent_pid, getpid());
        EXPECT_EQ(f->child_start_time, start_ticks);
      } else if (const auto* x = std::get_if<ExecEvent>(&ev.body); x && x->pid == child) {
        // A scan inside the spawn window may first see the test binary; the last exec wins.
        if (x->capture.exe == "/usr/bin/sleep") {
          saw_exec = true;
          EXPECT_EQ(x->capture.argv, (std::vector<std::string>{"sleep", "0.5"}));
          EXPECT_EQ(x->capture.comm, "sleep");
          EXPECT_EQ(x->capture.ppid, getpid());
          EXPECT_EQ(x->capture.uid, getuid());
          EXPECT_EQ(x->capture.start_time, start_ticks);
        }
      } else if (const auto* e = std::get_if<ExitEvent>(&ev.body); e && e->pid == child) {
        saw_exit = true;
        exit_after_exec = saw_exec;
        EXPECT_FALSE(e->code_known);
        EXPECT_TRUE(reaped) << "exit reported while the child still existed";
      }
    }
    if (!reaped) {
      int status = 0;
      if (waitpid(child, &status, WNOHANG) == child) reaped = true;
    }
  }
  if (!reaped) waitpid(child, nullptr, 0);
  src.stop();
  ASSERT_TRUE(start_ticks.has_value());
  EXPECT_TRUE(saw_fork);
  EXPECT_TRUE(saw_exec);
  EXPECT_TRUE(saw_exit);
  EXPECT_TRUE(exit_after_exec);
  EXPECT_GE(src.stats().counters["exit_unknown"], 1u);
}

}  // namespace
}  // namespace procwatch
