#include "rules/matcher.h"

#include <fnmatch.h>

#include <algorithm>

#include "naming/interpreter.h"

namespace procwatch::rules {

MatchContext make_match_context(const std::vector<ProcSample>& snapshot) {
  MatchContext ctx;
  for (const auto& s : snapshot) {
    if (s.info.comm == "kthreadd" && (ctx.kthreadd_pid == 0 || s.info.key.pid < ctx.kthreadd_pid)) {
      ctx.kthreadd_pid = s.info.key.pid;
    }
  }
  return ctx;
}

namespace {

std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string joined_argv(const ProcInfo& info) {
  std::string out;
  for (size_t i = 0; i < info.argv.size(); ++i) {
    if (i) out += ' ';
    out += info.argv[i];
  }
  return out;
}

bool id_equals(const ProcInfo& info, uint32_t field, const Selector& sel) {
  return info.ids_known && sel.id && field == *sel.id;
}

}  // namespace

std::string ps_args(const ProcInfo& info) {
  if (info.argv.empty()) return "[" + info.comm + "]";
  return joined_argv(info);
}

std::string script_name(const ProcInfo& info) {
  const ScriptRef ref = process_script(info);
  switch (ref.kind) {
    case ScriptRef::Kind::kScript: return std::string(path_base(ref.value));
    case ScriptRef::Kind::kModule: return std::string(ref.value);
    case ScriptRef::Kind::kNone: break;
  }
  return "";
}

bool glob_match(const std::string& pattern, const std::string& text) {
  return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

std::string glob_escape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Result<std::string> decode_byte_escapes(std::string_view v, bool glob) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\' || i + 1 >= v.size()) {
      out += v[i];
      continue;
    }
    if (v[i + 1] == 'x' && i + 3 < v.size() && hex(v[i + 2]) >= 0 && hex(v[i + 3]) >= 0) {
      const char byte = char(hex(v[i + 2]) * 16 + hex(v[i + 3]));
      if (byte == '\0') return make_error("\\x00: a NUL byte cannot occur in a name or path");
      if (glob) out += '\\';
      out += byte;
      i += 3;
      continue;
    }
    // Another escape: keep it whole, so "\\xff" stays a backslash and "xff".
    out += v[i];
    out += v[i + 1];
    ++i;
  }
  return out;
}

bool name_matches(const ProcInfo& info, const std::string& name, bool glob) {
  auto eq = [&](std::string_view candidate) {
    if (candidate.empty()) return false;
    return glob ? glob_match(name, std::string(candidate)) : candidate == name;
  };
  if (eq(info.comm)) return true;
  if (!info.exe.empty() && eq(base_name(info.exe))) return true;
  if (!info.argv.empty() && eq(base_name(info.argv[0]))) return true;
  std::string script = script_name(info);
  return eq(script);
}

// A container name glob: never matches a process outside a container (an empty value).
static bool glob_nonempty(const std::string& pattern, const std::string& value) {
  return !value.empty() && glob_match(pattern, value);
}

bool selector_matches(const Selector& sel, const ProcSample& s, const MatchContext& ctx) {
  const ProcInfo& info = s.info;
  bool m = false;
  switch (sel.kind) {
    case SelectorKind::kName: m = name_matches(info, sel.value, false); break;
    case SelectorKind::kExe: m = !info.exe.empty() && glob_match(sel.value, info.exe); break;
    case SelectorKind::kArgs: m = sel.regex && sel.regex->search(joined_argv(info)); break;
    case SelectorKind::kUser:
      if (!info.ids_known) return false;
      m = sel.id ? info.uid == *sel.id : info.user == sel.value;
      break;
    case SelectorKind::kUid:
      if (!info.ids_known) return false;
      m = id_equals(info, info.uid, sel);
      break;
    case SelectorKind::kGroup:
    case SelectorKind::kGid:
      if (!info.ids_known) return false;
      m = id_equals(info, info.gid, sel);
      break;
    case SelectorKind::kEuid:
      if (!info.ids_known) return false;
      m = id_equals(info, info.euid, sel);
      break;
    case SelectorKind::kEgid:
      if (!info.ids_known) return false;
      m = id_equals(info, info.egid, sel);
      break;
    case SelectorKind::kContext: m = glob_match(sel.value, info.context); break;
    case SelectorKind::kCgroup: m = glob_match(sel.value, info.cgroup); break;
    case SelectorKind::kTree: m = glob_match(sel.value, info.tree); break;
    case SelectorKind::kContainer:
      if (sel.value == "any") {
        m = !info.container_id.empty();
      } else if (sel.value == "none") {
        m = info.container_id.empty();
      } else {
        m = !info.container_id.empty() && info.container_id.rfind(sel.value, 0) == 0;
      }
      break;
    case SelectorKind::kParent: m = !s.parent_name.empty() && s.parent_name == sel.value; break;
    case SelectorKind::kContainerName: m = glob_nonempty(sel.value, info.container_name); break;
    case SelectorKind::kImage: m = glob_nonempty(sel.value, info.image); break;
    case SelectorKind::kPod: m = glob_nonempty(sel.value, info.pod); break;
    case SelectorKind::kNamespace: m = glob_nonempty(sel.value, info.pod_namespace); break;
    case SelectorKind::kCommBase: m = base_name(info.comm) == sel.value; break;
    case SelectorKind::kArgsSubstring:
      m = ps_args(info).find(sel.value) != std::string::npos;
      break;
    case SelectorKind::kPpid: m = double(info.ppid) == sel.number; break;
    case SelectorKind::kStateFlags: {
      std::string stat = s.ps_stat.empty() ? std::string(1, s.state) : s.ps_stat;
      m = stat.find(sel.value) != std::string::npos;
      break;
    }
    case SelectorKind::kMinVsz: m = double(s.vsz_kb) >= sel.number; break;
    case SelectorKind::kMinRss: m = double(s.rss_kb) >= sel.number; break;
    case SelectorKind::kMinPcpu: m = s.lifetime_cpu_percent >= sel.number; break;
    case SelectorKind::kNotKernelThread:
      m = !(ctx.kthreadd_pid != 0 && info.ppid == ctx.kthreadd_pid);
      break;
  }
  return m != sel.negate;
}

bool rule_matches(const std::vector<Selector>& match, const ProcSample& s,
                  const MatchContext& ctx) {
  for (const auto& sel : match) {
    if (!selector_matches(sel, s, ctx)) return false;
  }
  return true;
}

}  // namespace procwatch::rules
