// ProcEvent: what a source reports, decoded and owned (no pointers into kernel buffers).
// Plain values; safe to move across threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace procwatch {

// Identity of a process: PID alone is reused (pid_max can be 32768), so pair it with the
// start time in clock ticks since boot (/proc/PID/stat field 22).
struct ProcKey {
  int32_t pid = 0;
  uint64_t start_time = 0;
  auto operator<=>(const ProcKey&) const = default;
};

// What a source could read about a process at the moment it saw the exec (or fork). The
// netlink source reads it from /proc at once; the eBPF source fills it in the kernel.
// Every field is optional because a short-lived process may be gone before it is read.
struct ExecCapture {
  std::optional<uint64_t> start_time;  // clock ticks since boot
  std::optional<std::string> exe;      // absolute path, " (deleted)" stripped
  bool exe_deleted = false;
  std::optional<std::vector<std::string>> argv;
  bool argv_truncated = false;
  std::optional<int32_t> ppid;
  std::optional<std::string> comm;
  std::optional<uint32_t> uid, euid, gid, egid;
  std::optional<uint64_t> cgroup_id;   // cgroup2 id (eBPF, pidfd); mapped to a path in user space
  std::optional<std::string> cgroup;   // path, when the source read it
};

// pid = thread-group id (process), tid = thread id, as the kernel reports them.
struct ForkEvent {
  int32_t parent_pid = 0, parent_tid = 0, child_pid = 0, child_tid = 0;
  std::optional<uint64_t> child_start_time;  // read by the source when it could
};
struct ExecEvent {
  int32_t pid = 0, tid = 0;
  ExecCapture capture;
};
struct ExitEvent {
  int32_t pid = 0, tid = 0;
  uint32_t exit_code = 0;    // raw wait status (code << 8 | signal)
  uint32_t exit_signal = 0;  // signal sent to the parent (SIGCHLD), not the killing signal
  int32_t parent_pid = 0, parent_tid = 0;  // real parent as of the exit (0 = unknown)
  bool code_known = true;    // false when the source saw the exit but not its status (poller)
  // The kernel's answer to "was this the last live thread of its process" (eBPF, poller).
  // nullopt when the source cannot say (netlink): the table then checks the thread group.
  std::optional<bool> group_dead;
  std::optional<uint64_t> start_time;   // group start, clock ticks since boot (eBPF)
  std::optional<bool> exe_deleted;      // the image's file was unlinked (eBPF checks at exit)
};
struct UidEvent {
  int32_t pid = 0, tid = 0;
  uint32_t ruid = 0, euid = 0;
};
struct GidEvent {
  int32_t pid = 0, tid = 0;
  uint32_t rgid = 0, egid = 0;
};
struct SidEvent {
  int32_t pid = 0, tid = 0;
};
struct CommEvent {
  int32_t pid = 0, tid = 0;
  std::string comm;
};
struct PtraceEvent {
  int32_t pid = 0, tid = 0, tracer_pid = 0, tracer_tid = 0;
};
struct CoredumpEvent {
  int32_t pid = 0, tid = 0, parent_pid = 0, parent_tid = 0;
};
// Events the source knows it missed (socket overrun, sequence gap, full queue, ring-buffer
// drops). The engine resynchronises the table from /proc when it sees one.
struct LostEvent {
  uint64_t count = 0;
  std::string reason;  // "enobufs", "seq_gap", "queue_full", "ringbuf"
};

using EventBody = std::variant<ForkEvent, ExecEvent, ExitEvent, UidEvent, GidEvent, SidEvent,
                               CommEvent, PtraceEvent, CoredumpEvent, LostEvent>;

struct ProcEvent {
  uint64_t ts_ns = 0;  // CLOCK_MONOTONIC nanoseconds
  uint32_t cpu = 0;
  EventBody body;
};

// Name used in JSON and metrics: fork|exec|exit|uid|gid|sid|comm|ptrace|coredump|lost.
const char* event_name(const EventBody& body);

// Exit status helpers over the raw wait status.
inline int exit_status_code(uint32_t raw) { return (raw & 0x7f) == 0 ? int((raw >> 8) & 0xff) : -1; }
inline int exit_status_signal(uint32_t raw) { return int(raw & 0x7f); }

}  // namespace procwatch
