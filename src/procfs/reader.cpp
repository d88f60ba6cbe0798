#include "procfs/reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "core/clock.h"
#include "procfs/cgroup_resolver.h"

namespace procwatch::procfs {
namespace {

constexpr uint32_t kPfKthread = 0x00200000;  // include/linux/sched.h
constexpr size_t kStatBuf = 2048;            // a stat line is ~300 bytes; comm is <= 64
constexpr size_t kLinkBuf = 4096 + 64;       // PATH_MAX plus " (deleted)"
constexpr size_t kSmallBuf = 8192;

// struct pidfd_info and PIDFD_GET_INFO of Linux 6.13 <linux/pidfd.h>, newer than Debian 12's.
struct PidfdInfo {
  uint64_t mask, cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid, spare0;
};
static_assert(sizeof(PidfdInfo) == 64, "PIDFD_INFO_SIZE_VER0");
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);
constexpr uint64_t kPidfdInfoCreds = 1u << 1;
constexpr uint64_t kPidfdInfoCgroupid = 1u << 2;

// Real and effective ids (and the cgroup2 id, when the kernel has one for the task) of a live
// process through a pidfd: one syscall set instead of opening and formatting
// /proc/PID/status and /proc/PID/cgroup (measured ~10 us against ~40 us on a fresh child).
// false when the kernel lacks it (before 6.13) or the process is gone.
bool ids_from_pidfd(int32_t pid, ExecCapture* cap) {
  const int fd = int(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return false;
  PidfdInfo info{};
  info.mask = kPidfdInfoCreds | kPidfdInfoCgroupid;
  const bool ok = ::ioctl(fd, kPidfdGetInfo, &info) == 0 && (info.mask & kPidfdInfoCreds);
  ::close(fd);
  if (!ok) return false;
  cap->uid = info.ruid, cap->euid = info.euid;
  cap->gid = info.rgid, cap->egid = info.egid;
  if (info.mask & kPidfdInfoCgroupid) cap->cgroup_id = info.cgroupid;
  return true;
}

// root/pid/name into out; false when it does not fit.
bool make_path(const std::string& root, int32_t pid, const char* name, char* out, size_t cap) {
  const int n = std::snprintf(out, cap, "%s/%d/%s", root.c_str(), pid, name);
  return n > 0 && size_t(n) < cap;
}

// Reads up to cap bytes of root/pid/name into buf. Returns bytes read, or -errno.
ssize_t read_into(const std::string& root, int32_t pid, const char* name, char* buf, size_t cap) {
  char path[4096];
  if (!make_path(root, pid, name, path, sizeof path)) return -ENAMETOOLONG;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t got = 0;
  while (got < cap) {
    const ssize_t n = ::read(fd, buf + got, cap - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return -err;
    }
    if (n == 0) break;
    got += size_t(n);
  }
  ::close(fd);
  return ssize_t(got);
}

// readlink of root/pid/name (link text, not canonicalised). Returns length or -errno.
ssize_t readlink_into(const std::string& root, int32_t pid, const char* name, char* buf,
                      size_t cap) {
  char path[4096];
  if (!make_path(root, pid, name, path, sizeof path)) return -ENAMETOOLONG;
  const ssize_t n = ::readlink(path, buf, cap);
  if (n < 0) return -errno;
  return n;
}

bool gone(ssize_t rc) { return rc == -ENOENT || rc == -ESRCH; }

uint64_t ticks_to_monotonic_ns(uint64_t ticks) {
  const uint64_t hz = uint64_t(clock_ticks_per_second() > 0 ? clock_ticks_per_second() : 100);
  // Split to avoid overflowing ticks * 1e9 on long uptimes.
  const uint64_t boot_ns = ticks / hz * 1000000000ull + ticks % hz * 1000000000ull / hz;
  const uint64_t b = boottime_ns(), m = monotonic_ns();
  const uint64_t suspended = b > m ? b - m : 0;  // time spent suspended since boot
  return boot_ns > suspended ? boot_ns - suspended : 0;
}

// Reads and parses root/pid/stat without heap use beyond Stat::comm.
Result<Stat> read_stat(const std::string& root, int32_t pid, ssize_t* rc_out) {
  char buf[kStatBuf];
  const ssize_t rc = read_into(root, pid, "stat", buf, sizeof buf);
  if (rc_out != nullptr) *rc_out = rc;
  if (rc < 0) return make_error("stat: unreadable", int(-rc));
  return parse_stat(std::string_view(buf, size_t(rc)));
}

// Room for one argv area read within limits: max_arg_bytes of text plus one NUL per arg,
// and one byte more that tells us the area was longer.
class ArgsBuffer {
 public:
  explicit ArgsBuffer(const ReadLimits& lim)
      : lim_(lim), want_(lim.max_arg_bytes + lim.max_args + 1) {
    if (want_ > sizeof stack_) heap_.resize(want_);
  }
  char* data() { return heap_.empty() ? stack_ : heap_.data(); }
  size_t want() const { return want_; }
  // argv from the first n bytes; n == want() means the area was longer (truncated).
  std::vector<std::string> parse(size_t n, bool* truncated) {
    const bool longer = n >= want_;
    *truncated = false;
    auto argv = parse_cmdline(std::string_view(data(), longer ? want_ - 1 : n), lim_.max_args,
                              lim_.max_arg_bytes, truncated);
    if (longer) *truncated = true;
    return argv;
  }

 private:
  const ReadLimits& lim_;
  size_t want_;
  char stack_[kSmallBuf];
  std::string heap_;
};

// cmdline of pid parsed within limits. *rc_out: bytes read or -errno.
std::vector<std::string> read_cmdline(const std::string& root, int32_t pid, const ReadLimits& lim,
                                      bool* truncated, ssize_t* rc_out) {
  ArgsBuffer buf(lim);
  const ssize_t rc = read_into(root, pid, "cmdline", buf.data(), buf.want());
  *rc_out = rc;
  *truncated = false;
  if (rc <= 0) return {};
  return buf.parse(size_t(rc), truncated);
}

// argv straight from the process's memory, between stat's arg_start and arg_end: no /proc
// file to instantiate (measured ~7 us against ~13 us for a cold cmdline on a fresh exec).
// nullopt on any failure, or when the area does not end in NUL (the process rewrote its
// argv, setproctitle-style): /proc/PID/cmdline knows how to read that.
std::optional<std::vector<std::string>> read_args_vm(int32_t pid, uint64_t start, uint64_t end,
                                                     const ReadLimits& lim, bool* truncated) {
  if (end <= start) return std::nullopt;
  ArgsBuffer buf(lim);
  const size_t n = end - start >= buf.want() ? buf.want() : size_t(end - start);
  iovec local{buf.data(), n};
  iovec remote{reinterpret_cast<void*>(uintptr_t(start)), n};
  if (::process_vm_readv(pid, &local, 1, &remote, 1, 0) != ssize_t(n)) return std::nullopt;
  if (n < buf.want() && buf.data()[n - 1] != '\0') return std::nullopt;
  return buf.parse(n, truncated);
}

// Reads root/pid/exe into path/deleted. Returns readlink's result (bytes, or -errno).
ssize_t read_exe(const std::string& root, int32_t pid, std::string* path, bool* deleted) {
  char link[kLinkBuf];
  const ssize_t n = readlink_into(root, pid, "exe", link, sizeof link);
  if (n > 0 && size_t(n) < sizeof link) {
    ExeLink exe = parse_exe_link(std::string_view(link, size_t(n)));
    *path = std::move(exe.path);
    *deleted = exe.deleted;
  }
  return n;
}

}  // namespace

ProcReader::ProcReader(std::string root, ReadLimits limits, UserNameCache* users)
    : root_(std::move(root)), limits_(limits), users_(users ? users : &UserNameCache::shared()) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  // Without an LSM that labels tasks, attr/current is EINVAL for every process: skip the read
  // (one open per exec) after checking once on ourselves. Fixture roots have no "self".
  char probe[256];
  char path[4096];
  std::snprintf(path, sizeof path, "%s/self/attr/current", root_.c_str());
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (::read(fd, probe, sizeof probe) < 0 && errno == EINVAL) lsm_labels_ = false;
    ::close(fd);
  }
  // pidfds and process_vm_readv name processes in our pid namespace: use them only when
  // root is that /proc.
  if (root_ == "/proc") {
    const ssize_t n = ::readlink("/proc/self", path, sizeof path - 1);
    own_proc_ = n > 0 && std::string_view(path, size_t(n)) == std::to_string(::getpid());
    ExecCapture self;
    pidfd_ids_ = own_proc_ && ids_from_pidfd(::getpid(), &self) && self.uid == ::getuid() &&
                 self.euid == ::geteuid();
  }
}

std::vector<int32_t> ProcReader::list_pids() const {
  std::vector<int32_t> pids;
  DIR* d = ::opendir(root_.c_str());
  if (d == nullptr) return pids;
  while (const dirent* e = ::readdir(d)) {
    const char* s = e->d_name;
    if (*s == '\0') continue;
    int64_t v = 0;
    bool digits = true;
    for (; *s != '\0'; ++s) {
      if (*s < '0' || *s > '9' || v > 0x7fffffff) {
        digits = false;
        break;
      }
      v = v * 10 + (*s - '0');
    }
    if (digits && v > 0 && v <= 0x7fffffff) pids.push_back(int32_t(v));
  }
  ::closedir(d);
  return pids;
}

Result<std::string> ProcReader::read_file(int32_t pid, const char* name, size_t max_bytes) const {
  std::string out(max_bytes, '\0');
  const ssize_t rc = read_into(root_, pid, name, out.data(), max_bytes);
  if (rc < 0) {
    return make_error(
        root_ + "/" + std::to_string(pid) + "/" + name + ": " + std::strerror(int(-rc)), int(-rc));
  }
  out.resize(size_t(rc));
  return out;
}

ExecCapture ProcReader::capture_exec(int32_t pid, CgroupResolver* cgroups) const {
  // exe first, then argv: both vanish when the process exits (zombie), stat does not. On our
  // own /proc, stat comes second because it says where argv lies in memory.
  ExecCapture cap;
  std::string exe;
  if (read_exe(root_, pid, &exe, &cap.exe_deleted) > 0 && !exe.empty()) cap.exe = std::move(exe);
  bool truncated = false;
  auto take_cmdline = [&] {
    ssize_t rc = 0;
    auto argv = read_cmdline(root_, pid, limits_, &truncated, &rc);
    if (!argv.empty()) {
      cap.argv = std::move(argv);
      cap.argv_truncated = truncated;
    }
  };
  if (!own_proc_) take_cmdline();
  Result<Stat> st = read_stat(root_, pid, nullptr);
  if (own_proc_) {
    std::optional<std::vector<std::string>> argv;
    if (st.ok() && st->arg_end > st->arg_start) {
      argv = read_args_vm(pid, st->arg_start, st->arg_end, limits_, &truncated);
    }
    if (argv && !argv->empty()) {
      argv_from_memory_.fetch_add(1, std::memory_order_relaxed);
      cap.argv = std::move(*argv);
      cap.argv_truncated = truncated;
    } else {
      take_cmdline();
    }
  }
  if (!st.ok()) return cap;
  cap.start_time = st->start_time;
  cap.ppid = st->ppid;
  cap.comm = std::move(st->comm);
  // Ids and cgroup too, while the process is certainly still this one (a zombie keeps both):
  // with them the capture is complete and the engine needs no later /proc read.
  char buf[kSmallBuf];
  ssize_t got = 0;
  if (!(pidfd_ids_ && ids_from_pidfd(pid, &cap))) {
    got = read_into(root_, pid, "status", buf, sizeof buf);
    if (got >= 0) {
      if (auto status = parse_status(std::string_view(buf, size_t(got)))) {
        cap.uid = status->uid[0], cap.euid = status->uid[1];
        cap.gid = status->gid[0], cap.egid = status->gid[1];
      }
    }
  }
  if (cgroups != nullptr && cap.cgroup_id) {
    if (auto path = cgroups->resolve(*cap.cgroup_id)) {
      cap.cgroup = std::move(*path);
      return cap;
    }
  }
  got = read_into(root_, pid, "cgroup", buf, sizeof buf);
  if (got >= 0) {
    if (auto cg = parse_cgroup(std::string_view(buf, size_t(got)))) cap.cgroup = std::move(*cg);
  }
  return cap;
}

// container_id, container_runtime and pod_uid from info.cgroup (container_from_cgroup), then
// the names from the container namer, only for a process in a container.
void ProcReader::set_container(ProcInfo& info) const {
  ContainerRef ref = container_from_cgroup(info.cgroup);
  info.container_id = ref.kind == "container" ? std::move(ref.id) : std::string();
  info.container_runtime = std::move(ref.runtime);
  info.pod_uid = std::move(ref.pod_uid);
  if (!info.container_id.empty() && container_namer_) container_namer_(info);
}

std::string ProcReader::read_context(int32_t pid) const {
  if (!lsm_labels_) return {};
  char buf[512];
  // EINVAL (no LSM label) and ENOENT leave the context empty.
  const ssize_t rc = read_into(root_, pid, "attr/current", buf, sizeof buf);
  return rc > 0 ? parse_attr_current(std::string_view(buf, size_t(rc))) : std::string();
}

std::optional<uint64_t> ProcReader::read_start_time(int32_t pid) const {
  Result<Stat> st = read_stat(root_, pid, nullptr);
  if (!st.ok()) return std::nullopt;
  return st->start_time;
}

std::optional<ProcInfo> ProcReader::read_process(int32_t pid, const ExecCapture* base) const {
  // After an exec the process table links the parent itself; a scan of one pid needs the read.
  return read_process_impl(pid, base, base == nullptr);
}

std::optional<ProcInfo> ProcReader::read_process_impl(int32_t pid, const ExecCapture* base,
                                                      bool with_parent) const {
  ProcInfo info;
  info.key.pid = pid;
  const bool base_start = base != nullptr && base->start_time.has_value();
  if (base_start && base->exe && base->argv && base->ppid && base->comm && base->uid &&
      base->euid && base->gid && base->egid && base->cgroup) {
    // An in-kernel capture (eBPF) is the whole identity as of the exec: /proc would add only
    // the LSM label, and the process may be gone already without being incomplete.
    info.key.start_time = *base->start_time;
    info.start_ns = ticks_to_monotonic_ns(info.key.start_time);
    info.exe = *base->exe;
    info.exe_deleted = base->exe_deleted;
    info.argv = *base->argv;
    info.argv_truncated = base->argv_truncated;
    info.ppid = *base->ppid;
    info.comm = *base->comm;
    info.uid = *base->uid, info.euid = *base->euid, info.gid = *base->gid, info.egid = *base->egid;
    info.ids_known = true;
    info.cgroup = *base->cgroup;
    set_container(info);
    info.user = user_name(info.uid);
    info.context = read_context(pid);
    return info;
  }
  Result<Stat> st = read_stat(root_, pid, nullptr);
  // A different start time means the pid was reused: nothing under root/pid is ours.
  const bool live = st.ok() && (!base_start || st->start_time == *base->start_time);
  if (!st.ok() && !base_start) return std::nullopt;

  // Values from the capture win; /proc fills the rest.
  if (base != nullptr) {
    if (base->exe) info.exe = *base->exe, info.exe_deleted = base->exe_deleted;
    if (base->argv) info.argv = *base->argv, info.argv_truncated = base->argv_truncated;
    if (base->ppid) info.ppid = *base->ppid;
    if (base->comm) info.comm = *base->comm;
    if (base->uid) info.uid = *base->uid;
    if (base->euid) info.euid = *base->euid;
    if (base->gid) info.gid = *base->gid;
    if (base->egid) info.egid = *base->egid;
    info.ids_known = base->uid && base->euid && base->gid && base->egid;
    if (base->cgroup) info.cgroup = *base->cgroup;
  }
  info.key.start_time = base_start ? *base->start_time : st->start_time;
  info.start_ns = ticks_to_monotonic_ns(info.key.start_time);

  if (!live) {
    info.incomplete = true;
    if (info.ids_known) info.user = user_name(info.uid);
    set_container(info);
    return info;
  }

  bool incomplete = st->state == 'Z' || st->state == 'X';
  const bool kthread = (st->flags & kPfKthread) != 0 || pid == 2 || st->ppid == 2;
  if (!base || !base->ppid) info.ppid = st->ppid;
  if (!base || !base->comm) info.comm = st->comm;
  info.threads = st->num_threads > 0 ? uint32_t(st->num_threads) : 1;

  // An in-kernel capture (eBPF) already has every id; a fresh exec has one thread.
  const bool ids_captured = base && base->uid && base->euid && base->gid && base->egid;
  if (ids_captured) {
    info.ids_known = true;
  } else {
    char buf[kSmallBuf];
    const ssize_t rc = read_into(root_, pid, "status", buf, sizeof buf);
    Result<Status> status =
        rc >= 0 ? parse_status(std::string_view(buf, size_t(rc))) : make_error("unreadable");
    if (gone(rc)) incomplete = true;
    if (status.ok()) {
      if (!base || !base->uid) info.uid = status->uid[0];
      if (!base || !base->euid) info.euid = status->uid[1];
      if (!base || !base->gid) info.gid = status->gid[0];
      if (!base || !base->egid) info.egid = status->gid[1];
      info.ids_known = true;
      if (status->threads > 0) info.threads = uint32_t(status->threads);
    }
  }

  if ((!base || !base->exe) && !kthread) {
    const ssize_t n = read_exe(root_, pid, &info.exe, &info.exe_deleted);
    if (n <= 0 && gone(n)) {
      incomplete = true;  // zombie or exited; EACCES (e.g. pid 1 in a sandbox) is not
    }
  }

  if (!base || !base->argv) {
    ssize_t rc = 0;
    info.argv = read_cmdline(root_, pid, limits_, &info.argv_truncated, &rc);
    // Only kernel threads have an empty cmdline while alive.
    if (gone(rc) || (rc == 0 && !kthread)) incomplete = true;
  }

  if (!base || !base->cgroup) {
    char buf[kSmallBuf];
    const ssize_t rc = read_into(root_, pid, "cgroup", buf, sizeof buf);
    if (rc >= 0) {
      Result<std::string> cg = parse_cgroup(std::string_view(buf, size_t(rc)));
      if (cg.ok()) info.cgroup = std::move(cg.value());
    } else if (gone(rc)) {
      incomplete = true;
    }
  }
  set_container(info);

  info.context = read_context(pid);

  if (info.ids_known) info.user = user_name(info.uid);
  if (with_parent && info.ppid > 0) {
    if (auto t = read_start_time(info.ppid)) info.parent_start_time = *t;
  }
  info.incomplete = incomplete;
  return info;
}

std::vector<ProcInfo> ProcReader::scan() const {
  std::vector<ProcInfo> out;
  const std::vector<int32_t> pids = list_pids();
  out.reserve(pids.size());
  for (int32_t pid : pids) {
    if (auto info = read_process_impl(pid, nullptr, false)) out.push_back(std::move(*info));
  }
  // Parent identities from this scan; a parent that appeared after the listing is read.
  std::unordered_map<int32_t, uint64_t> starts;
  starts.reserve(out.size());
  for (const ProcInfo& p : out) starts.emplace(p.key.pid, p.key.start_time);
  for (ProcInfo& p : out) {
    if (p.ppid <= 0) continue;
    auto it = starts.find(p.ppid);
    if (it != starts.end()) {
      p.parent_start_time = it->second;
    } else if (auto t = read_start_time(p.ppid)) {
      p.parent_start_time = *t;
    }
  }
  return out;
}

std::string ProcReader::user_name(uint32_t uid) const { return users_->name_or_number(uid); }

}  // namespace procwatch::procfs
