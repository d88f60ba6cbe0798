#include "engine/engine.h"

#include <thread>

#include "core/clock.h"

namespace procwatch {

namespace {

constexpr std::chrono::milliseconds kLinger{2};

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
      realtime_offset_ns_(int64_t(realtime_ns()) - int64_t(monotonic_ns())) {}

void Engine::initial_scan() { table_.load_scan(reader_.scan()); }

void Engine::resync() {
  ++stats_.resyncs;
  ReconcileResult r = table_.reconcile(reader_.scan());
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
  for (Change& c : table_.apply(ev)) emit(c);
  if (const auto* lost = std::get_if<LostEvent>(&ev.body)) {
    stats_.lost += lost->count;
    resync();
  }
}

void Engine::end_batch(bool final) {
  for (Change& c : table_.end_batch(monotonic_ns(), final)) emit(c);
}

void Engine::run(EventQueue& queue) {
  std::vector<ProcEvent> batch;
  batch.reserve(1024);
  auto past_deadline = [this] {
    const uint64_t by = stop_by_ns_.load(std::memory_order_relaxed);
    return by != 0 && monotonic_ns() >= by;
  };
  while (queue.pop_batch(batch, 1024, std::chrono::milliseconds(200))) {
    for (const auto& ev : batch) {
      handle(ev);
      if (past_deadline()) return end_batch(true);
    }
    end_batch(false);
    if (batch_hook_) batch_hook_(*this);
    if (past_deadline()) return end_batch(true);
    // Let a small batch grow before the next pop: waking per event (a futex wake and a
    // context switch each) cost more CPU than handling the events. Bounds latency to ~2 ms.
    if (!batch.empty() && batch.size() < 256) std::this_thread::sleep_for(kLinger);
  }
  end_batch(true);  // nothing follows: report what still waited
}

}  // namespace procwatch
