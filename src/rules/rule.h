// Rule model shared by the YAML config, the ps.monitor / check_procs argument parsers and the
// evaluator. Plain values, immutable once parsed; safe to share read-only between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proc_info.h"
#include "core/result.h"
#include "core/user_regex.h"

namespace procwatch::rules {

// Check result; turned into an exit code only in main.
enum class Status : int { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };
std::string_view status_name(Status s);  // "OK", "WARNING", "CRITICAL", "UNKNOWN"

enum class Severity { kWarning, kCritical };
std::string_view severity_name(Severity s);  // "warning", "critical"
Status severity_status(Severity s);

// One process as the evaluator sees it: identity plus the numbers check_procs can test.
struct ProcSample {
  ProcInfo info;
  char state = 'S';  // /proc/PID/stat state letter (R S D Z T t I X)
  uint64_t vsz_kb = 0, rss_kb = 0;
  double cpu_percent = 0;           // of one CPU, over the configured window
  double lifetime_cpu_percent = 0;  // cputime / elapsed, as ps's %CPU
  double elapsed_s = 0;
  std::string parent_name;  // comm of the parent; empty when unknown
  // ps-style STAT ("Ss", "SLl", "I<"); check_procs -s matches a substring of it. Empty means
  // just `state`.
  std::string ps_stat;
};

// A Nagios threshold range (Nagios plugin development guidelines): it says what is OK; a value
// outside it alerts, or inside it with a leading '@'. "10" = 0..10, "10:" = >=10, "~:10" = <=10.
struct NagiosRange {
  double start = 0;
  bool start_infinite = false;
  double end = 0;
  bool end_infinite = true;
  bool alert_inside = false;  // '@'
  std::string text;           // as written, for messages and perfdata

  bool alerts(double value) const;
  bool ok(double value) const { return !alerts(value); }
};

// Strict parser for configs: every number must parse completely; start > end is an error.
Result<NagiosRange> parse_nagios_range(std::string_view text);
// What monitoring-plugins' parse_range_string() accepts (numbers read with strtod, trailing
// junk ignored, "abc" = 0..0); used for check_procs -w/-c so results match the real plugin.
Result<NagiosRange> parse_nagios_range_lenient(std::string_view text);

// "500ms", "2s", "1m", "1h" (non-negative integer + unit).
Result<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);  // shortest exact: "2s", "1500ms", "1m"

enum class SelectorKind {
  // YAML selectors
  kName,       // comm, exe base name or script name (exact)
  kExe,        // full exe path, glob
  kArgs,       // regex (UserRegex: RE2, POSIX syntax) searched in argv joined by ' '
  kUser,       // real uid, by name or number
  kUid,        // real uid, number
  kGroup,      // real gid, by name or number
  kGid,        // real gid, number
  kEuid,       // effective uid, name or number
  kEgid,       // effective gid, name or number
  kContext,    // SELinux/AppArmor label, glob
  kCgroup,     // cgroup path, glob
  kContainer,  // container id prefix, "any" or "none"
  kTree,       // tree name, glob
  kParent,     // comm of the parent (exact)
  // Container names (containers::ContainerResolver), globs; never match outside a container
  kContainerName, kImage, kPod, kNamespace,
  // check_procs-only filters (not YAML keys)
  kCommBase,       // -C: base name of comm (after the last '/') equals value
  kArgsSubstring,  // -a: ps args (argv joined, "[comm]" when empty) contain value
  kPpid,           // -p
  kStateFlags,     // -s: ps STAT contains value
  kMinVsz,         // -z: vsz_kb >= number
  kMinRss,         // -r: rss_kb >= number
  kMinPcpu,        // -P: lifetime %CPU >= number
  kNotKernelThread,  // -k: parent is not kthreadd
};
std::string_view selector_key(SelectorKind k);  // YAML key ("name", "exe", ...)


struct Selector {
  SelectorKind kind = SelectorKind::kName;
  bool negate = false;             // leading '!'
  std::string value;               // without the '!'
  std::optional<uint32_t> id;      // user/group ids once resolved
  double number = 0;               // numeric filters
  std::shared_ptr<const UserRegex> regex;  // kArgs (RE2, shared read-only)
};

// Evaluate the count separately for each value of this key.
enum class PerKey { kNone, kUser, kContainer, kTree };

struct SourceMark {
  int line = 0, column = 0;  // 1-based; 0 when not from a file
};

struct Rule {
  std::string name;
  std::string description;
  std::vector<Selector> match;  // all must hold
  NagiosRange count;            // default "1:" (at least one)
  Severity severity = Severity::kCritical;
  std::chrono::milliseconds for_duration{2000};
  PerKey per = PerKey::kNone;
  std::vector<std::string> per_expect;  // keys always evaluated, even with no process
  SourceMark mark;
};

struct CpuExempt {
  std::vector<std::string> users;  // globs over the user name, or a uid number
  std::vector<std::string> names;  // globs over comm / exe base name / script name
  std::vector<std::string> trees;  // globs over the tree name
  std::optional<uint32_t> uid_min;  // uids >= this are exempt (regular users)
};

struct CpuConfig {
  std::optional<double> max_percent;           // over `window`
  std::chrono::milliseconds window{30000};     // the sampler computes cpu_percent over it
  std::optional<double> lifetime_max_percent;  // over the whole life, once older than min_age
  std::chrono::milliseconds min_age{60000};
  std::chrono::milliseconds for_duration{0};
  Severity severity = Severity::kWarning;
  CpuExempt exempt;
  SourceMark mark;
};

// Name of the CPU pseudo-rule in results and metrics.
inline constexpr std::string_view kCpuRuleName = "cpu";

// `unexpected:`: violated while the baseline (`serve --baseline`) holds flagged execs (seen
// outside it while enforcing, not yet approved or forgotten) that no `except` glob covers.
struct UnexpectedConfig {
  Severity severity = Severity::kWarning;
  std::chrono::milliseconds for_duration{0};
  std::vector<std::string> except_trees;  // globs over the tree name
  std::vector<std::string> except_users;  // globs over the user name (or the uid as text)
  SourceMark mark;
};
inline constexpr std::string_view kUnexpectedRuleName = "unexpected";

// One flagged baseline entry as the `unexpected` rule sees it.
struct FlaggedExec {
  std::string tree, exe, user;
  uint64_t count = 0;
};

struct Config {
  std::string file;
  std::vector<Rule> rules;
  std::optional<CpuConfig> cpu;
  std::optional<UnexpectedConfig> unexpected;
  // Secrets masked in printed argv (redact::Redactor): `redact:` patterns added to the
  // defaults, which `redact_defaults: false` turns off. Patterns are checked at parse time.
  std::vector<std::string> redact;
  bool redact_defaults = true;
};

// Looks up names for `user:`/`group:`/`-u`. Default uses getpwnam_r/getgrnam_r and, for
// uid -> name, UserNameCache::shared().
struct IdResolver {
  std::optional<uint32_t> (*user_to_uid)(const std::string&) = nullptr;
  std::optional<uint32_t> (*group_to_gid)(const std::string&) = nullptr;
  std::optional<std::string> (*uid_to_user)(uint32_t) = nullptr;
};
IdResolver system_id_resolver();

}  // namespace procwatch::rules
