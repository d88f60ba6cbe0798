#include "sources/replay/replay_source.h"

#include <chrono>
#include <utility>

namespace procwatch {

ReplaySource::ReplaySource(std::vector<ProcEvent> events, ReplayOptions options)
    : events_(std::move(events)), options_(options) {}

ReplaySource::~ReplaySource() { ReplaySource::stop(); }

Result<bool> ReplaySource::start(EventQueue& queue) {
  {
    std::lock_guard lk(mu_);
    if (started_) return make_error("replay source already started");
    started_ = true;
  }
  if (options_.synchronous) {
    play(queue);
  } else {
    thread_ = std::thread([this, &queue] { play(queue); });
  }
  return true;
}

void ReplaySource::play(EventQueue& queue) {
  uint64_t prev_ts = events_.empty() ? 0 : events_.front().ts_ns;
  for (const ProcEvent& ev : events_) {
    if (stop_.load()) break;
    if (options_.speed > 0 && ev.ts_ns > prev_ts) {
      const auto gap =
          std::chrono::nanoseconds(uint64_t(double(ev.ts_ns - prev_ts) / options_.speed));
      std::unique_lock lk(mu_);
      if (cv_.wait_for(lk, gap, [this] { return stop_.load(); })) break;
    }
    prev_ts = ev.ts_ns;
    if (const auto* l = std::get_if<LostEvent>(&ev.body)) lost_ += l->count;
    if (queue.push(ev)) {
      ++pushed_;
    } else {
      ++dropped_;
    }
  }
  if (options_.close_at_end && !stop_.load()) queue.close();
  std::lock_guard lk(mu_);
  done_ = true;
  cv_.notify_all();
}

void ReplaySource::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

SourceStats ReplaySource::stats() const {
  SourceStats s;
  s.events = pushed_.load();
  s.lost = lost_.load();
  s.counters["dropped"] = dropped_.load();
  return s;
}

bool ReplaySource::done() const {
  std::lock_guard lk(mu_);
  return done_;
}

void ReplaySource::wait() const {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [this] { return done_ || !started_; });
}

}  // namespace procwatch
