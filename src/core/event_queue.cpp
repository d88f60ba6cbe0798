#include "core/event_queue.h"

namespace procwatch {

bool EventQueue::push_locked(ProcEvent&& ev) {
  if (closed_) return false;
  // Keep one slot for the LostEvent that reports drops.
  if (q_.size() + (dropped_pending_ ? 1 : 0) >= capacity_) {
    ++dropped_total_;
    ++dropped_pending_;
    return false;
  }
  if (dropped_pending_) {
    q_.push_back(ProcEvent{ev.ts_ns, ev.cpu, LostEvent{dropped_pending_, "queue_full"}});
    dropped_pending_ = 0;
  }
  q_.push_back(std::move(ev));
  return true;
}

bool EventQueue::push(ProcEvent ev) {
  bool ok;
  {
    std::lock_guard lk(mu_);
    ok = push_locked(std::move(ev));
  }
  if (ok) cv_.notify_one();
  return ok;
}

size_t EventQueue::push_batch(std::vector<ProcEvent>& evs) {
  size_t dropped = 0;
  {
    std::lock_guard lk(mu_);
    for (auto& ev : evs)
      if (!push_locked(std::move(ev))) ++dropped;
  }
  evs.clear();
  cv_.notify_one();
  return dropped;
}

bool EventQueue::pop_batch(std::vector<ProcEvent>& out, size_t max,
                           std::chrono::milliseconds timeout) {
  out.clear();
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, timeout, [&] { return !q_.empty() || closed_; });
  if (q_.empty() && dropped_pending_) {  // report drops even when nothing follows them
    out.push_back(ProcEvent{0, 0, LostEvent{dropped_pending_, "queue_full"}});
    dropped_pending_ = 0;
  }
  while (!q_.empty() && out.size() < max) {
    out.push_back(std::move(q_.front()));
    q_.pop_front();
  }
  return !(closed_ && q_.empty() && out.empty());
}

void EventQueue::close() {
  {
    std::lock_guard lk(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

uint64_t EventQueue::dropped() const {
  std::lock_guard lk(mu_);
  return dropped_total_;
}

size_t EventQueue::size() const {
  std::lock_guard lk(mu_);
  return q_.size();
}

}  // namespace procwatch
