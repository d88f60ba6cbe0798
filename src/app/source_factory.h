// Picks and starts the event source: ebpf, netlink or procfs, or "auto" (first that starts,
// in that order). Prints one line to stderr saying which source runs, or why one was refused.
#pragma once

#include <memory>
#include <string>

#include "app/options.h"
#include "core/event_queue.h"
#include "core/result.h"
#include "procfs/reader.h"
#include "sources/event_source.h"

namespace procwatch::app {

struct StartedSource {
  std::unique_ptr<EventSource> source;
  std::string name;
};

// Error message is one line for the user; errnum tells permission problems (EPERM/EACCES).
Result<StartedSource> start_source(const CommonOptions& opts, const procfs::ProcReader& reader,
                                   EventQueue& queue);

// Names this build can run, e.g. "ebpf, netlink, procfs".
std::string available_sources();

}  // namespace procwatch::app
