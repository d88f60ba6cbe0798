// LiveCapture: a started event source feeding an Engine until SIGINT/SIGTERM or stop().
// Shared by `trace` and `serve`. start() and run() belong to the engine's thread; stop() may
// be called from any thread (signal waiter, output error) and is idempotent.
// Stop signals are watched from start() on. A stop gives the engine kDrainBudget to handle what
// is queued, and the process kStopGrace to end (exit_after): SIGTERM ends it within 2 s
// whatever the engine is doing (a backlog, a long rule evaluation, a slow start-up).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <functional>
#include <optional>
#include <string>

#include "app/options.h"
#include "core/event_queue.h"
#include "engine/engine.h"
#include "naming/tree_namer.h"
#include "procfs/reader.h"
#include "sources/event_source.h"

namespace procwatch::app {

// The Engine's naming hook over a TreeNamer that outlives it.
TreeNameFn tree_name_fn(const TreeNamer& namer);

class StopSignalWaiter;

class LiveCapture {
 public:
  static constexpr std::chrono::milliseconds kDrainBudget{1000};
  static constexpr std::chrono::milliseconds kStopGrace{1800};

  LiveCapture(const CommonOptions& opts, const procfs::ProcReader& reader, Engine& engine);
  ~LiveCapture();

  // Starts the source (stderr says which), then loads /proc into the table: in that order, so
  // no launch falls between the two. On failure prints one line and returns the exit code.
  std::optional<int> start();
  // Runs the engine until stopped, then prints a loss summary to stderr if anything was lost.
  void run();
  void stop();
  // Called on the signal thread at each SIGHUP while run() runs (keep it short: set a flag).
  // Without one, SIGHUP stops the capture like SIGTERM.
  void on_sighup(std::function<void()> handler) {
    std::lock_guard lk(mu_);
    on_hup_ = std::move(handler);
  }
  const std::string& source_name() const { return source_name_; }
  // Any thread: the queue between the source and the engine (depth, drops), and the source's
  // own counters (empty before start()).
  const EventQueue& queue() const { return queue_; }
  SourceStats source_stats() const;

 private:
  const CommonOptions& opts_;
  const procfs::ProcReader& reader_;
  Engine& engine_;
  EventQueue queue_{1 << 18};
  std::unique_ptr<EventSource> source_;
  std::string source_name_;
  mutable std::mutex mu_;  // source_ and on_hup_ against the signal thread
  std::function<void()> on_hup_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<StopSignalWaiter> waiter_;
};

}  // namespace procwatch::app
