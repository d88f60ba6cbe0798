// Real-kernel tests of the eBPF source (root, BTF, tp_btf): spawn processes and assert
// exactly what the kernel programs reported about them.
#include "sources/ebpf/ebpf_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "procfs/cgroup_resolver.h"
#ifdef PROCWATCH_TEST_HAVE_PROCFS
#include "procfs/parsers.h"
#endif

extern char** environ;

namespace procwatch {
namespace {

using Strings = std::vector<std::string>;
namespace fs = std::filesystem;

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return realpath(p.c_str(), buf) ? std::string(buf) : std::string();
}

// Field 22 of /proc/PID/stat (start time, clock ticks since boot).
uint64_t stat_start_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 22) return std::stoull(field);
  }
  return 0;
}

class EbpfSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = source_.start(queue_);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void TearDown() override { source_.stop(); }

  // Forks a child that runs body (async-signal-safe calls only) and leaves it as a zombie
  // so /proc/PID/stat stays readable. Returns its pid.
  pid_t spawn(const std::function<void()>& body) {
    pid_t pid = fork();
    if (pid == 0) {
      body();
      _exit(127);
    }
    siginfo_t si{};
    waitid(P_PID, id_t(pid), &si, WEXITED | WNOWAIT);
    return pid;
  }
  void reap(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
  }

  // Drains the queue into seen_ until pred holds for some event or 5 s pass.
  const ProcEvent* wait_for(const std::function<bool(const ProcEvent&)>& pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      for (const auto& ev : seen_)
        if (pred(ev)) return &ev;
      if (std::chrono::steady_clock::now() > deadline) return nullptr;
      std::vector<ProcEvent> batch;
      queue_.pop_batch(batch, 4096, std::chrono::milliseconds(50));
      for (auto& ev : batch) {
        if (const auto* e = std::get_if<ExecEvent>(&ev.body); e && !mine(e->pid)) continue;
        seen_.push_back(std::move(ev));
      }
    }
  }
  // Keep our own processes' execs plus every non-exec event (fork/exit are small).
  bool mine(int32_t pid) const {
    return pid == getpid() || std::find(children_.begin(), children_.end(), pid) != children_.end();
  }
  void track(pid_t pid) { children_.push_back(pid); }

  const ExecEvent* exec_of(pid_t pid) {
    track(pid);
    const ProcEvent* ev = wait_for([&](const ProcEvent& e) {
      const auto* x = std::get_if<ExecEvent>(&e.body);
      return x && x->pid == pid;
    });
    return ev ? &std::get<ExecEvent>(ev->body) : nullptr;
  }

  EventQueue queue_{1 << 20};
  EbpfSource source_;
  std::vector<ProcEvent> seen_;
  std::vector<pid_t> children_;
};

// Execs of children forked before their pid is known are kept only once tracked, so spawn
// children first, then track, and rely on seen_ buffering: track() before draining.
#define EXPECT_EXEC(pid, exe_path, argv_list)                  \
  do {                                                         \
    const ExecEvent* e_ = exec_of(pid);                        \
    ASSERT_NE(e_, nullptr) << "no exec event for pid " << pid; \
    EXPECT_EQ(e_->capture.exe, std::string(exe_path));         \
    ASSERT_TRUE(e_->capture.argv);                             \
    EXPECT_EQ(*e_->capture.argv, Strings(argv_list));          \
    EXPECT_FALSE(e_->capture.argv_truncated);                  \
  } while (0)

TEST_F(EbpfSourceTest, ExecAbsolutePathAndCapture) {
  const char* argv[] = {"/bin/true", nullptr};
  pid_t pid = spawn([&] { execv("/bin/true", const_cast<char**>(argv)); });
  const uint64_t start = stat_start_time(pid);  // zombie: stat still readable
  const ExecEvent* e = exec_of(pid);
  ASSERT_NE(e, nullptr);
  const ExecCapture& c = e->capture;
  EXPECT_EQ(c.exe, "/usr/bin/true");
  EXPECT_EQ(c.exe, real_path("/bin/true"));
  EXPECT_FALSE(c.exe_deleted);
  EXPECT_EQ(*c.argv, Strings{"/bin/true"});
  EXPECT_EQ(e->tid, pid);
  EXPECT_EQ(c.ppid, getpid());
  EXPECT_EQ(c.comm, "true");
  EXPECT_EQ(c.uid, getuid());
  EXPECT_EQ(c.euid, geteuid());
  EXPECT_EQ(c.gid, getgid());
  EXPECT_EQ(c.egid, getegid());
  ASSERT_NE(start, 0u);
  EXPECT_EQ(c.start_time, start);
  ASSERT_TRUE(c.cgroup_id);
  EXPECT_TRUE(c.cgroup);  // resolved to a path
  reap(pid);
}

TEST_F(EbpfSourceTest, StartTimeMatchesProcForLiveProcess) {
  const char* argv[] = {"/bin/sleep", "30", nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    execv("/bin/sleep", const_cast<char**>(argv));
    _exit(127);
  }
  const ExecEvent* e = exec_of(pid);
  ASSERT_NE(e, nullptr);
  // The process is alive (sleeping) while we read /proc.
  EXPECT_EQ(e->capture.start_time, stat_start_time(pid));
  EXPECT_EQ(e->capture.exe, real_path("/bin/sleep"));
  EXPECT_EQ(*e->capture.argv, (Strings{"/bin/sleep", "30"}));
  kill(pid, SIGKILL);
  reap(pid);
}

TEST_F(EbpfSourceTest, RelativeExec) {
  const char* argv[] = {"./true", nullptr};
  pid_t pid = spawn([&] {
    if (chdir("/usr/bin") == 0) execv("./true", const_cast<char**>(argv));
  });
  EXPECT_EXEC(pid, "/usr/bin/true", (Strings{"./true"}));
  reap(pid);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/procwatch-ebpf-XXXXXX";
    path_ = mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_F(EbpfSourceTest, SymlinkResolvesToTarget) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string link = dir.path() + "/my-true";
  ASSERT_EQ(symlink("/bin/true", link.c_str()), 0);
  const char* argv[] = {link.c_str(), nullptr};
  pid_t pid = spawn([&] { execv(link.c_str(), const_cast<char**>(argv)); });
  EXPECT_EXEC(pid, real_path("/bin/true"), (Strings{link}));
  // comm is the link's name, as the kernel sets it from the exec'd filename.
  EXPECT_EQ(exec_of(pid)->capture.comm, "my-true");
  reap(pid);
}

TEST_F(EbpfSourceTest, ShebangScriptReportsInterpreter) {
  TempDir dir;
  const std::string script = dir.path() + "/hello.sh";
  {
    std::ofstream out(script);
    out << "#!/bin/sh\nexit 0\n";
  }
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  const char* argv[] = {script.c_str(), "arg1", nullptr};
  pid_t pid = spawn([&] { execv(script.c_str(), const_cast<char**>(argv)); });
  // binfmt_script replaces argv[0] with the interpreter and inserts the script path.
  EXPECT_EXEC(pid, real_path("/bin/sh"), (Strings{"/bin/sh", script, "arg1"}));
  reap(pid);
}

TEST_F(EbpfSourceTest, FexecveResolvesFile) {
  int fd = open("/usr/bin/true", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const char* argv[] = {"true", nullptr};
  pid_t pid = spawn([&] { fexecve(fd, const_cast<char**>(argv), environ); });
  close(fd);
  EXPECT_EXEC(pid, "/usr/bin/true", (Strings{"true"}));
  reap(pid);
}

TEST_F(EbpfSourceTest, DockerScopeCgroup) {
  auto root = procfs::find_cgroup2_mount();
  ASSERT_TRUE(root.ok()) << root.error().message;
  const std::string hexid = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::string slice = *root + "/procwatch-test.slice";
  const std::string scope = slice + "/docker-" + hexid + ".scope";
  mkdir(slice.c_str(), 0755);
  ASSERT_EQ(mkdir(scope.c_str(), 0755), 0) << scope << ": " << std::strerror(errno);
  const std::string procs = scope + "/cgroup.procs";
  const char* argv[] = {"/bin/true", nullptr};
  pid_t pid = spawn([&] {
    int f = open(procs.c_str(), O_WRONLY);
    if (f < 0 || write(f, "0", 1) != 1) _exit(126);
    close(f);
    execv("/bin/true", const_cast<char**>(argv));
  });
  const ExecEvent* e = exec_of(pid);
  ASSERT_NE(e, nullptr);
  const std::string rel = "/procwatch-test.slice/docker-" + hexid + ".scope";
  EXPECT_EQ(e->capture.cgroup, rel);
  struct stat st {};
  ASSERT_EQ(stat(scope.c_str(), &st), 0);
  EXPECT_EQ(e->capture.cgroup_id, uint64_t(st.st_ino));
#ifdef PROCWATCH_TEST_HAVE_PROCFS
  EXPECT_EQ(procfs::container_id_from_cgroup(*e->capture.cgroup), hexid);
#endif
  reap(pid);
  // The cgroup empties asynchronously after the reap.
  for (int i = 0; i < 100 && rmdir(scope.c_str()) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_NE(access(scope.c_str(), F_OK), 0) << "could not remove " << scope;
  rmdir(slice.c_str());
}

TEST_F(EbpfSourceTest, ForkAndExitCode) {
  pid_t pid = spawn([] { _exit(3); });
  const uint64_t start = stat_start_time(pid);
  track(pid);
  const ProcEvent* f = wait_for([&](const ProcEvent& e) {
    const auto* x = std::get_if<ForkEvent>(&e.body);
    return x && x->child_tid == pid;
  });
  ASSERT_NE(f, nullptr);
  const auto& fork_ev = std::get<ForkEvent>(f->body);
  EXPECT_EQ(fork_ev.child_pid, pid);
  EXPECT_EQ(fork_ev.parent_pid, getpid());
  EXPECT_EQ(fork_ev.parent_tid, int32_t(syscall(SYS_gettid)));
  EXPECT_EQ(fork_ev.child_start_time, start);
  EXPECT_GT(f->ts_ns, 0u);

  const ProcEvent* x = wait_for([&](const ProcEvent& e) {
    const auto* ex = std::get_if<ExitEvent>(&e.body);
    return ex && ex->tid == pid;
  });
  ASSERT_NE(x, nullptr);
  const auto& exit_ev = std::get<ExitEvent>(x->body);
  EXPECT_EQ(exit_ev.pid, pid);
  EXPECT_EQ(exit_ev.exit_code, 3u << 8);
  EXPECT_EQ(exit_status_code(exit_ev.exit_code), 3);
  EXPECT_EQ(exit_ev.exit_signal, uint32_t(SIGCHLD));
  EXPECT_EQ(exit_ev.parent_pid, getpid());
  EXPECT_GE(x->ts_ns, f->ts_ns);
  reap(pid);
}

TEST_F(EbpfSourceTest, KilledBySignal) {
  pid_t pid = spawn([] { raise(SIGKILL); });
  const ProcEvent* x = wait_for([&](const ProcEvent& e) {
    const auto* ex = std::get_if<ExitEvent>(&e.body);
    return ex && ex->tid == pid;
  });
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(std::get<ExitEvent>(x->body).exit_code, uint32_t(SIGKILL));
  reap(pid);
}

TEST_F(EbpfSourceTest, ThreadIsThreadFork) {
  int32_t tid = 0;
  std::thread t([&] { tid = int32_t(syscall(SYS_gettid)); });
  t.join();
  ASSERT_NE(tid, 0);
  const ProcEvent* f = wait_for([&](const ProcEvent& e) {
    const auto* x = std::get_if<ForkEvent>(&e.body);
    return x && x->child_tid == tid;
  });
  ASSERT_NE(f, nullptr);
  const auto& fork_ev = std::get<ForkEvent>(f->body);
  EXPECT_EQ(fork_ev.child_pid, getpid());  // same process: a thread, not a process fork
  EXPECT_EQ(fork_ev.parent_pid, getpid());
  EXPECT_EQ(fork_ev.parent_tid, int32_t(syscall(SYS_gettid)));
  EXPECT_EQ(fork_ev.child_start_time, stat_start_time(getpid()));

  const ProcEvent* x = wait_for([&](const ProcEvent& e) {
    const auto* ex = std::get_if<ExitEvent>(&e.body);
    return ex && ex->tid == tid;
  });
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(std::get<ExitEvent>(x->body).pid, getpid());
}

TEST_F(EbpfSourceTest, StatsCountEvents) {
  pid_t pid = spawn([] { _exit(0); });
  ASSERT_NE(wait_for([&](const ProcEvent& e) {
              const auto* ex = std::get_if<ExitEvent>(&e.body);
              return ex && ex->tid == pid;
            }),
            nullptr);
  reap(pid);
  auto s = source_.stats();
  EXPECT_GE(s.events, 2u);  // at least our fork and exit
  EXPECT_EQ(s.malformed, 0u);
}

// Copies /usr/bin/true into dirfd/name (mode 0755).
bool copy_true(int dirfd, const char* name) {
  std::ifstream in("/usr/bin/true", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (fd < 0) return false;
  bool ok = write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size());
  close(fd);
  return ok && !bytes.empty();
}

// The walk must cross from the tmpfs root to its mountpoint in the parent mount.
TEST_F(EbpfSourceTest, PathCrossesMounts) {
  TempDir dir;
  const std::string mnt = dir.path() + "/mnt";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  ASSERT_EQ(mount("procwatch-test", mnt.c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
  int dfd = open(mnt.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  ASSERT_EQ(mkdirat(dfd, "sub", 0755), 0);
  int sub = openat(dfd, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_TRUE(copy_true(sub, "t"));
  close(sub);
  close(dfd);
  const std::string exe = mnt + "/sub/t";
  const char* argv[] = {"t", nullptr};
  pid_t pid = spawn([&] { execv(exe.c_str(), const_cast<char**>(argv)); });
  EXPECT_EXEC(pid, exe, (Strings{"t"}));
  reap(pid);
  umount2(mnt.c_str(), MNT_DETACH);
}

// fexecve of a file unlinked after it was opened: the path is still known, flagged deleted.
TEST_F(EbpfSourceTest, DeletedExecutable) {
  TempDir dir;
  int dfd = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_TRUE(copy_true(dfd, "gone"));
  close(dfd);
  const std::string exe = dir.path() + "/gone";
  int fd = open(exe.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(unlink(exe.c_str()), 0);
  const char* argv[] = {"gone", nullptr};
  pid_t pid = spawn([&] { fexecve(fd, const_cast<char**>(argv), environ); });
  close(fd);
  const ExecEvent* e = exec_of(pid);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->capture.exe, exe);
  EXPECT_TRUE(e->capture.exe_deleted);
  reap(pid);
}

// Deeper than PW_EBPF_PATH_DEPTH (128) components, or longer than 4096 bytes: the kernel
// flags the path truncated and the event carries no exe rather than a partial one.
TEST_F(EbpfSourceTest, OverlongPathsAreFlaggedNotGuessed) {
  TempDir dir;
  for (auto [levels, name_len] : {std::pair{140, 1}, std::pair{20, 250}}) {
    const std::string name = std::string(size_t(name_len), 'd') + std::to_string(levels);
    int fd = open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    for (int i = 0; i < levels; ++i) {
      ASSERT_TRUE(mkdirat(fd, name.c_str(), 0755) == 0 || errno == EEXIST);
      int next = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      close(fd);
      ASSERT_GE(next, 0);
      fd = next;
    }
    ASSERT_TRUE(copy_true(fd, "t"));
    const char* argv[] = {"./t", nullptr};
    pid_t pid = spawn([&] {
      if (fchdir(fd) == 0) execv("./t", const_cast<char**>(argv));
    });
    close(fd);
    const ExecEvent* e = exec_of(pid);
    ASSERT_NE(e, nullptr) << levels;
    EXPECT_FALSE(e->capture.exe) << levels << " levels: " << e->capture.exe.value_or("");
    EXPECT_EQ(*e->capture.argv, Strings{"./t"});  // the rest of the capture is intact
    reap(pid);
    auto s = source_.stats();
    EXPECT_GE(s.counters["exe_missing"], 1u);
  }
}

TEST_F(EbpfSourceTest, LongArgvIsTruncatedAt4KiB) {
  std::string a(3000, 'a'), b(3000, 'b');
  const char* argv[] = {"/bin/true", a.c_str(), b.c_str(), nullptr};
  pid_t pid = spawn([&] { execv("/bin/true", const_cast<char**>(argv)); });
  const ExecEvent* e = exec_of(pid);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->capture.argv_truncated);
  ASSERT_EQ(e->capture.argv->size(), 3u);
  EXPECT_EQ((*e->capture.argv)[0], "/bin/true");
  EXPECT_EQ((*e->capture.argv)[1], a);
  // 4096 bytes in all: "/bin/true\0" (10) + a\0 (3001) leaves 1085 bytes of b.
  EXPECT_EQ((*e->capture.argv)[2], std::string(4096 - 10 - 3001, 'b'));
  reap(pid);
}

TEST(EbpfSourceOptions, MaxArgsBytes) {
  EbpfOptions o;
  o.max_args_bytes = 12;
  EbpfSource src(o);
  EventQueue q(1 << 20);
  ASSERT_TRUE(src.start(q).ok());
  const char* argv[] = {"/bin/true", "abcdef", nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    execv("/bin/true", const_cast<char**>(argv));
    _exit(127);
  }
  waitpid(pid, nullptr, 0);
  std::optional<ExecCapture> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<ProcEvent> batch;
  while (!got && std::chrono::steady_clock::now() < deadline) {
    q.pop_batch(batch, 4096, std::chrono::milliseconds(50));
    for (const auto& ev : batch)
      if (const auto* e = std::get_if<ExecEvent>(&ev.body); e && e->pid == pid) got = e->capture;
  }
  src.stop();
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->argv_truncated);
  EXPECT_EQ(*got->argv, (Strings{"/bin/true", "ab"}));
}

// memfd exec: the file lives on an internal mount and is unlinked from birth. exe must agree
// with what /proc/PID/exe says, " (deleted)" stripped and flagged.
TEST_F(EbpfSourceTest, MemfdExecMatchesProcExe) {
  int mfd = memfd_create("pw-test", MFD_CLOEXEC);
  ASSERT_GE(mfd, 0);
  {
    std::ifstream in("/usr/bin/sleep", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_EQ(write(mfd, bytes.data(), bytes.size()), ssize_t(bytes.size()));
  }
  const char* argv[] = {"sleep", "30", nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    fexecve(mfd, const_cast<char**>(argv), environ);
    _exit(127);
  }
  close(mfd);
  const ExecEvent* e = exec_of(pid);
  ASSERT_NE(e, nullptr);
  char buf[PATH_MAX];
  ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof(buf));
  ASSERT_GT(n, 0);
  std::string proc_exe(buf, size_t(n));
  const std::string suffix = " (deleted)";
  ASSERT_TRUE(proc_exe.size() > suffix.size() &&
              proc_exe.compare(proc_exe.size() - suffix.size(), suffix.size(), suffix) == 0)
      << proc_exe;
  EXPECT_EQ(e->capture.exe, proc_exe.substr(0, proc_exe.size() - suffix.size()));
  EXPECT_TRUE(e->capture.exe_deleted);
  EXPECT_EQ(*e->capture.argv, (Strings{"sleep", "30"}));
  kill(pid, SIGKILL);
  reap(pid);
}

// A ring buffer of one page cannot hold an exec record with 4 KiB of argv: the kernel counts
// the drop and the source reports it as a LostEvent.
TEST(EbpfSourceLoss, RingbufOverflowBecomesLostEvent) {
  EbpfOptions o;
  o.ringbuf_bytes = size_t(sysconf(_SC_PAGESIZE));
  EbpfSource src(o);
  EventQueue q(1 << 16);
  auto r = src.start(q);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string big(3000, 'x');
  const char* argv[] = {"/bin/true", big.c_str(), big.c_str(), nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    execv("/bin/true", const_cast<char**>(argv));
    _exit(127);
  }
  waitpid(pid, nullptr, 0);
  uint64_t lost = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<ProcEvent> batch;
  while (lost == 0 && std::chrono::steady_clock::now() < deadline) {
    q.pop_batch(batch, 1024, std::chrono::milliseconds(50));
    for (const auto& ev : batch)
      if (const auto* l = std::get_if<LostEvent>(&ev.body); l && l->reason == "ringbuf")
        lost += l->count;
  }
  EXPECT_GE(lost, 1u);
  EXPECT_GE(src.stats().lost, lost);
  src.stop();
}

TEST(EbpfSourceErrors, BadRingbufSizeIsOneLineError) {
  EbpfOptions o;
  o.ringbuf_bytes = 12345;
  EbpfSource src(o);
  EventQueue q;
  auto r = src.start(q);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().errnum, EINVAL);
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
  EXPECT_NE(r.error().message.find("ring buffer"), std::string::npos);
}

}  // namespace
}  // namespace procwatch
