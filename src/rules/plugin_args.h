// One-shot plugin argument syntaxes turned into the rule model: etbemon ps.monitor
// ("sshd@root:1-") and monitoring-plugins 2.3 check_procs options. Pure; never throws; errors
// are messages the CLI prints with status UNKNOWN (exit 3).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "rules/rule.h"

namespace procwatch::rules {

// "NAME[@USER]:MIN-MAX" per argument; NAME starting with '/' is a full exe path (exact).
// Either end of MIN-MAX may be empty ("1-", "-5"). Rule names are the text before the last ':'.
Result<std::vector<Rule>> parse_ps_monitor_args(const std::vector<std::string>& args,
                                                const IdResolver& ids = system_id_resolver());

enum class CheckProcsMetric { kProcs, kVsz, kRss, kCpu, kElapsed };

// What check_procs would do with its command line.
struct CheckProcsSpec {
  std::vector<Selector> match;             // filters, in command-line order
  std::optional<NagiosRange> warning;      // -w
  std::optional<NagiosRange> critical;     // -c
  CheckProcsMetric metric = CheckProcsMetric::kProcs;
  std::string metric_name = "PROCS";       // as typed after -m
  std::string description;                 // "command name 'sshd', UID = 0 (root)"
  int verbose = 0;
  int timeout_s = 10;
  bool traditional = false;                // -T: exclude self by pid only
};

// argv without the program name. Unsupported or malformed options give check_procs's own
// message, e.g. "UID was not found - 99999", "Range format incorrect".
Result<CheckProcsSpec> parse_check_procs_args(const std::vector<std::string>& args,
                                              const IdResolver& ids = system_id_resolver());

// Who is asking: check_procs leaves out itself (every process running its own executable,
// or only its pid with -T) and its parent.
struct CheckProcsSelf {
  int32_t pid = 0;
  int32_t parent_pid = 0;
  std::string exe;  // our own /proc/self/exe target; empty = exclude by pid only
};

struct CheckProcsOutcome {
  Status status = Status::kUnknown;
  int procs = 0;  // processes that passed the filters
  int warn = 0, crit = 0;  // per-process metric hits (VSZ/RSS/CPU/ELAPSED)
  std::vector<int32_t> pids;  // matching pids, first 100
  std::string line;  // full output line as check_procs prints it, without '\n'
};

CheckProcsOutcome evaluate_check_procs(const CheckProcsSpec& spec,
                                       const std::vector<ProcSample>& snapshot,
                                       const CheckProcsSelf& self);

}  // namespace procwatch::rules
