#include <gtest/gtest.h>

#include "rules/engine.h"
#include "rules/plugin_args.h"
#include "test_util.h"

namespace procwatch::rules {
namespace {

using testing::fake_ids;
using testing::Proc;

// ---- ps.monitor ----

TEST(PsMonitor, ParsesTheSeedLine) {
  auto r = parse_ps_monitor_args(
      {"tor:1-1", "/usr/lib/postfix/sbin/master:1-2", "sshd@root:1-", "cron:1-5", "watchdog:-2"},
      fake_ids());
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 5u);
  const auto& tor = (*r)[0];
  EXPECT_EQ(tor.name, "tor");
  ASSERT_EQ(tor.match.size(), 1u);
  EXPECT_EQ(tor.match[0].kind, SelectorKind::kName);
  EXPECT_EQ(tor.match[0].value, "tor");
  EXPECT_TRUE(tor.count.ok(1));
  EXPECT_FALSE(tor.count.ok(0));
  EXPECT_FALSE(tor.count.ok(2));
  const auto& master = (*r)[1];
  EXPECT_EQ(master.name, "/usr/lib/postfix/sbin/master");
  EXPECT_EQ(master.match[0].kind, SelectorKind::kExe);
  EXPECT_TRUE(master.count.ok(2));
  EXPECT_FALSE(master.count.ok(3));
  const auto& sshd = (*r)[2];
  EXPECT_EQ(sshd.name, "sshd@root");
  ASSERT_EQ(sshd.match.size(), 2u);
  EXPECT_EQ(sshd.match[1].kind, SelectorKind::kUser);
  EXPECT_EQ(sshd.match[1].id, 0u);
  EXPECT_TRUE(sshd.count.ok(1000));
  EXPECT_FALSE(sshd.count.ok(0));
  const auto& watchdog = (*r)[4];
  EXPECT_TRUE(watchdog.count.ok(0));
  EXPECT_TRUE(watchdog.count.ok(2));
  EXPECT_FALSE(watchdog.count.ok(3));
  EXPECT_EQ((*r)[3].for_duration.count(), 2000) << "ps.monitor rules use the default `for`";
}

TEST(PsMonitor, FullPathTellsMastersApart) {
  auto r = parse_ps_monitor_args({"/usr/lib/postfix/sbin/master:1-1"}, fake_ids());
  ASSERT_TRUE(r.ok());
  RuleEngine engine(Config{"", *r, std::nullopt});
  std::vector<ProcSample> snap = {
      Proc(10, "master").exe("/usr/lib/postfix/sbin/master").ids(0, 0),
      Proc(11, "master").exe("/opt/dovecot/master").ids(0, 0),
      Proc(12, "master").exe("/usr/lib/postfix/sbin/master-helper").ids(0, 0)};
  auto res = engine.evaluate(snap, TimePoint{});
  EXPECT_EQ(res[0].count, 1);
  EXPECT_EQ(res[0].pids, std::vector<int32_t>{10});
}

TEST(PsMonitor, Errors) {
  struct C {
    const char* arg;
    const char* why;
  };
  for (auto c : {C{"sshd", "no ':'"}, C{"sshd:1", "is not MIN-MAX"}, C{"sshd:a-b", "whole numbers"},
                 C{"sshd:-", "whole numbers"}, C{"sshd:1-2-3", "is not MIN-MAX"},
                 C{"sshd:5-1", "MIN is greater than MAX"}, C{":1-1", "empty process name"},
                 C{"sshd@:1-1", "empty user"}}) {
    auto r = parse_ps_monitor_args({c.arg}, fake_ids());
    ASSERT_FALSE(r.ok()) << c.arg;
    EXPECT_EQ(r.error().message.rfind(std::string("ps.monitor argument '") + c.arg + "'", 0), 0u)
        << r.error().message;
    EXPECT_NE(r.error().message.find(c.why), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("expected NAME[@USER]:MIN-MAX"), std::string::npos);
  }
  auto dup = parse_ps_monitor_args({"cron:1-", "cron:1-2"}, fake_ids());
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("given twice"), std::string::npos);
  EXPECT_FALSE(parse_ps_monitor_args({}, fake_ids()).ok());
}

// ---- check_procs options ----

Result<CheckProcsSpec> cp(std::vector<std::string> args) {
  return parse_check_procs_args(args, fake_ids());
}

std::string cp_error(std::vector<std::string> args) {
  auto r = cp(std::move(args));
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

TEST(CheckProcsArgs, DescriptionFollowsOptionOrder) {
  // Wording and order as printed by monitoring-plugins 2.3.3 check_procs.
  auto r = cp({"-a", "sleep", "-k", "-s", "S", "-p", "1", "--ereg-argument-array=x.*"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->description, "args 'sleep', STATE = S, PPID = 1, regex args 'x.*'");
  auto u = cp({"-w", "1:1", "-c", "1:", "-C", "cron", "-u", "root"});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->description, "command name 'cron', UID = 0 (root)");
  ASSERT_TRUE(u->warning && u->critical);
  EXPECT_EQ(u->warning->text, "1:1");
  EXPECT_EQ(u->critical->text, "1:");
  auto num = cp({"-u", "1000", "-z", "1000", "-r", "10", "-P", "0.5"});
  ASSERT_TRUE(num.ok());
  EXPECT_EQ(num->description, "UID = 1000 (alice), VSZ >= 1000, RSS >= 10, PCPU >= 0.50");
}

TEST(CheckProcsArgs, FirstWinsForStateCommandArgs) {
  auto r = cp({"-C", "a", "-C", "b", "-s", "R", "-s", "Z", "-a", "x", "-a", "y"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->description, "command name 'a', STATE = R, args 'x'");
  ASSERT_EQ(r->match.size(), 3u);
  EXPECT_EQ(r->match[0].value, "a");
}

TEST(CheckProcsArgs, PositionalWarningCriticalState) {
  auto r = cp({"1", "2", "S"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->warning->text, "1");
  EXPECT_EQ(r->critical->text, "2");
  EXPECT_EQ(r->description, "STATE = S");
  auto r2 = cp({"-w", "10", "-c", "20", "50"});
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->description, "STATE = 50") << "with -w and -c given, the first positional is the state";
}

TEST(CheckProcsArgs, OptionForms) {
  auto r = cp({"--warning=5", "--crit", "7", "-Cfoo", "-kv", "-vT", "--metric", "RSS", "-t", "20"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->warning->text, "5");
  EXPECT_EQ(r->critical->text, "7");
  EXPECT_EQ(r->description, "command name 'foo'");
  EXPECT_EQ(r->verbose, 2);
  EXPECT_TRUE(r->traditional);
  EXPECT_EQ(r->metric, CheckProcsMetric::kRss);
  EXPECT_EQ(r->metric_name, "RSS");
  EXPECT_EQ(r->timeout_s, 20);
  ASSERT_EQ(r->match.size(), 2u);
  EXPECT_EQ(r->match[1].kind, SelectorKind::kNotKernelThread);
}

TEST(CheckProcsArgs, ErrorsUseThePluginsWords) {
  EXPECT_EQ(cp_error({"-w", "2:1"}), "Range format incorrect");
  EXPECT_EQ(cp_error({"-c", "9:3"}), "Range format incorrect");
  EXPECT_EQ(cp_error({"-m", "cpu"}), "Metric must be one of PROCS, VSZ, RSS, CPU, ELAPSED!");
  EXPECT_EQ(cp_error({"-u", "nosuchuser"}), "User name was not found - nosuchuser");
  EXPECT_EQ(cp_error({"-u", "99999"}), "UID was not found - 99999");
  EXPECT_EQ(cp_error({"-p", "x"}), "Parent Process ID must be an integer!");
  EXPECT_EQ(cp_error({"-p", "1.5"}), "Parent Process ID must be an integer!");
  EXPECT_EQ(cp_error({"-z", "10k"}), "VSZ must be an integer!");
  EXPECT_EQ(cp_error({"-r", ""}), "RSS must be an integer!");
  EXPECT_EQ(cp_error({"-P", "high"}), "PCPU must be a float!");
  EXPECT_EQ(cp_error({"-t", "x"}), "Timeout interval must be a positive integer - x");
  EXPECT_EQ(cp_error({"--ereg-argument-array", "("}),
            "PROCS UNKNOWN: Could not compile regular expression - missing ): (");
  EXPECT_EQ(cp_error({"--ereg-argument-array", "(.*)\\1"}),
            "PROCS UNKNOWN: Could not compile regular expression - backreferences are not "
            "supported (\\1; patterns are matched in linear time)");
  EXPECT_EQ(cp_error({"--ereg-argument-array=((a{1,100}){1,100}){1,100}"}),
            "PROCS UNKNOWN: Could not compile regular expression - repetition too large "
            "{1,100} (at most 1000 in all, nested counts multiply)");
  EXPECT_EQ(cp_error({"-X", "foo"}), "invalid option -- 'X'");
  EXPECT_EQ(cp_error({"-e", "10"}), "invalid option -- 'e'");
  EXPECT_EQ(cp_error({"--state=S"}), "unrecognized option '--state=S'");
  EXPECT_EQ(cp_error({"-w"}), "option requires an argument -- 'w'");
  EXPECT_EQ(cp_error({"--verbose=2"}), "option '--verbose' doesn't allow an argument");
  EXPECT_NE(cp_error({"-h"}).find("not supported"), std::string::npos);
  // "-P 1.5.5" is accepted by the plugin (a documented TODO there), so it is here too.
  EXPECT_TRUE(cp({"-P", "1.5.5"}).ok());
}

// A snapshot like the one check_procs reads from ps.
std::vector<ProcSample> machine() {
  return {
      Proc(1, "systemd").exe("/usr/lib/systemd/systemd").argv({"/sbin/init"}).ids(0, 0).state('S', "Ss").mem(160000, 12000).cpu(0, 0.1, 5000),
      Proc(2, "kthreadd").ids(0, 0).state('S', "S"),
      Proc(14, "ksoftirqd/0").ppid(2).ids(0, 0).state('S', "S"),
      Proc(20, "kworker/0:1-events").ppid(2).ids(0, 0).state('I', "I"),
      Proc(300, "cron").exe("/usr/sbin/cron").argv({"/usr/sbin/cron", "-f"}).ppid(1).ids(0, 0).state('S', "Ss").mem(6000, 2500).cpu(0, 0, 4000),
      Proc(400, "sshd").exe("/usr/sbin/sshd").argv({"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"}).ppid(1).ids(0, 0).state('S', "Ss").mem(15000, 9000).cpu(0, 0, 4000),
      Proc(401, "sshd").exe("/usr/sbin/sshd").argv({"sshd: alice [priv]"}).ppid(400).ids(0, 0).state('S', "Ss").mem(17000, 10000).cpu(0, 0, 100),
      Proc(402, "sshd").exe("/usr/sbin/sshd").argv({"sshd: alice@pts/0"}).ppid(401).ids(1000, 1000).state('S', "S").mem(17000, 7000).cpu(0, 0.4, 100),
      Proc(500, "bash").exe("/usr/bin/bash").argv({"-bash"}).ppid(402).ids(1000, 1000).state('S', "Ss").mem(8000, 5000).cpu(0, 0, 90),
      Proc(600, "yes").exe("/usr/bin/yes").argv({"yes"}).ppid(500).ids(1000, 1000).state('R', "R+").mem(5500, 1800).cpu(99, 97.6, 61),
      Proc(700, "procwatch").exe("/usr/bin/procwatch").argv({"procwatch", "check", "-C", "sshd"}).ppid(500).ids(1000, 1000).state('R', "R+"),
  };
}

const CheckProcsSelf kSelf{700, 500, "/usr/bin/procwatch"};

CheckProcsOutcome run(std::vector<std::string> args, const std::vector<ProcSample>& snap = machine(),
                      CheckProcsSelf self = kSelf) {
  auto spec = cp(std::move(args));
  EXPECT_TRUE(spec.ok()) << (spec.ok() ? "" : spec.error().message);
  return spec.ok() ? evaluate_check_procs(*spec, snap, self) : CheckProcsOutcome{};
}

TEST(CheckProcsEval, NoFiltersCountsAllButSelfAndParent) {
  auto o = run({});
  EXPECT_EQ(o.status, Status::kOk);
  EXPECT_EQ(o.procs, 9) << "11 processes minus procwatch itself and its parent shell";
  EXPECT_EQ(o.line, "PROCS OK: 9 processes | procs=9;;;0;");
}

TEST(CheckProcsEval, CommandName) {
  auto o = run({"-C", "sshd"});
  EXPECT_EQ(o.line, "PROCS OK: 3 processes with command name 'sshd' | procs=3;;;0;");
  EXPECT_EQ(o.pids, (std::vector<int32_t>{400, 401, 402}));
  EXPECT_EQ(run({"-C", "/usr/sbin/sshd"}).procs, 0) << "-C is the command name, not the path";
  EXPECT_EQ(run({"-C", "0"}).procs, 1) << "like ps+check_procs, comm 'ksoftirqd/0' is stripped to '0'";
}

TEST(CheckProcsEval, SingularProcess) {
  auto o = run({"-c", "1:1", "-C", "cron"});
  EXPECT_EQ(o.status, Status::kOk);
  EXPECT_EQ(o.line, "PROCS OK: 1 process with command name 'cron' | procs=1;;1:1;0;");
}

TEST(CheckProcsEval, CriticalWinsOverWarning) {
  auto o = run({"-w", "1:1", "-c", "1:", "-C", "atd", "-u", "root"});
  EXPECT_EQ(o.status, Status::kCritical);
  EXPECT_EQ(o.line,
            "PROCS CRITICAL: 0 processes with command name 'atd', UID = 0 (root) | "
            "procs=0;1:1;1:;0;");
  auto w = run({"-w", "1:1", "-c", "1:", "-C", "sshd"});
  EXPECT_EQ(w.status, Status::kWarning);
  EXPECT_EQ(w.line, "PROCS WARNING: 3 processes with command name 'sshd' | procs=3;1:1;1:;0;");
  auto wc = run({"-w", "5", "-c", "3"});  // both thresholds exceeded: CRITICAL
  EXPECT_EQ(wc.status, Status::kCritical);
  EXPECT_EQ(wc.line, "PROCS CRITICAL: 9 processes | procs=9;5;3;0;");
}

TEST(CheckProcsEval, InsideRangeAlerts) {
  auto o = run({"-w", "@0:0", "-C", "nosuch"});
  EXPECT_EQ(o.status, Status::kWarning);
  EXPECT_EQ(o.line, "PROCS WARNING: 0 processes with command name 'nosuch' | procs=0;@0:0;;0;");
}

TEST(CheckProcsEval, UserIsEffectiveUid) {
  auto snap = machine();
  snap.push_back(Proc(800, "passwd").ids(1000, 1000).euid(0));
  auto o = run({"-u", "0"}, snap);
  // systemd, kthreadd, ksoftirqd, kworker, cron, sshd x2 and the setuid passwd
  EXPECT_EQ(o.procs, 8);
  EXPECT_EQ(o.line, "PROCS OK: 8 processes with UID = 0 (root) | procs=8;;;0;");
}

TEST(CheckProcsEval, ArgsSubstringAndRegex) {
  EXPECT_EQ(run({"-a", "alice"}).procs, 2);
  EXPECT_EQ(run({"-a", "[kworker"}).procs, 1) << "kernel threads have [comm] as args";
  EXPECT_EQ(run({"--ereg-argument-array", "^sshd: [a-z]+@"}).procs, 1);
  EXPECT_EQ(run({"--ereg-argument-array", "^sshd: [a-z]+@", "-a", "priv"}).procs, 0);
}

TEST(CheckProcsEval, PpidStateKthreads) {
  EXPECT_EQ(run({"-p", "1"}).procs, 2);
  EXPECT_EQ(run({"-s", "R"}).procs, 1) << "yes is R+, procwatch itself is excluded";
  EXPECT_EQ(run({"-s", "s"}).procs, 4) << "session leaders (Ss) minus the excluded parent bash";
  EXPECT_EQ(run({"-s", "SR"}).procs, 0);
  auto k = run({"-k"});
  EXPECT_EQ(k.procs, 7) << "children of kthreadd are dropped, kthreadd itself stays";
  EXPECT_EQ(k.line, "PROCS OK: 7 processes | procs=7;;;0;");
}

TEST(CheckProcsEval, SelfExclusionByExeOrPid) {
  auto snap = machine();
  snap.push_back(Proc(900, "procwatch").exe("/usr/bin/procwatch").ids(0, 0));  // the daemon
  EXPECT_EQ(run({"-C", "procwatch"}, snap).procs, 0) << "same executable as ours";
  EXPECT_EQ(run({"-T", "-C", "procwatch"}, snap).procs, 1) << "-T: only our own pid";
  EXPECT_EQ(run({"-C", "procwatch"}, snap, CheckProcsSelf{700, 500, ""}).procs, 1);
  EXPECT_EQ(run({"-C", "bash"}, snap, CheckProcsSelf{700, 1, ""}).procs, 1)
      << "the parent is excluded only when it is our parent";
}

TEST(CheckProcsEval, PerProcessMetrics) {
  auto vsz = run({"-m", "VSZ", "-w", "10000", "-c", "16000", "-C", "sshd"});
  EXPECT_EQ(vsz.status, Status::kCritical);
  EXPECT_EQ(vsz.crit, 2);
  EXPECT_EQ(vsz.warn, 1);
  EXPECT_EQ(vsz.line,
            "VSZ CRITICAL: 2 crit, 1 warn out of 3 processes with command name 'sshd' | "
            "procs=3;;;0; procs_warn=1;;;0; procs_crit=2;;;0;");
  auto rss = run({"-m", "RSS", "-w", "9500", "-C", "sshd", "-v"});
  EXPECT_EQ(rss.status, Status::kWarning);
  EXPECT_EQ(rss.line,
            "RSS WARNING: 1 warn out of 3 processes with command name 'sshd' [sshd] | "
            "procs=3;;;0; procs_warn=1;;;0; procs_crit=0;;;0;");
  auto cpu = run({"-m", "CPU", "-w", "10", "-c", "20"});
  EXPECT_EQ(cpu.status, Status::kCritical);
  EXPECT_EQ(cpu.line,
            "CPU CRITICAL: 1 crit, 0 warn out of 9 processes | procs=9;;;0; procs_warn=0;;;0; "
            "procs_crit=1;;;0;");
  auto ok = run({"-m", "CPU", "-w", "99", "-c", "100"});
  EXPECT_EQ(ok.line, "CPU OK: 9 processes | procs=9;;;0; procs_warn=0;;;0; procs_crit=0;;;0;");
  auto el = run({"-m", "ELAPSED", "-w", "3600", "-C", "cron"});
  EXPECT_EQ(el.status, Status::kWarning);
  EXPECT_EQ(el.warn, 1);
}

TEST(CheckProcsEval, EmptySnapshotIsUnknown) {
  auto o = run({"-C", "x"}, {});
  EXPECT_EQ(o.status, Status::kUnknown);
  EXPECT_EQ(o.line, "Unable to read output");
}

}  // namespace
}  // namespace procwatch::rules
