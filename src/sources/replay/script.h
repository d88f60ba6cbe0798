// Script: builds a list of ProcEvents for tests, read like the kernel would have sent them:
//   replay::Script s;
//   s.fork(1, 100).exec(100, "/bin/sh", {"sh", "x.sh"}).exit(100, 0);
//   for (const ProcEvent& ev : s.events()) table.apply(ev);
// Header-only value type (link nothing but procwatch_core); not thread-safe.
//
// Clock: each event gets ts_ns = now(), then now() advances by `step_ns` (sleep() adds more).
// Start times: fork() gives the child a /proc-style start time unless told otherwise;
// by default it is derived from the event ts at 100 Hz with boot == monotonic, i.e. exactly
// what ProcessTable's default TableOptions would derive, so keys agree either way.
// exec() fills the capture the way the netlink source does (exe, argv, comm = basename of
// exe, start time and ppid remembered from fork); fields given in `extra` win.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/proc_event.h"

namespace procwatch::replay {

class Script {
 public:
  static constexpr uint64_t kDefaultStartNs = 1'000'000'000;  // 1 s after boot
  static constexpr uint64_t kDefaultStepNs = 1'000'000;       // 1 ms between events
  static constexpr uint64_t kAutoStart = UINT64_MAX;          // start time derived from ts
  static constexpr uint64_t kNoStart = UINT64_MAX - 1;        // the source could not read it
  static constexpr uint32_t kSigchld = 17;

  explicit Script(uint64_t start_ns = kDefaultStartNs, uint64_t step_ns = kDefaultStepNs)
      : now_(start_ns), step_(step_ns) {}

  // New process `child` forked by `parent` (child_pid == child_tid).
  Script& fork(int32_t parent, int32_t child, uint64_t start_time = kAutoStart) {
    ForkEvent f{parent, parent, child, child, std::nullopt};
    if (start_time == kAutoStart) start_time = now_ / 10'000'000;  // 100 Hz ticks
    if (start_time != kNoStart) {
      f.child_start_time = start_time;
      start_[child] = start_time;
    } else {
      start_.erase(child);
    }
    parent_[child] = parent;
    return push(f);
  }

  // New thread `tid` in process `pid`.
  Script& thread(int32_t pid, int32_t tid) { return push(ForkEvent{pid, pid, pid, tid, {}}); }

  // pid execs exe with argv. Empty exe / argv mean "the source could not read it".
  Script& exec(int32_t pid, std::string exe, std::vector<std::string> argv,
               ExecCapture extra = {}) {
    ExecCapture c = std::move(extra);
    if (!c.exe && !exe.empty()) {
      const size_t slash = exe.rfind('/');
      if (!c.comm) c.comm = exe.substr(slash == std::string::npos ? 0 : slash + 1, 15);
      c.exe = std::move(exe);
    }
    if (!c.argv && !argv.empty()) c.argv = std::move(argv);
    if (!c.start_time) {
      if (auto it = start_.find(pid); it != start_.end()) c.start_time = it->second;
    }
    if (!c.ppid) {
      if (auto it = parent_.find(pid); it != parent_.end()) c.ppid = it->second;
    }
    return exec_raw(pid, std::move(c));
  }

  // Exec with exactly this capture (nothing filled in).
  Script& exec_raw(int32_t pid, ExecCapture capture) {
    return push(ExecEvent{pid, pid, std::move(capture)});
  }

  // Process exit with a status code (exit(code)).
  Script& exit(int32_t pid, int code = 0) { return exit_raw(pid, uint32_t(code & 0xff) << 8); }
  // Process killed by `signal` (optionally dumping core).
  Script& kill(int32_t pid, int signal, bool core_dumped = false) {
    return exit_raw(pid, uint32_t(signal & 0x7f) | (core_dumped ? 0x80u : 0u));
  }
  // Process exit with a raw wait status.
  Script& exit_raw(int32_t pid, uint32_t wait_status) {
    const int32_t pp = parent_of(pid);
    parent_.erase(pid);
    start_.erase(pid);
    return push(ExitEvent{pid, pid, wait_status, kSigchld, pp, pp});
  }
  // Thread `tid` of process `pid` exits.
  Script& thread_exit(int32_t pid, int32_t tid) {
    return push(ExitEvent{pid, tid, 0, 0, parent_of(pid), parent_of(pid)});
  }

  Script& uid(int32_t pid, uint32_t ruid, std::optional<uint32_t> euid = std::nullopt) {
    return push(UidEvent{pid, pid, ruid, euid.value_or(ruid)});
  }
  Script& gid(int32_t pid, uint32_t rgid, std::optional<uint32_t> egid = std::nullopt) {
    return push(GidEvent{pid, pid, rgid, egid.value_or(rgid)});
  }
  Script& sid(int32_t pid) { return push(SidEvent{pid, pid}); }
  Script& comm(int32_t pid, std::string name) { return push(CommEvent{pid, pid, std::move(name)}); }
  Script& ptrace(int32_t pid, int32_t tracer) {
    return push(PtraceEvent{pid, pid, tracer, tracer});
  }
  Script& coredump(int32_t pid) {
    return push(CoredumpEvent{pid, pid, parent_of(pid), parent_of(pid)});
  }
  Script& lost(uint64_t count = 1, std::string reason = "enobufs") {
    return push(LostEvent{count, std::move(reason)});
  }
  // Any other event body, stamped like the rest.
  Script& event(EventBody body) { return push(std::move(body)); }

  // Advances the clock before the next event.
  Script& sleep(uint64_t ns) {
    now_ += ns;
    return *this;
  }
  // ts_ns the next event will get.
  uint64_t now() const { return now_; }
  // Start time fork() gave pid (while it lives), if any.
  std::optional<uint64_t> start_time(int32_t pid) const {
    auto it = start_.find(pid);
    return it == start_.end() ? std::nullopt : std::optional<uint64_t>(it->second);
  }

  const std::vector<ProcEvent>& events() const { return events_; }
  const ProcEvent& back() const { return events_.back(); }
  size_t size() const { return events_.size(); }
  // Moves the events out; the script is empty afterwards (clock and pids kept).
  std::vector<ProcEvent> take() { return std::exchange(events_, {}); }

 private:
  Script& push(EventBody body) {
    events_.push_back(ProcEvent{now_, 0, std::move(body)});
    now_ += step_;
    return *this;
  }
  int32_t parent_of(int32_t pid) const {
    auto it = parent_.find(pid);
    return it == parent_.end() ? 0 : it->second;
  }

  uint64_t now_;
  uint64_t step_;
  std::vector<ProcEvent> events_;
  std::unordered_map<int32_t, int32_t> parent_;
  std::unordered_map<int32_t, uint64_t> start_;
};

}  // namespace procwatch::replay
