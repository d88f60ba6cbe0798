// Start times of forked children, filled in once per received batch rather than on each fork
// event: most children exec within the batch, and their exec capture has read stat already.
#pragma once

#include <cstdint>
#include <vector>

#include "core/proc_event.h"
#include "procfs/reader.h"

namespace procwatch::netlink {

// For each process fork in `batch` (events in arrival order): the start time from the capture
// of that child's exec later in the batch; else, when the child did not exit within the batch
// either, read from /proc now; else left unknown (the table derives a key from the event
// time). Walks backwards, so a pid reused within the batch never gets a later process's start
// time. Returns how many forks stayed unknown.
uint64_t resolve_fork_starts(std::vector<ProcEvent>& batch, const procfs::ProcReader& reader);

}  // namespace procwatch::netlink
