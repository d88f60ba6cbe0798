// Interpreters and their command lines: which program runs a script, and which argument is the
// script. The one owner of that answer: tree names (TreeNamer) and rule `name:` selectors
// (rules::script_name) both call process_script(). Pure functions; thread-safe; never throw.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proc_info.h"

namespace procwatch {

enum class InterpreterKind { kShell, kPython, kPerl, kRuby, kNode, kPhp, kLua, kTcl, kGeneric };

// Kind of interpreter named `base` (an exe base name such as "python3.11", "bash", "node"), or
// nullopt. Version suffixes are ignored (python3.11 -> python, perl5.36 -> perl). `extra` names
// are treated as generic interpreters (options skipped, first other argument is the script).
std::optional<InterpreterKind> interpreter_kind(std::string_view base,
                                                const std::vector<std::string>& extra = {});

struct ScriptRef {
  enum class Kind { kNone, kScript, kModule };
  Kind kind = Kind::kNone;
  std::string_view value;  // script path as written, or module name; views into argv
};

// The script an interpreter runs, reading argv from index `first` (1 normally: the first
// argument after the program name). Options and their values are skipped; "-c"-style command strings and stdin give
// kNone; python's "-m mod" gives kModule.
ScriptRef find_script(InterpreterKind kind, const std::vector<std::string>& argv, size_t first);

// What program a process runs: its exe base name (comm's stable part when the exe is unknown:
// "kworker/0:1" -> "kworker"), and for a multi-call binary (busybox, toybox) the applet from
// argv[0] or argv[1] ("busybox sh x.sh") with the index of its first argument.
struct Program {
  std::string_view name;    // views into the ProcInfo
  std::string_view applet;  // "" when not a multi-call binary
  size_t first_arg = 1;
};
Program program_of(const ProcInfo& p);

// The script (or python module) a process runs when it is an interpreter, else kNone. `extra`
// names more generic interpreters. `env` is not an interpreter: `env python3 x.py` has no
// script until env execs python3 (that exec names it).
ScriptRef process_script(const ProcInfo& p, const Program& prog,
                         const std::vector<std::string>& extra = {});
ScriptRef process_script(const ProcInfo& p, const std::vector<std::string>& extra = {});

// Last path component ("/usr/bin/python3" -> "python3").
std::string_view path_base(std::string_view path);

}  // namespace procwatch
