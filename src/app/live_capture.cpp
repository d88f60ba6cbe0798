#include "app/live_capture.h"

#include <cerrno>
#include <cstdio>

#include "app/signals.h"
#include "app/source_factory.h"

namespace procwatch::app {

TreeNameFn tree_name_fn(const TreeNamer& namer) {
  return [&namer](const ProcInfo& self, const ProcInfo* parent) {
    return namer.name(self, parent);
  };
}

LiveCapture::LiveCapture(const CommonOptions& opts, const procfs::ProcReader& reader,
                         Engine& engine)
    : opts_(opts), reader_(reader), engine_(engine) {}

LiveCapture::~LiveCapture() { stop(); }

std::optional<int> LiveCapture::start() {
  auto started = start_source(opts_, reader_, queue_);
  if (!started) {
    const Error& e = started.error();
    std::fprintf(stderr, "procwatch: %s\n", e.message.c_str());
    const bool usage = e.errnum == EPERM || e.errnum == EACCES || e.errnum == ENOTSUP;
    return usage ? kExitUsage : kExitFailure;
  }
  source_ = std::move(started->source);
  source_name_ = started->name;
  engine_.initial_scan();
  return std::nullopt;
}

void LiveCapture::stop() {
  if (!source_ || stopping_.exchange(true)) return;
  source_->stop();
  queue_.close();
}

void LiveCapture::run() {
  {
    StopSignalWaiter waiter([this](int) { stop(); }, on_hup_);
    engine_.run(queue_);
    stop();
  }
  const EngineStats& st = engine_.stats();
  if (st.lost)
    std::fprintf(stderr, "procwatch: %llu events lost, %llu resyncs from /proc\n",
                 (unsigned long long)st.lost, (unsigned long long)st.resyncs);
}

}  // namespace procwatch::app
