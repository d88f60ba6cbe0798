// ProcessTable: every live process keyed by identity (pid, start time), updated one ProcEvent
// at a time. NOT thread-safe: one engine thread owns it; others read snapshot() copies.
// Never throws on the event path; /proc access is injected (Enricher), never done here.
#pragma once

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
};

class ProcessTable {
 public:
  explicit ProcessTable(Enricher enricher = {}, TableOptions options = {});

  // Applies one event; returns what changed (often one Change, sometimes none — thread
  // fork/exit only adjust `threads` — or several: Replaced before Fork/Exec, Reparent after
  // Exit).
  std::vector<Change> apply(const ProcEvent& ev);

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
  Change make_change(Change::Kind kind, uint64_t ts_ns, const ProcInfo& info) const;
  Change unknown_change(Change::Kind kind, uint64_t ts_ns, int32_t pid, int32_t ppid);
  void name_all(const std::vector<int32_t>& pids);  // parents first
  Entry entry_from_scan(ProcInfo info) const;

  Enricher enricher_;
  TableOptions options_;
  std::unordered_map<int32_t, Entry> entries_;
  // ppid -> pids whose ppid it is. Lets exits re-parent in O(children) instead of scanning.
  std::unordered_map<int32_t, std::unordered_set<int32_t>> children_;
  TableStats stats_;
};

}  // namespace procwatch
