// ReplaySource: plays a fixed list of ProcEvents (e.g. from replay::Script) into an
// EventQueue, for tests and demos. start() returns at once (or, with synchronous, after all
// events are pushed); stop() joins the player thread. Other members are safe from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/proc_event.h"
#include "sources/event_source.h"

namespace procwatch {

struct ReplayOptions {
  bool synchronous = false;   // push everything inside start(): deterministic tests
  bool close_at_end = false;  // close the queue after the last event (consumer then stops)
  double speed = 0;           // 0 = as fast as possible; 1 = keep the ts_ns gaps; 2 = 2x
};

class ReplaySource final : public EventSource {
 public:
  explicit ReplaySource(std::vector<ProcEvent> events, ReplayOptions options = {});
  ~ReplaySource() override;

  const char* name() const override { return "replay"; }
  // Error when already started.
  Result<bool> start(EventQueue& queue) override;
  void stop() override;
  // events = pushed into the queue; lost = sum of scripted LostEvent counts;
  // counters["dropped"] = pushes the queue refused (full or closed).
  SourceStats stats() const override;

  // True once every event was pushed (or stop() cut the replay short).
  bool done() const;
  // Blocks until done() (returns at once if never started).
  void wait() const;

 private:
  void play(EventQueue& queue);

  std::vector<ProcEvent> events_;
  ReplayOptions options_;
  std::thread thread_;
  bool started_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> pushed_{0}, dropped_{0}, lost_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool done_ = false;
};

}  // namespace procwatch
