// Bounded multi-producer, single-consumer queue of ProcEvents between source threads and the
// engine. A push into a full queue drops the event and counts it; the next successful push
// is preceded by a LostEvent carrying the number dropped, so loss is never silent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "core/proc_event.h"

namespace procwatch {

class EventQueue {
 public:
  explicit EventQueue(size_t capacity = 1 << 16) : capacity_(capacity) {}

  // Returns false when the event was dropped (queue full or closed).
  bool push(ProcEvent ev);
  // Pushes a batch under one lock; returns how many were dropped.
  size_t push_batch(std::vector<ProcEvent>& evs);

  // Pops up to max events into out (cleared first). Waits up to timeout for the first one.
  // Returns false once the queue is closed and empty.
  bool pop_batch(std::vector<ProcEvent>& out, size_t max, std::chrono::milliseconds timeout);

  void close();
  uint64_t dropped() const;  // events refused since construction (full or closed)
  size_t size() const;       // events waiting now
  size_t capacity() const { return capacity_; }

 private:
  bool push_locked(ProcEvent&& ev);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ProcEvent> q_;
  uint64_t dropped_total_ = 0;
  uint64_t dropped_pending_ = 0;  // not yet reported by a LostEvent
  bool closed_ = false;
};

}  // namespace procwatch
