// `procwatch check`: one-shot plugin for Nagios/Icinga (check_procs-compatible options) and mon
// (ps.monitor syntax). Parses its own arguments: check_procs's short options and positional
// thresholds do not fit CLI11.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "app/commands.h"
#include "app/container_names.h"
#include "app/live_capture.h"
#include "core/text.h"
#include "engine/engine.h"
#include "http_client/http_client.h"
#include "naming/tree_namer.h"
#include "procfs/reader.h"
#include "rules/config.h"
#include "rules/engine.h"
#include "rules/plugin_args.h"
#include "sampling/rule_json.h"
#include "sampling/sampler.h"

namespace procwatch::app {

namespace {

constexpr int kUnknown = int(rules::Status::kUnknown);

constexpr const char* kCheckUsage =
    "Usage: procwatch check [--format nagios|mon] [--recheck DURATION] [--procfs DIR]\n"
    "                       NAME[@USER]:MIN-MAX ...            (ps.monitor syntax)\n"
    "       procwatch check [...] --config FILE                  (rules of a config file)\n"
    "       procwatch check [...] --from URL [--from-ca FILE]    (states of procwatch serve;\n"
    "                       URL http[s]://[USER:PASSWORD@]HOST:PORT[/path])\n"
    "       procwatch check [...] [check_procs options]          (-w -c -C -u -a -p -s -k -m\n"
    "                       --ereg-argument-array -z -r -P -t -v -T, as check_procs)\n"
    "Exit: nagios 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; mon 0 all hold, 1 otherwise.\n";

enum class Format { kNagios, kMon };

struct CheckArgs {
  std::string config, from, from_ca, procfs = "/proc";
  Format format = Format::kNagios;
  std::chrono::milliseconds recheck{0};
  bool help = false;
  std::vector<std::string> rest;  // ps.monitor arguments or check_procs options
};

// Takes procwatch's own options out of args; the rest is left for the plugin parsers.
Result<CheckArgs> split_args(const std::vector<std::string>& args) {
  CheckArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      out.rest.insert(out.rest.end(), args.begin() + long(i), args.end());
      break;
    }
    if (a == "--help") {
      out.help = true;
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    static const char* const kOwn[] = {"--config", "--format", "--recheck", "--from",
                                       "--from-ca", "--procfs"};
    bool own = false;
    for (const char* o : kOwn) own = own || name == o;
    if (!own) {
      out.rest.push_back(a);
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) return make_error("option " + name + " requires a value");
      value = args[++i];
    }
    if (name == "--config") {
      out.config = value;
    } else if (name == "--from") {
      out.from = value;
    } else if (name == "--from-ca") {
      out.from_ca = value;
    } else if (name == "--procfs") {
      out.procfs = value;
    } else if (name == "--format") {
      if (value == "nagios") {
        out.format = Format::kNagios;
      } else if (value == "mon") {
        out.format = Format::kMon;
      } else {
        return make_error("--format " + value + ": expected nagios or mon");
      }
    } else if (name == "--recheck") {
      auto d = rules::parse_duration(value);
      if (!d) return make_error("--recheck " + value + ": " + d.error().message);
      out.recheck = *d;
    }
  }
  return out;
}

// "NAME[@USER]:MIN-MAX": a ps.monitor argument rather than a check_procs positional threshold.
bool looks_like_ps_monitor(const std::string& a) {
  if (a.empty() || a[0] == '-') return false;
  auto colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string range = a.substr(colon + 1);
  return range.find('-') != std::string::npos;
}

// One line on stdout whatever the bad argument held: control characters and BiDi overrides
// are escaped (escape_control).
int report_error(Format format, const std::string& raw) {
  const std::string msg = escape_control(raw);
  std::string line = msg.rfind("PROCS UNKNOWN", 0) == 0 ? msg : "PROCS UNKNOWN: " + msg;
  if (format == Format::kMon) line = msg;  // mon shows the first line as the summary
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  return kUnknown;
}

// GET of `--from` through the one HTTP client: http:// or https://, credentials in the URL
// ("https://user:password@host:9501") for a serve that asks for basic auth. An empty path or
// "/" means /api/v1/rules. Body on 200; anything else is one line (the password left out).
Result<std::string> http_get(const CheckArgs& a, int timeout_s) {
  const std::string& url = a.from;
  const std::string shown = http_client::redact_url(url);
  if (!http_client::is_http_url(url))
    return make_error("--from " + shown + ": expected http[s]://[USER:PASSWORD@]HOST:PORT[/path]");
  const size_t authority = url.find("://") + 3;
  const size_t path_at = url.find_first_of("/?#", authority);
  if (url.find_first_not_of(":@", authority) == std::string::npos || path_at == authority)
    return make_error("--from " + shown + ": no host");
  std::string target = url;
  if (path_at == std::string::npos) {
    target += "/api/v1/rules";
  } else if (url.compare(path_at, std::string::npos, "/") == 0) {
    target = url.substr(0, path_at) + "/api/v1/rules";
  }
  http_client::GetOptions o;
  o.timeout_ms = long(timeout_s) * 1000;
  o.accept = "application/json";
  o.ca_file = a.from_ca;
  auto resp = http_client::get(target, o);
  if (!resp) return make_error("--from " + shown + ": " + resp.error().message);
  if (resp->status != 200) {
    return make_error("--from " + shown + ": " +
                      (resp->status_line.empty() ? "HTTP " + std::to_string(resp->status)
                                                 : resp->status_line));
  }
  return std::move(resp->body);
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf);
  return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

void on_timeout(int) {
  static const char kMsg[] = "PROCS UNKNOWN: procwatch check timed out\n";
  (void)!::write(STDOUT_FILENO, kMsg, sizeof kMsg - 1);
  ::_exit(kUnknown);
}

void arm_timeout(int seconds) {
  if (seconds <= 0) return;
  struct sigaction sa {};
  sa.sa_handler = on_timeout;
  ::sigaction(SIGALRM, &sa, nullptr);
  ::alarm(unsigned(seconds));
}

int print_results(Format format, const std::vector<rules::RuleResult>& results) {
  if (format == Format::kMon) {
    std::fputs(rules::format_mon(results).c_str(), stdout);
    std::fflush(stdout);
    return rules::overall_status(results) == rules::Status::kOk ? 0 : 1;
  }
  auto out = rules::format_nagios(results);
  std::printf("%s\n", out.text.c_str());
  std::fflush(stdout);
  return int(out.status);
}

int check_from(const CheckArgs& a) {
  arm_timeout(10 + int(a.recheck.count() / 1000));
  auto fetch = [&]() -> Result<std::vector<rules::RuleResult>> {
    auto body = http_get(a, 10);
    if (!body) return body.error();
    auto r = sampling::parse_rule_results_json(*body, rules::SteadyClock::now());
    if (!r) return make_error("--from " + a.from + ": " + r.error().message);
    return r;
  };
  auto results = fetch();
  if (results && a.recheck.count() > 0 &&
      rules::overall_status(*results) != rules::Status::kOk) {
    std::this_thread::sleep_for(a.recheck);
    results = fetch();
  }
  if (!results) return report_error(a.format, results.error().message);
  return print_results(a.format, *results);
}

// Config or ps.monitor rules. `for` is replaced by the recheck delay: a one-shot check sees a
// violation only if it is there at the first look and still there after the delay.
int check_rules(const CheckArgs& a, rules::Config config) {
  for (auto& r : config.rules) r.for_duration = a.recheck;
  if (config.cpu) config.cpu->for_duration = a.recheck;
  arm_timeout(60 + int(a.recheck.count() / 1000));
  procfs::ProcReader reader(a.procfs);
  use_container_names(reader, CommonOptions{});  // container_name, image, pod, namespace rules
  sampling::SamplerOptions so;
  if (config.cpu) so.cpu_window = config.cpu->window;
  sampling::Sampler sampler(reader, so);
  rules::RuleEngine engine(std::move(config));
  // The engine serve uses: a scan of /proc into its table (parents linked, trees named), read
  // back as its snapshot. Each look is a fresh scan.
  TreeNamer namer;
  Engine procs(reader, tree_name_fn(namer));
  // Leave ourselves out: a fresh process busy scanning /proc is no CPU hog and no daemon.
  const int32_t self = a.procfs == "/proc" ? int32_t(::getpid()) : 0;
  auto snapshot = [&] {
    procs.initial_scan();
    auto v = sampler.sample(procs.snapshot()->copy_processes());
    std::erase_if(v, [&](const rules::ProcSample& s) { return s.info.key.pid == self; });
    return v;
  };
  const auto t0 = rules::SteadyClock::now();
  auto results = engine.evaluate(snapshot(), t0);
  const bool any_raw_violation = std::any_of(results.begin(), results.end(),
                                             [](const rules::RuleResult& r) { return !r.raw_ok; });
  if (a.recheck.count() > 0 && any_raw_violation) {
    std::this_thread::sleep_for(a.recheck);
    // At least the recheck delay later, even if the sleep returned early.
    auto t1 = std::max(rules::SteadyClock::now(), t0 + a.recheck);
    results = engine.evaluate(snapshot(), t1);
  }
  return print_results(a.format, results);
}

int check_procs_mode(const CheckArgs& a) {
  auto spec = rules::parse_check_procs_args(a.rest);
  if (!spec) return report_error(a.format, spec.error().message);
  arm_timeout(spec->timeout_s + int(a.recheck.count() / 1000));
  procfs::ProcReader reader(a.procfs);
  sampling::SamplerOptions so;
  so.name_trees = false;  // check_procs filters never look at tree names
  sampling::Sampler sampler(reader, so);
  Engine procs(reader);  // no namer: check_procs filters never look at tree names
  auto sample = [&] {
    procs.initial_scan();
    return sampler.sample(procs.snapshot()->copy_processes());
  };
  rules::CheckProcsSelf self{int32_t(::getpid()), int32_t(::getppid()), self_exe()};
  auto outcome = rules::evaluate_check_procs(*spec, sample(), self);
  if (a.recheck.count() > 0 && outcome.status != rules::Status::kOk) {
    std::this_thread::sleep_for(a.recheck);
    outcome = rules::evaluate_check_procs(*spec, sample(), self);
  }
  // The description quotes -a/-C/-s values: one line whatever they hold.
  std::printf("%s\n", escape_control(outcome.line).c_str());
  std::fflush(stdout);
  if (a.format == Format::kMon) return outcome.status == rules::Status::kOk ? 0 : 1;
  return int(outcome.status);
}

}  // namespace

int run_check(const std::vector<std::string>& args) {
  auto parsed = split_args(args);
  if (!parsed) {
    // One line, as every other error: the usage is `procwatch check --help`.
    return report_error(Format::kNagios,
                        parsed.error().message + " (see procwatch check --help)");
  }
  const CheckArgs& a = *parsed;
  if (a.help) {
    std::fputs(kCheckUsage, stdout);
    return kExitOk;
  }
  const int sources = int(!a.config.empty()) + int(!a.from.empty());
  if (sources > 1) return report_error(a.format, "--config and --from exclude each other");
  if (!a.from_ca.empty() && a.from.empty()) return report_error(a.format, "--from-ca needs --from");
  if (!a.from.empty()) {
    if (!a.rest.empty()) {
      return report_error(a.format, "--from takes no process arguments (got '" + a.rest[0] + "')");
    }
    return check_from(a);
  }
  if (a.procfs.empty() || ::access(a.procfs.c_str(), R_OK | X_OK) != 0) {
    return report_error(a.format, "--procfs " + a.procfs + ": not a readable directory");
  }
  if (!a.config.empty()) {
    if (!a.rest.empty()) {
      return report_error(a.format,
                          "--config takes no process arguments (got '" + a.rest[0] + "')");
    }
    auto config = rules::load_config(a.config);
    if (!config) return report_error(a.format, config.error().message);
    if (config->unexpected)  // what the baseline flagged lives in serve, not in /proc
      return report_error(a.format, a.config + ":" + std::to_string(config->unexpected->mark.line) +
                                        ":" + std::to_string(config->unexpected->mark.column) +
                                        ": 'unexpected' needs a running serve --baseline "
                                        "(check --from URL)");
    return check_rules(a, std::move(*config));
  }
  const bool ps_monitor =
      !a.rest.empty() &&
      std::all_of(a.rest.begin(), a.rest.end(), [](const std::string& s) {
        return looks_like_ps_monitor(s);
      });
  if (ps_monitor) {
    auto rules_or = rules::parse_ps_monitor_args(a.rest);
    if (!rules_or) return report_error(a.format, rules_or.error().message);
    rules::Config config;
    config.file = "<command line>";
    config.rules = std::move(*rules_or);
    return check_rules(a, std::move(config));
  }
  return check_procs_mode(a);
}

}  // namespace procwatch::app
