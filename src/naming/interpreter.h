// Interpreters and their command lines: which program runs a script, and which argument is the
// script. Pure functions over strings; thread-safe; never throw.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

}  // namespace procwatch
