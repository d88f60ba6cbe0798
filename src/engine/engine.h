// Engine: the single consumer of the event queue. Owns the ProcessTable, binds it to /proc
// (procfs::ProcReader) and to tree naming, resynchronises from /proc after a loss, and turns
// table changes into EventRecords for listeners (trace printer, exporter, rules).
// Not thread-safe: run() and every other call belong to one thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "core/event_queue.h"
#include "core/proc_event.h"
#include "engine/event_record.h"
#include "procfs/reader.h"
#include "table/process_table.h"

namespace procwatch {

struct EngineStats {
  std::array<uint64_t, std::variant_size_v<EventBody>> events{};  // by EventBody index
  uint64_t lost = 0;        // sum of LostEvent counts
  uint64_t resyncs = 0;     // /proc rescans after a loss
  uint64_t incomplete = 0;  // exec/fork records reported with incomplete identity
  uint64_t resync_removed = 0, resync_added = 0;
};

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

  // Loads every existing process from /proc into the table.
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

  const ProcessTable& table() const { return table_; }
  const EngineStats& stats() const { return stats_; }
  // CLOCK_MONOTONIC ns -> CLOCK_REALTIME ns, fixed at construction.
  uint64_t to_realtime(uint64_t mono_ns) const { return mono_ns + realtime_offset_ns_; }

 private:
  void emit(Change& c);  // consumes c.info
  void notify(EventRecord& r);
  // Rescans /proc after a loss and reports what the lost events would have: an exit for each
  // process gone meanwhile and an exec for each one started, both marked resync.
  void resync();

  const procfs::ProcReader& reader_;
  ProcessTable table_;
  std::vector<Listener> listeners_;
  Annotator annotator_;
  BatchHook batch_hook_;
  EngineStats stats_;
  int64_t realtime_offset_ns_ = 0;
  std::atomic<uint64_t> stop_by_ns_{0};  // 0: no stop asked
};

}  // namespace procwatch
