#include "app/live_capture.h"
#include "core/text.h"

#include <cerrno>
#include <cstdio>

#include "app/signals.h"
#include "app/source_factory.h"
#include "core/clock.h"

namespace procwatch::app {

TreeNameFn tree_name_fn(const TreeNamer& namer) {
  return [&namer](const ProcInfo& self, const ProcInfo* parent) {
    return namer.name(self, parent);
  };
}

LiveCapture::LiveCapture(const CommonOptions& opts, const procfs::ProcReader& reader,
                         Engine& engine)
    : opts_(opts), reader_(reader), engine_(engine) {}

LiveCapture::~LiveCapture() {
  stop();
  waiter_.reset();
}

std::optional<int> LiveCapture::start() {
  waiter_ = std::make_unique<StopSignalWaiter>(
      [this](int) {
        exit_after(kStopGrace, kExitOk);
        stop();
      },
      [this] {
        std::function<void()> hup;
        {
          std::lock_guard lk(mu_);
          hup = on_hup_;
        }
        if (hup) {
          hup();
        } else {  // no reload handler: a hung-up terminal ends the capture
          exit_after(kStopGrace, kExitOk);
          stop();
        }
      });
  auto started = start_source(opts_, reader_, queue_);
  if (!started) {
    const Error& e = started.error();
    std::fprintf(stderr, "procwatch: %s\n", escape_control(e.message).c_str());
    const bool usage = e.errnum == EPERM || e.errnum == EACCES || e.errnum == ENOTSUP;
    return usage ? kExitUsage : kExitFailure;
  }
  {
    std::lock_guard lk(mu_);
    source_ = std::move(started->source);
    source_name_ = started->name;
    if (stopping_) source_->stop();  // a stop signal came while it started
  }
  if (source_->pushes_in_bulk()) engine_.set_linger(std::chrono::milliseconds(0));
  engine_.initial_scan();
  return std::nullopt;
}

SourceStats LiveCapture::source_stats() const {
  std::lock_guard lk(mu_);
  return source_ ? source_->stats() : SourceStats{};
}

void LiveCapture::stop() {
  if (stopping_.exchange(true)) return;
  engine_.stop_by(monotonic_ns() +
                  uint64_t(std::chrono::nanoseconds(kDrainBudget).count()));
  queue_.close();
  std::lock_guard lk(mu_);
  if (source_) source_->stop();
}

void LiveCapture::run() {
  engine_.run(queue_);
  stop();
  waiter_.reset();
  const EngineStats& st = engine_.stats();
  if (st.lost)
    std::fprintf(stderr, "procwatch: %llu events lost, %llu resyncs from /proc\n",
                 (unsigned long long)st.lost, (unsigned long long)st.resyncs);
}

}  // namespace procwatch::app
