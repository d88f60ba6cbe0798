// EventSource: turns kernel (or scripted) input into ProcEvents pushed to an EventQueue.
// start() spawns whatever threads the source needs and returns at once; stop() joins them.
// Sources never touch the process table.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/event_queue.h"
#include "core/result.h"

namespace procwatch {

struct SourceStats {
  uint64_t events = 0;     // decoded and queued
  uint64_t lost = 0;       // known missed kernel events
  uint64_t malformed = 0;  // messages that failed to decode
  std::map<std::string, uint64_t> counters;  // source-specific (e.g. "nlmsg_error", "noop")
};

class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual const char* name() const = 0;  // "netlink", "ebpf", "procfs", "replay"
  // On failure returns an Error whose message is one line for the user; errnum set from the
  // failing syscall (EPERM/EACCES means "no permission").
  virtual Result<bool> start(EventQueue& queue) = 0;
  virtual void stop() = 0;
  virtual SourceStats stats() const = 0;
  // True when events are queued in timed batches (the eBPF ring polled every 20 ms, a /proc
  // scan): the engine then gains nothing by waiting for more after a small batch.
  virtual bool pushes_in_bulk() const { return false; }
};

}  // namespace procwatch
