// Picks and starts the event source: ebpf, netlink or procfs, or "auto" (first that starts,
// in that order). Before trying a source it checks the capabilities the source needs
// (app/privileges.h): `auto` skips one that lacks them with one line on stderr, an explicit
// --source fails with that line (EPERM: exit 2). It prints one line saying which source runs,
// then, when the privileges cost something, one line saying what is lost.
#pragma once

#include <memory>
#include <string>

#include "app/options.h"
#include "app/privileges.h"
#include "core/capabilities.h"
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

// Starts `name` with a scratch queue and stops it at once: whether it really runs here.
// The caller checks capabilities first (this only reports what the kernel said).
Result<bool> probe_source(const std::string& name, const CommonOptions& opts,
                          const procfs::ProcReader& reader);

// Our effective capabilities; every capability when capget fails (then the kernel decides).
CapSet current_caps();
// This machine, for the options' netlink buffer and this build.
HostInfo current_host(const CommonOptions& opts);

// Names this build can run, e.g. "ebpf, netlink, procfs".
std::string available_sources();

}  // namespace procwatch::app
