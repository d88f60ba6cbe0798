#include "app/signals.h"

#include <csignal>
#include <ctime>

#include <unistd.h>

namespace procwatch::app {

namespace {
sigset_t waited_set() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGHUP);
  return s;
}
}  // namespace

void block_stop_signals() {
  sigset_t s = waited_set();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe on stdout shows up as EPIPE, handled there
}

StopSignalWaiter::StopSignalWaiter(std::function<void(int)> on_stop, std::function<void()> on_hup)
    : thread_([this, on_stop = std::move(on_stop), on_hup = std::move(on_hup)] {
        sigset_t s = waited_set();
        timespec tick{0, 100 * 1000 * 1000};
        bool stopping = false;
        while (!done_) {
          int sig = sigtimedwait(&s, nullptr, &tick);
          if (sig == SIGHUP && on_hup) {
            if (!stopping) on_hup();
          } else if (sig > 0 && stopping) {
            static const char kMsg[] = "procwatch: second stop signal, exiting now\n";
            (void)!::write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
            ::_exit(0);
          } else if (sig > 0) {
            stopping = true;
            on_stop(sig);
          }
        }
      }) {}

void exit_after(std::chrono::milliseconds grace, int code) {
  static std::atomic<bool> armed{false};
  if (armed.exchange(true)) return;
  std::thread([grace, code] {
    std::this_thread::sleep_for(grace);
    static const char kMsg[] = "procwatch: stopping took too long, exiting now (exit 0)\n";
    (void)!::write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
    ::_exit(code);
  }).detach();
}

StopSignalWaiter::~StopSignalWaiter() {
  done_ = true;
  thread_.join();
}

}  // namespace procwatch::app
