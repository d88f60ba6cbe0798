#include "sources/ebpf/ebpf_decoder.h"

#include <cstddef>
#include <cstring>
#include <string>
#include <type_traits>

#include "sources/ebpf/ebpf_record.h"

namespace procwatch::ebpf {

// Layout shared with the BPF side: any change there must show up here.
static_assert(sizeof(pw_ebpf_header) == 24);
static_assert(offsetof(pw_ebpf_header, type) == 0);
static_assert(offsetof(pw_ebpf_header, size) == 4);
static_assert(offsetof(pw_ebpf_header, ts_ns) == 8);
static_assert(offsetof(pw_ebpf_header, cpu) == 16);
static_assert(sizeof(pw_ebpf_fork) == 56);
static_assert(offsetof(pw_ebpf_fork, parent_pid) == 24);
static_assert(offsetof(pw_ebpf_fork, child_tgid) == 36);
static_assert(offsetof(pw_ebpf_fork, flags) == 44);
static_assert(offsetof(pw_ebpf_fork, child_start_ns) == 48);
static_assert(sizeof(pw_ebpf_exit) == 64);
static_assert(offsetof(pw_ebpf_exit, exit_code) == 32);
static_assert(offsetof(pw_ebpf_exit, flags) == 48);
static_assert(offsetof(pw_ebpf_exit, start_ns) == 56);
static_assert(offsetof(pw_ebpf_exec, cgroup_id) == 56);
static_assert(offsetof(pw_ebpf_exec, start_ns) == 64);
static_assert(offsetof(pw_ebpf_exec, comm) == 72);
static_assert(offsetof(pw_ebpf_exec, flags) == 88);
static_assert(offsetof(pw_ebpf_exec, path_len) == 92);
static_assert(offsetof(pw_ebpf_exec, args_len) == 96);
static_assert(offsetof(pw_ebpf_exec, data) == PW_EBPF_EXEC_FIXED_SIZE);
static_assert(sizeof(pw_ebpf_exec) ==
              PW_EBPF_EXEC_FIXED_SIZE + PW_EBPF_PATH_MAX + PW_EBPF_ARGS_MAX);
static_assert(std::is_standard_layout_v<pw_ebpf_exec> &&
              std::is_trivially_copyable_v<pw_ebpf_exec>);

namespace {

// Copies the fixed part of a record (bytes [0, min(len, sizeof(T)))) into a zeroed T.
template <class T>
T copy_fixed(std::span<const std::byte> b, size_t len) {
  T out;
  std::memset(&out, 0, sizeof(out));
  std::memcpy(&out, b.data(), len < sizeof(T) ? len : sizeof(T));
  return out;
}

std::string bounded_string(const char* p, size_t max) {
  size_t n = 0;
  while (n < max && p[n] != '\0') ++n;
  return std::string(p, n);
}

Error bad(std::string what) { return make_error("ebpf record: " + std::move(what)); }

}  // namespace

uint64_t boottime_ns_to_ticks(uint64_t ns, uint64_t clock_hz) {
  if (clock_hz == 0) return 0;
  return ns / (1000000000ull / clock_hz);
}

Result<ProcEvent> decode_ebpf_record(std::span<const std::byte> bytes, const DecodeOptions& opts) {
  if (bytes.size() < sizeof(pw_ebpf_header)) return bad("shorter than its header");
  const auto hdr = copy_fixed<pw_ebpf_header>(bytes, sizeof(pw_ebpf_header));
  if (hdr.size != bytes.size())
    return bad("size field " + std::to_string(hdr.size) + " != record length " +
               std::to_string(bytes.size()));

  ProcEvent ev;
  ev.ts_ns = hdr.ts_ns;
  ev.cpu = hdr.cpu;

  switch (hdr.type) {
    case PW_EBPF_FORK: {
      if (hdr.size < sizeof(pw_ebpf_fork)) return bad("fork record too short");
      const auto r = copy_fixed<pw_ebpf_fork>(bytes, hdr.size);
      ForkEvent f;
      f.child_pid = r.child_tgid;
      f.child_tid = r.child_pid;
      f.parent_tid = r.parent_pid;
      // A thread belongs to the creator's process; a process to its real parent, which
      // differs from the caller with CLONE_PARENT.
      f.parent_pid = (r.flags & PW_FORK_THREAD) ? r.parent_tgid : r.real_parent_tgid;
      f.child_start_time = boottime_ns_to_ticks(r.child_start_ns, opts.clock_hz);
      ev.body = f;
      return ev;
    }
    case PW_EBPF_EXIT: {
      if (hdr.size < sizeof(pw_ebpf_exit)) return bad("exit record too short");
      const auto r = copy_fixed<pw_ebpf_exit>(bytes, hdr.size);
      ExitEvent x;
      x.pid = r.tgid;
      x.tid = r.pid;
      x.exit_code = r.exit_code;
      x.exit_signal = r.exit_signal;
      x.parent_pid = r.parent_tgid;
      x.parent_tid = r.parent_pid;
      x.group_dead = (r.flags & PW_EXIT_GROUP_DEAD) != 0;
      x.start_time = boottime_ns_to_ticks(r.start_ns, opts.clock_hz);
      if (r.flags & PW_EXIT_EXE_CHECKED) x.exe_deleted = (r.flags & PW_EXIT_EXE_DELETED) != 0;
      ev.body = x;
      return ev;
    }
    case PW_EBPF_EXEC: {
      if (hdr.size < PW_EBPF_EXEC_FIXED_SIZE) return bad("exec record too short");
      // Only the fixed part is copied into the struct; the data tail is read from the span.
      const auto r = copy_fixed<pw_ebpf_exec>(bytes, PW_EBPF_EXEC_FIXED_SIZE);
      if (r.path_len > PW_EBPF_PATH_MAX) return bad("exec path_len too large");
      if (r.args_len > PW_EBPF_ARGS_MAX) return bad("exec args_len too large");
      if (size_t(PW_EBPF_EXEC_FIXED_SIZE) + r.path_len + r.args_len != hdr.size)
        return bad("exec lengths disagree with record size");
      const auto* data = reinterpret_cast<const char*>(bytes.data()) + PW_EBPF_EXEC_FIXED_SIZE;

      ExecEvent e;
      e.pid = r.tgid;
      e.tid = r.pid;
      ExecCapture& c = e.capture;
      c.start_time = boottime_ns_to_ticks(r.start_ns, opts.clock_hz);
      // A truncated or partly unreadable path is not absolute: report none rather than a
      // misleading suffix.
      if (!(r.flags & (PW_EXEC_PATH_TRUNCATED | PW_EXEC_PATH_FAULT)) && r.path_len > 0 &&
          data[0] == '/')
        c.exe = std::string(data, r.path_len);
      c.exe_deleted = (r.flags & PW_EXEC_PATH_DELETED) != 0;
      if (!(r.flags & PW_EXEC_ARGS_FAULT)) {
        std::vector<std::string> argv;
        bool truncated = (r.flags & PW_EXEC_ARGS_TRUNCATED) != 0;
        const char* a = data + r.path_len;
        size_t i = 0;
        while (i < r.args_len) {
          if (argv.size() >= opts.max_args) {
            truncated = true;
            break;
          }
          const void* nul = std::memchr(a + i, '\0', r.args_len - i);
          size_t end = nul ? size_t(static_cast<const char*>(nul) - a) : r.args_len;
          argv.emplace_back(a + i, end - i);
          i = end + 1;
        }
        c.argv = std::move(argv);
        c.argv_truncated = truncated;
      }
      c.ppid = r.ppid;
      c.comm = bounded_string(r.comm, sizeof(r.comm));
      c.uid = r.uid;
      c.euid = r.euid;
      c.gid = r.gid;
      c.egid = r.egid;
      c.cgroup_id = r.cgroup_id;
      ev.body = std::move(e);
      return ev;
    }
    default:
      return bad("unknown type " + std::to_string(hdr.type));
  }
}

}  // namespace procwatch::ebpf
