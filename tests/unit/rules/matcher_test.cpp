#include <gtest/gtest.h>

#include "rules/config.h"
#include "rules/matcher.h"
#include "test_util.h"

namespace procwatch::rules {
namespace {

using testing::fake_ids;
using testing::Proc;

Selector sel(SelectorKind k, const char* written) {
  auto s = make_selector(k, written, fake_ids());
  EXPECT_TRUE(s.ok()) << written << ": " << (s.ok() ? "" : s.error().message);
  return s.ok() ? s.value() : Selector{};
}

struct SelCase {
  const char* label;
  SelectorKind kind;
  const char* written;
  ProcSample proc;
  bool expect;
};

class SelectorTable : public ::testing::TestWithParam<SelCase> {};

TEST_P(SelectorTable, Matches) {
  const auto& c = GetParam();
  Selector s = sel(c.kind, c.written);
  MatchContext ctx;
  ctx.kthreadd_pid = 2;
  EXPECT_EQ(selector_matches(s, c.proc, ctx), c.expect) << c.label;
}

using K = SelectorKind;
const ProcSample kSshd = Proc(100, "sshd").exe("/usr/sbin/sshd").argv({"sshd: /usr/sbin/sshd -D [listener]"}).ids(0, 0)
                             .parent("systemd").context("system_u:system_r:sshd_t:s0-s0:c0.c1023")
                             .cgroup("/system.slice/ssh.service").tree("ssh");
const ProcSample kMaster = Proc(200, "master").exe("/usr/lib/postfix/sbin/master").argv({"/usr/lib/postfix/sbin/master", "-w"}).ids(0, 0);
const ProcSample kOtherMaster = Proc(201, "master").exe("/opt/other/bin/master").ids(1000, 1000);
const ProcSample kScript = Proc(300, "python3").exe("/usr/bin/python3.11").argv({"/usr/bin/python3", "-u", "/usr/sbin/unattended-upgrade", "--dry-run"}).ids(0, 0);
const ProcSample kSetuidBug = Proc(400, "buggy").exe("/usr/bin/buggy").ids(1000, 0).euid(1000).egid(0);
const ProcSample kInContainer = Proc(500, "nginx").exe("/usr/sbin/nginx").container("3f2a9c0d11aa").ids(101, 101);
const ProcSample kInPod = Proc(501, "nginx").exe("/usr/sbin/nginx").container("9e1f").names("nginx", "registry.k8s.io/nginx:1.25", "web-7d4b9c", "shop").ids(101, 101);
const ProcSample kInPodman = Proc(502, "sh").exe("/bin/sh").container("a1b2").names("pwtest-xyz", "localhost/pwtest:latest").ids(0, 0);
const ProcSample kUnknownIds = Proc(600, "gone").unknown_ids();
const ProcSample kInit = Proc(1, "systemd").exe("/usr/lib/systemd/systemd").context("system_u:system_r:init_t:s0").ids(0, 0);
const ProcSample kKworker = Proc(77, "kworker/0:1-eve").ppid(2).ids(0, 0);

INSTANTIATE_TEST_SUITE_P(
    Selectors, SelectorTable,
    ::testing::Values(
        SelCase{"name = comm", K::kName, "sshd", kSshd, true},
        SelCase{"name other", K::kName, "cron", kSshd, false},
        SelCase{"!name", K::kName, "!cron", kSshd, true},
        SelCase{"!name same", K::kName, "!sshd", kSshd, false},
        SelCase{"name = exe base", K::kName, "python3.11", kScript, true},
        SelCase{"name = argv0 base", K::kName, "python3", kScript, true},
        SelCase{"name = script", K::kName, "unattended-upgrade", kScript, true},
        SelCase{"name not an option", K::kName, "--dry-run", kScript, false},
        SelCase{"name is not glob", K::kName, "ssh*", kSshd, false},
        SelCase{"exe exact", K::kExe, "/usr/lib/postfix/sbin/master", kMaster, true},
        SelCase{"exe tells masters apart", K::kExe, "/usr/lib/postfix/sbin/master", kOtherMaster, false},
        SelCase{"exe glob", K::kExe, "/usr/lib/*/master", kMaster, true},
        SelCase{"exe glob crosses /", K::kExe, "/usr/*", kMaster, true},
        SelCase{"!exe", K::kExe, "!/usr/lib/postfix/sbin/master", kOtherMaster, true},
        SelCase{"exe unknown never matches", K::kExe, "*", kKworker, false},
        SelCase{"!exe unknown", K::kExe, "!/usr/*", kKworker, true},
        SelCase{"args regex", K::kArgs, "-u .*unattended", kScript, true},
        SelCase{"args anchored", K::kArgs, "^/usr/bin/python3 ", kScript, true},
        SelCase{"args miss", K::kArgs, "^-u", kScript, false},
        SelCase{"!args", K::kArgs, "!--dry-run", kScript, false},
        SelCase{"user name", K::kUser, "root", kSshd, true},
        SelCase{"user uid", K::kUser, "1000", kOtherMaster, true},
        SelCase{"user other", K::kUser, "alice", kSshd, false},
        SelCase{"!user", K::kUser, "!root", kOtherMaster, true},
        SelCase{"user unknown ids", K::kUser, "root", kUnknownIds, false},
        SelCase{"!user unknown ids", K::kUser, "!root", kUnknownIds, false},
        SelCase{"uid", K::kUid, "0", kSshd, true},
        SelCase{"uid real not effective", K::kUid, "1000", kSetuidBug, true},
        SelCase{"!uid", K::kUid, "!0", kSshd, false},
        SelCase{"group name", K::kGroup, "root", kSetuidBug, true},
        SelCase{"group other", K::kGroup, "adm", kSetuidBug, false},
        SelCase{"gid", K::kGid, "1000", kOtherMaster, true},
        SelCase{"!gid", K::kGid, "!1000", kOtherMaster, false},
        SelCase{"euid", K::kEuid, "1000", kSetuidBug, true},
        SelCase{"euid name", K::kEuid, "alice", kSetuidBug, true},
        SelCase{"!euid 0 on bug", K::kEuid, "!0", kSetuidBug, true},
        SelCase{"!euid 0 on root", K::kEuid, "!0", kSshd, false},
        SelCase{"egid", K::kEgid, "0", kSetuidBug, true},
        SelCase{"egid name", K::kEgid, "root", kSetuidBug, true},
        SelCase{"!egid", K::kEgid, "!0", kSetuidBug, false},
        SelCase{"euid unknown ids", K::kEuid, "!0", kUnknownIds, false},
        SelCase{"context glob", K::kContext, "*:init_t:*", kInit, true},
        SelCase{"context other domain", K::kContext, "*:init_t:*", kSshd, false},
        SelCase{"!context", K::kContext, "!*:init_t:*", kSshd, true},
        SelCase{"cgroup glob", K::kCgroup, "/system.slice/*", kSshd, true},
        SelCase{"cgroup miss", K::kCgroup, "/user.slice/*", kSshd, false},
        SelCase{"container prefix", K::kContainer, "3f2a", kInContainer, true},
        SelCase{"container other prefix", K::kContainer, "abcd", kInContainer, false},
        SelCase{"container any", K::kContainer, "any", kInContainer, true},
        SelCase{"container any on host", K::kContainer, "any", kSshd, false},
        SelCase{"container none on host", K::kContainer, "none", kSshd, true},
        SelCase{"container none in container", K::kContainer, "none", kInContainer, false},
        SelCase{"!container none", K::kContainer, "!none", kInContainer, true},
        SelCase{"container_name glob", K::kContainerName, "pwtest-*", kInPodman, true},
        SelCase{"container_name other", K::kContainerName, "pwtest-*", kInPod, false},
        SelCase{"container_name * not on host", K::kContainerName, "*", kSshd, false},
        SelCase{"container_name * unnamed", K::kContainerName, "*", kInContainer, false},
        SelCase{"!container_name on host", K::kContainerName, "!pwtest-*", kSshd, true},
        SelCase{"!container_name same", K::kContainerName, "!pwtest-*", kInPodman, false},
        SelCase{"image glob", K::kImage, "registry.k8s.io/*", kInPod, true},
        SelCase{"image exact", K::kImage, "localhost/pwtest:latest", kInPodman, true},
        SelCase{"!image", K::kImage, "!localhost/*", kInPod, true},
        SelCase{"pod glob", K::kPod, "web-*", kInPod, true},
        SelCase{"pod outside a pod", K::kPod, "*", kInPodman, false},
        SelCase{"namespace", K::kNamespace, "shop", kInPod, true},
        SelCase{"namespace other", K::kNamespace, "kube-*", kInPod, false},
        SelCase{"!namespace", K::kNamespace, "!kube-system", kInPod, true},
        SelCase{"tree glob", K::kTree, "ss*", kSshd, true},
        SelCase{"!tree", K::kTree, "!ssh", kSshd, false},
        SelCase{"parent", K::kParent, "systemd", kSshd, true},
        SelCase{"parent miss", K::kParent, "init", kSshd, false},
        SelCase{"!parent unknown", K::kParent, "!systemd", kMaster, true}),
    [](const ::testing::TestParamInfo<SelCase>& info) {
      std::string n;
      for (char c : std::string(info.param.label)) n += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n + "_" + std::to_string(info.index);
    });

TEST(Matcher, AllSelectorsMustHold) {
  std::vector<Selector> m = {sel(K::kEgid, "0"), sel(K::kEuid, "!0")};
  MatchContext ctx;
  EXPECT_TRUE(rule_matches(m, kSetuidBug, ctx));
  EXPECT_FALSE(rule_matches(m, kSshd, ctx));
  EXPECT_FALSE(rule_matches(m, kOtherMaster, ctx));
  EXPECT_TRUE(rule_matches({}, kOtherMaster, ctx)) << "empty match selects every process";
}

TEST(Matcher, CheckProcsFilters) {
  MatchContext ctx;
  ctx.kthreadd_pid = 2;
  Selector comm;
  comm.kind = K::kCommBase;
  comm.value = "0:1-eve";  // check_procs strips up to the last '/' of comm
  EXPECT_TRUE(selector_matches(comm, kKworker, ctx));
  comm.value = "kworker/0:1-eve";
  EXPECT_FALSE(selector_matches(comm, kKworker, ctx));

  Selector sub;
  sub.kind = K::kArgsSubstring;
  sub.value = "[kworker/";  // kernel threads have "[comm]" as args
  EXPECT_TRUE(selector_matches(sub, kKworker, ctx));
  sub.value = "postfix/sbin/master -w";
  EXPECT_TRUE(selector_matches(sub, kMaster, ctx));

  Selector kt;
  kt.kind = K::kNotKernelThread;
  EXPECT_FALSE(selector_matches(kt, kKworker, ctx));
  EXPECT_TRUE(selector_matches(kt, kSshd, ctx));

  Selector st;
  st.kind = K::kStateFlags;
  st.value = "s";
  EXPECT_TRUE(selector_matches(st, Proc(9, "x").state('S', "Ss"), ctx));
  EXPECT_FALSE(selector_matches(st, Proc(9, "x").state('S'), ctx));
  st.value = "Z";
  EXPECT_TRUE(selector_matches(st, Proc(9, "x").state('Z'), ctx));
}

TEST(Matcher, ContextFindsKthreadd) {
  std::vector<ProcSample> snap = {kSshd, Proc(2, "kthreadd"), kKworker};
  EXPECT_EQ(make_match_context(snap).kthreadd_pid, 2);
  EXPECT_EQ(make_match_context({kSshd}).kthreadd_pid, 0);
}

TEST(Matcher, ScriptName) {
  EXPECT_EQ(script_name(static_cast<ProcSample>(kScript).info), "unattended-upgrade");
  EXPECT_EQ(script_name(Proc(1, "sh").exe("/usr/bin/dash").argv({"sh", "-c", "echo"}).s.info), "");
  EXPECT_EQ(script_name(Proc(1, "sshd").exe("/usr/sbin/sshd").argv({"sshd", "x"}).s.info), "");
  EXPECT_EQ(script_name(Proc(1, "perl").exe("/usr/bin/perl").argv({"perl", "-w", "/usr/bin/mon"}).s.info), "mon");
}

TEST(Matcher, GlobEscapeIsLiteral) {
  EXPECT_TRUE(glob_match(glob_escape("/opt/a*b[1]"), "/opt/a*b[1]"));
  EXPECT_FALSE(glob_match(glob_escape("/opt/a*b"), "/opt/axxb"));
}

TEST(Selector, BuildErrors) {
  auto ids = fake_ids();
  EXPECT_EQ(make_selector(K::kArgs, "(", ids).error().message.rfind("bad regex '('", 0), 0u);
  EXPECT_NE(make_selector(K::kUid, "root", ids).error().message.find("expects a number"), std::string::npos);
  EXPECT_NE(make_selector(K::kGroup, "nogroup-here", ids).error().message.find("unknown group"), std::string::npos);
  EXPECT_NE(make_selector(K::kEuid, "nobody-here", ids).error().message.find("unknown user"), std::string::npos);
  EXPECT_NE(make_selector(K::kName, "!", ids).error().message.find("empty value"), std::string::npos);
  // user falls back to a name comparison when the name is not known here
  auto u = make_selector(K::kUser, "carol", ids);
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->id.has_value());
  EXPECT_TRUE(selector_matches(*u, Proc(5, "x").ids(5000, 5000).user("carol"), MatchContext{}));
}

}  // namespace
}  // namespace procwatch::rules

#include "naming/interpreter.h"
#include "naming/tree_namer.h"

namespace procwatch::rules {
namespace {

using testing::Proc;

// Paths and argv are bytes: a selector written with \xNN matches them exactly.
TEST(MatcherRawBytes, SelectorsMatchTheBytes) {
  const ProcSample odd = Proc(10, "tr\xffue").exe("/tmp/x\xff\xfe/true")
                             .argv({"/tmp/x\xff\xfe/true", "arg\xff"}).ids(0, 0);
  const ProcSample other = Proc(11, "true").exe("/tmp/x\xfe\xff/true")
                               .argv({"/tmp/x\xfe\xff/true"}).ids(0, 0);
  MatchContext ctx;
  const std::tuple<SelectorKind, const char*, bool, bool> cases[] = {
      {K::kExe, "/tmp/x\\xff\\xfe/*", true, false},
      {K::kExe, "/tmp/x\\xFF\\xFE/true", true, false},
      {K::kExe, "/tmp/x\\xfe\\xff/*", false, true},
      {K::kExe, "/tmp/x?\?/true", true, true},  // '?' is one byte
      {K::kName, "tr\\xffue", true, false},
      {K::kArgs, "x\\xff\\xfe/true arg\\xff$", true, false},  // RE2 in Latin-1: bytes
      {K::kArgs, "^/tmp/x../true", true, true},                // '.' is one byte
      {K::kArgs, "^/tmp/x\\xfe", false, true},
  };
  for (const auto& [kind, written, want_odd, want_other] : cases) {
    Selector s = sel(kind, written);
    EXPECT_EQ(selector_matches(s, odd, ctx), want_odd) << written;
    EXPECT_EQ(selector_matches(s, other, ctx), want_other) << written;
  }
}

TEST(MatcherRawBytes, DecodeByteEscapes) {
  EXPECT_EQ(decode_byte_escapes("a\\xffb", false).value(), "a\xff" "b");
  EXPECT_EQ(decode_byte_escapes("a\\xffb", true).value(), "a\\\xff" "b");
  EXPECT_EQ(decode_byte_escapes("a\\x2a", true).value(), "a\\*");  // a literal '*'
  EXPECT_EQ(decode_byte_escapes("a\\\\xff", true).value(), "a\\\\xff");  // escaped backslash
  EXPECT_EQ(decode_byte_escapes("a\\xf", true).value(), "a\\xf");   // not two hex digits
  EXPECT_EQ(decode_byte_escapes("a\\", true).value(), "a\\");
  EXPECT_FALSE(decode_byte_escapes("a\\x00", true).ok());
  EXPECT_TRUE(glob_match(decode_byte_escapes("a\\x2a", true).value(), "a*"));
  EXPECT_FALSE(glob_match(decode_byte_escapes("a\\x2a", true).value(), "ab"));
  EXPECT_TRUE(glob_match(sel(K::kExe, "/opt/a\\\\xff").value, "/opt/a\\xff"));
  EXPECT_FALSE(make_selector(K::kExe, "/a\\x00", fake_ids()).ok());
}

// Rule `name:` and the tree name read the same argument as the script (naming's table).
TEST(MatcherScript, AgreesWithTreeNames) {
  NamingOptions o;
  o.dpkg_root = "";
  const TreeNamer namer(o);
  struct Case {
    const char* exe;
    std::vector<std::string> argv;
    const char* script;  // "" = none: the label is then "base" or the exe's base name
  };
  const Case cases[] = {
      {"/usr/bin/python3.11", {"python3", "-W", "ignore", "x.py"}, "x.py"},
      {"/usr/bin/python3.11", {"python3", "-Wignore", "-u", "/srv/x.py"}, "x.py"},
      {"/usr/bin/python3.11", {"python3", "-m", "http.server", "8000"}, "http.server"},
      {"/usr/bin/python3.11", {"python3", "-c", "import x", "y.py"}, ""},
      {"/usr/bin/bash", {"bash", "-c", "echo hi", "x.sh"}, ""},
      {"/usr/bin/bash", {"bash", "-e", "-o", "pipefail", "run.sh"}, "run.sh"},
      {"/usr/bin/perl", {"perl", "-e", "print 1", "x.pl"}, ""},
      {"/usr/bin/perl", {"perl", "-w", "/usr/bin/mon"}, "mon"},
      {"/usr/bin/env", {"/usr/bin/env", "python3", "x.py"}, ""},
      {"/usr/bin/node", {"node", "--inspect", "x.js"}, "x.js"},
      {"/usr/bin/node", {"node", "-r", "ts-node/register", "x.ts"}, "x.ts"},
      {"/bin/busybox", {"busybox", "sh", "-e", "y.sh"}, "y.sh"},
      {"/usr/sbin/sshd", {"sshd", "x"}, ""},
  };
  for (const auto& c : cases) {
    ProcInfo p;
    p.exe = c.exe;
    p.comm = std::string(path_base(c.exe)).substr(0, 15);
    p.argv = c.argv;
    EXPECT_EQ(script_name(p), c.script) << c.argv[0] << " " << c.argv[1];
    const std::string label = namer.label(p);
    if (*c.script) {
      EXPECT_EQ(label, c.script) << c.argv[1];
      EXPECT_TRUE(name_matches(p, c.script, false)) << c.script;
    } else {
      EXPECT_TRUE(label == "base" || label == path_base(c.exe)) << label;
    }
  }
  ProcInfo w;
  w.exe = "/usr/bin/python3.11";
  w.comm = "python3";
  w.argv = {"python3", "-W", "ignore", "x.py"};
  EXPECT_FALSE(name_matches(w, "ignore", false)) << "-W takes a value: 'ignore' is no script";
  EXPECT_TRUE(name_matches(w, "x.py", false));
}

}  // namespace
}  // namespace procwatch::rules
