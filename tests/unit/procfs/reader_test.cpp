#include "procfs/reader.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "procfs/cgroup_resolver.h"

namespace procwatch::procfs {
namespace {

const std::string kRoot = std::string(PROCWATCH_FIXTURES) + "/proc/basic";
const std::string kNginxId = "e0c17843ec9840607f278476c238603ec62ba018b8a9fd70a426327ba3d7cb6a";
const std::string kSession = "/user.slice/user-1000.slice/session-3.scope";

std::string expected_user(uint32_t uid) {
  passwd* pw = getpwuid(uid);
  return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

struct Expected {
  int32_t pid;
  uint64_t start;
  int32_t ppid;
  uint64_t parent_start;
  std::string comm;
  std::string exe;
  bool deleted;
  std::vector<std::string> argv;
  uint32_t uid;
  std::string cgroup;
  std::string container;
  std::string context;
  uint32_t threads;
  bool incomplete;
};

// The table of tests/fixtures/proc/README.md.
const std::vector<Expected>& fixture_table() {
  // clang-format off
  static const std::vector<Expected> t = {
      {1, 4, 0, 0, "systemd", "/usr/lib/systemd/systemd", false, {"/sbin/init"}, 0,
       "/init.scope", "", "system_u:system_r:init_t:s0", 1, false},
      {2, 4, 0, 0, "kthreadd", "", false, {}, 0, "/", "", "", 1, false},
      {9, 5, 2, 4, "kworker/0:1-events", "", false, {}, 0, "/", "", "", 1, false},
      {612, 1520, 1, 4, "sshd", "/usr/sbin/sshd", false,
       {"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"}, 0,
       "/system.slice/ssh.service", "", "/usr/sbin/sshd (enforce)", 1, false},
      {1021, 88210, 612, 1520, "sshd", "/usr/sbin/sshd", false, {"sshd: alice@pts/0"}, 1000,
       kSession, "", "", 1, false},
      {1022, 88245, 1021, 88210, "bash", "/usr/bin/bash", false, {"-bash"}, 1000, kSession, "",
       "", 1, false},
      {1100, 90310, 1022, 88245, "python3", "/usr/bin/python3.11", false,
       {"python3", "/home/alice/bin/report.py", "--since", "yesterday"}, 1000, kSession, "", "",
       4, false},
      {1200, 90100, 1022, 88245, "make", "", false, {}, 1000, kSession, "", "", 1, true},
      {1300, 90500, 1022, 88245, "evil) (name", "/home/alice/bin/evil) (name", false,
       {"./evil) (name", "two words"}, 1000, kSession, "", "", 1, false},
      {1400, 91000, 1100, 90310, "payload", "/tmp/.x9f3kq/payload", false,
       {"/tmp/.x9f3kq/payload", "-c", "beacon"}, 1000, kSession, "", "", 1, false},
      {2290, 2410, 1, 4, "containerd-shim", "/usr/bin/containerd-shim-runc-v2", false,
       {"/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", kNginxId, "-address",
        "/run/containerd/containerd.sock"},
       0, "/system.slice/containerd.service", "", "", 10, false},
      {2310, 2460, 2290, 2410, "nginx", "/usr/sbin/nginx", false, {"nginx", "-g", "daemon off;"},
       0, "/system.slice/docker-" + kNginxId + ".scope", kNginxId, "", 1, false},
      {3050, 3100, 1, 4, "agent", "/opt/app/bin/agent", true,
       {"/opt/app/bin/agent", "--config", "/etc/agent.yaml"}, 0, "/system.slice/agent.service",
       "", "", 1, false},
  };
  // clang-format on
  return t;
}

void expect_matches(const ProcInfo& p, const Expected& e) {
  SCOPED_TRACE("pid " + std::to_string(e.pid));
  EXPECT_EQ(p.key.pid, e.pid);
  EXPECT_EQ(p.key.start_time, e.start);
  EXPECT_EQ(p.ppid, e.ppid);
  EXPECT_EQ(p.parent_start_time, e.parent_start);
  EXPECT_EQ(p.comm, e.comm);
  EXPECT_EQ(p.exe, e.exe);
  EXPECT_EQ(p.exe_deleted, e.deleted);
  EXPECT_EQ(p.argv, e.argv);
  EXPECT_FALSE(p.argv_truncated);
  EXPECT_TRUE(p.ids_known);
  EXPECT_EQ(p.uid, e.uid);
  EXPECT_EQ(p.euid, e.uid);
  EXPECT_EQ(p.gid, e.uid);
  EXPECT_EQ(p.egid, e.uid);
  EXPECT_EQ(p.user, expected_user(e.uid));
  EXPECT_EQ(p.cgroup, e.cgroup);
  EXPECT_EQ(p.container_id, e.container);
  EXPECT_EQ(p.context, e.context);
  EXPECT_EQ(p.threads, e.threads);
  EXPECT_EQ(p.incomplete, e.incomplete);
  EXPECT_TRUE(p.tree.empty());
}

uint64_t expected_start_ns(uint64_t ticks) {
  const uint64_t hz = uint64_t(clock_ticks_per_second());
  const uint64_t m = monotonic_ns(), b_now = boottime_ns();  // boottime >= monotonic
  const uint64_t suspended = b_now > m ? b_now - m : 0;
  const uint64_t b = ticks * 1000000000ull / hz;
  return b > suspended ? b - suspended : 0;
}

TEST(ProcReaderFixture, ListPids) {
  ProcReader r(kRoot);
  auto pids = r.list_pids();
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<int32_t>{1, 2, 9, 612, 1021, 1022, 1100, 1200, 1300, 1400, 2290,
                                        2310, 3050}));
  EXPECT_TRUE(ProcReader("/nonexistent/procwatch").list_pids().empty());
}

TEST(ProcReaderFixture, ReadProcessEachDocumentedProcess) {
  ProcReader r(kRoot);
  for (const Expected& e : fixture_table()) {
    auto p = r.read_process(e.pid);
    ASSERT_TRUE(p.has_value()) << e.pid;
    expect_matches(*p, e);
  }
  EXPECT_EQ(r.user_name(0), "root");
}

TEST(ProcReaderFixture, ScanReturnsTheWholeTree) {
  ProcReader r(kRoot, ReadLimits{});
  auto all = r.scan();
  ASSERT_EQ(all.size(), fixture_table().size());
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.key < b.key; });
  for (size_t i = 0; i < all.size(); ++i) expect_matches(all[i], fixture_table()[i]);
}

TEST(ProcReaderFixture, StartNsIsMonotonicTimeOfTheTicks) {
  ProcReader r(kRoot);
  auto p = r.read_process(1400);
  ASSERT_TRUE(p);
  const uint64_t want = expected_start_ns(91000);
  // The suspended-time offset is sampled at two slightly different moments.
  EXPECT_NEAR(double(p->start_ns), double(want), 5e6);
  EXPECT_GT(p->start_ns, 0u);
}

TEST(ProcReaderFixture, CaptureExec) {
  ProcReader r(kRoot);
  ExecCapture c = r.capture_exec(1300);
  EXPECT_EQ(c.exe, "/home/alice/bin/evil) (name");
  EXPECT_FALSE(c.exe_deleted);
  EXPECT_EQ(c.argv, (std::vector<std::string>{"./evil) (name", "two words"}));
  EXPECT_FALSE(c.argv_truncated);
  EXPECT_EQ(c.start_time, 90500u);
  EXPECT_EQ(c.ppid, 1022);
  EXPECT_EQ(c.comm, "evil) (name");
  // Ids and cgroup are captured too, so the engine needs no second look at /proc.
  EXPECT_EQ(c.uid, 1000u);
  EXPECT_EQ(c.euid, 1000u);
  EXPECT_EQ(c.gid, 1000u);
  EXPECT_EQ(c.cgroup, "/user.slice/user-1000.slice/session-3.scope");

  ExecCapture d = r.capture_exec(3050);
  EXPECT_EQ(d.exe, "/opt/app/bin/agent");
  EXPECT_TRUE(d.exe_deleted);

  ExecCapture z = r.capture_exec(1200);  // zombie: stat only
  EXPECT_FALSE(z.exe.has_value());
  EXPECT_FALSE(z.argv.has_value());
  EXPECT_EQ(z.start_time, 90100u);
  EXPECT_EQ(z.comm, "make");

  ExecCapture gone = r.capture_exec(4242);
  EXPECT_FALSE(gone.exe || gone.argv || gone.start_time || gone.ppid || gone.comm);
}

TEST(ProcReaderFixture, ReadStartTime) {
  ProcReader r(kRoot);
  EXPECT_EQ(r.read_start_time(1100), 90310u);
  EXPECT_EQ(r.read_start_time(1300), 90500u);
  EXPECT_EQ(r.read_start_time(4242), std::nullopt);
}

TEST(ProcReaderFixture, MissingProcess) {
  ProcReader r(kRoot);
  EXPECT_FALSE(r.read_process(4242).has_value());
  auto f = r.read_file(4242, "stat");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().errnum, ENOENT);
  EXPECT_NE(f.error().message.find("/4242/stat"), std::string::npos) << f.error().message;
}

TEST(ProcReaderFixture, ReadFileHonoursMaxBytes) {
  ProcReader r(kRoot);
  auto f = r.read_file(1100, "cmdline");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, std::string("python3\0/home/alice/bin/report.py\0--since\0yesterday\0", 52));
  auto g = r.read_file(1100, "cmdline", 7);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, "python3");
}

TEST(ProcReaderFixture, BaseValuesAreKept) {
  ProcReader r(kRoot);
  ExecCapture base;
  base.start_time = 90310;
  base.exe = "/usr/bin/python3.12";
  base.argv = std::vector<std::string>{"python3", "-m", "http.server"};
  base.argv_truncated = true;
  base.ppid = 1;
  base.uid = 5;
  base.euid = 6;
  base.gid = 7;
  base.egid = 8;
  auto p = r.read_process(1100, &base);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->key, (ProcKey{1100, 90310}));
  EXPECT_EQ(p->exe, "/usr/bin/python3.12");
  EXPECT_EQ(p->argv, *base.argv);
  EXPECT_TRUE(p->argv_truncated);
  EXPECT_EQ(p->ppid, 1);
  EXPECT_EQ(p->parent_start_time, 0u);  // after an exec capture the table links the parent
  EXPECT_EQ(r.read_process(1100)->parent_start_time, 88245u);  // its real parent, bash 1022
  EXPECT_EQ(p->uid, 5u);
  EXPECT_EQ(p->euid, 6u);
  EXPECT_EQ(p->gid, 7u);
  EXPECT_EQ(p->egid, 8u);
  EXPECT_TRUE(p->ids_known);
  EXPECT_EQ(p->user, expected_user(5));
  // The rest comes from the tree.
  EXPECT_EQ(p->comm, "python3");
  EXPECT_EQ(p->cgroup, kSession);
  EXPECT_EQ(p->threads, 4u);
  EXPECT_FALSE(p->incomplete);

  // Partial ids: the missing ones are read from status.
  ExecCapture some;
  some.uid = 42;
  auto q = r.read_process(2310, &some);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->uid, 42u);
  EXPECT_EQ(q->euid, 0u);
  EXPECT_TRUE(q->ids_known);
  EXPECT_EQ(q->exe, "/usr/sbin/nginx");
  EXPECT_EQ(q->container_id, kNginxId);
}

TEST(ProcReaderFixture, ReusedPidOrVanishedProcessGivesOnlyTheBase) {
  ProcReader r(kRoot);
  ExecCapture base;
  base.start_time = 99999;  // pid 1100 now belongs to another process
  base.exe = "/usr/bin/true";
  base.argv = std::vector<std::string>{"true"};
  base.cgroup = "/system.slice/docker-" + kNginxId + ".scope";
  auto p = r.read_process(1100, &base);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->incomplete);
  EXPECT_EQ(p->key, (ProcKey{1100, 99999}));
  EXPECT_EQ(p->exe, "/usr/bin/true");
  EXPECT_EQ(p->argv, std::vector<std::string>{"true"});
  EXPECT_EQ(p->comm, "");  // not python3's
  EXPECT_FALSE(p->ids_known);
  EXPECT_EQ(p->container_id, kNginxId);

  base.start_time = 5;
  auto q = r.read_process(4242, &base);
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->incomplete);
  EXPECT_EQ(q->key, (ProcKey{4242, 5}));
  EXPECT_EQ(q->exe, "/usr/bin/true");
}

TEST(ProcReaderFixture, ArgvLimits) {
  ProcReader few_args(kRoot, ReadLimits{2, 4096});
  auto p = few_args.read_process(2290);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->argv, (std::vector<std::string>{"/usr/bin/containerd-shim-runc-v2", "-namespace"}));
  EXPECT_TRUE(p->argv_truncated);
  EXPECT_FALSE(p->incomplete);

  ProcReader few_bytes(kRoot, ReadLimits{256, 10});
  auto q = few_bytes.read_process(1100);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->argv, (std::vector<std::string>{"python3", "/ho"}));
  EXPECT_TRUE(q->argv_truncated);
  ExecCapture c = few_bytes.capture_exec(1100);
  EXPECT_EQ(c.argv, q->argv);
  EXPECT_TRUE(c.argv_truncated);

  ProcReader exact(kRoot, ReadLimits{4, 48});  // python3's argv is 4 args, 48 bytes
  auto e = exact.read_process(1100);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->argv.size(), 4u);
  EXPECT_FALSE(e->argv_truncated);
}

TEST(ProcReaderFixture, TrailingSlashInRoot) {
  ProcReader r(kRoot + "/");
  EXPECT_EQ(r.root(), kRoot);
  EXPECT_EQ(r.read_start_time(2310), 2460u);
}

// --- live /proc ---------------------------------------------------------------------------

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

// Field 22 of /proc/self/stat parsed independently of parse_stat.
uint64_t self_start_ticks() {
  std::ifstream f("/proc/self/stat");
  std::string line;
  std::getline(f, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string tok;
  for (int field = 3; field <= 22; ++field) rest >> tok;
  return std::stoull(tok);
}

TEST(ProcReaderLive, OwnProcess) {
  ProcReader r;
  EXPECT_EQ(r.root(), "/proc");
  auto p = r.read_process(getpid());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->key.pid, getpid());
  EXPECT_EQ(p->key.start_time, self_start_ticks());
  EXPECT_EQ(p->exe, self_exe());
  EXPECT_FALSE(p->exe.empty());
  EXPECT_FALSE(p->exe_deleted);
  ASSERT_FALSE(p->argv.empty());
  EXPECT_EQ(p->argv[0], program_invocation_name);
  EXPECT_EQ(p->ppid, getppid());
  EXPECT_TRUE(p->ids_known);
  EXPECT_EQ(p->uid, getuid());
  EXPECT_EQ(p->euid, geteuid());
  EXPECT_EQ(p->gid, getgid());
  EXPECT_EQ(p->egid, getegid());
  EXPECT_EQ(p->user, expected_user(getuid()));
  EXPECT_FALSE(p->incomplete);
  EXPECT_FALSE(p->cgroup.empty());
  EXPECT_GE(p->threads, 1u);
  EXPECT_GT(p->start_ns, 0u);
  EXPECT_LE(p->start_ns, monotonic_ns());
  EXPECT_EQ(p->parent_start_time, r.read_start_time(getppid()));

  ExecCapture c = r.capture_exec(getpid());
  EXPECT_EQ(c.exe, p->exe);
  EXPECT_EQ(c.argv, p->argv);
  EXPECT_EQ(c.start_time, p->key.start_time);
  EXPECT_EQ(c.ppid, getppid());
  EXPECT_EQ(r.read_start_time(getpid()), p->key.start_time);
}

// Forks a child that runs `setup` (async-signal-safe calls only: the test process has
// threads), tells us it is ready and pauses until killed. Returns its pid, or -1.
template <class Setup>
pid_t fork_paused(Setup setup) {
  int ready[2];
  if (pipe(ready) != 0) return -1;
  const pid_t child = fork();
  if (child == 0) {
    if (!setup() || write(ready[1], "x", 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char x = 0;
  const bool ok = child > 0 && read(ready[0], &x, 1) == 1;
  close(ready[0]);
  if (!ok && child > 0) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    return -1;
  }
  return child;
}

// Real, effective ids that differ, read by the pidfd path (Linux 6.13+; this machine runs 6.18
// as root) and by /proc/PID/status: the two must agree field for field.
TEST(ProcReaderLive, CaptureIdsMatchStatusForDifferentRealAndEffectiveIds) {
  ASSERT_EQ(geteuid(), 0u) << "needs root to change ids (CI runs as root)";
  const pid_t child =
      fork_paused([] { return setresgid(65534, 0, 0) == 0 && setresuid(65533, 0, 0) == 0; });
  ASSERT_GT(child, 0);

  ProcReader r;
  EXPECT_TRUE(r.pidfd_ids());
  const ExecCapture c = r.capture_exec(child);
  auto status = r.read_file(child, "status");
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(status.ok());
  auto st = parse_status(*status);
  ASSERT_TRUE(st);
  EXPECT_EQ(c.uid, 65533u);
  EXPECT_EQ(c.euid, 0u);
  EXPECT_EQ(c.gid, 65534u);
  EXPECT_EQ(c.egid, 0u);
  EXPECT_EQ(c.uid, st->uid[0]);
  EXPECT_EQ(c.euid, st->uid[1]);
  EXPECT_EQ(c.gid, st->gid[0]);
  EXPECT_EQ(c.egid, st->gid[1]);

  ProcReader fixture(std::string(PROCWATCH_FIXTURES) + "/proc/basic");
  EXPECT_FALSE(fixture.pidfd_ids());  // a fixture's pids are not ours to open
}

// The cgroup path from the pidfd's cgroup2 id (through CgroupResolver) must be what
// /proc/PID/cgroup says, also for a cgroup created after the resolver first scanned.
TEST(ProcReaderLive, CaptureCgroupFromPidfdIdMatchesCgroupFile) {
  ASSERT_EQ(geteuid(), 0u) << "needs root to create a cgroup (CI runs as root)";
  auto mount = find_cgroup2_mount();
  ASSERT_TRUE(mount.ok()) << "no cgroup2 mount on this machine";
  ProcReader r;
  ASSERT_TRUE(r.pidfd_ids());
  CgroupResolver cgroups(*mount);
  const ExecCapture self = r.capture_exec(getpid(), &cgroups);
  ASSERT_TRUE(self.cgroup_id && self.cgroup);
  auto own = r.read_file(getpid(), "cgroup");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(*self.cgroup, *parse_cgroup(*own));

  const std::string dir = *mount + "/pwtest-reader-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0) << dir << ": " << std::strerror(errno);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char x;
    if (read(ready[0], &x, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(ready[0]);
  {
    std::ofstream procs(dir + "/cgroup.procs");
    procs << child << std::flush;
    EXPECT_TRUE(procs.good());
  }
  const uint64_t rescans = cgroups.rescans(), hits = cgroups.handle_hits();
  const ExecCapture c = r.capture_exec(child, &cgroups);
  auto file = r.read_file(child, "cgroup");
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ready[1]);
  rmdir(dir.c_str());
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(c.cgroup_id.has_value());
  EXPECT_NE(*c.cgroup_id, *self.cgroup_id);
  EXPECT_EQ(c.cgroup, "/pwtest-reader-" + std::to_string(getpid()));
  EXPECT_EQ(c.cgroup, *parse_cgroup(*file));
  // The new id was looked up (by handle or rescan), not read from the file.
  EXPECT_GT(cgroups.rescans() + cgroups.handle_hits(), rescans + hits);
}

// Starts `argv` (execv, no PATH search).
pid_t spawn_argv(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    execv(args[0], args.data());
    _exit(127);
  }
  return child;
}

// Waits until /proc shows `child` past its exec (another exe than ours, and its argv): the exe
// link changes before the kernel has set up the new argv area (stat's arg_start is 0 until
// then), so a capture in between has an exe but no argv. A source captures after the exec
// event, which the kernel sends once the exec is complete.
bool wait_exec(const ProcReader& r, pid_t child) {
  for (int i = 0; i < 2000; ++i) {
    auto c = r.capture_exec(child);
    if (c.exe && *c.exe != self_exe() && c.argv) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// argv through process_vm_readv (own /proc) must be what /proc/PID/cmdline gives under the
// same limits: empty args, bytes that need escaping later, and an area over the limits.
// sh keeps its own argv while it runs sleep (a second command follows, so no exec).
TEST(ProcReaderLive, CaptureArgvFromMemoryMatchesCmdline) {
  const std::vector<std::string> head = {"/bin/sh", "-c", "sleep 5; :", "name"};
  std::vector<std::string> small = head, big = head;
  for (const char* a : {"", "a b", "\xff\n\"\\", "-x=1"}) small.push_back(a);
  for (int i = 0; i < 300; ++i) big.push_back(std::string(40, char('a' + i % 26)));
  for (const auto& argv : {small, big}) {
    ReadLimits lim;
    lim.max_args = 64;
    lim.max_arg_bytes = 1024;
    ProcReader r("/proc", lim);
    const pid_t child = spawn_argv(argv);
    ASSERT_GT(child, 0);
    const bool execd = wait_exec(r, child);
    const ExecCapture c = r.capture_exec(child);
    auto file = r.read_file(child, "cmdline");
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    ASSERT_TRUE(execd);
    ASSERT_TRUE(file.ok());
    bool truncated = false;
    const auto expected = parse_cmdline(*file, lim.max_args, lim.max_arg_bytes, &truncated);
    ASSERT_TRUE(c.argv.has_value());
    EXPECT_EQ(*c.argv, expected);
    const bool is_big = argv.size() > 10;
    EXPECT_EQ(c.argv_truncated, is_big);
    if (!is_big) {
      EXPECT_EQ(*c.argv, argv);
    }
    EXPECT_GE(r.argv_from_memory(), 1u);  // the memory path was taken, not only cmdline
  }
}

// A process that wrote over its argv area, end NUL included (setproctitle-style), is read
// the way /proc/PID/cmdline reads it, not as the raw area.
TEST(ProcReaderLive, CaptureArgvOfARewrittenAreaFallsBackToCmdline) {
  ProcReader r;
  auto self = r.read_file(getpid(), "stat");
  ASSERT_TRUE(self.ok());
  auto st = parse_stat(*self);
  ASSERT_TRUE(st.ok());
  ASSERT_GT(st->arg_end, st->arg_start) << "stat hides the arg area from ourselves?";
  const pid_t child = fork_paused([&] {
    // Our own copy of the test binary's argv: fill it with 'T', trailing NUL too.
    char* area = reinterpret_cast<char*>(uintptr_t(st->arg_start));
    for (uint64_t i = 0; i < st->arg_end - st->arg_start; ++i) area[i] = 'T';
    return true;
  });
  ASSERT_GT(child, 0);
  const uint64_t from_memory = r.argv_from_memory();
  const ExecCapture c = r.capture_exec(child);
  auto file = r.read_file(child, "cmdline");
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(c.argv.has_value());
  bool truncated = false;
  EXPECT_EQ(*c.argv, parse_cmdline(*file, 256, 4096, &truncated));
  EXPECT_EQ(r.argv_from_memory(), from_memory);  // refused the raw area
  ASSERT_FALSE(c.argv->empty());
  EXPECT_EQ(c.argv->front().substr(0, 4), "TTTT");
}

TEST(ProcReaderLive, ScanFindsThisProcess) {
  ProcReader r;
  auto all = r.scan();
  auto it =
      std::find_if(all.begin(), all.end(), [](const ProcInfo& p) { return p.key.pid == getpid(); });
  ASSERT_NE(it, all.end());
  EXPECT_EQ(it->exe, self_exe());
  EXPECT_GT(all.size(), 1u);
}

TEST(ProcReaderLive, ZombieIsIncomplete) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(3);
  ProcReader r;
  // Not reaped yet: wait until the kernel shows it as a zombie.
  std::optional<ProcInfo> p;
  for (int i = 0; i < 500; ++i) {
    auto st = r.read_file(child, "stat");
    if (st.ok() && st->find(") Z ") != std::string::npos) {
      p = r.read_process(child);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(p) << "child never became a zombie";
  EXPECT_TRUE(p->incomplete);
  EXPECT_TRUE(p->exe.empty());
  EXPECT_TRUE(p->argv.empty());
  EXPECT_EQ(p->ppid, getpid());
  EXPECT_TRUE(p->ids_known);
  EXPECT_FALSE(r.read_process(child).has_value());  // reaped: gone
}

TEST(ProcReaderLive, KernelThreadIsComplete) {
  ProcReader r;
  auto comm = r.read_file(2, "comm");
  if (!comm.ok() || *comm != "kthreadd\n") {
    GTEST_SKIP() << "pid 2 is not kthreadd here (pid namespace without kernel threads)";
  }
  auto p = r.read_process(2);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->comm, "kthreadd");
  EXPECT_TRUE(p->exe.empty());
  EXPECT_TRUE(p->argv.empty());
  EXPECT_FALSE(p->incomplete);
}

TEST(ProcReaderLive, ConcurrentReadsShareTheUserCache) {
  ProcReader r;
  std::vector<std::thread> ts;
  std::vector<std::string> names(4);
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      for (int k = 0; k < 50; ++k) {
        auto p = r.read_process(getpid());
        if (p) names[size_t(i)] = p->user;
      }
    });
  }
  for (auto& t : ts) t.join();
  for (const auto& n : names) EXPECT_EQ(n, expected_user(getuid()));
}

}  // namespace
}  // namespace procwatch::procfs

namespace procwatch::procfs {
namespace {

TEST(ProcReaderCapture, CompleteCaptureNeedsNoProcAndIsNotIncomplete) {
  ProcReader r(PROCWATCH_FIXTURES "/proc/basic");
  ExecCapture c;
  c.start_time = 777;
  c.exe = "/usr/bin/true";
  c.argv = std::vector<std::string>{"true", "x"};
  c.ppid = 1022;
  c.comm = "true";
  c.uid = c.euid = 0;
  c.gid = c.egid = 0;
  c.cgroup = "/system.slice/docker-" + std::string(64, 'b') + ".scope";
  auto p = r.read_process(99999, &c);  // no such pid in the fixture: it already exited
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->incomplete);
  EXPECT_EQ(p->key, (ProcKey{99999, 777}));
  EXPECT_EQ(p->exe, "/usr/bin/true");
  EXPECT_EQ(p->container_id, std::string(64, 'b'));
  EXPECT_EQ(p->user, "root");
  EXPECT_TRUE(p->ids_known);
  c.cgroup.reset();  // a netlink-like capture: the rest must come from /proc, which is gone
  p = r.read_process(99999, &c);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->incomplete);
}

}  // namespace
}  // namespace procwatch::procfs

namespace procwatch::procfs {
namespace {

// The container namer runs for every process read in a container, and never for the others.
TEST(ProcReaderFixture, ContainerNamerOnlyForContainers) {
  ProcReader r(PROCWATCH_FIXTURES "/proc/basic");
  int calls = 0;
  r.set_container_namer([&calls](ProcInfo& p) {
    ++calls;
    p.container_name = "named-" + p.container_id.substr(0, 4);
  });
  size_t in_container = 0;
  for (const ProcInfo& p : r.scan()) {
    if (p.container_id.empty()) {
      EXPECT_EQ(p.container_name, "") << p.key.pid;
    } else {
      ++in_container;
      EXPECT_EQ(p.container_name, "named-" + p.container_id.substr(0, 4)) << p.key.pid;
      EXPECT_EQ(p.container_runtime, "docker") << p.key.pid;
    }
  }
  EXPECT_GT(in_container, 0u);
  EXPECT_EQ(size_t(calls), in_container);
}

}  // namespace
}  // namespace procwatch::procfs
