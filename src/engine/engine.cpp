#include "engine/engine.h"

#include <algorithm>
#include <thread>

#include "core/clock.h"

namespace procwatch {

namespace {

// While events flow, the snapshot is rebuilt from every table entry this often (a safety net
// for entries a change touched without naming them, e.g. children's parent links).
constexpr uint64_t kFullRefreshNs = 10'000'000'000;

Enricher make_enricher(const procfs::ProcReader& reader, TreeNameFn namer) {
  Enricher e;
  e.read = [&reader](int32_t pid, const ExecCapture* capture) {
    return reader.read_process(pid, capture);
  };
  e.read_ppid = [&reader](int32_t pid) -> std::optional<int32_t> {
    auto text = reader.read_file(pid, "stat", 1024);
    if (!text) return std::nullopt;
    auto st = procfs::parse_stat(*text);
    if (!st) return std::nullopt;
    return st->ppid;
  };
  e.group_alive = [&reader](int32_t pid, uint64_t start_time) {
    auto text = reader.read_file(pid, "stat", 1024);
    if (!text) return false;
    auto st = procfs::parse_stat(*text);
    if (!st) return false;
    if (start_time != 0 && st->start_time != start_time) return false;  // pid reused
    // A leader that exited before its threads stays a zombie counted among them.
    return !(st->state == 'Z' && st->num_threads <= 1) && st->state != 'X';
  };
  e.name = std::move(namer);
  e.user_name = [&reader](uint32_t uid) { return reader.user_name(uid); };
  return e;
}

TableOptions table_options() {
  TableOptions o;
  o.ticks_per_second = clock_ticks_per_second();
  o.boot_minus_mono_ns = int64_t(boottime_ns()) - int64_t(monotonic_ns());
  return o;
}

}  // namespace

Engine::Engine(const procfs::ProcReader& reader, TreeNameFn namer)
    : reader_(reader),
      table_(make_enricher(reader, std::move(namer)), table_options()),
      realtime_offset_ns_(int64_t(realtime_ns()) - int64_t(monotonic_ns())),
      published_(std::make_shared<const EngineSnapshot>()) {}

void Engine::initial_scan() {
  table_.load_scan(reader_.scan());
  rebuild_all_ = true;
  ++generation_;
  publish_snapshot();
}

std::shared_ptr<const EngineSnapshot> Engine::snapshot() const {
  std::lock_guard lk(snap_mu_);
  return published_;
}

void Engine::mark_dirty(const ProcEvent& ev) {
  if (dirty_.size() > (1u << 16)) {  // many changes unpublished (handle() without run())
    dirty_.clear();
    rebuild_all_ = true;
  }
  if (rebuild_all_) return;
  std::visit(
      [this](const auto& b) {
        if constexpr (requires { b.pid; }) dirty_.push_back(b.pid);
        if constexpr (requires { b.parent_pid; }) dirty_.push_back(b.parent_pid);
        if constexpr (requires { b.child_pid; }) dirty_.push_back(b.child_pid);
        if constexpr (requires { b.tracer_pid; }) dirty_.push_back(b.tracer_pid);
      },
      ev.body);
}

void Engine::refresh_shared() {
  const uint64_t now = monotonic_ns();
  if (!rebuild_all_ && now - last_full_mono_ns_ >= kFullRefreshNs) rebuild_all_ = true;
  if (rebuild_all_) {
    shared_.clear();
    table_.for_each([this](const ProcInfo& p) {
      shared_.emplace(p.key.pid, std::make_shared<const ProcInfo>(p));
    });
    rebuild_all_ = false;
    last_full_mono_ns_ = now;
  } else {
    std::sort(dirty_.begin(), dirty_.end());
    dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
    for (int32_t pid : dirty_) {
      if (const ProcInfo* p = table_.find(pid)) {
        shared_[pid] = std::make_shared<const ProcInfo>(*p);
      } else {
        shared_.erase(pid);
      }
    }
  }
  dirty_.clear();
}

void Engine::publish_snapshot() {
  if (generation_ == published_generation_ && stats_.snapshots != 0) return;
  refresh_shared();
  auto snap = std::make_shared<EngineSnapshot>();
  snap->generation = generation_;
  snap->processes.reserve(shared_.size());
  for (const auto& [pid, p] : shared_) snap->processes.push_back(p);
  ++stats_.snapshots;
  snap->stats = stats_;
  snap->table = table_.stats();
  snap->newest_event_realtime_ns = newest_event_realtime_ns_;
  snap->published_realtime_ns = realtime_ns();
  published_generation_ = generation_;
  last_publish_mono_ns_ = monotonic_ns();
  std::shared_ptr<const EngineSnapshot> next = std::move(snap);
  std::lock_guard lk(snap_mu_);
  published_.swap(next);
}  // the previous snapshot is released after the lock (lk goes first)

void Engine::resync() {
  ++stats_.resyncs;
  ReconcileResult r = table_.reconcile(reader_.scan());
  rebuild_all_ = true;
  stats_.resync_removed += r.removed.size();
  stats_.resync_added += r.added.size();
  const uint64_t now = realtime_ns();
  for (ProcInfo& p : r.removed) {
    EventRecord rec;
    rec.event = "exit";
    rec.ts_realtime_ns = now;
    rec.resync = true;
    ExitDetails d;  // when and how it ended is unknown
    d.code_known = false;
    d.duration_s = -1;
    rec.exit = d;
    rec.depth = p.ppid > 1 && table_.find(p.ppid) ? table_.depth(p.ppid) + 1 : 0;
    rec.proc = std::move(p);
    notify(rec);
  }
  for (ProcInfo& p : r.added) {
    EventRecord rec;
    rec.event = "exec";
    rec.ts_realtime_ns = now;
    rec.resync = true;
    rec.depth = table_.depth(p.key.pid);
    rec.proc = std::move(p);
    notify(rec);
  }
}

void Engine::notify(EventRecord& r) {
  if (annotator_) annotator_(r);
  for (const auto& l : listeners_) l(r);
}

void Engine::emit(Change& c) {
  EventRecord r;
  if (!rebuild_all_) {  // (a full rebuild is due anyway: nothing to track)
    if (c.kind != Change::Kind::Lost) dirty_.push_back(c.info.key.pid);
    if (c.kind == Change::Kind::Reparent) dirty_.push_back(c.old_ppid);
  }
  switch (c.kind) {
    case Change::Kind::Reparent:
    case Change::Kind::Replaced:
      return;  // table bookkeeping; the loss behind a replacement is reported as "lost"
    default:
      break;
  }
  r.event = change_kind_name(c.kind);
  r.ts_realtime_ns = to_realtime(c.ts_ns);
  if (c.kind == Change::Kind::Lost) {
    r.lost_count = c.lost_count;
    r.lost_reason = c.lost_reason;
  } else {
    r.proc = std::move(c.info);  // the change is ours and used once: no copy of argv
    if ((c.kind == Change::Kind::Exec || c.kind == Change::Kind::Fork) && r.proc.incomplete)
      ++stats_.incomplete;
    if (c.kind == Change::Kind::Exit) {
      ExitDetails d;
      d.code_known = c.exit_code.has_value() || c.exit_signal != 0;
      d.exit_code = c.exit_code.value_or(-1);
      d.signal = c.exit_signal;
      d.core_dumped = c.core_dumped;
      d.duration_s = r.proc.start_ns ? c.duration_s : -1;
      r.exit = d;
      r.depth = r.proc.ppid > 1 && table_.find(r.proc.ppid) ? table_.depth(r.proc.ppid) + 1 : 0;
    } else {
      r.depth = table_.depth(r.proc.key.pid);
    }
  }
  notify(r);
}

void Engine::handle(const ProcEvent& ev) {
  ++stats_.events[ev.body.index()];
  ++generation_;
  if (ev.ts_ns != 0) newest_event_realtime_ns_ = std::max(newest_event_realtime_ns_, to_realtime(ev.ts_ns));
  mark_dirty(ev);
  for (Change& c : table_.apply(ev)) emit(c);
  if (const auto* lost = std::get_if<LostEvent>(&ev.body)) {
    stats_.lost += lost->count;
    resync();
  }
}

void Engine::end_batch(bool final) {
  std::vector<Change> changes = table_.end_batch(monotonic_ns(), final);
  if (!changes.empty()) ++generation_;  // held exits, re-read orphans: publish them too
  for (Change& c : changes) emit(c);
}

void Engine::finish(bool publishing) {
  end_batch(true);
  if (publishing) publish_snapshot();
}

void Engine::run(EventQueue& queue) {
  std::vector<ProcEvent> batch;
  batch.reserve(1024);
  auto past_deadline = [this] {
    const uint64_t by = stop_by_ns_.load(std::memory_order_relaxed);
    return by != 0 && monotonic_ns() >= by;
  };
  // Idle: wake every 200 ms (the batch hook's tick); with changes not yet published, in time to
  // publish them snapshot_every after the last snapshot.
  const bool publishing = snapshot_every_ns_ != 0;
  auto wait = [this, publishing] {
    return publishing && generation_ != published_generation_
               ? std::chrono::milliseconds(std::max<uint64_t>(1, snapshot_every_ns_ / 1'000'000))
               : std::chrono::milliseconds(200);
  };
  while (queue.pop_batch(batch, 1024, wait())) {
    for (const auto& ev : batch) {
      handle(ev);
      if (past_deadline()) return finish(publishing);
    }
    end_batch(false);
    if (publishing &&
        (batch.empty() || monotonic_ns() - last_publish_mono_ns_ >= snapshot_every_ns_))
      publish_snapshot();
    if (batch_hook_) batch_hook_(*this);
    if (past_deadline()) return finish(publishing);
    // Let a small batch grow before the next pop: waking per event (a futex wake and a
    // context switch each) cost more CPU than handling the events. Adds at most linger_.
    if (linger_.count() > 0 && !batch.empty() && batch.size() < 256)
      std::this_thread::sleep_for(linger_);
  }
  finish(publishing);  // nothing follows: report what still waited, publish it
}

}  // namespace procwatch
