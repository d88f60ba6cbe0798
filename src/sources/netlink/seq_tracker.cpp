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
  std::optional<LostEvent> l = on_gap(cpu, tracker_.observe(cpu, seq));
  if (!l) return l;
  // Drops the counter already reported are not counted again.
  const uint64_t take = std::min(drop_credit_, l->count);
  drop_credit_ -= take;
  l->count -= take;
  gaps_since_drain_ += l->count;
  if (l->count == 0) return std::nullopt;
  return l;
}

std::optional<LostEvent> LossAccounting::on_drained(uint32_t drops) {
  const uint64_t delta = uint32_t(drops - last_drops_);  // modulo 2^32: the counter wraps
  last_drops_ = drops;
  const uint64_t seen = gaps_since_drain_;
  gaps_since_drain_ = 0;
  if (overrun_open_) {  // the counter is exact: no lower bound of 1 to report
    drained_since_overrun_ = true;
    overrun_unreported_ = false;
    close_if_settled();
  }
  if (delta <= seen) return std::nullopt;  // the gaps showed them all (or more: not ours)
  drop_credit_ += delta - seen;
  return LostEvent{delta - seen, "socket_drops"};
}

std::optional<LostEvent> LossAccounting::on_gap(uint32_t cpu, uint64_t gap) {
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
