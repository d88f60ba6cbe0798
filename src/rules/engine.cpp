#include "rules/engine.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <map>

namespace procwatch::rules {

Status result_status(const RuleResult& r) {
  return r.ok ? Status::kOk : severity_status(r.severity);
}

Status overall_status(const std::vector<RuleResult>& results) {
  Status worst = Status::kOk;
  for (const auto& r : results) {
    Status s = result_status(r);
    if (static_cast<int>(s) > static_cast<int>(worst)) worst = s;
  }
  return worst;
}

RuleEngine::RuleEngine(Config config)
    : config_(std::move(config)), states_(config_.rules.size()) {}

void RuleEngine::adopt_states(const RuleEngine& old) {
  for (size_t i = 0; i < config_.rules.size(); ++i) {
    for (size_t j = 0; j < old.config_.rules.size(); ++j) {
      if (old.config_.rules[j].name == config_.rules[i].name) states_[i] = old.states_[j];
    }
  }
  if (config_.cpu && old.config_.cpu) cpu_state_ = old.cpu_state_;
  if (config_.unexpected && old.config_.unexpected) unexpected_state_ = old.unexpected_state_;
  flagged_ = old.flagged_;
}

namespace {

std::string processes(int64_t n) {
  return std::to_string(n) + (n == 1 ? " process" : " processes");
}

std::string per_key(PerKey per, const ProcSample& s) {
  switch (per) {
    case PerKey::kUser:
      if (!s.info.user.empty()) return s.info.user;
      return s.info.ids_known ? std::to_string(s.info.uid) : "?";
    case PerKey::kContainer: return s.info.container_id.empty() ? "host" : s.info.container_id;
    case PerKey::kTree: return s.info.tree.empty() ? "?" : s.info.tree;
    case PerKey::kNone: break;
  }
  return "";
}

std::string_view per_noun(PerKey per) {
  switch (per) {
    case PerKey::kUser: return "user";
    case PerKey::kContainer: return "container";
    case PerKey::kTree: return "tree";
    case PerKey::kNone: break;
  }
  return "";
}

std::string pid_list(const RuleResult& r) {
  if (r.pids.empty()) return "";
  std::string out = r.pids.size() == 1 && !r.pids_truncated ? " [pid" : " [pids";
  for (auto p : r.pids) out += " " + std::to_string(p);
  if (r.pids_truncated) out += " ...";
  return out + "]";
}

std::string fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

bool cpu_exempt(const CpuExempt& ex, const ProcInfo& info) {
  if (ex.uid_min && info.ids_known && info.uid >= *ex.uid_min) return true;
  for (const auto& u : ex.users) {
    if (!info.user.empty() && glob_match(u, info.user)) return true;
    if (info.ids_known && u == std::to_string(info.uid)) return true;
  }
  for (const auto& n : ex.names) {
    if (name_matches(info, n, true)) return true;
  }
  for (const auto& t : ex.trees) {
    if (!info.tree.empty() && glob_match(t, info.tree)) return true;
  }
  return false;
}

}  // namespace

RuleResult RuleEngine::evaluate_rule(const Rule& rule, const std::vector<ProcSample>& snapshot,
                                     const MatchContext& ctx) const {
  RuleResult r;
  r.rule = rule.name;
  r.severity = rule.severity;
  r.expected = rule.count.text;
  std::map<std::string, int64_t> per;
  for (const auto& k : rule.per_expect) per[k] = 0;
  std::vector<int32_t> pids;
  for (const auto& s : snapshot) {
    if (!rule_matches(rule.match, s, ctx)) continue;
    ++r.count;
    pids.push_back(s.info.key.pid);
    if (rule.per != PerKey::kNone) ++per[per_key(rule.per, s)];
  }
  std::sort(pids.begin(), pids.end());
  r.pids_truncated = pids.size() > kMaxResultPids;
  if (r.pids_truncated) pids.resize(kMaxResultPids);
  r.pids = std::move(pids);

  if (rule.per == PerKey::kNone) {
    r.raw_ok = rule.count.ok(double(r.count));
    r.message = rule.name + ": " + processes(r.count);
    if (!r.raw_ok) r.message += ", expected " + rule.count.text + pid_list(r);
  } else {
    r.counts_per.assign(per.begin(), per.end());
    for (const auto& [key, n] : r.counts_per) {
      if (!rule.count.ok(double(n))) r.failing_keys.push_back(key);
    }
    // Nothing matched and nothing expected: judge the empty set as a whole.
    r.raw_ok = r.counts_per.empty() ? rule.count.ok(0) : r.failing_keys.empty();
    r.message = rule.name + ": " + processes(r.count) + " in " +
                std::to_string(r.counts_per.size()) + " " + std::string(per_noun(rule.per)) +
                (r.counts_per.size() == 1 ? "" : "s");
    if (!r.raw_ok) {
      if (r.failing_keys.empty()) {
        r.message += ", expected " + rule.count.text + " per " + std::string(per_noun(rule.per));
      } else {
        std::string detail;
        for (const auto& key : r.failing_keys) {
          if (!detail.empty()) detail += ", ";
          detail += std::string(per_noun(rule.per)) + " " + key + " has " + processes(per[key]);
        }
        r.message += ": " + detail + ", expected " + rule.count.text + " each";
      }
    }
  }
  return r;
}

RuleResult RuleEngine::evaluate_cpu(const CpuConfig& cpu,
                                    const std::vector<ProcSample>& snapshot) const {
  RuleResult r;
  r.rule = std::string(kCpuRuleName);
  r.severity = cpu.severity;
  r.is_cpu = true;
  r.expected = "0";
  std::vector<CpuHog> hogs;
  for (const auto& s : snapshot) {
    if (cpu_exempt(cpu.exempt, s.info)) continue;
    CpuHog h{s.info.key.pid, s.info.comm, s.info.tree, 0, false};
    if (cpu.max_percent && s.cpu_percent > *cpu.max_percent) {
      h.percent = s.cpu_percent;
    } else if (cpu.lifetime_max_percent && s.elapsed_s * 1000.0 >= double(cpu.min_age.count()) &&
               s.lifetime_cpu_percent > *cpu.lifetime_max_percent) {
      h.percent = s.lifetime_cpu_percent;
      h.lifetime = true;
    } else {
      continue;
    }
    hogs.push_back(std::move(h));
  }
  std::sort(hogs.begin(), hogs.end(), [](const CpuHog& a, const CpuHog& b) {
    return a.percent != b.percent ? a.percent > b.percent : a.pid < b.pid;
  });
  r.count = int64_t(hogs.size());
  for (const auto& h : hogs) r.pids.push_back(h.pid);
  std::sort(r.pids.begin(), r.pids.end());
  r.pids_truncated = r.pids.size() > kMaxResultPids;
  if (r.pids_truncated) r.pids.resize(kMaxResultPids);
  if (hogs.size() > kMaxCpuHogs) hogs.resize(kMaxCpuHogs);
  r.raw_ok = hogs.empty();
  r.message = "cpu: " + std::to_string(r.count) + (r.count == 1 ? " process" : " processes") +
              " over the limit";
  for (size_t i = 0; i < hogs.size() && i < 5; ++i) {
    const auto& h = hogs[i];
    r.message += std::string(i ? ", " : ": ") + h.name + "[" + std::to_string(h.pid) + "] " +
                 fixed1(h.percent) + "%" + (h.lifetime ? " lifetime" : "");
  }
  r.hogs = std::move(hogs);
  return r;
}

RuleResult RuleEngine::evaluate_unexpected(const UnexpectedConfig& u) const {
  RuleResult r;
  r.rule = std::string(kUnexpectedRuleName);
  r.severity = u.severity;
  r.expected = "0";
  std::map<std::string, uint64_t> trees;  // flagged trees not excepted, with their execs
  for (const auto& f : flagged_) {
    bool excepted = false;
    for (const auto& t : u.except_trees) excepted = excepted || glob_match(t, f.tree);
    for (const auto& g : u.except_users) excepted = excepted || glob_match(g, f.user);
    if (!excepted) trees[f.tree] += f.count;
  }
  r.count = int64_t(trees.size());
  r.raw_ok = trees.empty();
  r.message = "unexpected: " + std::to_string(r.count) +
              (r.count == 1 ? " tree" : " trees") + " outside the baseline";
  size_t shown = 0;
  for (const auto& [tree, n] : trees) {
    if (shown < kMaxResultPids) r.failing_keys.push_back(tree);
    if (shown < 5)
      r.message += std::string(shown ? ", " : ": ") + tree + " (" + std::to_string(n) +
                   (n == 1 ? " exec)" : " execs)");
    ++shown;
  }
  if (shown > 5) r.message += ", ...";
  return r;
}

void RuleEngine::apply_for(State& st, std::chrono::milliseconds for_duration, TimePoint now,
                           RuleResult& r) {
  if (r.raw_ok) {
    st.violating_since.reset();
    r.ok = true;
  } else {
    if (!st.violating_since) st.violating_since = now;
    r.ok = now - *st.violating_since < for_duration;
    if (r.ok) {
      auto held = std::chrono::duration_cast<std::chrono::milliseconds>(now - *st.violating_since);
      r.message += " (pending: " + format_duration(held) + " of " +
                   format_duration(for_duration) + ")";
    }
  }
  if (!r.ok && !st.reported) ++st.violations_total;
  st.reported = !r.ok;
  r.violations_total = st.violations_total;
  r.violating_since = st.violating_since;
}

std::vector<RuleResult> RuleEngine::evaluate(const std::vector<ProcSample>& snapshot,
                                             TimePoint now) {
  std::vector<RuleResult> out;
  out.reserve(config_.rules.size() + 1);
  MatchContext ctx = make_match_context(snapshot);
  for (size_t i = 0; i < config_.rules.size(); ++i) {
    const Rule& rule = config_.rules[i];
    RuleResult r = evaluate_rule(rule, snapshot, ctx);
    apply_for(states_[i], rule.for_duration, now, r);
    out.push_back(std::move(r));
  }
  if (config_.cpu) {
    RuleResult r = evaluate_cpu(*config_.cpu, snapshot);
    apply_for(cpu_state_, config_.cpu->for_duration, now, r);
    out.push_back(std::move(r));
  }
  if (config_.unexpected) {
    RuleResult r = evaluate_unexpected(*config_.unexpected);
    apply_for(unexpected_state_, config_.unexpected->for_duration, now, r);
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

std::string perf_label(const std::string& name) {
  std::string out = "'";
  for (char c : name) {
    if (c == '\'') out += '\'';
    out += (c == '=' || c == '\n') ? '_' : c;
  }
  return out + "'";
}

std::string perf_item(const std::string& label, int64_t value, const std::string& range,
                      Severity sev) {
  const bool warn = sev == Severity::kWarning;
  return perf_label(label) + "=" + std::to_string(value) + ";" + (warn ? range : "") + ";" +
         (warn ? "" : range) + ";0;";
}

}  // namespace

NagiosOutput format_nagios(const std::vector<RuleResult>& results) {
  NagiosOutput out;
  out.status = overall_status(results);
  std::string text = "PROCS " + std::string(status_name(out.status)) + ": ";
  std::string failing;
  size_t failing_n = 0;
  // Critical failures first, then warnings, each in config order.
  for (Severity sev : {Severity::kCritical, Severity::kWarning}) {
    for (const auto& r : results) {
      if (r.ok || r.severity != sev) continue;
      if (!failing.empty()) failing += "; ";
      failing += r.message;
      ++failing_n;
    }
  }
  if (failing_n == 0) {
    text += std::to_string(results.size()) + (results.size() == 1 ? " rule" : " rules") + " OK";
  } else {
    text += failing;
  }
  std::string perf;
  for (const auto& r : results) {
    auto add = [&](std::string item) {
      perf += perf.empty() ? "" : " ";
      perf += item;
    };
    if (r.counts_per.empty()) {
      add(perf_item(r.rule, r.count, r.expected, r.severity));
    } else {
      add(perf_label(r.rule) + "=" + std::to_string(r.count) + ";;;0;");
      for (const auto& [key, n] : r.counts_per) {
        add(perf_item(r.rule + "[" + key + "]", n, r.expected, r.severity));
      }
    }
  }
  if (!perf.empty()) text += " | " + perf;
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  out.text = std::move(text);
  return out;
}

std::string format_mon(const std::vector<RuleResult>& results) {
  std::string names, details;
  for (const auto& r : results) {
    if (r.ok) continue;
    if (!names.empty()) names += ' ';
    names += r.rule;
    details += "[" + std::string(severity_name(r.severity)) + "] " + r.message + "\n";
  }
  return names + "\n" + details;
}

namespace {

std::string promql_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Go text/template: a literal "{{" in user text would start an action.
std::string template_literal(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "{{") == 0) {
      out += "{{`{{`}}";
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string alert_name(const std::string& rule) {
  std::string out = "ProcwatchRule_";
  for (char c : rule) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

void emit_alert(YAML::Emitter& e, const std::string& rule, std::chrono::milliseconds for_duration,
                Severity sev, const std::string& description) {
  e << YAML::BeginMap;
  e << YAML::Key << "alert" << YAML::Value << alert_name(rule);
  e << YAML::Key << "expr" << YAML::Value
    << "procwatch_rule_ok{rule=" + promql_string(rule) + "} == 0";
  if (for_duration.count() > 0) {
    e << YAML::Key << "for" << YAML::Value << format_duration(for_duration);
  }
  e << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "severity" << YAML::Value << std::string(severity_name(sev));
  e << YAML::EndMap;
  e << YAML::Key << "annotations" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "summary" << YAML::Value
    << "procwatch rule {{ $labels.rule }} is failing on {{ $labels.instance }}";
  e << YAML::Key << "description" << YAML::Value << template_literal(description);
  e << YAML::EndMap;
  e << YAML::EndMap;
}

}  // namespace

namespace {

// The baseline alert and, with fleet, the fleet rules (see ExportOptions).
void emit_baseline_groups(YAML::Emitter& e, const ExportOptions& o) {
  auto map_of = [&e](std::initializer_list<std::pair<const char*, std::string>> kv) {
    e << YAML::BeginMap;
    for (const auto& [k, v] : kv) e << YAML::Key << k << YAML::Value << v;
    e << YAML::EndMap;
  };
  e << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << "procwatch-baseline";
  e << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  e << YAML::BeginMap;
  e << YAML::Key << "alert" << YAML::Value << "ProcwatchUnexpectedExecs";
  // A counter first scraped at 1 has no increase yet: the `unless ... offset` arm catches a
  // tree whose series is new in the last 5 minutes.
  e << YAML::Key << "expr" << YAML::Value
    << "increase(procwatch_unexpected_execs_total[5m]) > 0\n"
       "or (procwatch_unexpected_execs_total unless procwatch_unexpected_execs_total offset 5m)";
  e << YAML::Key << "labels" << YAML::Value;
  map_of({{"severity", "warning"}});
  e << YAML::Key << "annotations" << YAML::Value;
  map_of({{"summary", "unexpected process tree {{ $labels.tree }} on {{ $labels.instance }}"},
          {"description",
           "procwatch saw execs of {{ $labels.tree }} that its baseline does not hold. Review "
           "with `procwatch baseline diff --from URL`, approve with `procwatch baseline approve "
           "--from URL TREE`."}});
  e << YAML::EndMap;
  e << YAML::EndSeq << YAML::EndMap;
  if (!o.fleet) return;
  const std::string n = std::to_string(o.min_hosts);
  e << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << "procwatch-fleet";
  e << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  // One series per (job, instance, tree) that exec'd in the last day.
  map_of({{"record", "instance_tree:procwatch_tree_ran:1d"},
          {"expr", "max by (job, instance, tree) (clamp_max(max_over_time("
                  "procwatch_tree_execs_total{tree!=\"" + std::string("/other") + "\"}[1d]) > 0, 1))"}});
  map_of({{"record", "job_tree:procwatch_hosts_ran:1d"},
          {"expr", "count by (job, tree) (instance_tree:procwatch_tree_ran:1d)"}});
  map_of({{"record", "job:procwatch_hosts:1d"},
          {"expr", "count by (job) (max by (job, instance) (max_over_time(procwatch_build_info[1d])))"}});
  e << YAML::BeginMap;
  e << YAML::Key << "alert" << YAML::Value << "ProcwatchRareTree";
  e << YAML::Key << "expr" << YAML::Value
    << "instance_tree:procwatch_tree_ran:1d\n"
       "and on (job, tree) (job_tree:procwatch_hosts_ran:1d < " + n + ")\n"
       "and on (job) (job:procwatch_hosts:1d >= " + n + ")";
  // Scrapes of two hosts are not simultaneous, and a rollout reaches hosts one by one: a tree
  // must stay rare this long.
  if (o.fleet_for.count() > 0) e << YAML::Key << "for" << YAML::Value << format_duration(o.fleet_for);
  e << YAML::Key << "labels" << YAML::Value;
  map_of({{"severity", "warning"}});
  e << YAML::Key << "annotations" << YAML::Value;
  map_of({{"summary", "process tree {{ $labels.tree }} ran on {{ $labels.instance }}, on "
                      "fewer than " + n + " hosts of job {{ $labels.job }}"},
          {"description",
           "In the last day the tree {{ $labels.tree }} ran on fewer than " + n +
               " of the hosts of job {{ $labels.job }}. A tree that runs on few hosts of a "
               "fleet is the fleet's unexpected launch."}});
  e << YAML::EndMap;
  e << YAML::EndSeq << YAML::EndMap;
}

std::string export_prometheus_rules(const Config& config, const ExportOptions* options) {
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  e << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << "procwatch";
  e << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const auto& r : config.rules) {
    std::string desc = r.description.empty() ? "" : r.description + ". ";
    desc += "Expected process count " + r.count.text +
            (r.per == PerKey::kNone ? std::string()
                                    : " per " + std::string(per_noun(r.per))) +
            "; see procwatch_rule_processes{rule=" + promql_string(r.name) + "}.";
    emit_alert(e, r.name, r.for_duration, r.severity, desc);
  }
  if (config.cpu) {
    emit_alert(e, std::string(kCpuRuleName), config.cpu->for_duration, config.cpu->severity,
               "A process not exempt from the CPU check uses more CPU than allowed.");
  }
  if (config.unexpected) {
    emit_alert(e, std::string(kUnexpectedRuleName), config.unexpected->for_duration,
               config.unexpected->severity,
               "The baseline flagged process trees it never saw while learning; review them "
               "with `procwatch baseline diff` and approve with `procwatch baseline approve`.");
  }
  e << YAML::EndSeq << YAML::EndMap;
  if (options) emit_baseline_groups(e, *options);
  e << YAML::EndSeq << YAML::EndMap;
  std::string out = e.c_str();
  out += "\n";
  return out;
}

}  // namespace

std::string export_prometheus_rules(const Config& config, const ExportOptions& options) {
  return export_prometheus_rules(config, &options);
}

std::string export_prometheus_rules(const Config& config) {
  return export_prometheus_rules(config, nullptr);
}

std::string export_prometheus_rules(const std::vector<Rule>& rules) {
  Config c;
  c.rules = rules;
  return export_prometheus_rules(c);
}

}  // namespace procwatch::rules
