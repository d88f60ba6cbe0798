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
  tracker_.for_each_cpu([this](uint32_t cpu) { pending_.insert(cpu); });
  overrun_unreported_ = true;
}

std::optional<LostEvent> LossAccounting::on_message(uint32_t cpu, uint32_t seq) {
  uint64_t gap = tracker_.observe(cpu, seq);
  auto it = pending_.find(cpu);
  if (it == pending_.end()) {
    if (gap == 0) return std::nullopt;
    return LostEvent{gap, "seq_gap"};
  }
  pending_.erase(it);
  if (gap > 0) {
    overrun_unreported_ = false;
    const uint64_t take = std::min(credit_, gap);
    credit_ -= take;
    gap -= take;
  }
  if (pending_.empty()) credit_ = 0;
  if (gap == 0) return std::nullopt;
  return LostEvent{gap, "enobufs"};
}

std::optional<LostEvent> LossAccounting::on_drained() {
  if (!overrun_unreported_) return std::nullopt;
  overrun_unreported_ = false;
  credit_ = pending_.empty() ? 0 : credit_ + 1;
  return LostEvent{1, "enobufs"};
}

}  // namespace procwatch::netlink
