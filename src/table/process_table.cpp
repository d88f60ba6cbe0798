#include "table/process_table.h"

#include <algorithm>
#include <utility>

namespace procwatch {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000ull;
constexpr size_t kCommMax = 15;  // TASK_COMM_LEN - 1
// A group exit waits this long after its event (and one batch end) for a later thread exit
// or an exec from one of its threads, both of which netlink may deliver after it.
constexpr uint64_t kSettleNs = 20'000'000;
constexpr int kOrphanTries = 5;          // batch ends an orphan's parent is re-read
constexpr size_t kOrphansMax = 4096;     // bound on orphans waiting for a re-read

std::string comm_from_exe(const std::string& exe) {
  const size_t slash = exe.rfind('/');
  std::string base = slash == std::string::npos ? exe : exe.substr(slash + 1);
  if (base.size() > kCommMax) base.resize(kCommMax);
  return base;
}

// What the source read at the exec wins over anything read later (the process may have
// exec'd again or exited by then).
void apply_capture(ProcInfo& info, const ExecCapture& c) {
  if (c.exe) {
    info.exe = *c.exe;
    info.exe_deleted = c.exe_deleted;
  }
  if (c.argv) {
    info.argv = *c.argv;
    info.argv_truncated = c.argv_truncated;
  }
  if (c.comm) info.comm = *c.comm;
  if (c.uid) info.uid = *c.uid;
  if (c.euid) info.euid = *c.euid;
  if (c.gid) info.gid = *c.gid;
  if (c.egid) info.egid = *c.egid;
  if (c.uid && c.euid) info.ids_known = true;
  if (c.cgroup) info.cgroup = *c.cgroup;
}

}  // namespace

const char* change_kind_name(Change::Kind kind) {
  switch (kind) {
    case Change::Kind::Fork:
      return "fork";
    case Change::Kind::Exec:
      return "exec";
    case Change::Kind::Exit:
      return "exit";
    case Change::Kind::Uid:
      return "uid";
    case Change::Kind::Gid:
      return "gid";
    case Change::Kind::Sid:
      return "sid";
    case Change::Kind::Comm:
      return "comm";
    case Change::Kind::Ptrace:
      return "ptrace";
    case Change::Kind::Coredump:
      return "coredump";
    case Change::Kind::Lost:
      return "lost";
    case Change::Kind::Reparent:
      return "reparent";
    case Change::Kind::Replaced:
      return "replaced";
  }
  return "unknown";
}

ProcessTable::ProcessTable(Enricher enricher, TableOptions options)
    : enricher_(std::move(enricher)), options_(options) {
  if (options_.ticks_per_second <= 0) options_.ticks_per_second = 100;
}

uint64_t ProcessTable::ticks_from_mono_ns(uint64_t mono_ns) const {
  const int64_t boot = int64_t(mono_ns) + options_.boot_minus_mono_ns;
  if (boot <= 0) return 0;
  const uint64_t b = uint64_t(boot), hz = uint64_t(options_.ticks_per_second);
  return (b / kNsPerSec) * hz + (b % kNsPerSec) * hz / kNsPerSec;  // split: no overflow
}

uint64_t ProcessTable::mono_ns_from_ticks(uint64_t ticks) const {
  const uint64_t hz = uint64_t(options_.ticks_per_second);
  const int64_t boot = int64_t((ticks / hz) * kNsPerSec + (ticks % hz) * kNsPerSec / hz);
  const int64_t mono = boot - options_.boot_minus_mono_ns;
  return mono > 0 ? uint64_t(mono) : 0;
}

// ---- lookups ---------------------------------------------------------------------------

ProcessTable::Entry* ProcessTable::find_entry(int32_t pid) {
  auto it = entries_.find(pid);
  return it == entries_.end() ? nullptr : &it->second;
}

const ProcessTable::Entry* ProcessTable::find_entry(int32_t pid) const {
  auto it = entries_.find(pid);
  return it == entries_.end() ? nullptr : &it->second;
}

const ProcInfo* ProcessTable::find(int32_t pid) const {
  const Entry* e = find_entry(pid);
  return e ? &e->info : nullptr;
}

const ProcInfo* ProcessTable::find(const ProcKey& key) const {
  const Entry* e = find_entry(key.pid);
  return e && e->info.key.start_time == key.start_time ? &e->info : nullptr;
}

const ProcInfo* ProcessTable::parent_of(const ProcInfo& info) const {
  if (info.ppid <= 0 || info.ppid == info.key.pid) return nullptr;
  const Entry* p = find_entry(info.ppid);
  if (!p) return nullptr;
  if (info.parent_start_time != 0 && p->info.key.start_time != info.parent_start_time) {
    return nullptr;  // the pid now belongs to another process
  }
  return &p->info;
}

void ProcessTable::for_each(const std::function<void(const ProcInfo&)>& fn) const {
  for (const auto& [pid, e] : entries_) fn(e.info);
}

std::vector<ProcInfo> ProcessTable::snapshot() const {
  std::vector<ProcInfo> out;
  out.reserve(entries_.size());
  for (const auto& [pid, e] : entries_) out.push_back(e.info);
  std::sort(out.begin(), out.end(),
            [](const ProcInfo& a, const ProcInfo& b) { return a.key.pid < b.key.pid; });
  return out;
}

std::vector<int32_t> ProcessTable::children(int32_t pid) const {
  std::vector<int32_t> out;
  auto it = children_.find(pid);
  if (it == children_.end()) return out;
  const Entry* self = find_entry(pid);
  for (int32_t kid : it->second) {
    const Entry* k = find_entry(kid);
    if (!k) continue;
    if (self && parent_of(k->info) != &self->info) continue;
    out.push_back(kid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int ProcessTable::depth(int32_t pid) const {
  const Entry* e = find_entry(pid);
  if (!e) return 0;
  int d = 0;
  const ProcInfo* cur = &e->info;
  // The bound guards against a ppid cycle in inconsistent input.
  while (const ProcInfo* p = parent_of(*cur)) {
    if (size_t(++d) > entries_.size()) break;
    cur = p;
  }
  return d;
}

// ---- hooks -----------------------------------------------------------------------------

std::optional<ProcInfo> ProcessTable::enrich(int32_t pid, const ExecCapture* capture) {
  if (!enricher_.read || pid <= 0) return std::nullopt;
  return enricher_.read(pid, capture);
}

std::string ProcessTable::name_of(const ProcInfo& info) const {
  if (!enricher_.name) return {};
  return enricher_.name(info, parent_of(info));
}

std::string ProcessTable::user_of(uint32_t uid) const {
  return enricher_.user_name ? enricher_.user_name(uid) : std::string();
}

// ---- mutation helpers ------------------------------------------------------------------

void ProcessTable::link_parent(ProcInfo& info) const {
  const Entry* p = info.ppid > 0 && info.ppid != info.key.pid ? find_entry(info.ppid) : nullptr;
  info.parent_start_time = p ? p->info.key.start_time : 0;
}

ProcessTable::Entry& ProcessTable::insert(Entry entry) {
  const int32_t pid = entry.info.key.pid;
  const int32_t ppid = entry.info.ppid;
  if (entry.info.threads == 0) entry.info.threads = 1;
  if (entry.info.threads > 1) entry.multi = true;
  auto [it, inserted] = entries_.insert_or_assign(pid, std::move(entry));
  (void)inserted;
  if (ppid > 0) children_[ppid].insert(pid);
  return it->second;
}

void ProcessTable::set_ppid(Entry& e, int32_t ppid) {
  const int32_t pid = e.info.key.pid;
  if (e.info.ppid > 0) {
    auto it = children_.find(e.info.ppid);
    if (it != children_.end()) {
      it->second.erase(pid);
      if (it->second.empty()) children_.erase(it);
    }
  }
  e.info.ppid = ppid;
  if (ppid > 0) children_[ppid].insert(pid);
  link_parent(e.info);
}

void ProcessTable::set_start_time(Entry& e, uint64_t start_time) {
  const uint64_t old = e.info.key.start_time;
  e.info.key.start_time = start_time;
  e.key_derived = false;
  auto it = children_.find(e.info.key.pid);
  if (it == children_.end()) return;
  for (int32_t kid : it->second) {
    Entry* k = find_entry(kid);
    if (k && k->info.parent_start_time == old) k->info.parent_start_time = start_time;
  }
}

ProcessTable::Entry ProcessTable::remove(int32_t pid, uint64_t ts_ns, std::vector<Change>* out,
                                         bool reparent) {
  auto it = entries_.find(pid);
  Entry old = std::move(it->second);
  entries_.erase(it);
  pending_exits_.erase(pid);
  if (old.info.ppid > 0) {
    auto pit = children_.find(old.info.ppid);
    if (pit != children_.end()) {
      pit->second.erase(pid);
      if (pit->second.empty()) children_.erase(pit);
    }
  }
  if (!reparent) return old;  // children stay indexed under pid until the caller moves them
  auto cit = children_.find(pid);
  if (cit == children_.end()) return old;
  std::vector<int32_t> kids(cit->second.begin(), cit->second.end());
  children_.erase(cit);
  std::sort(kids.begin(), kids.end());  // deterministic order of Reparent changes
  for (int32_t kid : kids) {
    Entry* k = find_entry(kid);
    if (!k) continue;
    int32_t np = 1;
    if (enricher_.read_ppid) {
      auto p = enricher_.read_ppid(kid);
      // The hook may race with the exit and still see the dying parent (eBPF reports the exit
      // before exit_notify moves the children): init for now, re-read after the batch.
      if (p && *p > 0 && *p != pid && *p != kid) {
        np = *p;
      } else if (p && *p == pid && orphans_.size() < kOrphansMax) {
        orphans_.push_back(Orphan{k->info.key, pid, 0});
      }
    }
    const int32_t old_ppid = k->info.ppid;
    k->info.ppid = np;
    children_[np].insert(kid);
    link_parent(k->info);
    ++stats_.reparented;
    if (out) {
      Change c = make_change(Change::Kind::Reparent, ts_ns, k->info);
      c.old_ppid = old_ppid;
      out->push_back(std::move(c));
    }
  }
  return old;
}

bool ProcessTable::drop_if_stale(int32_t pid, uint64_t start, uint64_t ts_ns,
                                 std::vector<Change>* out) {
  Entry* e = find_entry(pid);
  if (!e || e->key_derived || start == 0 || e->info.key.start_time == start) return false;
  out->push_back(make_change(Change::Kind::Replaced, ts_ns, e->info));
  ++stats_.stale_replaced;
  remove(pid, ts_ns, out);
  return true;
}

ProcessTable::Entry* ProcessTable::lookup_or_learn(int32_t pid, uint64_t ts_ns) {
  if (Entry* e = find_entry(pid)) return e;
  auto r = enrich(pid, nullptr);
  if (!r) return nullptr;
  Entry n;
  n.info = std::move(*r);
  n.info.key.pid = pid;
  n.first_seen_ns = ts_ns;
  if (n.info.key.start_time == 0) {
    n.key_derived = true;
    n.info.key.start_time = ticks_from_mono_ns(ts_ns);
  }
  if (n.info.start_ns == 0) {
    n.info.start_ns = n.key_derived ? ts_ns : mono_ns_from_ticks(n.info.key.start_time);
  }
  link_parent(n.info);
  n.info.tree = name_of(n.info);
  if (n.info.incomplete) ++stats_.incomplete;
  ++stats_.learned;
  return &insert(std::move(n));
}

Change ProcessTable::make_change(Change::Kind kind, uint64_t ts_ns, const ProcInfo& info) const {
  Change c;
  c.kind = kind;
  c.ts_ns = ts_ns;
  c.info = info;
  return c;
}

Change ProcessTable::unknown_change(Change::Kind kind, uint64_t ts_ns, int32_t pid, int32_t ppid) {
  Change c;
  c.kind = kind;
  c.ts_ns = ts_ns;
  c.known = false;
  c.info.key.pid = pid;
  c.info.ppid = ppid;
  c.info.incomplete = true;
  return c;
}

// ---- events ----------------------------------------------------------------------------

std::vector<Change> ProcessTable::apply(const ProcEvent& ev) {
  std::vector<Change> out;
  const uint64_t ts = ev.ts_ns;
  if (const auto* f = std::get_if<ForkEvent>(&ev.body)) {
    on_fork(ev, *f, &out);
  } else if (const auto* x = std::get_if<ExecEvent>(&ev.body)) {
    on_exec(ev, *x, &out);
  } else if (const auto* x = std::get_if<ExitEvent>(&ev.body)) {
    on_exit(ev, *x, &out);
  } else if (const auto* u = std::get_if<UidEvent>(&ev.body)) {
    Entry* e = lookup_or_learn(u->pid, ts);
    if (!e) {
      out.push_back(unknown_change(Change::Kind::Uid, ts, u->pid, 0));
      out.back().info.uid = u->ruid;
      out.back().info.euid = u->euid;
    } else {
      if (e->info.user.empty() || e->info.uid != u->ruid || !e->info.ids_known) {
        e->info.user = user_of(u->ruid);
      }
      e->info.uid = u->ruid;
      e->info.euid = u->euid;
      e->info.ids_known = true;
      out.push_back(make_change(Change::Kind::Uid, ts, e->info));
    }
  } else if (const auto* g = std::get_if<GidEvent>(&ev.body)) {
    Entry* e = lookup_or_learn(g->pid, ts);
    if (!e) {
      out.push_back(unknown_change(Change::Kind::Gid, ts, g->pid, 0));
      out.back().info.gid = g->rgid;
      out.back().info.egid = g->egid;
    } else {
      e->info.gid = g->rgid;
      e->info.egid = g->egid;
      out.push_back(make_change(Change::Kind::Gid, ts, e->info));
    }
  } else if (const auto* s = std::get_if<SidEvent>(&ev.body)) {
    Entry* e = lookup_or_learn(s->pid, ts);
    out.push_back(e ? make_change(Change::Kind::Sid, ts, e->info)
                    : unknown_change(Change::Kind::Sid, ts, s->pid, 0));
  } else if (const auto* c = std::get_if<CommEvent>(&ev.body)) {
    Entry* e = lookup_or_learn(c->pid, ts);
    if (!e) {
      out.push_back(unknown_change(Change::Kind::Comm, ts, c->pid, 0));
      out.back().info.comm = c->comm;
    } else {
      std::string old = std::move(e->info.comm);
      e->info.comm = c->comm;
      out.push_back(make_change(Change::Kind::Comm, ts, e->info));
      out.back().old_comm = std::move(old);
    }
  } else if (const auto* p = std::get_if<PtraceEvent>(&ev.body)) {
    Entry* e = lookup_or_learn(p->pid, ts);
    out.push_back(e ? make_change(Change::Kind::Ptrace, ts, e->info)
                    : unknown_change(Change::Kind::Ptrace, ts, p->pid, 0));
    out.back().tracer_pid = p->tracer_pid;
  } else if (const auto* d = std::get_if<CoredumpEvent>(&ev.body)) {
    Entry* e = lookup_or_learn(d->pid, ts);
    if (e) e->coredumped = true;
    out.push_back(e ? make_change(Change::Kind::Coredump, ts, e->info)
                    : unknown_change(Change::Kind::Coredump, ts, d->pid, d->parent_pid));
  } else if (const auto* l = std::get_if<LostEvent>(&ev.body)) {
    stats_.lost_events += l->count;
    Change ch;
    ch.kind = Change::Kind::Lost;
    ch.ts_ns = ts;
    ch.known = false;
    ch.lost_count = l->count;
    ch.lost_reason = l->reason;
    out.push_back(std::move(ch));
  }
  return out;
}

void ProcessTable::on_fork(const ProcEvent& ev, const ForkEvent& f, std::vector<Change>* out) {
  const uint64_t ts = ev.ts_ns;
  if (f.child_pid != f.child_tid) {  // a new thread in an existing process
    Entry* e = find_entry(f.child_pid);
    if (e) {
      ++e->info.threads;
      e->multi = true;
    } else {
      ++stats_.threads_unknown;
    }
    return;
  }
  const int32_t pid = f.child_pid;
  if (auto it = pending_exits_.find(pid); it != pending_exits_.end()) {
    PendingExit p = std::move(it->second);  // the pid is free again: that group did die
    pending_exits_.erase(it);
    finish_exit(pid, p.ts_ns, p.last, out);
  }
  if (Entry* e = find_entry(pid)) {
    // Already there: either a later event for this child arrived first (events from another
    // CPU), or the entry is an older process whose exit was lost.
    const bool same = f.child_start_time && !e->key_derived
                          ? e->info.key.start_time == *f.child_start_time
                          : e->first_seen_ns >= ts;
    if (same) {
      if (f.child_start_time && e->key_derived) set_start_time(*e, *f.child_start_time);
      if (e->info.ppid <= 0) set_ppid(*e, f.parent_pid);
      out->push_back(make_change(Change::Kind::Fork, ts, e->info));
      return;
    }
    out->push_back(make_change(Change::Kind::Replaced, ts, e->info));
    ++stats_.stale_replaced;
    remove(pid, ts, out);
  }

  Entry child;
  child.first_seen_ns = ts;
  const Entry* parent = f.parent_pid != pid ? lookup_or_learn(f.parent_pid, ts) : nullptr;
  std::optional<uint64_t> start = f.child_start_time;
  if (parent) {
    child.info = parent->info;  // runs the parent's image until it execs
    child.info.parent_start_time = parent->info.key.start_time;
  } else {
    auto r = enrich(pid, nullptr);
    if (r && (!start || r->key.start_time == *start)) {
      child.info = std::move(*r);
      if (!start && child.info.key.start_time != 0) start = child.info.key.start_time;
    } else {
      child.info = ProcInfo{};
      child.info.incomplete = true;
    }
    child.info.parent_start_time = 0;
  }
  child.info.key.pid = pid;
  child.key_derived = !start;
  child.info.key.start_time = start ? *start : ticks_from_mono_ns(ts);
  child.info.ppid = f.parent_pid;
  child.info.threads = 1;
  child.info.start_ns = ts;
  if (!parent) child.info.tree = name_of(child.info);
  if (child.info.incomplete) ++stats_.incomplete;
  Entry& e = insert(std::move(child));
  out->push_back(make_change(Change::Kind::Fork, ts, e.info));
}

void ProcessTable::on_exec(const ProcEvent& ev, const ExecEvent& x, std::vector<Change>* out) {
  const uint64_t ts = ev.ts_ns;
  const int32_t pid = x.pid;
  const ExecCapture& cap = x.capture;
  std::optional<ProcInfo> fresh = enrich(pid, &cap);
  // A later read that found a different process (the exec'd one already gone, pid reused) is
  // worse than nothing.
  if (cap.start_time && fresh && fresh->key.start_time != 0 &&
      fresh->key.start_time != *cap.start_time) {
    fresh.reset();
  }
  std::optional<uint64_t> real_start = cap.start_time;
  if (!real_start && fresh && fresh->key.start_time != 0) real_start = fresh->key.start_time;

  if (auto it = pending_exits_.find(pid); it != pending_exits_.end()) {
    const Entry* pe = find_entry(pid);
    PendingExit p = std::move(it->second);
    pending_exits_.erase(it);
    // Same process: a thread exec'd (de_thread killed the others). Else the pid was reused.
    if (pe && real_start && !pe->key_derived && pe->info.key.start_time != *real_start)
      finish_exit(pid, p.ts_ns, p.last, out);
  }
  if (real_start) drop_if_stale(pid, *real_start, ts, out);
  Entry* e = find_entry(pid);
  if (e && e->key_derived && real_start) set_start_time(*e, *real_start);
  if (e) {
    e->leader_gone = false;  // the exec'ing thread is the leader now
    // A source that read the parent at the exec knows of a re-parenting we may have missed.
    if (cap.ppid && *cap.ppid > 0 && *cap.ppid != pid && *cap.ppid != e->info.ppid &&
        find_entry(*cap.ppid))
      set_ppid(*e, *cap.ppid);
  }

  ProcInfo info;
  if (e) {
    info = e->info;
    // The old image's name and arguments are wrong for the new one: better empty than stale.
    info.exe.clear();
    info.exe_deleted = false;
    info.argv.clear();
    info.argv_truncated = false;
    info.comm.clear();
    if (fresh) {
      info.exe = std::move(fresh->exe);
      info.exe_deleted = fresh->exe_deleted;
      info.argv = std::move(fresh->argv);
      info.argv_truncated = fresh->argv_truncated;
      info.comm = std::move(fresh->comm);
      if (fresh->ids_known) {
        info.uid = fresh->uid;
        info.euid = fresh->euid;
        info.gid = fresh->gid;
        info.egid = fresh->egid;
        info.ids_known = true;
        info.user = std::move(fresh->user);
      }
      if (!fresh->cgroup.empty()) {
        // The container follows the cgroup as read now (podman exec, nsenter into a cgroup).
        info.cgroup = std::move(fresh->cgroup);
        info.container_id = std::move(fresh->container_id);
        info.container_runtime = std::move(fresh->container_runtime);
        info.pod_uid = std::move(fresh->pod_uid);
        info.container_name = std::move(fresh->container_name);
        info.image = std::move(fresh->image);
        info.pod = std::move(fresh->pod);
        info.pod_namespace = std::move(fresh->pod_namespace);
      } else if (!fresh->container_id.empty()) {
        info.container_id = std::move(fresh->container_id);
      }
      info.context = std::move(fresh->context);
      // A thread's exec: the other threads' exits may still be queued; they bring the
      // count down to the exec'ing thread.
      if (fresh->threads > 0 && !e->multi) info.threads = fresh->threads;
    }
  } else {
    if (fresh) info = *fresh;
    info.key.pid = pid;
    info.key.start_time = real_start ? *real_start : ticks_from_mono_ns(ts);
    if (!fresh && cap.ppid) info.ppid = *cap.ppid;
    if (info.start_ns == 0) info.start_ns = real_start ? mono_ns_from_ticks(*real_start) : ts;
    link_parent(info);
  }
  const uint32_t uid_before = info.uid;
  apply_capture(info, cap);
  if (cap.uid && (info.user.empty() || *cap.uid != uid_before)) info.user = user_of(*cap.uid);
  if (info.comm.empty() && !info.exe.empty()) info.comm = comm_from_exe(info.exe);
  info.incomplete = !fresh || fresh->incomplete || info.exe.empty();
  if (info.incomplete) ++stats_.incomplete;
  info.tree = name_of(info);

  if (e) {
    e->info = std::move(info);
  } else {
    Entry n;
    n.first_seen_ns = ts;
    n.key_derived = !real_start;
    n.info = std::move(info);
    e = &insert(std::move(n));
  }
  out->push_back(make_change(Change::Kind::Exec, ts, e->info));
}

void ProcessTable::on_exit(const ProcEvent& ev, const ExitEvent& x, std::vector<Change>* out) {
  const uint64_t ts = ev.ts_ns;
  Entry* e = find_entry(x.pid);
  if (x.group_dead) {  // the source knows (eBPF, poller)
    if (*x.group_dead) {
      if (!e) {
        for (const ProcKey& k : recent_dead_) {
          if (k.pid == x.pid && (!x.start_time || k.start_time == *x.start_time)) {
            ++stats_.group_dead_duplicates;
            return;
          }
        }
      }
      finish_exit(x.pid, ts, x, out);
    } else if (!e) {
      ++stats_.threads_unknown;
    } else {
      if (e->info.threads > 1) --e->info.threads;
      if (x.tid == x.pid && !e->leader_gone) {
        e->leader_gone = true;  // pthread_exit in main, or de_thread during an exec
        ++stats_.leader_exits;
      }
    }
    return;
  }
  // Netlink: every thread's exit looks alike. Single-threaded processes take the fast path.
  if (x.pid == x.tid && (!e || !e->multi)) {
    finish_exit(x.pid, ts, x, out);
    return;
  }
  if (!e) {
    ++stats_.threads_unknown;
    return;
  }
  on_exit_unsure(*e, ts, x, out);
}

void ProcessTable::on_exit_unsure(Entry& e, uint64_t ts, const ExitEvent& x,
                                  std::vector<Change>* out) {
  const uint32_t remaining = e.info.threads > 0 ? e.info.threads - 1 : 0;
  e.info.threads = remaining > 0 ? remaining : 1;
  if (x.pid == x.tid) e.leader_gone = true;
  if (remaining == 0 && e.leader_gone) {  // the count says: the last thread
    pending_exits_.erase(x.pid);
    return finish_exit(x.pid, ts, x, out);
  }
  if (auto it = pending_exits_.find(x.pid); it != pending_exits_.end()) {
    it->second.last = x;  // a later thread: its status is the process's
    it->second.ts_ns = ts;
    return;
  }
  if (!e.leader_gone) return;  // a worker of a process whose leader lives
  // The count says threads remain; it can be off (events lost, threads created during the
  // start-up scan), so ask /proc. Dead: wait for the remaining threads' exits, bounded.
  const bool alive = enricher_.group_alive ? group_alive(e) : remaining > 0;
  if (alive) {
    if (x.pid == x.tid) ++stats_.leader_exits;
    return;
  }
  pending_exits_[x.pid] = PendingExit{x, ts, false};
}

bool ProcessTable::group_alive(const Entry& e) {
  if (!enricher_.group_alive) return false;
  ++stats_.group_checks;
  return enricher_.group_alive(e.info.key.pid, e.key_derived ? 0 : e.info.key.start_time);
}

void ProcessTable::finish_exit(int32_t pid, uint64_t ts, const ExitEvent& x,
                               std::vector<Change>* out) {
  Change c;
  std::vector<Change> reparents;
  bool core = false;
  if (Entry* e = find_entry(pid)) {
    // The exit record names the real parent: it corrects a re-parenting we guessed.
    if (x.parent_pid > 0 && x.parent_pid != pid && x.parent_pid != e->info.ppid &&
        find_entry(x.parent_pid))
      set_ppid(*e, x.parent_pid);
    core = e->coredumped;
    Entry old = remove(pid, ts, &reparents);
    c = make_change(Change::Kind::Exit, ts, old.info);
    if (x.exe_deleted && *x.exe_deleted) c.info.exe_deleted = true;
  } else {
    ++stats_.exits_unknown;
    c = unknown_change(Change::Kind::Exit, ts, pid, x.parent_pid);
  }
  if (x.group_dead && *x.group_dead) {
    recent_dead_[recent_dead_next_] = ProcKey{pid, x.start_time.value_or(c.info.key.start_time)};
    recent_dead_next_ = (recent_dead_next_ + 1) % recent_dead_.size();
  }
  if (x.code_known) {  // the procfs poller sees a process vanish, not how it ended
    const int code = exit_status_code(x.exit_code);
    if (code >= 0) c.exit_code = code;
    c.exit_signal = exit_status_signal(x.exit_code);
    c.core_dumped = core || (x.exit_code & 0x80) != 0;  // WCOREDUMP
  }
  if (c.info.start_ns != 0 && ts >= c.info.start_ns) {
    c.duration_s = double(ts - c.info.start_ns) / double(kNsPerSec);
  }
  out->push_back(std::move(c));
  for (auto& r : reparents) out->push_back(std::move(r));
}

// ---- after a batch ---------------------------------------------------------------------

std::vector<Change> ProcessTable::end_batch(uint64_t now_ns, bool final) {
  std::vector<Change> out;
  if (!pending_exits_.empty()) {
    std::vector<int32_t> due;
    for (auto& [pid, p] : pending_exits_) {
      if (final || (p.batch_ended && now_ns >= p.ts_ns + kSettleNs))
        due.push_back(pid);
      else
        p.batch_ended = true;
    }
    std::sort(due.begin(), due.end());
    for (int32_t pid : due) {
      auto it = pending_exits_.find(pid);
      PendingExit p = std::move(it->second);
      pending_exits_.erase(it);
      Entry* e = find_entry(pid);
      if (!e) continue;
      if (!final && group_alive(*e)) {  // a thread still runs after all
        e->leader_gone = true;
        continue;
      }
      finish_exit(pid, p.ts_ns, p.last, &out);
    }
  }
  if (!orphans_.empty()) retry_orphans(now_ns, final, &out);
  return out;
}

void ProcessTable::retry_orphans(uint64_t ts_ns, bool final, std::vector<Change>* out) {
  size_t keep = 0;
  for (size_t i = 0; i < orphans_.size(); ++i) {
    Orphan o = orphans_[i];
    Entry* k = find_entry(o.key.pid);
    if (final || !k || k->info.key.start_time != o.key.start_time || !enricher_.read_ppid)
      continue;
    ++stats_.orphan_rereads;
    const auto p = enricher_.read_ppid(o.key.pid);
    if (!p) continue;  // gone: its own exit follows
    if (*p == o.dead_parent || *p <= 0 || *p == o.key.pid) {
      if (++o.tries < kOrphanTries) orphans_[keep++] = o;
      continue;
    }
    if (*p == k->info.ppid) continue;  // a later record already said so
    const int32_t old_ppid = k->info.ppid;
    set_ppid(*k, *p);
    Change c = make_change(Change::Kind::Reparent, ts_ns, k->info);
    c.old_ppid = old_ppid;
    out->push_back(std::move(c));
  }
  orphans_.resize(keep);
}

// ---- scans -----------------------------------------------------------------------------

void ProcessTable::name_all(const std::vector<int32_t>& pids) {
  if (!enricher_.name) return;
  // Parents first, so each namer call sees its parent's fresh tree name.
  std::vector<std::pair<int, int32_t>> order;
  order.reserve(pids.size());
  for (int32_t pid : pids) order.emplace_back(depth(pid), pid);
  std::sort(order.begin(), order.end());
  for (const auto& [d, pid] : order) {
    Entry* e = find_entry(pid);
    if (e) e->info.tree = name_of(e->info);
  }
}

ProcessTable::Entry ProcessTable::entry_from_scan(ProcInfo info) const {
  Entry n;
  n.info = std::move(info);
  if (n.info.key.start_time == 0) {
    n.key_derived = true;
  } else if (n.info.start_ns == 0) {
    n.info.start_ns = mono_ns_from_ticks(n.info.key.start_time);
  }
  // start_ns from ticks is rounded down by up to one tick: a fork event for this very process
  // may carry a slightly later ts, and must not be taken for PID reuse.
  n.first_seen_ns = n.info.start_ns + kNsPerSec / uint64_t(options_.ticks_per_second);
  return n;
}

void ProcessTable::load_scan(std::vector<ProcInfo> procs) {
  entries_.clear();
  children_.clear();
  pending_exits_.clear();
  orphans_.clear();
  std::vector<int32_t> pids;
  pids.reserve(procs.size());
  for (auto& p : procs) {
    if (p.key.pid <= 0) continue;
    const int32_t pid = p.key.pid;
    if (find_entry(pid))
      set_ppid(*find_entry(pid), 0);  // duplicate pid: last one wins
    else
      pids.push_back(pid);
    insert(entry_from_scan(std::move(p)));
  }
  for (auto& [pid, e] : entries_) link_parent(e.info);
  name_all(pids);
}

ReconcileResult ProcessTable::reconcile(std::vector<ProcInfo> scan) {
  ReconcileResult r;
  // The scan decides: groups it still shows live on, the others are reported removed.
  pending_exits_.clear();
  orphans_.clear();
  std::unordered_map<int32_t, const ProcInfo*> by_pid;
  by_pid.reserve(scan.size());
  for (const auto& p : scan) {
    if (p.key.pid > 0) by_pid[p.key.pid] = &p;
  }

  std::vector<int32_t> gone;
  for (const auto& [pid, e] : entries_) {
    auto it = by_pid.find(pid);
    if (it == by_pid.end()) {
      gone.push_back(pid);
    } else if (!e.key_derived && it->second->key.start_time != 0 &&
               it->second->key.start_time != e.info.key.start_time) {
      gone.push_back(pid);  // pid reused while we were not listening
    }
  }
  std::sort(gone.begin(), gone.end());
  for (int32_t pid : gone) {
    // No Reparent changes: the scan below says every survivor's ppid.
    Entry old = remove(pid, 0, nullptr, /*reparent=*/false);
    r.removed.push_back(std::move(old.info));
  }

  std::vector<int32_t> added, rename;
  for (auto& s : scan) {
    if (s.key.pid <= 0) continue;
    Entry* e = find_entry(s.key.pid);
    if (!e) {
      added.push_back(s.key.pid);
      insert(entry_from_scan(s));
      continue;
    }
    if (e->key_derived && s.key.start_time != 0) set_start_time(*e, s.key.start_time);
    if (!s.incomplete) {
      const bool image_changed = e->info.exe != s.exe || e->info.argv != s.argv;
      ProcInfo merged = s;
      merged.key = e->info.key;
      merged.ppid = e->info.ppid;  // moved by set_ppid below, which keeps the index right
      merged.parent_start_time = e->info.parent_start_time;
      if (e->info.start_ns != 0) merged.start_ns = e->info.start_ns;
      merged.tree = e->info.tree;
      e->info = std::move(merged);
      if (image_changed) {
        ++r.refreshed;
        rename.push_back(s.key.pid);
      }
    } else if (s.threads > 0) {
      e->info.threads = s.threads;
    }
    if (s.ppid != e->info.ppid) {
      set_ppid(*e, s.ppid);
      ++r.reparented;
    }
  }
  for (auto& [pid, e] : entries_) link_parent(e.info);
  rename.insert(rename.end(), added.begin(), added.end());
  name_all(rename);
  std::sort(added.begin(), added.end());
  for (int32_t pid : added) r.added.push_back(find_entry(pid)->info);
  return r;
}

}  // namespace procwatch
