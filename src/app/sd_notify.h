// SystemdNotifier: the sd_notify protocol (libsystemd) for a Type=notify unit: READY=1 once
// capture is live and the listener bound, STATUS= lines, WATCHDOG=1 keep-alives and
// RELOADING=1/STOPPING=1. Without NOTIFY_SOCKET every call does nothing. One owner thread
// (the engine's, so a stuck engine stops the keep-alives and systemd restarts it).
#pragma once

#include <cstdint>
#include <string>

namespace procwatch::app {

class SystemdNotifier {
 public:
  SystemdNotifier();

  void ready(const std::string& status);
  void reloading();
  void stopping();
  // From the engine's batch hook: WATCHDOG=1 and STATUS=status() once a third of the watchdog
  // interval (or kStatusEveryNs without a watchdog) has passed since the last keep-alive.
  template <class StatusFn>
  void tick(uint64_t now_ns, StatusFn&& status) {
    if (active_ && now_ns - last_tick_ns_ >= keepalive_every_ns()) keepalive(now_ns, status());
  }

  bool watchdog_enabled() const { return watchdog_ns_ != 0; }

 private:
  static constexpr uint64_t kStatusEveryNs = 10'000'000'000ull;
  void send(const std::string& message);
  uint64_t keepalive_every_ns() const { return watchdog_ns_ ? watchdog_ns_ / 3 : kStatusEveryNs; }
  void keepalive(uint64_t now_ns, const std::string& status);

  bool active_ = false;
  uint64_t watchdog_ns_ = 0;
  uint64_t last_tick_ns_ = 0;
};

}  // namespace procwatch::app
