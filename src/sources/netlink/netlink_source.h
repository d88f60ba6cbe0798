// NetlinkSource: the proc connector as an EventSource. One reader thread drains the sockets,
// decodes, and pushes batches to the queue; the only other work it does is the /proc capture
// of a new exec, which cannot wait, and the start time of a forked child that did not exec.
// Two sockets where the kernel filters (6.6+): one subscribed to exec events only, read the
// moment one arrives, and one with every event, read in batches every `batch_interval`. That
// is one wakeup per process instead of one per event (fork, exec, exit), and the ordered
// stream and its loss accounting stay on the full socket. start()/stop() from one controlling
// thread; stats() from any thread. `reader` must outlive the source.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "procfs/cgroup_resolver.h"
#include "procfs/reader.h"
#include "sources/event_source.h"
#include "sources/netlink/cn_proc_decoder.h"
#include "sources/netlink/netlink_socket.h"
#include "sources/netlink/seq_tracker.h"
#include "sources/netlink/wait_fds.h"

namespace procwatch::netlink {

struct NetlinkOptions {
  size_t rcvbuf_bytes = size_t{64} << 20;
  size_t batch_size = 64;  // datagrams per recvmmsg
  bool no_enobufs = true;  // see netlink_source.cpp
  // How long start() waits for the kernel's ack of the subscription. No ack is normal in a
  // non-initial user/pid namespace (events may still come), so a timeout is not an error.
  std::chrono::milliseconds ack_timeout{1000};
  // Run the reader thread SCHED_FIFO (priority 1) when permitted, so it reads /proc for a new
  // exec before a short-lived process exits instead of waiting behind the workload.
  bool realtime_reader = true;
  // Use the exec-only socket when the kernel filters; off = one socket read per event.
  bool split_exec = true;
  std::chrono::milliseconds batch_interval{10};  // how often the full socket is read (split)
  size_t exec_rcvbuf_bytes = size_t{4} << 20;     // an exec it drops is captured late, not lost
};

// The one-line message for a failed start(); EPERM/EACCES get the permission hint.
Error start_error(const Error& cause);

class NetlinkSource : public EventSource {
 public:
  explicit NetlinkSource(const procfs::ProcReader& reader, NetlinkOptions opts = {});
  ~NetlinkSource() override;
  NetlinkSource(const NetlinkSource&) = delete;
  NetlinkSource& operator=(const NetlinkSource&) = delete;

  const char* name() const override { return "netlink"; }
  // Opens, subscribes, starts the reader thread and waits for the ack (see ack_timeout).
  // A second start() while running is an error (EBUSY).
  Result<bool> start(EventQueue& queue) override;
  // Unsubscribes, closes and joins (the reader is woken through an eventfd). Idempotent.
  void stop() override;
  // Since the last start(): events (queued), lost (messages known missed, = sum of the
  // LostEvents pushed), malformed (= "truncated"), and counters: nlmsg_error noop overrun
  // unknown_type bad_cn_id unknown_what truncated ack (any listener's) ack_error no_ack,
  // enobufs (ENOBUFS errors) enobufs_lost, seq_gap (gaps seen) seq_gap_lost, recv_error
  // foreign_sender (not from the kernel) msg_trunc exec_capture_missed fork_start_missed,
  // split (1 while the exec-only socket is in use), exec_early (execs captured from it),
  // exec_late (captured only when the full socket delivered the event), exec_unmatched
  // (captures whose event the full socket never delivered), filter_unsupported, socket_drops
  // socket_drops_lost (losses the drop counter reported before any gap showed them),
  // drop_counter_error.
  SourceStats stats() const override;

  size_t rcvbuf_bytes() const { return rcvbuf_bytes_; }  // obtained, valid after start()

 private:
  struct Counters;
  void run(EventQueue* queue);

  const procfs::ProcReader& reader_;
  NetlinkOptions opts_;
  std::optional<NetlinkSocket> sock_;       // every event
  std::optional<NetlinkSocket> exec_sock_;  // exec events only (split mode)
  std::optional<PeriodicTimer> timer_;      // paces reads of sock_ in split mode
  std::optional<WakeFd> wake_;              // stop() wakes the reader through it
  // cgroup2 id -> path for captures (pidfd ids); null without cgroup2. Reader thread only.
  std::unique_ptr<procfs::CgroupResolver> cgroups_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  size_t rcvbuf_bytes_ = 0;
  uint32_t nonce_ = 0;

  // Handshake between start() and the reader thread about the subscription ack.
  std::mutex ack_mu_;
  std::condition_variable ack_cv_;
  bool ack_seen_ = false;
  uint32_t ack_err_ = 0;

  mutable std::mutex stats_mu_;
  std::unique_ptr<Counters> counters_;  // published by the reader; the map is built in stats()
  uint64_t no_ack_ = 0, realtime_refused_ = 0;
};

}  // namespace procwatch::netlink
