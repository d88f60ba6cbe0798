#include "sources/netlink/seq_tracker.h"

#include <algorithm>

namespace procwatch::netlink {

uint64_t SeqTracker::observe(uint32_t cpu, uint32_t seq) {
  auto [it, inserted] = last_.try_emplace(cpu, seq);
  if (inserted) return 0;
  const uint32_t delta = seq - it->second;  // modulo 2^32: handles the wrap
  if (delta == 0) return 0;
  it->second = seq;
  if (delta > 0x80000000u) return 0;  // went backwards: counter restarted, not a loss
  return delta - 1;
}

void LossAccounting::on_overrun() {
  overrun_open_ = true;
  drained_since_overrun_ = false;
  overrun_unreported_ = true;
  settled_.clear();
}

void LossAccounting::close_if_settled() {
  if (!drained_since_overrun_) return;
  bool all = true;
  tracker_.for_each_cpu([&](uint32_t cpu) { all = all && settled_.count(cpu) != 0; });
  if (!all) return;
  overrun_open_ = false;
  settled_.clear();
  credit_ = 0;
}

std::optional<LostEvent> LossAccounting::on_message(uint32_t cpu, uint32_t seq) {
  uint64_t gap = tracker_.observe(cpu, seq);
  if (!overrun_open_ || settled_.count(cpu) != 0) {
    if (gap == 0) return std::nullopt;
    return LostEvent{gap, "seq_gap"};
  }
  if (gap == 0) {
    // Still reading what was queued before the overflow, unless the socket was drained.
    if (drained_since_overrun_) {
      settled_.insert(cpu);
      close_if_settled();
    }
    return std::nullopt;
  }
  settled_.insert(cpu);
  overrun_unreported_ = false;
  const uint64_t take = std::min(credit_, gap);
  credit_ -= take;
  gap -= take;
  close_if_settled();
  if (gap == 0) return std::nullopt;
  return LostEvent{gap, "enobufs"};
}

std::optional<LostEvent> LossAccounting::on_drained() {
  if (!overrun_open_) return std::nullopt;
  drained_since_overrun_ = true;
  if (!overrun_unreported_) {
    close_if_settled();
    return std::nullopt;
  }
  overrun_unreported_ = false;
  ++credit_;
  return LostEvent{1, "enobufs"};
}

}  // namespace procwatch::netlink
