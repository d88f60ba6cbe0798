// EventLog: the `trace --json` lines written to a file (or stdout) by `serve --events-log`, for
// log shippers. Owned by the engine thread: append() gathers lines, flush() writes them with
// one write(2). A failed write (disk full, I/O error) drops those lines and counts them; capture
// never waits on or stops for the log. reopen() follows logrotate's rename (SIGHUP).
// dropped()/written() may be read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "export/event_format.h"

namespace procwatch::output {

class EventLog {
 public:
  // "-" is stdout. Errors name the file and the reason.
  static Result<std::unique_ptr<EventLog>> open(const std::string& path);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void append(const EventRecord& r);
  // Writes what append() gathered. Lines a failed write could not finish are dropped.
  void flush();
  // Opens the path again (after a rename); on failure keeps the old file and says why.
  Result<bool> reopen();

  const std::string& path() const { return path_; }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }

 private:
  EventLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  static constexpr size_t kFlushAt = 1 << 20;  // bound the buffer between engine batches

  std::string path_;
  int fd_ = -1;
  std::string buf_;
  size_t lines_ = 0;          // complete lines in buf_
  bool torn_ = false;         // the last write stopped inside a line
  bool failing_ = false;      // said once per failure streak
  std::atomic<uint64_t> dropped_{0}, written_{0};
};

}  // namespace procwatch::output
