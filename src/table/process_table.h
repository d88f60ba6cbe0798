// ProcessTable: every live process keyed by identity (pid, start time), updated one ProcEvent
// at a time. NOT thread-safe: one engine thread owns it; others read snapshot() copies.
// Never throws on the event path; /proc access is injected (Enricher), never done here.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/proc_event.h"
#include "core/proc_info.h"

namespace procwatch {

// Hooks the table calls to learn about processes. Every member may be left empty: an empty
// `read`/`read_ppid` means "nothing known", an empty `name` gives "" and an empty `user_name`
// leaves the user name empty. The engine binds procfs::ProcReader; tests bind fakes.
struct Enricher {
  // Full identity of a live pid (ProcReader::read_process). When `capture` is given, its
  // fields are what the source read at the exec; the table applies them over the result
  // anyway, so a fake need not. nullopt = process gone / unreadable.
  std::function<std::optional<ProcInfo>(int32_t pid, const ExecCapture* capture)> read;
  // Current parent of a live pid, used to re-parent orphans cheaply (stat field 4).
  std::function<std::optional<int32_t>(int32_t pid)> read_ppid;
  // Whether the thread group of (pid, start_time) still has a live thread: /proc/PID/stat
  // has that start time (0: unknown, not compared) and is not a zombie with one thread.
  // Called only when the source cannot say (netlink) and the table's thread count says
  // threads remain after a leader's exit. Empty: the count decides.
  std::function<bool(int32_t pid, uint64_t start_time)> group_alive;
  // Tree name of `self`; `parent` is the parent's entry or null when unknown.
  std::function<std::string(const ProcInfo& self, const ProcInfo* parent)> name;
  // uid -> user name, for uid events.
  std::function<std::string(uint32_t uid)> user_name;
};

struct TableOptions {
  // Conversions between kernel timestamps (CLOCK_MONOTONIC ns) and /proc start times
  // (CLOCK_BOOTTIME clock ticks): ticks = (mono_ns + boot_minus_mono_ns) * hz / 1e9.
  // The engine sets boot_minus_mono_ns = boottime_ns() - monotonic_ns() and the real hz.
  long ticks_per_second = 100;
  int64_t boot_minus_mono_ns = 0;
};

// One thing that changed, for outputs. A value: copies of the ProcInfo, no pointers.
struct Change {
  enum class Kind : uint8_t {
    Fork,      // new process; info = the child (identity copied from the parent)
    Exec,      // info = identity after the exec
    Exit,      // info = last known identity (entry already removed); exit_* fields set
    Uid,       // info after uid/euid update
    Gid,       // info after gid/egid update
    Sid,       // nothing in ProcInfo changes; reported only
    Comm,      // info.comm is the new name; old_comm the previous one
    Ptrace,    // tracer_pid set (0 = detach)
    Coredump,  // process marked: its Exit will say core_dumped
    Lost,      // the source missed events: lost_count / lost_reason; info empty, known false
    Reparent,  // info.ppid is the new parent; old_ppid the one that exited
    Replaced,  // PID reuse: info = stale entry whose exit was lost; it was removed
  };
  Kind kind = Kind::Fork;
  uint64_t ts_ns = 0;  // of the event that caused it
  ProcInfo info;
  // False when the pid was not in the table and could not be read: info holds only what the
  // event said (pid, ppid) and info.incomplete is true.
  bool known = true;

  // Exit only. A killed process has exit_signal != 0 and no exit_code.
  std::optional<int> exit_code;
  int exit_signal = 0;
  bool core_dumped = false;
  double duration_s = 0;  // event ts - info.start_ns; 0 when start unknown / clock skew

  int32_t old_ppid = 0;     // Reparent
  int32_t tracer_pid = 0;   // Ptrace
  std::string old_comm;     // Comm
  uint64_t lost_count = 0;  // Lost
  std::string lost_reason;  // Lost
};

const char* change_kind_name(Change::Kind kind);  // "fork", "exec", ..., "reparent", "replaced"

struct ReconcileResult {
  std::vector<ProcInfo> removed;  // in the table, not in the scan: their exit was lost
  std::vector<ProcInfo> added;    // in the scan, unknown to the table: their start was lost
  size_t reparented = 0;          // kept entries whose ppid changed
  size_t refreshed = 0;           // kept entries whose exe/argv changed (exec was lost)
};

struct TableStats {
  uint64_t exits_unknown = 0;    // process exit for a pid not in the table
  uint64_t stale_replaced = 0;   // entry replaced because its pid was reused (exit lost)
  uint64_t reparented = 0;       // orphans moved to a new parent
  uint64_t incomplete = 0;       // fork/exec/learn that produced incomplete info
  uint64_t learned = 0;          // unknown pid read from the enricher on a later event
  uint64_t threads_unknown = 0;  // thread fork/exit for a pid not in the table
  uint64_t lost_events = 0;      // sum of LostEvent counts seen
  uint64_t leader_exits = 0;     // leader thread exited while its process lived on
  uint64_t group_checks = 0;     // group_alive hook calls (netlink leader/thread exits)
  uint64_t group_dead_duplicates = 0;  // second "group dead" exit of one process (eBPF race)
  uint64_t orphan_rereads = 0;   // orphans whose parent was re-read after the batch
};

class ProcessTable {
 public:
  explicit ProcessTable(Enricher enricher = {}, TableOptions options = {});

  // Applies one event; returns what changed (often one Change, sometimes none — thread
  // fork/exit only adjust `threads` — or several: Replaced before Fork/Exec, Reparent after
  // Exit).
  std::vector<Change> apply(const ProcEvent& ev);

  // Call after each batch of events, with CLOCK_MONOTONIC now (`final`: nothing follows).
  // Emits what waited for later events: exits of thread groups whose last thread's exit
  // may still be queued (netlink), and orphans re-parented once /proc stops showing the
  // dying parent (eBPF reports an exit before the kernel moves its children).
  std::vector<Change> end_batch(uint64_t now_ns, bool final = false);
  // Work end_batch still has (for tests and the engine's idle loop).
  size_t pending() const { return pending_exits_.size() + orphans_.size(); }

  // Replaces the whole table with a /proc scan taken at start-up, then links parents and
  // names every process parents-first.
  void load_scan(std::vector<ProcInfo> procs);

  // After a loss: makes the table match a fresh scan. Entries whose identity is not in the
  // scan are removed and returned; unknown processes are added and named; for the others
  // the scan's fields are taken (start_ns kept) and ppid refreshed.
  ReconcileResult reconcile(std::vector<ProcInfo> scan);

  // The live process with this pid, or null. Pointers are valid until the next mutation.
  const ProcInfo* find(int32_t pid) const;
  // Only when the live process with key.pid has exactly this start time.
  const ProcInfo* find(const ProcKey& key) const;
  // The parent entry of `info` (by ppid and, when known, parent_start_time), or null.
  const ProcInfo* parent_of(const ProcInfo& info) const;
  size_t size() const { return entries_.size(); }
  // Unordered iteration; fn must not mutate the table.
  void for_each(const std::function<void(const ProcInfo&)>& fn) const;
  // Copy of every entry, sorted by pid.
  std::vector<ProcInfo> snapshot() const;
  // Pids of the live children of pid, sorted. O(children) via a ppid index.
  std::vector<int32_t> children(int32_t pid) const;
  // Number of known ancestors (0 for a process whose parent is unknown).
  int depth(int32_t pid) const;

  const TableStats& stats() const { return stats_; }
  // Number of ppid buckets in the child index (bounded by live parents; for tests/metrics).
  size_t indexed_parents() const { return children_.size(); }
  const TableOptions& options() const { return options_; }

  // Time conversions per TableOptions (exposed for the engine and tests).
  uint64_t ticks_from_mono_ns(uint64_t mono_ns) const;
  uint64_t mono_ns_from_ticks(uint64_t ticks) const;

 private:
  struct Entry {
    ProcInfo info;
    uint64_t first_seen_ns = 0;  // ts of the creating event (scans: start_ns + one tick)
    bool key_derived = false;    // start_time estimated from a ts, not read from /proc
    bool coredumped = false;
    bool multi = false;          // has had more than one thread: leader exits need a check
    bool leader_gone = false;    // the leader thread exited; the process lives on
  };
  // A process whose threads all seem gone (netlink): its exit waits until no later event
  // can be its last thread's exit or an exec from one of its threads.
  struct PendingExit {
    ExitEvent last;  // the latest thread exit: its status is the process's
    uint64_t ts_ns = 0;
    bool batch_ended = false;  // one end_batch has passed since it was marked
  };
  // A child moved to a fallback parent because /proc still showed the dying one.
  struct Orphan {
    ProcKey key;
    int32_t dead_parent = 0;
    int tries = 0;
  };

  Entry* find_entry(int32_t pid);
  const Entry* find_entry(int32_t pid) const;
  std::optional<ProcInfo> enrich(int32_t pid, const ExecCapture* capture);
  std::string name_of(const ProcInfo& info) const;
  std::string user_of(uint32_t uid) const;

  // Inserts (pid must be free) and indexes under its ppid.
  Entry& insert(Entry entry);
  // Removes pid's entry and returns it; with `reparent`, moves its children to their new
  // parent (read_ppid hook, else 1) and appends Reparent changes to `out` (when not null).
  Entry remove(int32_t pid, uint64_t ts_ns, std::vector<Change>* out, bool reparent = true);
  void set_ppid(Entry& e, int32_t ppid);
  void set_start_time(Entry& e, uint64_t start_time);  // also fixes children's links
  // Entry for pid, read from the enricher when unknown (learned) — null when unreadable.
  Entry* lookup_or_learn(int32_t pid, uint64_t ts_ns);
  // Removes `pid` when its entry is not the process with real start time `start`.
  // Returns true when it did (a Replaced change is appended).
  bool drop_if_stale(int32_t pid, uint64_t start, uint64_t ts_ns, std::vector<Change>* out);
  void link_parent(ProcInfo& info) const;  // sets parent_start_time from the live ppid

  void on_fork(const ProcEvent& ev, const ForkEvent& f, std::vector<Change>* out);
  void on_exec(const ProcEvent& ev, const ExecEvent& x, std::vector<Change>* out);
  void on_exit(const ProcEvent& ev, const ExitEvent& x, std::vector<Change>* out);
  // Thread exit without the kernel's group answer: decides whether the group died.
  void on_exit_unsure(Entry& e, uint64_t ts, const ExitEvent& x, std::vector<Change>* out);
  // Removes pid's entry and appends its Exit (and Reparent) changes.
  void finish_exit(int32_t pid, uint64_t ts, const ExitEvent& x, std::vector<Change>* out);
  bool group_alive(const Entry& e);
  void retry_orphans(uint64_t ts_ns, bool final, std::vector<Change>* out);
  Change make_change(Change::Kind kind, uint64_t ts_ns, const ProcInfo& info) const;
  Change unknown_change(Change::Kind kind, uint64_t ts_ns, int32_t pid, int32_t ppid);
  void name_all(const std::vector<int32_t>& pids);  // parents first
  Entry entry_from_scan(ProcInfo info) const;

  Enricher enricher_;
  TableOptions options_;
  std::unordered_map<int32_t, Entry> entries_;
  // ppid -> pids whose ppid it is. Lets exits re-parent in O(children) instead of scanning.
  std::unordered_map<int32_t, std::unordered_set<int32_t>> children_;
  std::unordered_map<int32_t, PendingExit> pending_exits_;
  std::vector<Orphan> orphans_;
  // Last process exits by group death, to drop the duplicate two threads dying at once
  // both report (each may see signal->live == 0).
  std::array<ProcKey, 16> recent_dead_{};
  size_t recent_dead_next_ = 0;
  TableStats stats_;
};

}  // namespace procwatch
