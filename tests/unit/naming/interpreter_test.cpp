#include "naming/interpreter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace procwatch {
namespace {

using K = InterpreterKind;
using SK = ScriptRef::Kind;

TEST(InterpreterKind, DetectsByExeBaseName) {
  struct Case {
    const char* base;
    std::optional<K> kind;
  };
  const Case cases[] = {
      {"sh", K::kShell},         {"bash", K::kShell},       {"dash", K::kShell},
      {"zsh", K::kShell},        {"ksh93", K::kShell},      {"mksh", K::kShell},
      {"python", K::kPython},    {"python3", K::kPython},   {"python3.11", K::kPython},
      {"python2.7", K::kPython}, {"pypy3", K::kPython},     {"perl", K::kPerl},
      {"perl5.36.0", K::kPerl},  {"ruby3.1", K::kRuby},     {"node", K::kNode},
      {"nodejs", K::kNode},      {"php8.2", K::kPhp},       {"lua5.4", K::kLua},
      {"luajit", K::kLua},       {"tclsh8.6", K::kTcl},     {"Rscript", K::kGeneric},
      {"env", std::nullopt},     {"ls", std::nullopt},      {"sudo", std::nullopt},
      {"busybox", std::nullopt}, {"pythonista", std::nullopt}, {"", std::nullopt},
      {"bashbug", std::nullopt}, {"3", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(interpreter_kind(c.base), c.kind) << c.base;
  EXPECT_EQ(interpreter_kind("myinterp", {"myinterp"}), K::kGeneric);
  EXPECT_EQ(interpreter_kind("myinterp"), std::nullopt);
}

struct ScriptCase {
  K kind;
  std::vector<std::string> argv;
  SK want_kind;
  std::string want;  // script path or module
};

void check(const std::vector<ScriptCase>& cases) {
  for (const auto& c : cases) {
    std::string cmd;
    for (const auto& a : c.argv) cmd += a + " ";
    ScriptRef r = find_script(c.kind, c.argv, 1);
    EXPECT_EQ(r.kind, c.want_kind) << cmd;
    EXPECT_EQ(std::string(r.value), c.want) << cmd;
  }
}

TEST(FindScript, Shell) {
  check({
      {K::kShell, {"sh", "server.sh"}, SK::kScript, "server.sh"},
      {K::kShell, {"bash", "-e", "x.sh", "-o", "y"}, SK::kScript, "x.sh"},
      {K::kShell, {"bash", "-o", "pipefail", "x.sh"}, SK::kScript, "x.sh"},
      {K::kShell, {"bash", "-euo", "pipefail", "x.sh"}, SK::kScript, "x.sh"},
      {K::kShell, {"bash", "-O", "extglob", "+O", "nullglob", "x.sh"}, SK::kScript, "x.sh"},
      {K::kShell, {"bash", "+x", "-x", "/opt/run.sh", "arg"}, SK::kScript, "/opt/run.sh"},
      {K::kShell, {"bash", "--norc", "--rcfile", "rc", "x.sh"}, SK::kScript, "x.sh"},
      {K::kShell, {"bash", "--", "-weird.sh"}, SK::kScript, "-weird.sh"},
      {K::kShell, {"sh", "-c", "echo hi", "x.sh"}, SK::kNone, ""},
      {K::kShell, {"bash", "-lc", "make"}, SK::kNone, ""},
      {K::kShell, {"bash", "-ec", "true"}, SK::kNone, ""},
      {K::kShell, {"sh", "-s", "x"}, SK::kNone, ""},
      {K::kShell, {"sh", "-"}, SK::kNone, ""},
      {K::kShell, {"-bash"}, SK::kNone, ""},
      {K::kShell, {"bash", "-i"}, SK::kNone, ""},
      {K::kShell, {"bash", "-o"}, SK::kNone, ""},  // value missing: no script, no crash
      {K::kShell, {"sh", ""}, SK::kNone, ""},
  });
}

TEST(FindScript, Python) {
  check({
      {K::kPython, {"python3", "x.py"}, SK::kScript, "x.py"},
      {K::kPython, {"python3", "-u", "-W", "ignore", "x.py"}, SK::kScript, "x.py"},
      {K::kPython, {"python3", "-Wignore", "-X", "dev", "x.py"}, SK::kScript, "x.py"},
      {K::kPython, {"python3", "-uBW", "ignore", "x.py", "-c"}, SK::kScript, "x.py"},
      {K::kPython, {"python3", "-I", "-OO", "--check-hash-based-pycs", "never", "x.py"},
       SK::kScript, "x.py"},
      {K::kPython, {"python3", "-m", "pkg.mod", "arg"}, SK::kModule, "pkg.mod"},
      {K::kPython, {"python3", "-um", "http.server"}, SK::kModule, "http.server"},
      {K::kPython, {"python3", "-mvenv", "x"}, SK::kModule, "venv"},
      {K::kPython, {"python3", "-c", "print(1)", "x.py"}, SK::kNone, ""},
      {K::kPython, {"python3", "-uc", "print(1)"}, SK::kNone, ""},
      {K::kPython, {"python3", "--", "x.py"}, SK::kScript, "x.py"},
      {K::kPython, {"python3", "-"}, SK::kNone, ""},
      {K::kPython, {"python3"}, SK::kNone, ""},
      {K::kPython, {"python3", "-m"}, SK::kNone, ""},
      {K::kPython, {"/usr/bin/python3", "/tmp/ZW50cm9weQo/top.py"}, SK::kScript,
       "/tmp/ZW50cm9weQo/top.py"},
  });
}

TEST(FindScript, PerlRubyNodePhpLuaGeneric) {
  check({
      {K::kPerl, {"perl", "-w", "x.pl"}, SK::kScript, "x.pl"},
      {K::kPerl, {"perl", "-I", "lib", "-Mstrict", "x.pl"}, SK::kScript, "x.pl"},
      {K::kPerl, {"perl", "-Ilib", "-wT", "x.pl"}, SK::kScript, "x.pl"},
      {K::kPerl, {"perl", "-pi.bak", "x.pl"}, SK::kScript, "x.pl"},
      {K::kPerl, {"perl", "-c", "x.pl"}, SK::kScript, "x.pl"},  // -c only checks syntax
      {K::kPerl, {"perl", "-ne", "print", "file"}, SK::kNone, ""},
      {K::kPerl, {"perl", "-E", "say 1"}, SK::kNone, ""},
      {K::kRuby, {"ruby", "-I", "lib", "x.rb"}, SK::kScript, "x.rb"},
      {K::kRuby, {"ruby", "-r", "json", "-W0", "x.rb"}, SK::kScript, "x.rb"},
      {K::kRuby, {"ruby", "--disable", "gems", "--encoding=utf-8", "x.rb"}, SK::kScript, "x.rb"},
      {K::kRuby, {"ruby", "-e", "puts 1"}, SK::kNone, ""},
      {K::kNode, {"node", "--inspect=9229", "app.js"}, SK::kScript, "app.js"},
      {K::kNode, {"node", "--inspect", "app.js"}, SK::kScript, "app.js"},
      {K::kNode, {"node", "-r", "ts-node/register", "app.ts"}, SK::kScript, "app.ts"},
      {K::kNode, {"node", "--max-old-space-size", "4096", "app.js"}, SK::kScript, "app.js"},
      {K::kNode, {"node", "--require=dotenv/config", "app.js"}, SK::kScript, "app.js"},
      {K::kNode, {"node", "-e", "1"}, SK::kNone, ""},
      {K::kNode, {"node", "-pe", "1"}, SK::kNone, ""},
      {K::kNode, {"node", "--eval=1"}, SK::kNone, ""},
      {K::kNode, {"node"}, SK::kNone, ""},
      {K::kPhp, {"php", "artisan", "serve"}, SK::kScript, "artisan"},
      {K::kPhp, {"php", "-d", "memory_limit=-1", "composer.phar"}, SK::kScript, "composer.phar"},
      {K::kPhp, {"php", "-dmemory_limit=1G", "-f", "x.php"}, SK::kScript, "x.php"},
      {K::kPhp, {"php", "-c", "/etc/php.ini", "x.php"}, SK::kScript, "x.php"},
      {K::kPhp, {"php", "-r", "echo 1;"}, SK::kNone, ""},
      {K::kPhp, {"php", "-S", "0:8000"}, SK::kNone, ""},
      {K::kLua, {"lua", "-l", "socket", "x.lua"}, SK::kScript, "x.lua"},
      {K::kLua, {"lua", "-e", "x=1", "x.lua"}, SK::kScript, "x.lua"},  // lua runs both
      {K::kTcl, {"tclsh", "-encoding", "utf-8", "x.tcl"}, SK::kScript, "x.tcl"},
      {K::kGeneric, {"Rscript", "--vanilla", "x.R"}, SK::kScript, "x.R"},
      {K::kGeneric, {"Rscript", "-e", "1"}, SK::kNone, ""},
  });
}

TEST(FindScript, FirstArgumentIndex) {
  // busybox sh x.sh: the arguments start after the applet name.
  std::vector<std::string> argv = {"busybox", "sh", "-e", "x.sh"};
  ScriptRef r = find_script(K::kShell, argv, 2);
  EXPECT_EQ(r.kind, SK::kScript);
  EXPECT_EQ(r.value, "x.sh");
  EXPECT_EQ(find_script(K::kShell, argv, 9).kind, SK::kNone);
}

}  // namespace
}  // namespace procwatch

namespace procwatch {
namespace {

ProcInfo proc_of(std::string exe, std::string comm, std::vector<std::string> argv) {
  ProcInfo p;
  p.exe = std::move(exe);
  p.comm = std::move(comm);
  p.argv = std::move(argv);
  return p;
}

TEST(ProcessScript, ReadsTheProgramThenItsScript) {
  const ProcInfo bb = proc_of("/bin/busybox", "sh", {"busybox", "sh", "-e", "y.sh"});
  const Program prog = program_of(bb);
  EXPECT_EQ(prog.name, "busybox");
  EXPECT_EQ(prog.applet, "sh");
  EXPECT_EQ(prog.first_arg, 2u);
  EXPECT_EQ(process_script(bb).value, "y.sh");
  EXPECT_EQ(program_of(proc_of("", "kworker/0:1", {})).name, "kworker");

  const ProcInfo py = proc_of("/usr/bin/python3.11", "python3", {"python3", "-W", "ignore", "x.py"});
  EXPECT_EQ(process_script(py).kind, ScriptRef::Kind::kScript);
  EXPECT_EQ(process_script(py).value, "x.py");
  // Exe unknown (gone before it was read): argv[0] names the interpreter.
  EXPECT_EQ(process_script(proc_of("", "job", {"/bin/sh", "/etc/job"})).value, "/etc/job");
  // env is no interpreter: what it runs is named by its own exec.
  EXPECT_EQ(process_script(proc_of("/usr/bin/env", "env", {"env", "python3", "x.py"})).kind,
            ScriptRef::Kind::kNone);
  EXPECT_EQ(process_script(proc_of("/opt/bin/myrun", "myrun", {"myrun", "-v", "t.x"}),
                           std::vector<std::string>{"myrun"})
                .value,
            "t.x");
}

}  // namespace
}  // namespace procwatch
