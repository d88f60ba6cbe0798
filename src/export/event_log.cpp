#include "export/event_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/text.h"

namespace procwatch::output {

namespace {

Result<int> open_fd(const std::string& path) {
  if (path == "-") return STDOUT_FILENO;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) {
    const int e = errno;
    return make_error("events log " + escape_control(path) + ": " + std::strerror(e), e);
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& path) {
  auto fd = open_fd(path);
  if (!fd) return fd.error();
  return std::unique_ptr<EventLog>(new EventLog(path, *fd));
}

EventLog::~EventLog() {
  flush();
  if (fd_ > STDERR_FILENO) ::close(fd_);
}

void EventLog::append(const EventRecord& r) {
  append_event_json_line(buf_, r);
  ++lines_;
  if (buf_.size() >= kFlushAt) flush();
}

void EventLog::flush() {
  if (buf_.empty()) return;
  if (torn_) buf_.insert(buf_.begin(), '\n');  // end the line a failed write left open
  size_t off = 0;
  int err = 0;
  while (off < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    off += size_t(n);
  }
  const size_t lost =
      size_t(std::count(buf_.begin() + std::ptrdiff_t(off), buf_.end(), '\n'));
  const size_t lost_lines = std::min(lost, lines_);
  written_.fetch_add(lines_ - lost_lines, std::memory_order_relaxed);
  dropped_.fetch_add(lost_lines, std::memory_order_relaxed);
  torn_ = off > 0 && off < buf_.size() && buf_[off - 1] != '\n';
  if (err != 0 && !failing_) {
    std::fprintf(stderr,
                 "procwatch: events log %s: %s; dropping events until writes succeed "
                 "(procwatch_events_log_dropped_total)\n",
                 escape_control(path_).c_str(), std::strerror(err));
  }
  failing_ = err != 0;
  buf_.clear();
  lines_ = 0;
}

Result<bool> EventLog::reopen() {
  flush();
  if (path_ == "-") return true;
  auto fd = open_fd(path_);
  if (!fd) return fd.error();
  ::close(fd_);
  fd_ = *fd;
  torn_ = false;  // a new file starts on a line of its own
  return true;
}

}  // namespace procwatch::output
