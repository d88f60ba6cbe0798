#include "sources/netlink/wait_fds.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>

#include "sources/netlink/sys_error.h"

namespace procwatch::netlink {

Result<unsigned> wait_readable(std::initializer_list<int> fds, int64_t timeout_ns) {
  pollfd pfds[8];
  if (fds.size() > std::size(pfds)) return Error{"netlink: too many fds to wait on", EINVAL};
  nfds_t n = 0;
  for (int fd : fds) pfds[n++] = pollfd{fd, POLLIN, 0};
  const timespec ts{time_t(timeout_ns / 1000000000), long(timeout_ns % 1000000000)};
  const int pr = ::ppoll(pfds, n, timeout_ns < 0 ? nullptr : &ts, nullptr);
  if (pr < 0) {
    if (errno == EINTR) return 0u;
    return sys_error("ppoll");
  }
  unsigned ready = 0;
  for (nfds_t i = 0; i < n; ++i)
    if (pfds[i].revents != 0) ready |= 1u << i;
  return ready;
}

OwnedFd& OwnedFd::operator=(OwnedFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

OwnedFd::~OwnedFd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<PeriodicTimer> PeriodicTimer::open() {
  const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return sys_error("timerfd_create");
  return PeriodicTimer(OwnedFd(fd));
}

Result<bool> PeriodicTimer::arm(int64_t period_ns) {
  if (period_ns <= 0) return Error{"netlink: timer period must be positive", EINVAL};
  const timespec p{time_t(period_ns / 1000000000), long(period_ns % 1000000000)};
  const itimerspec spec{p, p};
  if (::timerfd_settime(fd_.get(), 0, &spec, nullptr) != 0) return sys_error("timerfd_settime");
  armed_ = true;
  return true;
}

Result<bool> PeriodicTimer::disarm() {
  const itimerspec zero{};
  if (::timerfd_settime(fd_.get(), 0, &zero, nullptr) != 0) return sys_error("timerfd_settime");
  armed_ = false;
  take();  // an expiry that came before disarming must not wake the next wait
  return true;
}

uint64_t PeriodicTimer::take() {
  uint64_t n = 0;
  if (::read(fd_.get(), &n, sizeof n) != ssize_t(sizeof n)) return 0;
  return n;
}

Result<WakeFd> WakeFd::open() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return sys_error("eventfd");
  return WakeFd(OwnedFd(fd));
}

void WakeFd::notify() {
  const uint64_t one = 1;
  // Only fails when the counter would overflow, and then the fd is readable anyway.
  [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof one);
}

void WakeFd::reset() {
  uint64_t n = 0;
  [[maybe_unused]] ssize_t r = ::read(fd_.get(), &n, sizeof n);
}

}  // namespace procwatch::netlink
