#include "app/signals.h"

#include <csignal>
#include <ctime>

namespace procwatch::app {

namespace {
sigset_t stop_set() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}
}  // namespace

void block_stop_signals() {
  sigset_t s = stop_set();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe on stdout shows up as EPIPE, handled there
}

StopSignalWaiter::StopSignalWaiter(std::function<void(int)> on_stop)
    : thread_([this, on_stop = std::move(on_stop)] {
        sigset_t s = stop_set();
        timespec tick{0, 100 * 1000 * 1000};
        while (!done_) {
          int sig = sigtimedwait(&s, nullptr, &tick);
          if (sig > 0) {
            on_stop(sig);
            return;
          }
        }
      }) {}

StopSignalWaiter::~StopSignalWaiter() {
  done_ = true;
  thread_.join();
}

}  // namespace procwatch::app
