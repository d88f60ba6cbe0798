#include "naming/tree_namer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace procwatch {
namespace {

const std::string kDpkg = std::string(NAMING_FIXTURES) + "/dpkg";

NamingOptions fixture_options() {
  NamingOptions o;
  o.dpkg_root = kDpkg;
  return o;
}

ProcInfo proc(int pid, int ppid, std::string exe, std::vector<std::string> argv,
              std::string comm = "") {
  ProcInfo p;
  p.key = {pid, static_cast<uint64_t>(pid) * 10};
  p.ppid = ppid;
  p.parent_start_time = static_cast<uint64_t>(ppid) * 10;
  if (comm.empty()) {
    std::string from = exe.empty() ? (argv.empty() ? "" : argv[0]) : exe;
    comm = from.substr(from.rfind('/') + 1).substr(0, 15);
  }
  p.comm = std::move(comm);
  p.exe = std::move(exe);
  p.argv = std::move(argv);
  return p;
}

// Names each process in order with the previous one as parent, like the engine does at exec;
// returns every name.
std::vector<std::string> name_chain(const TreeNamer& namer, std::vector<ProcInfo>& chain) {
  std::vector<std::string> names;
  const ProcInfo* parent = nullptr;
  for (auto& p : chain) {
    p.tree = namer.name(p, parent);
    names.push_back(p.tree);
    parent = &p;
  }
  return names;
}

class TreeNamerTest : public ::testing::Test {
 protected:
  TreeNamer namer_{fixture_options()};
};

TEST_F(TreeNamerTest, ExampleSshdToPromCnproc) {
  std::vector<ProcInfo> chain = {
      proc(1, 0, "/usr/lib/systemd/systemd", {"/sbin/init"}),
      proc(600, 1, "/usr/sbin/sshd", {"sshd: serge [priv]"}),
      proc(700, 600, "/usr/bin/bash", {"-bash"}),
      proc(800, 700, "/usr/bin/dash", {"sh", "server.sh"}),
      proc(900, 800, "/usr/bin/sudo", {"sudo", "bash"}),
      proc(901, 900, "/usr/bin/bash", {"bash"}),
      proc(902, 901, "/usr/local/bin/prom-cnproc", {"prom-cnproc", "--port", "9501"}),
  };
  EXPECT_EQ(name_chain(namer_, chain),
            (std::vector<std::string>{"/", "/sshd", "/sshd/base", "/sshd/base/server.sh",
                                      "/sshd/base/server.sh/sudo", "/sshd/base/server.sh/sudo/base",
                                      "/sshd/base/server.sh/sudo/base/prom-cnproc"}));
  // Same without systemd in the table: sshd is an orphan-rooted chain either way.
  std::vector<ProcInfo> tail(chain.begin() + 1, chain.end());
  EXPECT_EQ(name_chain(namer_, tail).back(), "/sshd/base/server.sh/sudo/base/prom-cnproc");
}

TEST_F(TreeNamerTest, ExampleCronRandomScript) {
  std::vector<ProcInfo> chain = {
      proc(500, 1, "/usr/sbin/cron", {"/usr/sbin/cron", "-f"}),
      proc(510, 500, "/usr/bin/python3.11", {"python3", "/tmp/ZW50cm9weQo/top.py"}),
  };
  EXPECT_EQ(name_chain(namer_, chain).back(), "/random/cron/top.py");

  // Realistic: cron forks a cron child, which runs sh -c, which runs python.
  std::vector<ProcInfo> real = {
      proc(500, 1, "/usr/sbin/cron", {"/usr/sbin/cron", "-f"}),
      proc(520, 500, "/usr/sbin/cron", {"/usr/sbin/cron", "-f"}),
      proc(521, 520, "/usr/bin/dash", {"/bin/sh", "-c", "python3 /tmp/ZW50cm9weQo/top.py"}),
      proc(522, 521, "/usr/bin/python3.11", {"python3", "/tmp/ZW50cm9weQo/top.py"}),
      proc(523, 522, "/usr/bin/python3.11", {"python3", "/tmp/ZW50cm9weQo/top.py"}),
      proc(524, 523, "/usr/bin/ls", {"ls", "-l"}),
  };
  EXPECT_EQ(name_chain(namer_, real),
            (std::vector<std::string>{"/cron", "/cron", "/cron/base", "/random/cron/base/top.py",
                                      "/random/cron/base/top.py",
                                      "/random/cron/base/top.py/base"}));
}

TEST_F(TreeNamerTest, RandomPrefixOnceAndInherited) {
  std::vector<ProcInfo> chain = {
      proc(100, 1, "/tmp/tmp.aB3dE9fG2h/agent", {"agent"}),
      proc(101, 100, "/usr/bin/bash", {"bash", "/var/tmp/3f9a2b7c1d4e5f60a1b2/x.sh"}),
      proc(102, 101, "/opt/tool/bin/tool", {"tool"}),
  };
  EXPECT_EQ(name_chain(namer_, chain),
            (std::vector<std::string>{"/random/agent", "/random/agent/x.sh",
                                      "/random/agent/x.sh/tool"}));
}

TEST_F(TreeNamerTest, RandomFileNameBecomesLabel) {
  ProcInfo cron = proc(500, 1, "/usr/sbin/cron", {"cron"});
  cron.tree = "/cron";
  ProcInfo bin = proc(501, 500, "/tmp/ZW50cm9weQo", {"./ZW50cm9weQo"});
  EXPECT_EQ(namer_.label(bin), "random");
  EXPECT_EQ(namer_.name(bin, &cron), "/cron/random");  // /tmp itself is not random
  ProcInfo script = proc(502, 500, "/usr/bin/bash", {"bash", "/srv/kJhGfDsAqWeR"});
  EXPECT_EQ(namer_.name(script, &cron), "/cron/random");
  ProcInfo mod = proc(503, 500, "/usr/bin/python3.11", {"python3", "-m", "kJhGfDsAqWeR"});
  EXPECT_EQ(namer_.label(mod), "random");
}

TEST_F(TreeNamerTest, RandomCollapsesAcrossPrefix) {
  // Random dir and random file name at the chain's root: one component, not /random/random.
  ProcInfo p = proc(100, 1, "/tmp/tmp.aB3dE9fG2h/Xy7Pq2Lm9Rt4", {"x"});
  EXPECT_EQ(namer_.name(p, nullptr), "/random");
  p.tree = "/random";
  ProcInfo child = proc(101, 100, "/tmp/tmp.aB3dE9fG2h/Xy7Pq2Lm9Rt4", {"x"});
  EXPECT_EQ(namer_.name(child, &p), "/random");
  // A child labelled like the parent's last label collapses under the prefix too.
  ProcInfo top;
  top.key = {510, 5100};
  top.tree = "/random/cron/top.py";
  ProcInfo again = proc(511, 510, "/usr/bin/python3.11", {"python3", "top.py"});
  EXPECT_EQ(namer_.name(again, &top), "/random/cron/top.py");
  ProcInfo other = proc(512, 510, "/usr/bin/python3.11", {"python3", "other.py"});
  EXPECT_EQ(namer_.name(other, &top), "/random/cron/top.py/other.py");
}

TEST_F(TreeNamerTest, EnvShebangReExecNamesTheScript) {
  ProcInfo cron = proc(500, 1, "/usr/sbin/cron", {"cron"});
  cron.tree = "/cron";
  // #!/usr/bin/env python3: the kernel execs env with the script as an argument ...
  ProcInfo p = proc(530, 500, "/usr/bin/env", {"/usr/bin/env", "python3", "./job.py", "--now"});
  p.tree = namer_.name(p, &cron);
  EXPECT_EQ(p.tree, "/cron/base");  // env is coreutils, not an interpreter
  // ... then env execs python3 in the same process: that exec is what names it.
  p.exe = "/usr/bin/python3.11";
  p.argv = {"python3", "./job.py", "--now"};
  p.comm = "python3";
  p.tree = namer_.name(p, &cron);
  EXPECT_EQ(p.tree, "/cron/job.py");
  // #!/bin/bash direct shebang: argv[0] is the interpreter path, then the script.
  ProcInfo sh = proc(531, 500, "/usr/bin/bash", {"/bin/bash", "./deploy.sh", "prod"}, "deploy.sh");
  EXPECT_EQ(namer_.name(sh, &cron), "/cron/deploy.sh");
  // #!/usr/bin/env -S bash -e: env with options is still env.
  ProcInfo envs = proc(532, 500, "/usr/bin/env", {"/usr/bin/env", "-S", "bash -e", "./x.sh"});
  EXPECT_EQ(namer_.label(envs), "base");
}

TEST_F(TreeNamerTest, InterpreterLabels) {
  struct Case {
    std::string exe;
    std::vector<std::string> argv;
    std::string label;
  };
  const Case cases[] = {
      {"/usr/bin/python3.11", {"python3", "-u", "-W", "ignore", "x.py"}, "x.py"},
      {"/usr/bin/python3.11", {"python3", "-m", "pkg.mod"}, "pkg.mod"},
      {"/usr/bin/python3.11", {"python3", "-c", "import x"}, "python3.11"},  // rule 3
      {"/usr/bin/python3.11", {"python3"}, "python3.11"},
      {"/usr/bin/python3.11", {"python3", "--", "/opt/app/main.py"}, "main.py"},
      {"/usr/bin/bash", {"bash", "-e", "x.sh"}, "x.sh"},
      {"/usr/bin/bash", {"bash", "-o", "pipefail", "x.sh"}, "x.sh"},
      {"/usr/bin/bash", {"bash", "-c", "make all"}, "base"},  // rule 2: bash is essential
      {"/usr/bin/bash", {"-bash"}, "base"},
      {"/usr/bin/dash", {"sh", "-c", "x"}, "base"},
      {"/usr/bin/perl", {"perl", "-w", "x.pl"}, "x.pl"},
      {"/usr/bin/perl", {"perl", "-e", "print 1"}, "base"},  // perl-base is essential here
      {"/usr/bin/ruby3.1", {"ruby", "-I", "lib", "x.rb"}, "x.rb"},
      {"/usr/bin/ruby3.1", {"ruby", "-e", "1"}, "ruby3.1"},
      {"/usr/bin/node", {"node", "--inspect=9229", "app.js"}, "app.js"},
      {"/usr/bin/node", {"node", "/srv/app/node_modules/.bin/next", "start"}, "next"},
      {"/usr/bin/php8.2", {"php", "artisan", "queue:work"}, "artisan"},
      {"/usr/bin/lua5.4", {"lua", "x.lua"}, "x.lua"},
      {"/usr/bin/zsh", {"zsh", "-l"}, "zsh"},
  };
  for (const auto& c : cases) {
    ProcInfo p = proc(10, 9, c.exe, c.argv);
    EXPECT_EQ(namer_.label(p), c.label) << c.exe << " " << c.argv.size();
  }
}

TEST_F(TreeNamerTest, BusyboxSh) {
  EXPECT_EQ(namer_.label(proc(10, 9, "/bin/busybox", {"sh", "x.sh"})), "x.sh");
  EXPECT_EQ(namer_.label(proc(10, 9, "/bin/busybox", {"/bin/sh", "-e", "/etc/init.sh"})),
            "init.sh");
  EXPECT_EQ(namer_.label(proc(10, 9, "/bin/busybox", {"busybox", "sh", "-e", "y.sh"})), "y.sh");
  EXPECT_EQ(namer_.label(proc(10, 9, "/bin/busybox", {"-sh"})), "base");  // sh applet is base
  EXPECT_EQ(namer_.label(proc(10, 9, "/bin/busybox", {"ls", "-l"})), "base");
  EXPECT_EQ(namer_.label(proc(10, 9, "/bin/busybox", {"wget", "http://x"})), "busybox");
  EXPECT_EQ(namer_.label(proc(10, 9, "/bin/busybox", {"busybox"})), "busybox");
}

TEST_F(TreeNamerTest, BaseFromFixtureDpkg) {
  EXPECT_EQ(namer_.base_set().source(), BaseSet::Source::kDpkg);
  EXPECT_EQ(namer_.label(proc(10, 9, "/usr/bin/ls", {"ls"})), "base");
  EXPECT_EQ(namer_.label(proc(10, 9, "/usr/bin/dash", {"sh"})), "base");
  EXPECT_EQ(namer_.label(proc(10, 9, "/usr/bin/fixture-essential-tool", {"t"})), "base");
  EXPECT_EQ(namer_.label(proc(10, 9, "/usr/sbin/fixture-sbin-tool", {"t"})), "base");
  EXPECT_EQ(namer_.label(proc(10, 9, "/usr/bin/sudo", {"sudo", "-i"})), "sudo");
  // grep is essential on Debian but not in this fixture: proves the db is what counts.
  EXPECT_EQ(namer_.label(proc(10, 9, "/usr/bin/grep", {"grep", "x"})), "grep");
  EXPECT_EQ(namer_.label(proc(10, 9, "/usr/sbin/sshd", {"sshd"})), "sshd");
}

TEST(TreeNamerBase, BuiltinFallbackWithoutDpkg) {
  NamingOptions o;
  o.dpkg_root = "/nonexistent/dpkg";
  TreeNamer namer(o);
  EXPECT_EQ(namer.base_set().source(), BaseSet::Source::kBuiltin);
  EXPECT_EQ(namer.label(proc(10, 9, "/usr/bin/grep", {"grep"})), "base");
  EXPECT_EQ(namer.label(proc(10, 9, "/bin/bash", {"bash"})), "base");
  EXPECT_EQ(namer.label(proc(10, 9, "/usr/bin/sudo", {"sudo"})), "sudo");
  EXPECT_EQ(namer.label(proc(10, 9, "/usr/bin/fixture-essential-tool", {"t"})),
            "fixture-essential-tool");
}

TEST(TreeNamerBase, ConfigAdjustsBaseSet) {
  NamingOptions o = fixture_options();
  o.extra_base = {"sudo"};
  o.not_base = {"ls"};
  TreeNamer namer(o);
  EXPECT_EQ(namer.label(proc(10, 9, "/usr/bin/sudo", {"sudo"})), "base");
  EXPECT_EQ(namer.label(proc(10, 9, "/usr/bin/ls", {"ls"})), "ls");
  EXPECT_EQ(namer.label(proc(10, 9, "/usr/bin/cat", {"cat"})), "base");
}

TEST(TreeNamerBase, RealMachineDefaultOptions) {
  if (access("/var/lib/dpkg/status", R_OK) != 0) GTEST_SKIP() << "no dpkg database here";
  TreeNamer namer;
  EXPECT_EQ(namer.base_set().source(), BaseSet::Source::kDpkg);
  EXPECT_TRUE(namer.is_base("ls"));
  EXPECT_TRUE(namer.is_base("bash"));
  EXPECT_TRUE(namer.is_base("sh"));
  EXPECT_FALSE(namer.is_base("sudo"));
  EXPECT_EQ(namer.label(proc(10, 9, "/usr/bin/ls", {"ls"})), "base");
}

TEST(TreeNamerBase, ExtraInterpreters) {
  NamingOptions o = fixture_options();
  o.extra_interpreters = {"myinterp"};
  TreeNamer namer(o);
  EXPECT_EQ(namer.label(proc(10, 9, "/opt/bin/myinterp", {"myinterp", "-v", "job.my"})),
            "job.my");
  EXPECT_EQ(TreeNamer(fixture_options())
                .label(proc(10, 9, "/opt/bin/myinterp", {"myinterp", "-v", "job.my"})),
            "myinterp");
}

TEST_F(TreeNamerTest, OmittedSystemdAndInit) {
  ProcInfo systemd = proc(1, 0, "/usr/lib/systemd/systemd", {"/sbin/init", "splash"});
  systemd.tree = namer_.name(systemd, nullptr);
  EXPECT_EQ(systemd.tree, "/");
  ProcInfo user = proc(900, 1, "/usr/lib/systemd/systemd", {"/lib/systemd/systemd", "--user"});
  user.tree = namer_.name(user, &systemd);
  EXPECT_EQ(user.tree, "/");  // named, with no labels
  ProcInfo dbus = proc(910, 900, "/usr/bin/dbus-daemon", {"/usr/bin/dbus-daemon", "--session"});
  EXPECT_EQ(namer_.name(dbus, &user), "/dbus-daemon");
  ProcInfo init = proc(5, 0, "/sbin/init", {"init"});
  EXPECT_EQ(namer_.name(init, nullptr), "/");
  // The omit list is configurable.
  NamingOptions o = fixture_options();
  o.omit = {"dbus-daemon"};
  TreeNamer keep(o);
  EXPECT_EQ(keep.name(user, nullptr), "/systemd");
  EXPECT_EQ(keep.name(dbus, &user), "/");
}

TEST_F(TreeNamerTest, CollapsesConsecutiveEqualLabels) {
  std::vector<ProcInfo> chain = {
      proc(100, 1, "/usr/bin/dash", {"sh", "start.sh"}),
      proc(101, 100, "/usr/bin/node", {"node", "server.js"}),
      proc(102, 101, "/usr/bin/node", {"node", "server.js"}),
      proc(103, 102, "/usr/bin/node", {"node", "--inspect", "server.js"}),
      proc(104, 103, "/usr/bin/bash", {"bash"}),
      proc(105, 104, "/usr/bin/ls", {"ls"}),
      proc(106, 105, "/usr/bin/node", {"node", "server.js"}),
  };
  EXPECT_EQ(name_chain(namer_, chain),
            (std::vector<std::string>{"/start.sh", "/start.sh/server.js", "/start.sh/server.js",
                                      "/start.sh/server.js", "/start.sh/server.js/base",
                                      "/start.sh/server.js/base", "/start.sh/server.js/base/server.js"}));
}

TEST_F(TreeNamerTest, OrphansAndUnknownParents) {
  ProcInfo parent = proc(100, 50, "/usr/sbin/cron", {"cron"});
  parent.tree = "/sshd/cron";
  ProcInfo self = proc(200, 100, "/usr/bin/sudo", {"sudo"});
  EXPECT_EQ(namer_.name(self, &parent), "/sshd/cron/sudo");
  EXPECT_EQ(namer_.name(self, nullptr), "/sudo");
  ProcInfo unnamed = parent;
  unnamed.tree.clear();
  EXPECT_EQ(namer_.name(self, &unnamed), "/sudo");
  ProcInfo garbage = parent;
  garbage.tree = "not-a-tree";
  EXPECT_EQ(namer_.name(self, &garbage), "/sudo");
  ProcInfo reused = parent;  // same pid, different process (pid reuse)
  reused.key.start_time = 99999;
  EXPECT_EQ(namer_.name(self, &reused), "/sudo");
  ProcInfo reparented = self;  // already re-parented to init when its exec was seen
  reparented.ppid = 1;
  EXPECT_EQ(namer_.name(reparented, &parent), "/sudo");
  ProcInfo pid1 = parent;
  pid1.key.pid = 1;
  EXPECT_EQ(namer_.name(self, &pid1), "/sudo");
}

TEST_F(TreeNamerTest, UsesOnlyTheParentsTree) {
  // The parent's stored name is trusted as is; its own exe/argv are not looked at again, and
  // nothing above it is reachable: cost is independent of depth.
  ProcInfo parent = proc(100, 99, "/usr/bin/whatever", {"whatever"});
  parent.tree = "/a/b/c";
  EXPECT_EQ(namer_.name(proc(101, 100, "/usr/bin/sudo", {"sudo"}), &parent), "/a/b/c/sudo");
  parent.tree = "/random/a";
  EXPECT_EQ(namer_.name(proc(101, 100, "/usr/bin/sudo", {"sudo"}), &parent), "/random/a/sudo");
}

TEST_F(TreeNamerTest, UnknownExeUsesComm) {
  ProcInfo gone = proc(10, 9, "", {}, "myjob");
  EXPECT_EQ(namer_.label(gone), "myjob");
  EXPECT_EQ(namer_.label(proc(10, 9, "", {}, "ls")), "base");
  EXPECT_EQ(namer_.label(proc(2000, 2, "", {}, "kworker/0:1H")), "kworker");
  EXPECT_EQ(namer_.label(proc(10, 9, "", {}, "")), "unknown");
  // Exe unknown but argv read: a shebang script's comm is the script, argv[0] the interpreter.
  EXPECT_EQ(namer_.label(proc(10, 9, "", {"/bin/bash", "./deploy.sh"}, "deploy.sh")),
            "deploy.sh");
}

TEST_F(TreeNamerTest, LabelsAreSanitizedAndCapped) {
  ProcInfo long_script = proc(10, 9, "/usr/bin/bash", {"bash", std::string(200, 'a') + ".sh"});
  EXPECT_EQ(namer_.label(long_script).size(), 64u);
  ProcInfo ctrl = proc(10, 9, "/usr/bin/bash", {"bash", std::string("bad\nname\x7f.sh")});
  EXPECT_EQ(namer_.label(ctrl), "bad?name?.sh");
  // Cutting does not split a UTF-8 character (each "é" is 2 bytes).
  std::string accents;
  for (int i = 0; i < 40; ++i) accents += "\xc3\xa9";
  std::string cut = namer_.label(proc(10, 9, "/usr/bin/bash", {"bash", accents}));
  EXPECT_EQ(cut.size(), 64u);
  EXPECT_NE(static_cast<unsigned char>(cut.back()), 0xc3);
}

TEST(TreeNamerCap, DeepChainsAreCapped) {
  NamingOptions o = fixture_options();
  o.max_depth_labels = 4;
  TreeNamer namer(o);
  std::vector<ProcInfo> chain;
  for (int i = 0; i < 10; ++i) {
    chain.push_back(proc(100 + i, i == 0 ? 1 : 99 + i, "/opt/bin/tool" + std::to_string(i),
                         {"tool"}));
  }
  auto names = name_chain(namer, chain);
  EXPECT_EQ(names[3], "/tool0/tool1/tool2/tool3");
  EXPECT_EQ(names[4], "/.../tool2/tool3/tool4");
  EXPECT_EQ(names[9], "/.../tool7/tool8/tool9");
  // With the random prefix, the prefix is not counted and stays first.
  ProcInfo parent;
  parent.key = {50, 500};
  parent.tree = "/random/.../a/b/c";
  EXPECT_EQ(namer.name(proc(51, 50, "/opt/bin/d", {"d"}), &parent), "/random/.../b/c/d");
  // A script literally named "..." never ends up right after the marker.
  ProcInfo dots = proc(52, 50, "/usr/bin/bash", {"bash", "..."});
  EXPECT_EQ(namer.name(dots, &parent), "/random/.../b/c/...");
  parent.tree = "/.../a/.../c";
  EXPECT_EQ(namer.name(proc(53, 50, "/opt/bin/d", {"d"}), &parent), "/.../c/d");
  // Default cap: 32 labels.
  TreeNamer def(fixture_options());
  std::vector<ProcInfo> deep;
  for (int i = 0; i < 100; ++i) {
    deep.push_back(proc(1000 + i, i == 0 ? 1 : 999 + i, "/opt/bin/t" + std::to_string(i), {"t"}));
  }
  std::string last = name_chain(def, deep).back();
  EXPECT_EQ(std::count(last.begin(), last.end(), '/'), 32);
  EXPECT_EQ(last.substr(0, 5), "/.../");
  EXPECT_EQ(last.substr(last.size() - 4), "/t99");
}

}  // namespace
}  // namespace procwatch
