// PollSource: the fallback source when neither netlink nor eBPF can be used. One thread scans
// /proc (through a ProcReader) every `interval` and diffs successive snapshots by (pid, start
// time). Processes that live and die between two scans are never seen; exit codes are unknown.
// start()/stop() from one controlling thread; stats() from any. `reader` must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "core/proc_info.h"
#include "procfs/reader.h"
#include "sources/event_source.h"

namespace procwatch {

using PollSnapshot = std::map<ProcKey, ProcInfo>;

// What a scan knows about a process, as the capture an exec event would carry.
ExecCapture capture_from_info(const ProcInfo& p);

// Events for the change from `before` to `after`, in this order: exits (ExitEvent with
// code_known = false) by key; new processes by start time, each a ForkEvent then (unless it
// is a kernel thread) an ExecEvent; then an ExecEvent for each process whose exe changed.
// Exits come first so a pid reused within one interval is ended before it is born again.
// Pure; ts of exits and exe changes is now_ns, of a new process its start_ns.
std::vector<ProcEvent> diff_snapshots(const PollSnapshot& before, const PollSnapshot& after,
                                      uint64_t now_ns);

class PollSource : public EventSource {
 public:
  explicit PollSource(const procfs::ProcReader& reader,
                      std::chrono::milliseconds interval = std::chrono::milliseconds(500));
  ~PollSource() override;
  PollSource(const PollSource&) = delete;
  PollSource& operator=(const PollSource&) = delete;

  const char* name() const override { return "procfs"; }
  bool pushes_in_bulk() const override { return true; }
  // Takes the first snapshot before returning (it emits nothing: the engine scans on its
  // own), then starts the polling thread. A second start() while running is EBUSY.
  Result<bool> start(EventQueue& queue) override;
  // Wakes and joins the thread. Idempotent.
  void stop() override;
  // events; counters: polls, exit_unknown (every exit: the code is never known here),
  // exe_changed, queue_full (events the queue dropped; it reports them as a LostEvent).
  SourceStats stats() const override;

 private:
  PollSnapshot snapshot() const;
  void run(EventQueue* queue);

  const procfs::ProcReader& reader_;
  const std::chrono::milliseconds interval_;
  std::thread thread_;
  std::mutex mu_;  // guards stop_ for the condition variable
  std::condition_variable cv_;
  bool stop_ = false;
  bool running_ = false;
  PollSnapshot prev_;  // owned by the polling thread once started

  mutable std::mutex stats_mu_;
  SourceStats stats_;
};

}  // namespace procwatch
