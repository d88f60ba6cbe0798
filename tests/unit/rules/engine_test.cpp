#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "rules/config.h"
#include "rules/engine.h"
#include "rules/plugin_args.h"
#include "test_util.h"

namespace procwatch::rules {
namespace {

using std::chrono::milliseconds;
using testing::fake_ids;
using testing::Proc;

Config cfg(const std::string& yaml) {
  auto r = parse_config(yaml, "t.yml", fake_ids());
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : Config{};
}

TimePoint at(double seconds) {
  return TimePoint{} + std::chrono::duration_cast<SteadyClock::duration>(
                           std::chrono::duration<double>(seconds));
}

TEST(Engine, ForbiddenSetuidBeforeSetgid) {
  RuleEngine e(cfg(R"(rules:
  - name: setuid-before-setgid
    match: {egid: "0", euid: "!0"}
    count: "0"
    for: 0s
)"));
  std::vector<ProcSample> snap = {Proc(1, "init").ids(0, 0), Proc(50, "good").ids(1000, 1000),
                                  Proc(60, "buggy").ids(1000, 0).euid(1000).egid(0)};
  auto r = e.evaluate(snap, at(0));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].ok);
  EXPECT_FALSE(r[0].raw_ok);
  EXPECT_EQ(r[0].count, 1);
  EXPECT_EQ(r[0].pids, std::vector<int32_t>{60});
  EXPECT_EQ(r[0].message, "setuid-before-setgid: 1 process, expected 0 [pid 60]");
  EXPECT_EQ(result_status(r[0]), Status::kCritical);
  snap.pop_back();
  r = e.evaluate(snap, at(1));
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(r[0].message, "setuid-before-setgid: 0 processes");
}

TEST(Engine, InitTAtMostOne) {
  RuleEngine e(cfg("rules:\n  - name: init_t\n    match: {context: \"*:init_t:*\"}\n"
                   "    count: \":1\"\n    severity: warning\n    for: 0s\n"));
  std::vector<ProcSample> snap = {Proc(1, "systemd").context("system_u:system_r:init_t:s0")};
  EXPECT_TRUE(e.evaluate(snap, at(0))[0].ok);
  snap.push_back(Proc(900, "mysqld").context("system_u:system_r:init_t:s0"));
  auto r = e.evaluate(snap, at(1));
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(result_status(r[0]), Status::kWarning);
  EXPECT_EQ(overall_status(r), Status::kWarning);
}

TEST(Engine, ForHidesTransientViolations) {
  RuleEngine e(cfg("rules:\n  - name: tor\n    match: {name: tor}\n    count: \"1:1\"\n"));
  std::vector<ProcSample> one = {Proc(10, "tor")};
  std::vector<ProcSample> two = {Proc(10, "tor"), Proc(11, "tor")};
  auto r = e.evaluate(one, at(-5));
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(r[0].violations_total, 0u);

  r = e.evaluate(two, at(0));  // violation starts at t=0
  EXPECT_FALSE(r[0].raw_ok);
  EXPECT_TRUE(r[0].ok) << "not reported yet";
  ASSERT_TRUE(r[0].violating_since);
  EXPECT_EQ(*r[0].violating_since, at(0));
  EXPECT_NE(r[0].message.find("(pending: 0s of 2s)"), std::string::npos) << r[0].message;

  r = e.evaluate(two, at(1));
  EXPECT_TRUE(r[0].ok) << "1s < for (2s)";
  EXPECT_EQ(r[0].violations_total, 0u);

  r = e.evaluate(two, at(2.5));
  EXPECT_FALSE(r[0].ok) << "held 2.5s >= 2s";
  EXPECT_EQ(r[0].violations_total, 1u);
  r = e.evaluate(two, at(3));
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].violations_total, 1u) << "counts transitions, not evaluations";

  r = e.evaluate(one, at(4));  // clears
  EXPECT_TRUE(r[0].ok);
  EXPECT_TRUE(r[0].raw_ok);
  EXPECT_FALSE(r[0].violating_since);

  r = e.evaluate(two, at(5));  // a new violation restarts the clock
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(*r[0].violating_since, at(5));
  r = e.evaluate(two, at(6.5));
  EXPECT_TRUE(r[0].ok) << "only 1.5s since the new start";
  r = e.evaluate(two, at(7));
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].violations_total, 2u);
}

TEST(Engine, ReloadKeepsStateOfRulesThatKeepTheirName) {
  RuleEngine old(cfg("rules:\n  - name: tor\n    match: {name: tor}\n    count: \"1:1\"\n"
                     "    for: 0s\n  - name: gone\n    match: {name: x}\n    count: \"1:\"\n"
                     "    for: 0s\n"));
  std::vector<ProcSample> two = {Proc(10, "tor"), Proc(11, "tor")};
  old.evaluate(two, at(0));
  old.evaluate({Proc(10, "tor")}, at(0.5));
  auto r = old.evaluate(two, at(0.7));
  ASSERT_EQ(r[0].violations_total, 2u);
  ASSERT_EQ(r[1].violations_total, 1u);

  // The new config renames nothing for tor, drops "gone" and adds "new" before tor.
  RuleEngine next(cfg("rules:\n  - name: new\n    match: {name: y}\n    count: \"1:\"\n"
                      "    for: 0s\n  - name: tor\n    match: {name: tor}\n"
                      "    count: \"1:1\"\n    for: 0s\n"));
  next.adopt_states(old);
  r = next.evaluate(two, at(1));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].rule, "new");
  EXPECT_EQ(r[0].violations_total, 1u) << "a new rule starts from its first violation";
  EXPECT_EQ(r[1].rule, "tor");
  EXPECT_EQ(r[1].violations_total, 2u) << "kept, and the same violation is not counted again";
  r = next.evaluate({Proc(10, "tor")}, at(2));
  r = next.evaluate(two, at(3));
  EXPECT_EQ(r[1].violations_total, 3u);
}

TEST(Engine, ShortBlipNeverReported) {
  RuleEngine e(cfg("rules:\n  - name: d\n    match: {name: d}\n    count: \"1:1\"\n    for: 500ms\n"));
  std::vector<ProcSample> ok = {Proc(1, "d")};
  EXPECT_TRUE(e.evaluate({}, at(0))[0].ok);
  EXPECT_TRUE(e.evaluate({}, at(0.4))[0].ok);
  auto r = e.evaluate(ok, at(0.6));
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(r[0].violations_total, 0u);
  EXPECT_TRUE(e.evaluate({}, at(1.0))[0].ok) << "new violation pending";
  EXPECT_FALSE(e.evaluate({}, at(1.5))[0].ok);
}

TEST(Engine, PerUserCounting) {
  RuleEngine e(cfg(R"(rules:
  - name: sshd
    match: {name: sshd}
    per: user
    per_expect: [root]
    count: "1:2"
    for: 0s
)"));
  std::vector<ProcSample> snap = {Proc(1, "sshd").ids(0, 0), Proc(2, "sshd").ids(0, 0),
                                  Proc(3, "sshd").ids(1000, 1000), Proc(4, "bash").ids(1000, 1000)};
  auto r = e.evaluate(snap, at(0));
  EXPECT_TRUE(r[0].ok);
  EXPECT_EQ(r[0].count, 3);
  using P = std::pair<std::string, int64_t>;
  EXPECT_EQ(r[0].counts_per, (std::vector<P>{{"alice", 1}, {"root", 2}}));

  snap.push_back(Proc(5, "sshd").ids(0, 0));  // root now has 3
  r = e.evaluate(snap, at(1));
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].failing_keys, std::vector<std::string>{"root"});
  EXPECT_EQ(r[0].message,
            "sshd: 4 processes in 2 users: user root has 3 processes, expected 1:2 each");

  // The listener (root) dies while alice is logged in: root is expected, so 0 is a violation.
  std::vector<ProcSample> no_root = {Proc(3, "sshd").ids(1000, 1000)};
  r = e.evaluate(no_root, at(2));
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].counts_per, (std::vector<P>{{"alice", 1}, {"root", 0}}));
  EXPECT_EQ(r[0].failing_keys, std::vector<std::string>{"root"});

  // Unknown user names fall back to the uid.
  r = e.evaluate({Proc(7, "sshd").ids(4242, 4242), Proc(1, "sshd").ids(0, 0)}, at(3));
  EXPECT_EQ(r[0].counts_per, (std::vector<P>{{"4242", 1}, {"root", 1}}));
  EXPECT_TRUE(r[0].ok);
}

TEST(Engine, PerWithNothingMatchedJudgesZero) {
  RuleEngine e(cfg("rules:\n  - name: x\n    match: {name: x}\n    per: container\n"
                   "    count: \"1:\"\n    for: 0s\n"));
  auto r = e.evaluate({Proc(1, "y")}, at(0));
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].message, "x: 0 processes in 0 containers, expected 1: per container");
  r = e.evaluate({Proc(1, "x").container("abc"), Proc(2, "x")}, at(1));
  using P = std::pair<std::string, int64_t>;
  EXPECT_EQ(r[0].counts_per, (std::vector<P>{{"abc", 1}, {"host", 1}}));
}

TEST(Engine, PidListIsBounded) {
  RuleEngine e(cfg("rules:\n  - name: w\n    match: {name: w}\n    count: \"0\"\n    for: 0s\n"));
  std::vector<ProcSample> snap;
  for (int i = 100; i > 0; --i) snap.push_back(Proc(i, "w"));
  auto r = e.evaluate(snap, at(0));
  EXPECT_EQ(r[0].count, 100);
  ASSERT_EQ(r[0].pids.size(), kMaxResultPids);
  EXPECT_TRUE(r[0].pids_truncated);
  EXPECT_EQ(r[0].pids.front(), 1);
  EXPECT_EQ(r[0].pids.back(), int32_t(kMaxResultPids));
}

// ---- CPU ----

Config cpu_cfg(const std::string& extra = "") {
  return cfg("cpu:\n  max_percent: 80\n  window: 30s\n  lifetime_max_percent: 50\n"
             "  min_age: 10m\n" + extra);
}

TEST(EngineCpu, WindowAndLifetime) {
  RuleEngine e(cpu_cfg());
  std::vector<ProcSample> snap = {
      Proc(1, "loop").cpu(95, 10, 20).tree("a"),      // window hog
      Proc(2, "calm").cpu(80, 10, 20),                // at the limit, not above
      Proc(3, "old").cpu(10, 60, 3600).tree("b"),     // lifetime hog, old enough
      Proc(4, "young").cpu(10, 99, 300),              // lifetime high but younger than min_age
      Proc(5, "edge").cpu(0, 50, 7200),               // lifetime at the limit
  };
  auto r = e.evaluate(snap, at(0));
  ASSERT_EQ(r.size(), 1u);
  const auto& c = r[0];
  EXPECT_TRUE(c.is_cpu);
  EXPECT_EQ(c.rule, "cpu");
  EXPECT_FALSE(c.ok) << "cpu has no `for` by default";
  EXPECT_EQ(result_status(c), Status::kWarning) << "cpu severity defaults to warning";
  ASSERT_EQ(c.hogs.size(), 2u);
  EXPECT_EQ(c.hogs[0].pid, 1);
  EXPECT_EQ(c.hogs[0].percent, 95);
  EXPECT_FALSE(c.hogs[0].lifetime);
  EXPECT_EQ(c.hogs[0].tree, "a");
  EXPECT_EQ(c.hogs[1].pid, 3);
  EXPECT_TRUE(c.hogs[1].lifetime);
  EXPECT_EQ(c.hogs[1].percent, 60);
  EXPECT_EQ(c.message, "cpu: 2 processes over the limit: loop[1] 95.0%, old[3] 60.0% lifetime");
  EXPECT_EQ(c.pids, (std::vector<int32_t>{1, 3}));
}

TEST(EngineCpu, Exemptions) {
  RuleEngine e(cpu_cfg("  exempt:\n    users: [postfix]\n    names: [boinc, \"gz*\"]\n"
                       "    trees: [\"cron:*\"]\n    uid_min: 1000\n"));
  std::vector<ProcSample> snap = {
      Proc(1, "boinc").cpu(100, 100, 1e5).ids(0, 0),
      Proc(2, "gzip").cpu(100, 100, 1e5).ids(0, 0),
      Proc(3, "python3").exe("/usr/bin/python3").argv({"python3", "/usr/bin/boinc"}).cpu(100, 0, 1).ids(0, 0),
      Proc(4, "job").tree("cron:backup").cpu(100, 0, 1).ids(0, 0),
      Proc(5, "xz").cpu(100, 0, 1).ids(1000, 1000),   // regular user
      Proc(6, "smtpd").cpu(100, 0, 1).ids(107, 107),  // exempt user
      Proc(7, "spin").cpu(100, 0, 1).ids(0, 0),       // the only one left
      Proc(8, "gone").cpu(100, 0, 1).unknown_ids(),   // unknown ids are not exempt by uid
  };
  auto r = e.evaluate(snap, at(0));
  std::vector<int32_t> pids;
  for (const auto& h : r[0].hogs) pids.push_back(h.pid);
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<int32_t>{7, 8}));
}

TEST(EngineCpu, ForAppliesToo) {
  RuleEngine e(cpu_cfg("  for: 5s\n"));
  std::vector<ProcSample> snap = {Proc(1, "spin").cpu(100, 0, 1)};
  EXPECT_TRUE(e.evaluate(snap, at(0))[0].ok);
  EXPECT_FALSE(e.evaluate(snap, at(5))[0].ok);
  EXPECT_TRUE(e.evaluate({}, at(6))[0].ok);
}

TEST(EngineCpu, ComesAfterRules) {
  auto c = cfg("rules:\n  - name: a\n    match: {}\n    count: \"0:\"\ncpu:\n  max_percent: 50\n");
  RuleEngine e(c);
  auto r = e.evaluate({Proc(1, "x").cpu(1, 1, 1)}, at(0));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].rule, "a");
  EXPECT_EQ(r[1].rule, "cpu");
  EXPECT_TRUE(r[1].ok);
}

// ---- formatting ----

std::vector<RuleResult> mixed_results() {
  RuleEngine e(cfg(R"(rules:
  - name: sshd
    match: {name: sshd}
    count: "1:"
    for: 0s
  - name: init_t
    match: {context: "*:init_t:*"}
    count: ":1"
    severity: warning
    for: 0s
  - name: cron
    match: {name: cron}
    count: "1:1"
    for: 0s
  - name: logins
    match: {name: bash}
    per: user
    count: ":3"
    severity: warning
    for: 0s
)"));
  std::vector<ProcSample> snap = {
      Proc(1, "systemd").context("u:r:init_t:s0"), Proc(2, "mysqld").context("u:r:init_t:s0"),
      Proc(3, "cron").ids(0, 0), Proc(4, "bash").ids(1000, 1000), Proc(5, "bash").ids(0, 0)};
  return e.evaluate(snap, at(0));
}

TEST(Format, Nagios) {
  auto out = format_nagios(mixed_results());
  EXPECT_EQ(out.status, Status::kCritical);
  EXPECT_EQ(out.text,
            "PROCS CRITICAL: sshd: 0 processes, expected 1:; init_t: 2 processes, expected :1 "
            "[pids 1 2] | 'sshd'=0;;1:;0; 'init_t'=2;:1;;0; 'cron'=1;;1:1;0; 'logins'=2;;;0; "
            "'logins[alice]'=1;:3;;0; 'logins[root]'=1;:3;;0;");
}

TEST(Format, NagiosAllOk) {
  RuleEngine e(cfg("rules:\n  - name: it's\n    match: {}\n    count: \"1:\"\n"));
  auto out = format_nagios(e.evaluate({Proc(1, "x")}, at(0)));
  EXPECT_EQ(out.status, Status::kOk);
  EXPECT_EQ(out.text, "PROCS OK: 1 rule OK | 'it''s'=1;;1:;0;");
  EXPECT_EQ(format_nagios({}).status, Status::kOk);
}

TEST(Format, Mon) {
  EXPECT_EQ(format_mon(mixed_results()),
            "sshd init_t\n"
            "[critical] sshd: 0 processes, expected 1:\n"
            "[warning] init_t: 2 processes, expected :1 [pids 1 2]\n");
  RuleEngine e(cfg("rules:\n  - name: a\n    match: {}\n"));
  EXPECT_EQ(format_mon(e.evaluate({Proc(1, "x")}, at(0))), "\n");
}

TEST(Format, OverallStatus) {
  EXPECT_EQ(overall_status({}), Status::kOk);
  RuleResult w;
  w.ok = false;
  w.severity = Severity::kWarning;
  RuleResult ok;
  EXPECT_EQ(overall_status({ok, w}), Status::kWarning);
  RuleResult c;
  c.ok = false;
  EXPECT_EQ(overall_status({w, c, ok}), Status::kCritical);
}

// ---- Prometheus alerting rules ----

int promtool_check(const std::string& text, std::string& output) {
  char path[] = "/tmp/procwatch-rules-XXXXXX.yml";
  int fd = mkstemps(path, 4);
  if (fd < 0) return -1;
  close(fd);
  std::ofstream(path) << text;
  std::string cmd = std::string("/usr/bin/promtool check rules ") + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512];
  while (fgets(buf, sizeof buf, p) != nullptr) output += buf;
  int rc = pclose(p);
  unlink(path);
  return rc;
}

TEST(Prometheus, ExportPassesPromtool) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  auto c = load_config(PROCWATCH_RULES_SAMPLE, fake_ids());
  ASSERT_TRUE(c.ok()) << c.error().message;
  // Names that need quoting and template escaping on top of the sample.
  Rule odd;
  odd.name = "weird \"name\" {{ x }} \\ 'q'";
  odd.description = "watch {{ this }}";
  odd.count = parse_nagios_range("@2:3").value();
  odd.for_duration = milliseconds(1500);
  odd.severity = Severity::kWarning;
  c->rules.push_back(odd);
  Rule zero;
  zero.name = "no-wait";
  zero.for_duration = milliseconds(0);
  zero.count = parse_nagios_range("1:").value();
  c->rules.push_back(zero);
  std::string yaml = export_prometheus_rules(*c);
  std::string out;
  int rc = promtool_check(yaml, out);
  EXPECT_EQ(rc, 0) << out << "\n" << yaml;
  EXPECT_NE(out.find("SUCCESS: " + std::to_string(c->rules.size() + 1) + " rules found"),
            std::string::npos)
      << out;

  // Structure: one alert per rule, expr, for, severity, summary.
  EXPECT_NE(yaml.find("alert: ProcwatchRule_setuid_before_setgid"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("expr: procwatch_rule_ok{rule=\"setuid-before-setgid\"} == 0"),
            std::string::npos) << yaml;
  EXPECT_NE(yaml.find("for: 10s"), std::string::npos);
  EXPECT_NE(yaml.find("for: 1500ms"), std::string::npos);
  EXPECT_NE(yaml.find("severity: warning"), std::string::npos);
  EXPECT_NE(yaml.find("severity: critical"), std::string::npos);
  EXPECT_NE(yaml.find("summary: procwatch rule {{ $labels.rule }} is failing"), std::string::npos)
      << yaml;
  EXPECT_NE(yaml.find("see procwatch_rule_processes{rule=\"sshd\"}"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("alert: ProcwatchRule_cpu"), std::string::npos);
}

TEST(Prometheus, ExportFromRuleListAndParseBack) {
  auto rules = parse_ps_monitor_args({"sshd@root:1-", "/usr/lib/postfix/sbin/master:1-2"}, fake_ids());
  ASSERT_TRUE(rules.ok());
  std::string yaml = export_prometheus_rules(*rules);
  EXPECT_NE(yaml.find("procwatch_rule_ok{rule=\"sshd@root\"} == 0"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("alert: ProcwatchRule__usr_lib_postfix_sbin_master"), std::string::npos);
  EXPECT_NE(yaml.find("for: 2s"), std::string::npos);
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  std::string out;
  EXPECT_EQ(promtool_check(yaml, out), 0) << out << yaml;
}

TEST(EngineUnexpected, FlaggedTreesOutsideTheExceptionsViolate) {
  RuleEngine e(cfg(R"(unexpected:
  severity: warning
  for: 1s
  except: {trees: ["/cron/*"], users: ["backup"]}
)"));
  std::vector<ProcSample> none;
  auto r = e.evaluate(none, at(0));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rule, "unexpected");
  EXPECT_TRUE(r[0].ok);
  e.set_flagged({{"/cron/base/new.sh", "/bin/sh", "root", 3},
                 {"/sshd/x/y", "/usr/bin/y", "backup", 1}});
  EXPECT_TRUE(e.evaluate(none, at(1))[0].raw_ok);  // both excepted
  e.set_flagged({{"/tmp/<random>/miner", "/tmp/<random>/miner", "www-data", 2},
                 {"/tmp/<random>/miner", "/tmp/<random>/miner", "root", 1},
                 {"/cron/base/new.sh", "/bin/sh", "root", 3}});
  r = e.evaluate(none, at(2));
  EXPECT_FALSE(r[0].raw_ok);
  EXPECT_TRUE(r[0].ok);  // for: 1s pending
  r = e.evaluate(none, at(3.5));
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].count, 1);
  EXPECT_EQ(r[0].failing_keys, std::vector<std::string>{"/tmp/<random>/miner"});
  EXPECT_EQ(r[0].message, "unexpected: 1 tree outside the baseline: /tmp/<random>/miner (3 execs)");
  EXPECT_EQ(result_status(r[0]), Status::kWarning);
  e.set_flagged({});  // approved
  EXPECT_TRUE(e.evaluate(none, at(4))[0].ok);
}

TEST(EngineUnexpected, ExportAddsTheBaselineAndFleetGroups) {
  Config c = cfg("unexpected: {severity: critical}\n");
  std::string plain = export_prometheus_rules(c);
  EXPECT_NE(plain.find("alert: ProcwatchRule_unexpected"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("procwatch-baseline"), std::string::npos) << plain;
  ExportOptions o;
  std::string with = export_prometheus_rules(c, o);
  EXPECT_NE(with.find("increase(procwatch_unexpected_execs_total[5m]) > 0"), std::string::npos)
      << with;
  EXPECT_EQ(with.find("procwatch-fleet"), std::string::npos);
  o.fleet = true;
  o.min_hosts = 3;
  std::string fleet = export_prometheus_rules(c, o);
  EXPECT_NE(fleet.find("record: job_tree:procwatch_hosts_ran:1d"), std::string::npos) << fleet;
  EXPECT_NE(fleet.find("job_tree:procwatch_hosts_ran:1d < 3"), std::string::npos) << fleet;
  EXPECT_NE(fleet.find("for: 30m"), std::string::npos) << fleet;
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  std::string out;
  EXPECT_EQ(promtool_check(fleet, out), 0) << out << fleet;
  EXPECT_NE(out.find("SUCCESS: 6 rules found"), std::string::npos) << out;
}

}  // namespace
}  // namespace procwatch::rules
