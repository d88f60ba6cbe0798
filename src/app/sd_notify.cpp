#include "app/sd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

#include "core/clock.h"

namespace procwatch::app {

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  active_ = socket != nullptr && *socket != '\0';
  uint64_t usec = 0;
  if (active_ && sd_watchdog_enabled(0, &usec) > 0) watchdog_ns_ = usec * 1000;
}

void SystemdNotifier::send(const std::string& message) {
  if (active_) sd_notify(0, message.c_str());
}

void SystemdNotifier::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
  last_tick_ns_ = monotonic_ns();
}

void SystemdNotifier::reloading() { send("RELOADING=1"); }

void SystemdNotifier::stopping() { send("STOPPING=1"); }

void SystemdNotifier::keepalive(uint64_t now_ns, const std::string& status) {
  last_tick_ns_ = now_ns;
  send((watchdog_ns_ ? "WATCHDOG=1\nSTATUS=" : "STATUS=") + status);
}

}  // namespace procwatch::app
