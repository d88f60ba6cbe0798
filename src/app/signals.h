// SIGINT/SIGTERM (stop) and SIGHUP (reload) for the whole process. Call block_stop_signals()
// first thing in main (before any thread starts) so only the waiter thread receives them.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

namespace procwatch::app {

void block_stop_signals();

// Waits for SIGINT/SIGTERM in its own thread and calls on_stop once; a second stop signal
// exits the process at once (exit 0). SIGHUP calls on_hup each time it arrives, or counts as a
// stop when on_hup is empty (a hung-up terminal ends `trace`). The destructor stops waiting
// (without calling on_stop) if no signal came.
// The backstop of a stop: unless the process has ended by then, after `grace` one line on
// stderr and _exit(code) (no destructors: whatever still runs, e.g. a long rule evaluation,
// cannot hold the exit). Any thread; idempotent (the first deadline holds).
void exit_after(std::chrono::milliseconds grace, int code);

class StopSignalWaiter {
 public:
  explicit StopSignalWaiter(std::function<void(int)> on_stop, std::function<void()> on_hup = {});
  ~StopSignalWaiter();
  StopSignalWaiter(const StopSignalWaiter&) = delete;
  StopSignalWaiter& operator=(const StopSignalWaiter&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace procwatch::app
