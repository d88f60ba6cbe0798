// EventRecord: what the engine tells its listeners, one per process change. Owned by the
// engine; outputs (trace, events log, exporter, rules, baseline) format or count it.
// A plain value; safe to copy across threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/proc_info.h"

namespace procwatch {

struct ExitDetails {
  bool code_known = true;
  int exit_code = 0;     // -1 when killed by a signal
  int signal = 0;        // killing signal, 0 when it exited normally
  bool core_dumped = false;
  double duration_s = -1;  // -1 when the start is unknown
};

struct EventRecord {
  std::string event;       // fork|exec|exit|uid|gid|sid|comm|ptrace|coredump|lost
  uint64_t ts_realtime_ns = 0;
  ProcInfo proc;           // the process after the event (for exit: as it was)
  std::optional<ExitDetails> exit;
  uint64_t lost_count = 0;  // event == "lost"
  std::string lost_reason;
  int depth = 0;            // known ancestors, for indentation
  bool resync = false;      // found by a /proc resync after a loss: the event itself was lost
  std::optional<bool> expected;  // exec under `serve --baseline`: in the baseline or not
};

}  // namespace procwatch
