// EbpfSource: fork/exec/exit from tp_btf programs through a BPF ring buffer. Exec events
// arrive with ExecCapture filled in the kernel (absolute exe, argv, ids, cgroup), so even
// processes that exit within microseconds are named. start() loads and attaches (returns the
// loader's one-line Error on failure) and spawns one reader thread; stop() joins it and
// detaches. stats() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "sources/event_source.h"

namespace procwatch::ebpf {
class EbpfLoader;
}  // namespace procwatch::ebpf
namespace procwatch::procfs {
class CgroupResolver;
}  // namespace procwatch::procfs

namespace procwatch {

struct EbpfOptions {
  // 16 MiB: a typical exec record is 200-400 bytes (records are sized to their content), so
  // this holds tens of thousands of pending events; a worst-case exec (4 KiB path + 4 KiB
  // argv) still leaves room for about 2,000.
  size_t ringbuf_bytes = 16u << 20;
  uint32_t max_args_bytes = 4096;  // argv bytes copied per exec (<= 4096)
  size_t max_args = 1024;          // argv entries kept per exec
  bool resolve_cgroups = true;     // map cgroup ids to paths (ExecCapture::cgroup)
  std::string cgroup_root;         // cgroup2 mount; empty = from /proc/self/mountinfo
};

class EbpfSource : public EventSource {
 public:
  explicit EbpfSource(EbpfOptions opts = {});
  ~EbpfSource() override;

  const char* name() const override { return "ebpf"; }
  bool pushes_in_bulk() const override { return true; }
  Result<bool> start(EventQueue& queue) override;
  void stop() override;
  SourceStats stats() const override;

 private:
  void run();
  void on_record(std::span<const std::byte> bytes);
  void flush();  // pushes batch_ to the queue
  void check_lost();

  EbpfOptions opts_;
  EventQueue* queue_ = nullptr;
  std::unique_ptr<ebpf::EbpfLoader> loader_;
  std::unique_ptr<procfs::CgroupResolver> cgroups_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::vector<ProcEvent> batch_;  // reader thread only
  uint64_t lost_seen_ = 0;        // reader thread only

  std::atomic<uint64_t> events_{0}, lost_{0}, malformed_{0}, queue_dropped_{0},
      cgroup_unresolved_{0}, exe_missing_{0}, poll_errors_{0};
};

}  // namespace procwatch
