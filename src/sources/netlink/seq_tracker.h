// Loss detection for the proc connector from per-CPU sequence numbers. Pure and
// single-threaded (the reader thread owns one); no I/O, never throws on input.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "core/proc_event.h"

namespace procwatch::netlink {

// The kernel numbers proc connector messages per CPU (cn_msg.seq, a u32 that wraps) when the
// listener takes all events. A jump on one CPU is the number of messages that never arrived.
class SeqTracker {
 public:
  // Records seq as the latest on cpu; returns how many numbers were skipped since the previous
  // one on that cpu. 0 for the first message on a cpu and for a repeat. A backward jump
  // (more than 2^31 ahead modulo 2^32) is taken as a restarted counter: 0, and it re-bases.
  uint64_t observe(uint32_t cpu, uint32_t seq);
  bool seen(uint32_t cpu) const { return last_.count(cpu) != 0; }
  size_t cpu_count() const { return last_.size(); }
  template <class F>
  void for_each_cpu(F&& f) const {
    for (const auto& [cpu, seq] : last_) f(cpu);
  }

 private:
  std::unordered_map<uint32_t, uint32_t> last_;
};

// Turns sequence gaps and ENOBUFS overruns into LostEvents so that each lost message is
// counted once. ENOBUFS is reported *before* the messages still queued from before the
// overflow; the kernel then drops everything until the queue is empty. So on each CPU the
// stream reads: queued messages, one gap, new messages. After an overrun, the first gap on
// every CPU (also CPUs first seen after it) is the overrun's loss ("enobufs"); a CPU that
// shows no gap in its first message after the socket was drained lost nothing. Any other
// gap is "seq_gap".
class LossAccounting {
 public:
  // recv failed with ENOBUFS.
  void on_overrun();
  // Any proc connector message with a real cpu (events, acks, unknown kinds).
  std::optional<LostEvent> on_message(uint32_t cpu, uint32_t seq);
  // The socket was found empty. An overrun no gap has accounted for yet is reported now as a
  // loss of 1 (a lower bound, so the consumer resyncs without waiting for a quiet CPU's next
  // message). That 1 is then taken off the overrun's gaps, so the total stays exact.
  std::optional<LostEvent> on_drained();
  // The socket was found empty and its kernel drop counter (SO_MEMINFO's SK_MEMINFO_DROPS, a
  // u32 counted since the socket was opened) reads `drops`. Drops the sequence gaps have not
  // shown yet are reported now ("socket_drops"), so a loss is known at once even when no CPU
  // sends another message; the gaps that show them later are not counted again. Takes the
  // place of on_drained() when the counter can be read.
  std::optional<LostEvent> on_drained(uint32_t drops);

  bool overrun_open() const { return overrun_open_; }
  const SeqTracker& tracker() const { return tracker_; }

 private:
  void close_if_settled();
  std::optional<LostEvent> on_gap(uint32_t cpu, uint64_t gap);  // the overrun attribution

  SeqTracker tracker_;
  bool overrun_open_ = false;  // some CPU may still show the overrun's gap
  bool drained_since_overrun_ = false;
  bool overrun_unreported_ = false;
  std::unordered_set<uint32_t> settled_;  // cpus whose part of the open overrun is known
  uint64_t credit_ = 0;  // reported by on_drained, to take off the overrun's next gap
  // Drop-counter accounting: the counter at the last drain, what it reported ahead of the gaps
  // (taken off the next gaps), and what gaps reported since the last drain.
  uint32_t last_drops_ = 0;
  uint64_t drop_credit_ = 0;
  uint64_t gaps_since_drain_ = 0;
};

}  // namespace procwatch::netlink
