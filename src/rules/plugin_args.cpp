#include "rules/plugin_args.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "rules/config.h"
#include "rules/matcher.h"

namespace procwatch::rules {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<std::vector<Rule>> parse_ps_monitor_args(const std::vector<std::string>& args,
                                                const IdResolver& ids) {
  std::vector<Rule> rules;
  for (const auto& arg : args) {
    auto bad = [&](const std::string& why) {
      return make_error("ps.monitor argument '" + arg + "': " + why +
                        " (expected NAME[@USER]:MIN-MAX, e.g. sshd@root:1- or "
                        "/usr/lib/postfix/sbin/master:1-2)");
    };
    auto colon = arg.rfind(':');
    if (colon == std::string::npos) return bad("no ':'");
    std::string who = arg.substr(0, colon), range = arg.substr(colon + 1);
    auto dash = range.find('-');
    if (dash == std::string::npos || range.find('-', dash + 1) != std::string::npos) {
      return bad("count '" + range + "' is not MIN-MAX");
    }
    std::string lo = range.substr(0, dash), hi = range.substr(dash + 1);
    if ((!lo.empty() && !all_digits(lo)) || (!hi.empty() && !all_digits(hi)) ||
        (lo.empty() && hi.empty())) {
      return bad("count '" + range + "' is not MIN-MAX with whole numbers");
    }
    if (lo.size() > 9 || hi.size() > 9) return bad("count '" + range + "' is too large");
    std::string nagios = (lo.empty() ? "0" : lo) + ":" + hi;
    auto count = parse_nagios_range(nagios);
    if (!count) return bad("MIN is greater than MAX in '" + range + "'");

    Rule r;
    r.name = who;
    r.count = *count;
    std::string name = who, user;
    if (auto at = who.rfind('@'); at != std::string::npos) {
      name = who.substr(0, at);
      user = who.substr(at + 1);
      if (user.empty()) return bad("empty user after '@'");
    }
    if (name.empty()) return bad("empty process name");
    Selector sel;
    sel.kind = name.front() == '/' ? SelectorKind::kExe : SelectorKind::kName;
    sel.value = sel.kind == SelectorKind::kExe ? glob_escape(name) : name;
    r.match.push_back(std::move(sel));
    if (!user.empty()) {
      auto u = make_selector(SelectorKind::kUser, user, ids);
      if (!u) return bad(u.error().message);
      r.match.push_back(std::move(u.value()));
    }
    if (std::any_of(rules.begin(), rules.end(), [&](const Rule& o) { return o.name == r.name; })) {
      return bad("'" + r.name + "' is given twice");
    }
    rules.push_back(std::move(r));
  }
  if (rules.empty()) return make_error("ps.monitor: no process given (expected NAME[@USER]:MIN-MAX ...)");
  return rules;
}

namespace {

struct LongOpt {
  const char* name;
  bool has_arg;
  int code;
};

constexpr int kEreg = 1001, kInputFile = 1002;

constexpr LongOpt kLongOpts[] = {
    {"warning", true, 'w'},        {"critical", true, 'c'},
    {"metric", true, 'm'},         {"timeout", true, 't'},
    {"status", true, 's'},         {"ppid", true, 'p'},
    {"user", true, 'u'},           {"command", true, 'C'},
    {"vsz", true, 'z'},            {"rss", true, 'r'},
    {"pcpu", true, 'P'},           {"argument-array", true, 'a'},
    {"help", false, 'h'},          {"version", false, 'V'},
    {"verbose", false, 'v'},       {"ereg-argument-array", true, kEreg},
    {"input-file", true, kInputFile}, {"no-kthreads", false, 'k'},
    {"traditional", false, 'T'},
};
constexpr std::string_view kShortWithArg = "tcwpsuCazrmP";
constexpr std::string_view kShortNoArg = "VvhkT";

// sscanf("%d%[^0-9]") == 1: an int (leading blanks allowed) and nothing after it.
bool scan_int_only(const std::string& s, long& out) {
  errno = 0;
  char* end = nullptr;
  out = std::strtol(s.c_str(), &end, 10);
  if (end == s.c_str() || errno != 0 || out < INT_MIN || out > INT_MAX) return false;
  // strtol skips leading blanks like %d; a %d with no digits fails, as here.
  return *end == '\0';
}

// is_integer(): strtol consumed everything and fits in an int.
bool is_integer(const std::string& s) {
  long v;
  return !s.empty() && scan_int_only(s, v) && s.front() != ' ' && s.front() != '\t';
}

}  // namespace

Result<CheckProcsSpec> parse_check_procs_args(const std::vector<std::string>& args,
                                              const IdResolver& ids) {
  CheckProcsSpec spec;
  std::string warning_text, critical_text, fmt;
  bool have_warning = false, have_critical = false, have_stat = false, have_prog = false,
       have_args = false;
  std::vector<std::string> positional;
  auto add_fmt = [&](const std::string& piece) {
    // check_procs joins with ", " once any filter option was seen before.
    if (!fmt.empty()) fmt += ", ";
    fmt += piece;
  };
  auto put = [&](Selector sel, bool replace) {
    for (auto& s : spec.match) {
      if (s.kind == sel.kind) {
        if (replace) s = std::move(sel);
        return;
      }
    }
    spec.match.push_back(std::move(sel));
  };

  auto handle = [&](int code, const std::string& opt_text,
                    const std::string& val) -> std::optional<Error> {
    switch (code) {
      case 'w': warning_text = val; have_warning = true; break;
      case 'c': critical_text = val; have_critical = true; break;
      case 't':
        if (!is_integer(val)) return make_error("Timeout interval must be a positive integer - " + val);
        spec.timeout_s = std::atoi(val.c_str());
        break;
      case 'p': {
        long v;
        if (!scan_int_only(val, v)) return make_error("Parent Process ID must be an integer!");
        add_fmt("PPID = " + std::to_string(v));
        Selector sel;
        sel.kind = SelectorKind::kPpid;
        sel.number = double(v);
        sel.value = std::to_string(v);
        put(std::move(sel), true);
        break;
      }
      case 's': {
        if (have_stat) break;
        have_stat = true;
        add_fmt("STATE = " + val);
        Selector sel;
        sel.kind = SelectorKind::kStateFlags;
        sel.value = val;
        put(std::move(sel), true);
        break;
      }
      case 'u': {
        uint32_t uid;
        std::string user;
        if (is_integer(val)) {
          long v = std::atol(val.c_str());
          uid = uint32_t(v);
          auto name = ids.uid_to_user ? ids.uid_to_user(uid) : std::nullopt;
          if (v < 0 || !name) return make_error("UID was not found - " + val);
          user = *name;
        } else {
          auto id = ids.user_to_uid ? ids.user_to_uid(val) : std::nullopt;
          if (!id) return make_error("User name was not found - " + val);
          uid = *id;
          auto name = ids.uid_to_user ? ids.uid_to_user(uid) : std::nullopt;
          user = name ? *name : val;
        }
        add_fmt("UID = " + std::to_string(uid) + " (" + user + ")");
        Selector sel;
        sel.kind = SelectorKind::kEuid;  // ps's "uid" column is the effective uid
        sel.id = uid;
        sel.value = std::to_string(uid);
        put(std::move(sel), true);
        break;
      }
      case 'C': {
        if (have_prog) break;
        have_prog = true;
        add_fmt("command name '" + val + "'");
        Selector sel;
        sel.kind = SelectorKind::kCommBase;
        sel.value = val;
        put(std::move(sel), true);
        break;
      }
      case 'a': {
        if (have_args) break;
        have_args = true;
        add_fmt("args '" + val + "'");
        Selector sel;
        sel.kind = SelectorKind::kArgsSubstring;
        sel.value = val;
        put(std::move(sel), true);
        break;
      }
      case kEreg: {
        auto re = UserRegex::compile(val);
        if (!re) {
          return make_error("PROCS UNKNOWN: Could not compile regular expression - " +
                            re.error().message);
        }
        add_fmt("regex args '" + val + "'");
        Selector sel;
        sel.kind = SelectorKind::kArgs;
        sel.value = val;
        sel.regex = *re;
        put(std::move(sel), true);
        break;
      }
      case 'r':
      case 'z': {
        long v;
        const bool rss = code == 'r';
        if (!scan_int_only(val, v)) {
          return make_error(rss ? "RSS must be an integer!" : "VSZ must be an integer!");
        }
        add_fmt(std::string(rss ? "RSS" : "VSZ") + " >= " + std::to_string(v));
        Selector sel;
        sel.kind = rss ? SelectorKind::kMinRss : SelectorKind::kMinVsz;
        sel.number = double(v);
        sel.value = std::to_string(v);
        put(std::move(sel), true);
        break;
      }
      case 'P': {
        // sscanf("%f%[^0-9.]") == 1: a float, then nothing or a digit/'.' ("1.5.5" passes).
        char* end = nullptr;
        float f = std::strtof(val.c_str(), &end);
        if (end == val.c_str() || (*end != '\0' && !(*end == '.' || (*end >= '0' && *end <= '9')))) {
          return make_error("PCPU must be a float!");
        }
        char buf[64];
        std::snprintf(buf, sizeof buf, "PCPU >= %.2f", double(f));
        add_fmt(buf);
        Selector sel;
        sel.kind = SelectorKind::kMinPcpu;
        sel.number = double(f);
        sel.value = buf + 8;
        put(std::move(sel), true);
        break;
      }
      case 'm': {
        spec.metric_name = val;
        if (val == "PROCS") {
          spec.metric = CheckProcsMetric::kProcs;
        } else if (val == "VSZ") {
          spec.metric = CheckProcsMetric::kVsz;
        } else if (val == "RSS") {
          spec.metric = CheckProcsMetric::kRss;
        } else if (val == "CPU") {
          spec.metric = CheckProcsMetric::kCpu;
        } else if (val == "ELAPSED") {
          spec.metric = CheckProcsMetric::kElapsed;
        } else {
          return make_error("Metric must be one of PROCS, VSZ, RSS, CPU, ELAPSED!");
        }
        break;
      }
      case 'k': {
        Selector sel;
        sel.kind = SelectorKind::kNotKernelThread;
        put(std::move(sel), true);
        break;
      }
      case 'v': ++spec.verbose; break;
      case 'T': spec.traditional = true; break;
      case 'h':
      case 'V':
      case kInputFile:
        return make_error("option '" + opt_text + "' is not supported by procwatch check");
      default: return make_error("invalid option '" + opt_text + "'");
    }
    return std::nullopt;
  };

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      positional.insert(positional.end(), args.begin() + long(i) + 1, args.end());
      break;
    }
    if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
      std::string name = a.substr(2), val;
      bool inline_val = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        val = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_val = true;
      }
      const LongOpt* hit = nullptr;
      int prefix_hits = 0;
      for (const auto& lo : kLongOpts) {
        if (name == lo.name) {
          hit = &lo;
          prefix_hits = 1;
          break;
        }
        if (std::string_view(lo.name).substr(0, name.size()) == name) {
          hit = &lo;
          ++prefix_hits;
        }
      }
      if (hit == nullptr) return make_error("unrecognized option '" + a + "'");
      if (prefix_hits > 1) return make_error("option '" + a + "' is ambiguous");
      if (hit->has_arg && !inline_val) {
        if (i + 1 >= args.size()) return make_error("option '--" + std::string(hit->name) + "' requires an argument");
        val = args[++i];
      } else if (!hit->has_arg && inline_val) {
        return make_error("option '--" + std::string(hit->name) + "' doesn't allow an argument");
      }
      if (auto err = handle(hit->code, a, val)) return *err;
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      for (size_t j = 1; j < a.size(); ++j) {
        char c = a[j];
        std::string opt = std::string("-") + c;
        if (kShortNoArg.find(c) != std::string_view::npos) {
          if (auto err = handle(c, opt, "")) return *err;
          continue;
        }
        if (kShortWithArg.find(c) == std::string_view::npos) {
          return make_error(std::string("invalid option -- '") + c + "'");
        }
        std::string val;
        if (j + 1 < a.size()) {
          val = a.substr(j + 1);
        } else if (i + 1 < args.size()) {
          val = args[++i];
        } else {
          return make_error(std::string("option requires an argument -- '") + c + "'");
        }
        if (auto err = handle(c, opt, val)) return *err;
        break;
      }
      continue;
    }
    positional.push_back(a);
  }

  size_t p = 0;
  if (!have_warning && p < positional.size()) {
    warning_text = positional[p++];
    have_warning = true;
  }
  if (!have_critical && p < positional.size()) {
    critical_text = positional[p++];
    have_critical = true;
  }
  if (!have_stat && p < positional.size()) {
    handle('s', "STATUSFLAGS", positional[p++]);
  }

  if (have_warning) {
    auto r = parse_nagios_range_lenient(warning_text);
    if (!r) return r.error();
    spec.warning = *r;
  }
  if (have_critical) {
    auto r = parse_nagios_range_lenient(critical_text);
    if (!r) return r.error();
    spec.critical = *r;
  }
  spec.description = fmt;
  return spec;
}

namespace {

Status threshold_status(const CheckProcsSpec& spec, double value) {
  if (spec.critical && spec.critical->alerts(value)) return Status::kCritical;
  if (spec.warning && spec.warning->alerts(value)) return Status::kWarning;
  return Status::kOk;
}

// monitoring-plugins max_state(): CRITICAL > WARNING > OK > UNKNOWN.
Status max_state(Status a, Status b) {
  auto rank = [](Status s) {
    switch (s) {
      case Status::kCritical: return 3;
      case Status::kWarning: return 2;
      case Status::kOk: return 1;
      default: return 0;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace

CheckProcsOutcome evaluate_check_procs(const CheckProcsSpec& spec,
                                       const std::vector<ProcSample>& snapshot,
                                       const CheckProcsSelf& self) {
  CheckProcsOutcome out;
  // ps lists by pid; the fails list and the kthreadd lookup follow that order.
  std::vector<const ProcSample*> order;
  order.reserve(snapshot.size());
  for (const auto& s : snapshot) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(), [](const ProcSample* a, const ProcSample* b) {
    return a->info.key.pid < b->info.key.pid;
  });
  MatchContext ctx = make_match_context(snapshot);
  int found = 0;
  Status result = Status::kUnknown;
  std::string fails;
  for (const ProcSample* s : order) {
    const ProcInfo& info = s->info;
    bool is_self = spec.traditional || self.exe.empty()
                       ? (self.pid != 0 && info.key.pid == self.pid)
                       : (!info.exe.empty() && info.exe == self.exe);
    if (is_self) continue;
    if (self.parent_pid != 0 && info.key.pid == self.parent_pid) continue;
    bool filtered = true;
    bool kthread_excluded = false;
    for (const auto& sel : spec.match) {
      bool m = selector_matches(sel, *s, ctx);
      if (sel.kind == SelectorKind::kNotKernelThread) {
        kthread_excluded = !m;
      } else if (!m) {
        filtered = false;
      }
    }
    if (kthread_excluded) continue;  // skipped before counting, like check_procs
    ++found;
    if (!filtered) continue;
    ++out.procs;
    if (out.pids.size() < 100) out.pids.push_back(info.key.pid);
    if (spec.metric == CheckProcsMetric::kProcs) continue;
    double value = 0;
    switch (spec.metric) {
      case CheckProcsMetric::kVsz: value = double(s->vsz_kb); break;
      case CheckProcsMetric::kRss: value = double(s->rss_kb); break;
      case CheckProcsMetric::kCpu: value = s->lifetime_cpu_percent; break;
      case CheckProcsMetric::kElapsed: value = std::floor(s->elapsed_s); break;
      case CheckProcsMetric::kProcs: break;
    }
    Status st = threshold_status(spec, value);
    if (st == Status::kWarning) ++out.warn;
    if (st == Status::kCritical) ++out.crit;
    if (st == Status::kWarning || st == Status::kCritical) {
      std::string prog = info.comm.substr(info.comm.rfind('/') == std::string::npos
                                              ? 0
                                              : info.comm.rfind('/') + 1);
      fails += (fails.empty() ? "" : ", ") + prog;
      result = max_state(result, st);
    }
  }
  if (found == 0) {
    out.status = result;
    out.line = "Unable to read output";
    return out;
  }
  if (result == Status::kUnknown) result = Status::kOk;
  if (spec.metric == CheckProcsMetric::kProcs) {
    result = max_state(result, threshold_status(spec, out.procs));
  }
  out.status = result;
  std::string line = spec.metric_name + " " + std::string(status_name(result)) + ": ";
  if (spec.metric != CheckProcsMetric::kProcs) {
    if (result == Status::kWarning) {
      line += std::to_string(out.warn) + " warn out of ";
    } else if (result == Status::kCritical) {
      line += std::to_string(out.crit) + " crit, " + std::to_string(out.warn) + " warn out of ";
    }
  }
  line += std::to_string(out.procs) + (out.procs == 1 ? " process" : " processes");
  if (!spec.description.empty()) line += " with " + spec.description;
  if (spec.verbose >= 1 && !fails.empty()) line += " [" + fails + "]";
  if (spec.metric == CheckProcsMetric::kProcs) {
    line += " | procs=" + std::to_string(out.procs) + ";" +
            (spec.warning ? spec.warning->text : "") + ";" +
            (spec.critical ? spec.critical->text : "") + ";0;";
  } else {
    line += " | procs=" + std::to_string(out.procs) + ";;;0; procs_warn=" +
            std::to_string(out.warn) + ";;;0; procs_crit=" + std::to_string(out.crit) + ";;;0;";
  }
  out.line = std::move(line);
  return out;
}

}  // namespace procwatch::rules
