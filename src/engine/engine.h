// Engine: the single consumer of the event queue. Owns the ProcessTable, binds it to /proc
// (procfs::ProcReader) and to tree naming, resynchronises from /proc after a loss, turns table
// changes into EventRecords for listeners (trace printer, events log, per-tree counters) and
// publishes an immutable EngineSnapshot after each batch for outputs on other threads
// (exporter, rule monitor, check). Outputs depend on the engine, never the other way.
// Not thread-safe: run() and every other call belong to one thread, except snapshot() and
// stop_by(), which any thread may call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/event_queue.h"
#include "core/proc_event.h"
#include "engine/engine_snapshot.h"
#include "engine/event_record.h"
#include "procfs/reader.h"
#include "table/process_table.h"

namespace procwatch {

using TreeNameFn = std::function<std::string(const ProcInfo& self, const ProcInfo* parent)>;

class Engine {
 public:
  using Listener = std::function<void(const EventRecord&)>;
  // Called after the table changed, once per processed batch (for publishing snapshots).
  using BatchHook = std::function<void(const Engine&)>;

  explicit Engine(const procfs::ProcReader& reader, TreeNameFn namer = {});

  void add_listener(Listener listener) { listeners_.push_back(std::move(listener)); }
  // Runs on each record before the listeners see it (e.g. the baseline marks unexpected execs).
  using Annotator = std::function<void(EventRecord&)>;
  void set_annotator(Annotator a) { annotator_ = std::move(a); }
  void set_batch_hook(BatchHook hook) { batch_hook_ = std::move(hook); }

  // Loads every existing process from /proc into the table (again: replaces the table) and
  // publishes a snapshot.
  void initial_scan();
  // Applies one event and notifies listeners.
  void handle(const ProcEvent& ev);
  // After a batch of handle() calls: reports what the table held back for later events
  // (group exits, re-read orphans). `final`: nothing follows, report everything now.
  void end_batch(bool final = false);
  // Drains the queue until it is closed and empty, or until the stop deadline has passed.
  void run(EventQueue& queue);
  // Any thread: run() returns once the queue is drained or at mono_deadline_ns (CLOCK_MONOTONIC)
  // at the latest, even with events left (a stop must not wait for a backlog).
  void stop_by(uint64_t mono_deadline_ns) { stop_by_ns_.store(mono_deadline_ns); }

  // Publishes a snapshot now if anything changed since the last one; run() does this after
  // each batch (at most every snapshot_every) and when idle.
  void publish_snapshot();
  // Any thread: the last published snapshot (never null; empty before initial_scan()).
  std::shared_ptr<const EngineSnapshot> snapshot() const;
  // Minimum time between two snapshots while events stream in (default 20 ms); 0: run() does
  // not publish (an engine nobody reads snapshots of, e.g. `trace`).
  void set_snapshot_every(std::chrono::milliseconds every) { snapshot_every_ns_ = uint64_t(every.count()) * 1'000'000; }
  // How long run() waits after a small batch for more events (default 2 ms; 0 for a source
  // that already queues in bulk, where the wait is only one more sleep and wakeup per batch).
  void set_linger(std::chrono::milliseconds linger) { linger_ = linger; }

  const ProcessTable& table() const { return table_; }
  const EngineStats& stats() const { return stats_; }
  // CLOCK_MONOTONIC ns -> CLOCK_REALTIME ns, fixed at construction.
  uint64_t to_realtime(uint64_t mono_ns) const { return mono_ns + realtime_offset_ns_; }

 private:
  void finish(bool publishing);  // run() ends: final end_batch, then a last snapshot
  void emit(Change& c);  // consumes c.info
  void notify(EventRecord& r);
  // Rescans /proc after a loss and reports what the lost events would have: an exit for each
  // process gone meanwhile and an exec for each one started, both marked resync.
  void resync();
  void mark_dirty(const ProcEvent& ev);
  // Brings shared_ up to date with the table (dirty pids, or everything after a rescan).
  void refresh_shared();

  const procfs::ProcReader& reader_;
  ProcessTable table_;
  std::vector<Listener> listeners_;
  Annotator annotator_;
  BatchHook batch_hook_;
  EngineStats stats_;
  int64_t realtime_offset_ns_ = 0;
  std::atomic<uint64_t> stop_by_ns_{0};  // 0: no stop asked

  // Snapshot state (engine thread), and the published snapshot (any thread, under snap_mu_).
  std::map<int32_t, std::shared_ptr<const ProcInfo>> shared_;  // = the table, as of the last publish
  std::vector<int32_t> dirty_;     // pids whose entry may have changed since
  bool rebuild_all_ = true;        // after a scan or resync: compare every pid
  uint64_t generation_ = 0, published_generation_ = 0;
  uint64_t newest_event_realtime_ns_ = 0;
  uint64_t last_publish_mono_ns_ = 0, last_full_mono_ns_ = 0;
  uint64_t snapshot_every_ns_ = 20'000'000;
  std::chrono::milliseconds linger_{2};
  mutable std::mutex snap_mu_;
  std::shared_ptr<const EngineSnapshot> published_;
};

}  // namespace procwatch
