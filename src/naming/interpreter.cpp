#include "naming/interpreter.h"

#include <algorithm>
#include <initializer_list>

namespace procwatch {
namespace {

using Args = std::vector<std::string>;
using Kind = ScriptRef::Kind;

bool in(std::string_view s, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}
bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

ScriptRef script_at(const Args& argv, size_t i) {
  if (i >= argv.size() || argv[i].empty()) return {};
  return {Kind::kScript, argv[i]};
}

ScriptRef shell_script(const Args& argv, size_t i) {
  const size_t n = argv.size();
  for (; i < n; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return script_at(argv, i + 1);
    if (a == "-") return {};  // script from stdin
    if (starts_with(a, "--")) {
      if (in(a, {"--rcfile", "--init-file"})) ++i;
      continue;
    }
    if ((a[0] == '-' || a[0] == '+') && a.size() > 1) {
      // Clustered: "-euo pipefail" takes one value per 'o'/'O', in order.
      for (char c : a.substr(1)) {
        if (c == 'c' || c == 's') return {};  // command string / commands from stdin
        if (c == 'o' || c == 'O') ++i;
      }
      continue;
    }
    break;
  }
  return script_at(argv, i);
}

// Short options whose value is the rest of the cluster or, when that is empty, the next argument.
// `none_chars` take a value and mean "no script file" (command strings).
struct ShortSpec {
  std::string_view value_chars;     // value attached or separate
  std::string_view attached_chars;  // value only attached (rest of the cluster, maybe empty)
  std::string_view none_chars;      // command string: no script
  char module_char = 0;             // python -m
};

// Parses one short-option cluster at argv[i]. Returns false when done (with `out` set).
bool short_cluster(const ShortSpec& spec, const Args& argv, size_t& i, ScriptRef& out) {
  std::string_view a = argv[i];
  for (size_t k = 1; k < a.size(); ++k) {
    char c = a[k];
    bool none = spec.none_chars.find(c) != std::string_view::npos;
    bool module = spec.module_char != 0 && c == spec.module_char;
    if (none || module || spec.value_chars.find(c) != std::string_view::npos) {
      std::string_view value = a.substr(k + 1);
      if (value.empty() && i + 1 < argv.size()) value = argv[++i];
      if (none) {
        out = {};
        return false;
      }
      if (module) {
        out = value.empty() ? ScriptRef{} : ScriptRef{Kind::kModule, value};
        return false;
      }
      return true;
    }
    if (spec.attached_chars.find(c) != std::string_view::npos) return true;
  }
  return true;
}

ScriptRef clustered_script(const ShortSpec& spec,
                           std::initializer_list<std::string_view> long_with_value,
                           const Args& argv, size_t i) {
  const size_t n = argv.size();
  for (; i < n; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return script_at(argv, i + 1);
    if (a == "-") return {};
    if (starts_with(a, "--")) {
      if (a.find('=') == std::string_view::npos && in(a, long_with_value)) ++i;
      continue;
    }
    if (a[0] == '-' && a.size() > 1) {
      ScriptRef out;
      if (!short_cluster(spec, argv, i, out)) return out;
      continue;
    }
    break;
  }
  return script_at(argv, i);
}

ScriptRef node_script(const Args& argv, size_t i) {
  const size_t n = argv.size();
  for (; i < n; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return script_at(argv, i + 1);
    if (a == "-") return {};
    if (starts_with(a, "--")) {
      std::string_view name = a.substr(0, a.find('='));
      if (in(name, {"--eval", "--print", "--interactive"})) return {};
      if (a.find('=') == std::string_view::npos &&
          in(a, {"--require", "--import", "--loader", "--experimental-loader", "--conditions",
                 "--title", "--input-type", "--inspect-port", "--debug-port", "--env-file",
                 "--max-old-space-size", "--stack-size", "--icu-data-dir", "--openssl-config",
                 "--redirect-warnings", "--report-dir", "--report-directory", "--report-filename",
                 "--report-signal", "--diagnostic-dir", "--disable-warning", "--watch-path",
                 "--unhandled-rejections", "--experimental-default-type", "--test-reporter",
                 "--test-reporter-destination", "--test-name-pattern"})) {
        ++i;
      }
      continue;
    }
    if (a[0] == '-' && a.size() > 1) {
      // node -e/-p (also "-pe") run code; -r/-C take a value; -c checks the script that follows.
      std::string_view letters = a.substr(1);
      if (letters.find_first_of("epi") != std::string_view::npos) return {};
      if (letters == "r" || letters == "C") ++i;
      continue;
    }
    break;
  }
  return script_at(argv, i);
}

ScriptRef php_script(const Args& argv, size_t i) {
  const size_t n = argv.size();
  for (; i < n; ++i) {
    std::string_view a = argv[i];
    if (a == "--" || a == "-") return {};  // script from stdin
    if (starts_with(a, "--")) {
      if (a == "--file") return script_at(argv, i + 1);
      if (starts_with(a, "--file=")) return {Kind::kScript, a.substr(7)};
      if (in(a, {"--run", "--server", "--interactive"})) return {};
      if (in(a, {"--php-ini", "--define", "--zend-extension", "--docroot", "--process-begin",
                 "--process-code", "--process-file", "--process-end"})) {
        ++i;
      }
      continue;
    }
    if (a[0] == '-' && a.size() > 1) {
      char c = a[1];
      std::string_view attached = a.substr(2);
      if (c == 'f' || c == 'F') {  // -F runs the file once per input line
        return attached.empty() ? script_at(argv, i + 1) : ScriptRef{Kind::kScript, attached};
      }
      if (c == 'r' || c == 'S' || c == 'a' || c == 'R' || c == 'B' || c == 'E') {
        return {};  // inline code, built-in server, interactive, per-line processing
      }
      if (attached.empty() && std::string_view("dczt").find(c) != std::string_view::npos) ++i;
      continue;
    }
    break;
  }
  return script_at(argv, i);
}

// Generic: skip options (and, for a few known ones, their values); first other is the script.
ScriptRef generic_script(const Args& argv, size_t i,
                         std::initializer_list<std::string_view> with_value,
                         std::initializer_list<std::string_view> no_script) {
  const size_t n = argv.size();
  for (; i < n; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return script_at(argv, i + 1);
    if (a == "-") return {};
    if (a[0] == '-' && a.size() > 1) {
      if (in(a, no_script)) return {};
      if (in(a, with_value)) ++i;
      continue;
    }
    break;
  }
  return script_at(argv, i);
}

std::string_view strip_version(std::string_view base) {
  while (!base.empty() && ((base.back() >= '0' && base.back() <= '9') || base.back() == '.')) {
    base.remove_suffix(1);
  }
  return base;
}

}  // namespace

std::optional<InterpreterKind> interpreter_kind(std::string_view base, const Args& extra) {
  if (base.empty()) return std::nullopt;
  for (const auto& e : extra) {
    if (base == e) return InterpreterKind::kGeneric;
  }
  std::string_view name = strip_version(base);
  if (in(name, {"sh", "bash", "rbash", "dash", "zsh", "ksh", "mksh", "pdksh", "ash", "yash",
                "posh", "hush", "fish", "csh", "tcsh"})) {
    return InterpreterKind::kShell;
  }
  if (in(name, {"python", "pypy"})) return InterpreterKind::kPython;
  if (name == "perl") return InterpreterKind::kPerl;
  if (name == "ruby") return InterpreterKind::kRuby;
  if (in(name, {"node", "nodejs"})) return InterpreterKind::kNode;
  if (name == "php") return InterpreterKind::kPhp;
  if (in(name, {"lua", "luajit"})) return InterpreterKind::kLua;
  if (in(name, {"tclsh", "wish", "expect"})) return InterpreterKind::kTcl;
  if (in(name, {"Rscript", "julia", "gjs", "escript", "raku", "rakudo", "guile"})) {
    return InterpreterKind::kGeneric;
  }
  return std::nullopt;
}

ScriptRef find_script(InterpreterKind kind, const Args& argv, size_t first) {
  switch (kind) {
    case InterpreterKind::kShell:
      return shell_script(argv, first);
    case InterpreterKind::kPython:
      return clustered_script({.value_chars = "WXQ", .none_chars = "c", .module_char = 'm'},
                              {"--check-hash-based-pycs"}, argv, first);
    case InterpreterKind::kPerl:
      return clustered_script(
          {.value_chars = "I", .attached_chars = "0lidDxCFMm", .none_chars = "eE"}, {}, argv,
          first);
    case InterpreterKind::kRuby:
      return clustered_script(
          {.value_chars = "IrCE", .attached_chars = "0FKTWx", .none_chars = "e"},
          {"--encoding", "--external-encoding", "--internal-encoding", "--enable", "--disable",
           "--dump"},
          argv, first);
    case InterpreterKind::kNode:
      return node_script(argv, first);
    case InterpreterKind::kPhp:
      return php_script(argv, first);
    case InterpreterKind::kLua:
      return clustered_script({.value_chars = "el"}, {}, argv, first);
    case InterpreterKind::kTcl:
      return generic_script(argv, first, {"-encoding"}, {});
    case InterpreterKind::kGeneric:
      return generic_script(argv, first, {}, {"-e", "--eval"});
  }
  return {};
}

std::string_view path_base(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

namespace {
// argv[0] of a login shell is "-bash".
std::string_view argv0_program(std::string_view argv0) {
  if (!argv0.empty() && argv0.front() == '-') argv0.remove_prefix(1);
  return path_base(argv0);
}
}  // namespace

Program program_of(const ProcInfo& p) {
  Program out;
  // Kernel threads' comm carries a per-CPU suffix ("kworker/0:1"): keep the stable part.
  std::string_view comm = p.comm;
  if (size_t slash = comm.find('/'); slash != std::string_view::npos && slash > 0) {
    comm = comm.substr(0, slash);
  }
  const std::string_view exe_base = path_base(p.exe);
  out.name = exe_base.empty() ? comm : exe_base;
  if (out.name == "busybox" || out.name == "toybox") {
    if (!p.argv.empty()) out.applet = argv0_program(p.argv[0]);
    if (out.applet == out.name && p.argv.size() > 1) {
      out.applet = argv0_program(p.argv[1]);
      out.first_arg = 2;
    }
  }
  return out;
}

ScriptRef process_script(const ProcInfo& p, const Program& prog, const Args& extra) {
  std::optional<InterpreterKind> kind =
      interpreter_kind(prog.applet.empty() ? prog.name : prog.applet, extra);
  if (!kind && p.exe.empty() && !p.argv.empty()) {
    // Exe unknown: comm of a shebang exec is the script's name, argv[0] the interpreter.
    kind = interpreter_kind(argv0_program(p.argv[0]), extra);
  }
  if (!kind) return {};
  return find_script(*kind, p.argv, prog.first_arg);
}

ScriptRef process_script(const ProcInfo& p, const Args& extra) {
  return process_script(p, program_of(p), extra);
}

}  // namespace procwatch
